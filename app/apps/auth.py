"""Bearer API-key authentication for /v1 and the scope guards.

Authentication is a guard rather than a middleware: guards run inside the route's own
exception handling, so a 401 or 403 passes through every middleware's ``send`` like any
other response (the Prometheus middleware counts it with its real status), and an
``async`` guard runs on the event loop instead of a worker thread. It is one guard per
route (authentication, then the scope), since Litestar copies the route handler for
every guard of every request.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

from app.apps.keys import effective_scopes
from app.errors import OtpgateError

if TYPE_CHECKING:
    from litestar.connection import ASGIConnection
    from litestar.handlers.base import BaseRouteHandler
    from litestar.types import Guard

    from app.apps.keys import ApiKey, ApiKeyStore

__all__ = ["app_for", "requires_scope"]


async def authenticate(connection: ASGIConnection[Any, Any, Any, Any]) -> ApiKey:
    """``Authorization: Bearer <key>``; the key's record becomes ``request.user``."""
    header = connection.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise NotAuthorizedException(
            "send `Authorization: Bearer <api key>`",
            headers={"WWW-Authenticate": 'Bearer realm="otpgate"'},
        )
    services = connection.app.state.services
    keys: ApiKeyStore = services.api_keys
    record = await keys.find(key.strip())
    if record is None or record.expired(time.time()):
        raise NotAuthorizedException(
            "unknown, revoked or expired API key",
            headers={"WWW-Authenticate": 'Bearer realm="otpgate", error="invalid_token"'},
        )
    if not record.allows(connection.client.host if connection.client else None):
        raise OtpgateError("ip_not_allowed", "this API key is not accepted from this address")
    if services.apps.disabled(record.app):
        raise OtpgateError("app_disabled", f"app {record.app!r} is disabled")
    keys.used(record.id)
    connection.scope["user"] = record
    connection.scope["auth"] = record.id
    return record


def requires_scope(*scopes: str) -> Guard:
    """A guard that authenticates the request and admits keys holding one of ``scopes``
    (or a scope that implies one: ``operator`` -> ``admin`` -> ``read``)."""
    wanted = " or ".join(repr(scope) for scope in scopes)

    async def guard(connection: ASGIConnection[Any, ApiKey, Any, Any], _: BaseRouteHandler) -> None:
        record = await authenticate(connection)
        if not effective_scopes(record.scopes) & set(scopes):
            raise PermissionDeniedException(f"this route needs an API key with scope {wanted}")

    return guard


def app_for(record: ApiKey, app: str | None) -> str:
    """The app a request is about: the key's own, or ``app`` for an ``operator`` key."""
    if app is None or app == record.app:
        return record.app
    if "operator" not in record.scopes:
        raise PermissionDeniedException("only an operator key may act on another app")
    return app
