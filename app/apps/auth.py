"""Bearer API-key authentication for /v1 and the scope guards."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

if TYPE_CHECKING:
    from litestar.connection import ASGIConnection
    from litestar.handlers.base import BaseRouteHandler
    from litestar.types import Guard

    from app.apps.keys import ApiKey, ApiKeyStore

__all__ = ["ApiKeyAuthMiddleware", "requires_scope"]


class ApiKeyAuthMiddleware(AbstractAuthenticationMiddleware):
    """``Authorization: Bearer <key>``; the key's record becomes ``request.user``."""

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        header = connection.headers.get("authorization", "")
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise NotAuthorizedException(
                "send `Authorization: Bearer <api key>`",
                headers={"WWW-Authenticate": 'Bearer realm="otpgate"'},
            )
        store: ApiKeyStore = connection.app.state.api_keys
        record = await store.find(key.strip())
        if record is None:
            raise NotAuthorizedException(
                "unknown or revoked API key",
                headers={"WWW-Authenticate": 'Bearer realm="otpgate", error="invalid_token"'},
            )
        return AuthenticationResult(user=record, auth=record.id)


def requires_scope(scope: str) -> Guard:
    """A guard that admits keys holding ``scope``."""

    def guard(connection: ASGIConnection[Any, ApiKey, Any, Any], _: BaseRouteHandler) -> None:
        if scope not in connection.user.scopes:
            raise PermissionDeniedException(f"this route needs an API key with scope {scope!r}")

    return guard
