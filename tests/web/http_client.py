"""An in-process HTTP client for the review app, and logging in through its form."""

from __future__ import annotations

import re
import warnings
from typing import Any

BASE = "https://127.0.0.1"


def client(app: Any, base_url: str = BASE, **kw: Any) -> Any:
    """Starlette's TestClient over ``app`` (https scheme, so Secure cookies are kept).

    Args:
        app: The ASGI application.
        base_url: The URL the client talks to.
        **kw: More TestClient arguments.

    Returns:
        The client.
    """
    with warnings.catch_warnings():
        # Starlette suggests another HTTP package for its test client; httpx still works.
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    return TestClient(app, base_url=base_url, **kw)


def login_token(c: Any) -> str:
    """GET /login and return the form's CSRF token (its cookie stays in ``c``)."""
    page = c.get("/login")
    assert page.status_code == 200
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def login(c: Any, name: str, password: str, **headers: str) -> Any:
    """Log in through the form; returns the answer to the POST (303 on success)."""
    token = login_token(c)
    return c.post(
        "/login",
        data={"name": name, "password": password, "csrf": token},
        headers=headers,
        follow_redirects=False,
    )


def csrf_of(c: Any) -> str:
    """The session's CSRF token, read from the home page's meta tag."""
    page = c.get("/", headers={"accept": "text/html"})
    return re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
