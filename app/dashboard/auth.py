"""Who is looking at the dashboard: its cookies, the guard that resumes the session on each
request, and the CSRF check of every change.

The session cookie holds only a random id (:mod:`app.apps.sessions`); it is HttpOnly,
SameSite=Strict, limited to ``/dashboard`` and Secure outside dev and test. Every POST
carries the session's CSRF token in a form field (a synchronizer token: SameSite alone
leaves old browsers and same-site subdomains open); the sign-in form, before any session
exists, carries a token that must equal the one in its own short-lived cookie.
"""

from __future__ import annotations

import hmac
import secrets
from typing import TYPE_CHECKING, Any

from litestar import Request
from litestar.datastructures import Cookie
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

if TYPE_CHECKING:
    from litestar.connection import ASGIConnection
    from litestar.handlers.base import BaseRouteHandler

    from app.apps.sessions import Sessions
    from app.settings import Settings

__all__ = [
    "BASE",
    "SESSION_COOKIE",
    "SIGN_IN_COOKIE",
    "CsrfRefused",
    "SignInRequired",
    "client_address",
    "cookie",
    "expired_cookie",
    "new_token",
    "same_token",
    "signed_in",
]

BASE = "/dashboard"
SESSION_COOKIE = "otpgate_session"
#: The sign-in form's own CSRF token (no session exists yet to hold one).
SIGN_IN_COOKIE = "otpgate_sign_in"
SIGN_IN_TTL = 3600
CSRF_FIELD = "csrf"


class SignInRequired(NotAuthorizedException):
    """No session, or one that ended: the answer is the sign-in page."""


class CsrfRefused(PermissionDeniedException):
    """A change without the session's CSRF token."""


def new_token() -> str:
    return secrets.token_urlsafe(32)


def same_token(expected: str | None, given: str | None) -> bool:
    return bool(expected and given) and hmac.compare_digest(
        str(expected).encode(), str(given).encode()
    )


def cookie(settings: Settings, name: str, value: str, max_age: int | None = None) -> Cookie:
    """One of the dashboard's cookies: HttpOnly, SameSite=Strict, Secure outside dev and
    test, sent to ``/dashboard`` only."""
    return Cookie(
        key=name, value=value, path=BASE, max_age=max_age, httponly=True, samesite="strict",
        secure=settings.env not in {"dev", "test"},
    )  # fmt: skip


def expired_cookie(settings: Settings, name: str) -> Cookie:
    return cookie(settings, name, "", max_age=0)


def client_address(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    return connection.client.host if connection.client else None


async def form_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The CSRF field of a form POST (parsed once: the handler reads the same form)."""
    if not isinstance(connection, Request):
        return None
    value = (await connection.form()).get(CSRF_FIELD)
    return value if isinstance(value, str) else None


async def signed_in(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """The guard of every signed-in page: the session and its key hold (read again now),
    and a POST carries the session's CSRF token. The session becomes ``request.user``."""
    sessions: Sessions = connection.app.state.services.sessions
    session_id = connection.cookies.get(SESSION_COOKIE)
    viewer = await sessions.resume(session_id, client_address(connection)) if session_id else None
    if viewer is None:
        raise SignInRequired("sign in with an API key that has the admin or operator scope")
    connection.scope["user"] = viewer
    changes = isinstance(connection, Request) and connection.method not in {"GET", "HEAD"}
    if changes and not viewer.session.accepts(await form_token(connection) or ""):
        raise CsrfRefused("this form's CSRF token is missing or wrong: reload the page")
