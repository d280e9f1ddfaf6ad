"""Cookies, CSRF and origin checks, and the guard every request passes first.

Cookies are ``__Host-`` cookies (Secure, Path=/, no Domain): no other host or
subdomain can plant or overwrite them. Browsers treat ``http://127.0.0.1`` and
``http://localhost`` as secure contexts, so they keep Secure cookies there without TLS.
Cookies are never isolated by port, so every state change also needs a request from
the app's own origin (``Origin`` / ``Sec-Fetch-Site``) besides its CSRF token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from fastapi import HTTPException, Request, Response
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import PlainTextResponse

SESSION_COOKIE = "__Host-vigil_session"
LOGIN_CSRF_COOKIE = "__Host-vigil_login"
CSRF_HEADER = "x-csrf-token"
MAX_BODY = 256 * 1024
LOGIN_TOKEN_SECONDS = 30 * 60

# On every response, errors included. Pictures must not linger in browser caches,
# leave through referrers, be framed, or be embedded by another origin (another port).
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' blob:; script-src 'self'; style-src 'self'; "
        "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    # same-origin, not no-referrer: with no-referrer Chromium sends "Origin: null" on
    # form posts, and the origin check needs the real one. Other origins get no referrer.
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}

ASGIApp = Callable[[dict, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Any]


def set_cookie(response: Response, name: str, value: str, max_age: int | None = None) -> None:
    """Set a ``__Host-`` style cookie: Secure, HttpOnly, SameSite=Strict, Path=/.

    Args:
        response: The response to carry the cookie.
        name: Cookie name.
        value: Cookie value.
        max_age: Lifetime in seconds, or None for a browser-session cookie.
    """
    response.set_cookie(
        name, value, max_age=max_age, path="/", secure=True, httponly=True, samesite="strict"
    )


def clear_cookie(response: Response, name: str) -> None:
    """Delete a cookie set by ``set_cookie`` (same attributes, so ``__Host-`` holds)."""
    response.delete_cookie(name, path="/", secure=True, httponly=True, samesite="strict")


def tokens_equal(a: str | None, b: str | None) -> bool:
    """Compare two tokens in constant time; missing tokens never match.

    Args:
        a: A token or None.
        b: A token or None.

    Returns:
        True when both are present and equal.
    """
    return bool(a) and bool(b) and secrets.compare_digest(str(a), str(b))


class LoginTokens:
    """Login-form CSRF tokens bound to this server and to the browser's login cookie.

    The cookie holds ``<issued>.<nonce>``; the form token is an HMAC of it under a key
    only this server process holds. Nobody else (another server on the host, a page of
    another origin) can mint a pair, and a pair expires after ``LOGIN_TOKEN_SECONDS``.

    Args:
        key: The HMAC key (default: random per process).
    """

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    def _mac(self, cookie: str) -> str:
        return hmac.new(self._key, cookie.encode(), hashlib.sha256).hexdigest()

    def issue(self) -> tuple[str, str]:
        """A fresh pair: ``(cookie value, form token)``."""
        cookie = f"{int(time.time())}.{secrets.token_urlsafe(24)}"
        return cookie, self._mac(cookie)

    def check(self, cookie: str | None, form: str | None, now: float | None = None) -> bool:
        """Whether ``form`` is this server's token for ``cookie`` and still fresh."""
        if not cookie or not form or len(cookie) > 100:
            return False
        issued, _, _ = cookie.partition(".")
        if not issued.isdigit():
            return False
        age = (now or time.time()) - int(issued)
        return 0 <= age <= LOGIN_TOKEN_SECONDS and tokens_equal(self._mac(cookie), form)


def same_origin(request: Request) -> bool:
    """Whether a state-changing request comes from the app's own pages.

    Browsers send ``Origin`` (and ``Sec-Fetch-Site``) on every POST; a page of another
    origin, another port of this host included, is refused. A client without either
    header (a script, not a browser) passes here and still needs its token.

    Args:
        request: The request.

    Returns:
        True when allowed.
    """
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    return origin == own


def check_csrf(request: Request, csrf: str, form_token: str | None = None) -> None:
    """Refuse a state-changing request from another origin or without the right token.

    Args:
        request: The request (the token may be in the ``X-CSRF-Token`` header).
        csrf: The session's token.
        form_token: The token from a form field, if the request is a form post.

    Raises:
        HTTPException: 403 when the origin or the token is wrong.
    """
    given = request.headers.get(CSRF_HEADER) or form_token
    if not same_origin(request) or not tokens_equal(given, csrf):
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token")


def _hostname(host: str) -> str:
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class Guard:
    """The outermost layer: Host allow-list, body-size limit, protective headers.

    It wraps the whole application, so even an unexpected 500 answer carries the
    headers. A body is read (at most ``max_body`` bytes) before any route parses it.

    Args:
        app: The ASGI application.
        hosts: Host names the app answers to (the Host header without port).
        max_body: Largest request body in bytes.
    """

    def __init__(self, app: ASGIApp, hosts: Iterable[str], max_body: int = MAX_BODY) -> None:
        self.app = app
        self.hosts = frozenset(h.lower() for h in hosts)
        self.max_body = max_body

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        """Handle one ASGI call."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_guarded(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for k, v in HEADERS.items():
                    if k not in headers:
                        headers[k] = v
            await send(message)

        headers = Headers(scope=scope)
        if _hostname(headers.get("host", "")).lower() not in self.hosts:
            await PlainTextResponse("unknown host", status_code=421)(scope, receive, send_guarded)
            return
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await PlainTextResponse("request body too large", status_code=413)(
                scope, receive, send_guarded
            )
            return
        body, more = [], True
        size = 0
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, receive, send_guarded)
                return
            size += len(message.get("body", b""))
            if size > self.max_body:
                await PlainTextResponse("request body too large", status_code=413)(
                    scope, receive, send_guarded
                )
                return
            body.append(message.get("body", b""))
            more = message.get("more_body", False)
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send_guarded)
