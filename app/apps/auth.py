"""Bearer API-key authentication for /v1 and the scope guards.

Authentication is a guard rather than a middleware: guards run inside the route's own
exception handling, so a 401 or 403 passes through every middleware's ``send`` like any
other response (the Prometheus middleware counts it with its real status), and an
``async`` guard runs on the event loop instead of a worker thread. It is one guard per
route (authentication, then the scope), since Litestar copies the route handler for
every guard of every request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

if TYPE_CHECKING:
    from litestar.connection import ASGIConnection
    from litestar.handlers.base import BaseRouteHandler
    from litestar.types import Guard

    from app.apps.keys import ApiKey, ApiKeyStore

__all__ = ["requires_scope"]


async def authenticate(connection: ASGIConnection[Any, Any, Any, Any]) -> ApiKey:
    """``Authorization: Bearer <key>``; the key's record becomes ``request.user``."""
    header = connection.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise NotAuthorizedException(
            "send `Authorization: Bearer <api key>`",
            headers={"WWW-Authenticate": 'Bearer realm="otpgate"'},
        )
    keys: ApiKeyStore = connection.app.state.services.api_keys
    record = await keys.find(key.strip())
    if record is None:
        raise NotAuthorizedException(
            "unknown or revoked API key",
            headers={"WWW-Authenticate": 'Bearer realm="otpgate", error="invalid_token"'},
        )
    connection.scope["user"] = record
    connection.scope["auth"] = record.id
    return record


def requires_scope(scope: str) -> Guard:
    """A guard that authenticates the request and admits keys holding ``scope``."""

    async def guard(connection: ASGIConnection[Any, ApiKey, Any, Any], _: BaseRouteHandler) -> None:
        record = await authenticate(connection)
        if scope not in record.scopes:
            raise PermissionDeniedException(f"this route needs an API key with scope {scope!r}")

    return guard
