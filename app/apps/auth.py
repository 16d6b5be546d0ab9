"""Bearer API-key authentication for /v1 and the scope guards.

Authentication is a guard rather than a middleware: guards run inside the route's own
exception handling, so a 401 or 403 passes through every middleware's ``send`` like any
other response (the Prometheus middleware counts it with its real status), and an
``async`` guard runs on the event loop instead of a worker thread. It is one guard per
route (authentication, then the scope), since Litestar copies the route handler for
every guard of every request.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import time
from typing import TYPE_CHECKING, Any

from litestar import Request
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

from app.apps import signing
from app.apps.keys import effective_scopes
from app.apps.signing import SCHEME
from app.errors import OtpgateError

if TYPE_CHECKING:
    from litestar.connection import ASGIConnection
    from litestar.handlers.base import BaseRouteHandler
    from litestar.types import Guard

    from app.apps.keys import ApiKey, ApiKeyStore

__all__ = ["app_for", "authenticate", "authenticate_basic", "has_scope", "requires_scope"]


_INVALID = {"WWW-Authenticate": 'Bearer realm="otpgate", error="invalid_token"'}


def _refused(detail: str) -> NotAuthorizedException:
    return NotAuthorizedException(detail, headers=_INVALID)


async def authenticate(connection: ASGIConnection[Any, Any, Any, Any]) -> ApiKey:
    """``Authorization: Bearer <key>``, or a signed request (:mod:`app.apps.signing`);
    the key's record becomes ``request.user``."""
    header = connection.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    services = connection.app.state.services
    keys: ApiKeyStore = services.api_keys
    if scheme.lower() == "bearer" and credentials.strip():
        record = await keys.find(credentials.strip())
        if record is not None and record.signed_only:
            raise _refused("this API key accepts signed requests only")
    elif scheme == SCHEME:
        record = await _signed(connection, keys, credentials)
    else:
        raise NotAuthorizedException(
            "send `Authorization: Bearer <api key>` or a signed request",
            headers={"WWW-Authenticate": 'Bearer realm="otpgate"'},
        )
    return _admitted(connection, record)


async def authenticate_basic(connection: ASGIConnection[Any, Any, Any, Any]) -> ApiKey:
    """HTTP Basic with the key's id as the user name and the key as the password (what
    a Twilio SDK sends as Account SID and Auth Token); the key's record becomes
    ``request.user``. The id must be the key's own: a key alone is not enough."""
    scheme, _, credentials = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        raise NotAuthorizedException(
            "send HTTP Basic: the API key's id and the API key",
            headers={"WWW-Authenticate": 'Basic realm="otpgate"'},
        )
    try:
        key_id, _, key = (
            base64.b64decode(credentials.strip(), validate=True).decode().partition(":")
        )
    except (binascii.Error, ValueError):
        key_id, key = "", ""
    record = await connection.app.state.services.api_keys.find(key) if key else None
    if record is not None and not hmac.compare_digest(record.id.encode(), key_id.encode()):
        record = None
    if record is not None and record.signed_only:
        raise _refused("this API key accepts signed requests only")
    return _admitted(connection, record)


def _admitted(connection: ASGIConnection[Any, Any, Any, Any], record: ApiKey | None) -> ApiKey:
    """``record`` if it may be used here and now: not expired, from an allowed network,
    of an enabled app."""
    services = connection.app.state.services
    if record is None or record.expired(time.time()):
        raise _refused("unknown, revoked or expired API key")
    if not record.allows(connection.client.host if connection.client else None):
        raise OtpgateError("ip_not_allowed", "this API key is not accepted from this address")
    if services.apps.disabled(record.app):
        raise OtpgateError("app_disabled", f"app {record.app!r} is disabled")
    services.api_keys.used(record.id)
    connection.scope["user"] = record
    connection.scope["auth"] = record.id
    return record


async def _signed(
    connection: ASGIConnection[Any, Any, Any, Any], keys: ApiKeyStore, credentials: str
) -> ApiKey | None:
    """The key of a signed request whose signature, timestamp and nonce hold."""
    signed = signing.parse(credentials)
    if signed is None:
        raise _refused(f"{SCHEME} needs key=<id>,ts=<unix>,nonce=<16-64 chars>,sig=<hex>")
    if abs(time.time() - signed.timestamp) > signing.WINDOW:
        raise _refused(f"the timestamp is more than {signing.WINDOW} s off the server's clock")
    found = await keys.find_signing(signed.key_id)
    if found is None:
        return None
    record, secret = found
    if not isinstance(connection, Request):  # /v1 is HTTP only
        return None
    query = connection.scope.get("query_string", b"").decode("latin-1")
    path = connection.scope.get("raw_path") or connection.scope["path"].encode()  # optional in ASGI
    target = path.decode("latin-1") + (f"?{query}" if query else "")
    body = await connection.body()
    expected = signing.sign(secret, connection.method, target, signed.timestamp, signed.nonce, body)
    if not hmac.compare_digest(expected, signed.signature):
        raise _refused("the signature does not match the request")
    if not await keys.first_use(record.id, signed.nonce, 2 * signing.WINDOW * 1000):
        raise _refused("this nonce was used already: a replayed request")
    return record


def requires_scope(*scopes: str) -> Guard:
    """A guard that authenticates the request and admits keys holding one of ``scopes``
    (or a scope that implies one: ``operator`` -> ``admin`` -> ``read``)."""
    wanted = " or ".join(repr(scope) for scope in scopes)

    async def guard(connection: ASGIConnection[Any, ApiKey, Any, Any], _: BaseRouteHandler) -> None:
        record = await authenticate(connection)
        if not has_scope(record, *scopes):
            raise PermissionDeniedException(f"this route needs an API key with scope {wanted}")

    return guard


def has_scope(record: ApiKey, *scopes: str) -> bool:
    """Whether ``record`` holds one of ``scopes``, or a scope that implies one."""
    return bool(effective_scopes(record.scopes) & set(scopes))


def app_for(record: ApiKey, app: str | None) -> str:
    """The app a request is about: the key's own, or ``app`` for an ``operator`` key."""
    if app is None or app == record.app:
        return record.app
    if "operator" not in record.scopes:
        raise PermissionDeniedException("only an operator key may act on another app")
    return app
