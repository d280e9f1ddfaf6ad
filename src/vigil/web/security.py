"""Session cookies, CSRF checks and protective response headers."""

from __future__ import annotations

import secrets

from fastapi import HTTPException, Request, Response
from sqlalchemy.engine import Engine

from vigil.web.accounts import Session, find_session

SESSION_COOKIE = "vigil_session"
LOGIN_CSRF_COOKIE = "vigil_login_csrf"
CSRF_HEADER = "x-csrf-token"

# Pictures must not linger in browser caches or leave through referrers or frames.
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' blob:; script-src 'self'; style-src 'self'; "
        "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


def set_cookie(response: Response, name: str, value: str, max_age: int | None = None) -> None:
    """Set a secure, HTTP-only, SameSite=Strict cookie.

    Args:
        response: The response to carry the cookie.
        name: Cookie name.
        value: Cookie value.
        max_age: Lifetime in seconds, or None for a browser-session cookie.
    """
    response.set_cookie(
        name, value, max_age=max_age, path="/", secure=True, httponly=True, samesite="strict"
    )


def new_token() -> str:
    """A fresh random token (for the login form's CSRF cookie).

    Returns:
        URL-safe random text.
    """
    return secrets.token_urlsafe(32)


def tokens_equal(a: str | None, b: str | None) -> bool:
    """Compare two tokens in constant time; missing tokens never match.

    Args:
        a: A token or None.
        b: A token or None.

    Returns:
        True when both are present and equal.
    """
    return bool(a) and bool(b) and secrets.compare_digest(str(a), str(b))


def session_of(request: Request, lab: Engine) -> Session | None:
    """The session the request's cookie belongs to.

    Args:
        request: The request.
        lab: The lab database.

    Returns:
        The session or None.
    """
    return find_session(lab, request.cookies.get(SESSION_COOKIE))


def check_csrf(request: Request, session: Session, form_token: str | None = None) -> None:
    """Refuse a state-changing request whose CSRF token is missing or wrong.

    Args:
        request: The request (the token may be in the ``X-CSRF-Token`` header).
        session: The caller's session.
        form_token: The token from a form field, if the request is a form post.

    Raises:
        HTTPException: 403 when the token does not match the session's.
    """
    given = request.headers.get(CSRF_HEADER) or form_token
    if not tokens_equal(given, session.csrf):
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token")
