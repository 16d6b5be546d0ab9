"""Admin routes for an app's API keys: list, create, revoke, rotate.

An ``admin`` key manages its own app's keys, an ``operator`` key any app's; nobody
creates a key with a scope beyond their own. The key itself is in the answer that
creates it, once; Redis keeps only its SHA-256.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.exceptions import PermissionDeniedException
from litestar.params import JSONBody, PathParameter

from app.apps.auth import app_for, requires_scope
from app.apps.keys import ApiKey, ApiKeyStore, Scope, effective_scopes
from app.errors import OtpgateError
from app.http.contract import API_KEY_PROBLEMS, problems

__all__ = ["ApiKeysController", "own_key"]

AppName = Annotated[str, PathParameter(description="The app (the key's own, unless operator).")]
KeyId = Annotated[str, PathParameter(description="The key's id (16 hex digits).")]
_MAX_LIFETIME = 10 * 365 * 86400


class KeyView(msgspec.Struct, frozen=True):
    """An API key as it is known (never the key itself)."""

    id: Annotated[str, msgspec.Meta(description="The key's id (16 hex digits).")]
    app: Annotated[str, msgspec.Meta(description="The app it belongs to.")]
    scopes: Annotated[list[Scope], msgspec.Meta(description="What it may do.")]
    name: Annotated[str, msgspec.Meta(description="A name for people.")]
    created_at: Annotated[float, msgspec.Meta(description="Unix time.")]
    expires_at: Annotated[float | None, msgspec.Meta(description="Unix time; null: never.")]
    networks: Annotated[
        list[str], msgspec.Meta(description="Source networks it is accepted from; []: any.")
    ]
    last_used_at: Annotated[
        float | None,
        msgspec.Meta(description="Unix time of its last use, to the minute; null: unused."),
    ]
    signed_only: Annotated[
        bool, msgspec.Meta(description="true: refused as a bearer token, signed requests only.")
    ]


class Keys(msgspec.Struct, frozen=True):
    """An app's API keys."""

    keys: Annotated[list[KeyView], msgspec.Meta(description="Oldest first.")]


class NewKey(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A key to create."""

    scopes: Annotated[
        list[Scope],
        msgspec.Meta(min_length=1, max_length=4, description="Within the creator's own."),
    ]
    name: Annotated[str, msgspec.Meta(max_length=100, description="A name for people.")] = ""
    expires_in: (
        Annotated[int, msgspec.Meta(ge=60, le=_MAX_LIFETIME, description="Seconds from now.")]
        | None
    ) = None
    networks: Annotated[
        list[Annotated[str, msgspec.Meta(max_length=64)]],
        msgspec.Meta(max_length=64, description="CIDR networks, e.g. `10.0.0.0/8`; []: any."),
    ] = msgspec.field(default_factory=list)
    signed_only: Annotated[
        bool, msgspec.Meta(description="Accept signed requests only, never the bearer token.")
    ] = False


class Rotation(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How to rotate a key."""

    grace_seconds: Annotated[
        int,
        msgspec.Meta(ge=0, le=30 * 86400, description="How long the old key keeps working."),
    ] = 3600


class CreatedKey(msgspec.Struct, frozen=True):
    """A new key and its record."""

    key: Annotated[str, msgspec.Meta(description="The API key: shown this once only.")]
    signing_secret: Annotated[
        str, msgspec.Meta(description="What signs its requests: shown this once only.")
    ]
    api_key: Annotated[KeyView, msgspec.Meta(description="What is known of it.")]


class RotatedKey(msgspec.Struct, frozen=True):
    """The key that replaces a rotated one, and the rotated one."""

    key: Annotated[str, msgspec.Meta(description="The new API key: shown this once only.")]
    signing_secret: Annotated[
        str, msgspec.Meta(description="What signs the new key's requests: shown once only.")
    ]
    api_key: Annotated[KeyView, msgspec.Meta(description="What is known of the new key.")]
    replaced: Annotated[KeyView, msgspec.Meta(description="The old key, with its expiry.")]


class Revoked(msgspec.Struct, frozen=True):
    """A revoked key."""

    id: Annotated[str, msgspec.Meta(description="The key's id.")]
    revoked: Annotated[bool, msgspec.Meta(description="true: it works no more.")]


def _view(record: ApiKey, last_used: dict[str, float]) -> KeyView:
    return KeyView(
        id=record.id, app=record.app, scopes=record.scopes,  # type: ignore[arg-type]
        name=record.name, created_at=record.created_at, expires_at=record.expires_at,
        networks=record.networks, last_used_at=last_used.get(record.id),
        signed_only=record.signed_only,
    )  # fmt: skip


def _grantable(creator: ApiKey, scopes: list[str]) -> None:
    beyond = sorted(set(scopes) - effective_scopes(creator.scopes))
    if beyond:
        raise PermissionDeniedException(f"a key cannot grant scopes it lacks: {', '.join(beyond)}")


async def own_key(keys: ApiKeyStore, app: str, key_id: str) -> ApiKey:
    record = await keys.get(key_id)
    if record is None or record.app != app:  # another app's key is no business of this one
        raise OtpgateError("key_not_found")
    return record


class ApiKeysController(Controller):
    path = "/v1/apps/{app:str}/keys"
    tags = ["keys"]
    guards = [requires_scope("admin")]
    security = [{"apiKey": []}]
    signature_types = [ApiKey, ApiKeyStore]

    @get("/", operation_id="listKeys", summary="The app's API keys", **problems(*API_KEY_PROBLEMS))
    async def list_keys(
        self,
        app: AppName,
        request: Request[ApiKey, str, Any],
        api_keys: NamedDependency[ApiKeyStore],
    ) -> Keys:
        app = app_for(request.user, app)
        last_used = await api_keys.last_used()
        return Keys([_view(r, last_used) for r in await api_keys.list() if r.app == app])

    @post(
        "/",
        operation_id="createKey",
        summary="Create an API key (shown once)",
        status_code=201,
        **problems(*API_KEY_PROBLEMS, "invalid_request", "payload_too_large"),
    )
    async def create_key(
        self,
        app: AppName,
        data: JSONBody[NewKey],
        request: Request[ApiKey, str, Any],
        api_keys: NamedDependency[ApiKeyStore],
    ) -> CreatedKey:
        app = app_for(request.user, app)
        _grantable(request.user, list(data.scopes))
        expires_at = None if data.expires_in is None else time.time() + data.expires_in
        try:
            key, record = await api_keys.create(
                app, data.scopes, data.name, expires_at=expires_at, networks=data.networks,
                signed_only=data.signed_only,
            )  # fmt: skip
        except ValueError as exc:  # a network that is not CIDR
            raise OtpgateError("invalid_request", f"networks: {exc}") from exc
        return CreatedKey(key, api_keys.signing_secret(key), _view(record, {}))

    @delete(
        "/{key_id:str}",
        operation_id="revokeKey",
        summary="Revoke an API key",
        status_code=200,
        **problems(*API_KEY_PROBLEMS, "key_not_found"),
    )
    async def revoke_key(
        self,
        app: AppName,
        key_id: KeyId,
        request: Request[ApiKey, str, Any],
        api_keys: NamedDependency[ApiKeyStore],
    ) -> Revoked:
        await own_key(api_keys, app_for(request.user, app), key_id)
        return Revoked(key_id, await api_keys.revoke(key_id))

    @post(
        "/{key_id:str}/rotate",
        operation_id="rotateKey",
        summary="A new key in place of this one, which works on for a grace period",
        status_code=201,
        **problems(*API_KEY_PROBLEMS, "invalid_request", "key_not_found"),
    )
    async def rotate_key(
        self,
        app: AppName,
        key_id: KeyId,
        request: Request[ApiKey, str, Any],
        api_keys: NamedDependency[ApiKeyStore],
        data: JSONBody[Rotation | None] = None,
    ) -> RotatedKey:
        old = await own_key(api_keys, app_for(request.user, app), key_id)
        _grantable(request.user, old.scopes)
        grace = (data or Rotation()).grace_seconds
        key, record = await api_keys.create(
            old.app, old.scopes, old.name, expires_at=old.expires_at, networks=old.networks,
            signed_only=old.signed_only,
        )  # fmt: skip
        replaced = await api_keys.expire(key_id, time.time() + grace) or old
        last_used = await api_keys.last_used()
        return RotatedKey(
            key, api_keys.signing_secret(key), _view(record, {}), _view(replaced, last_used)
        )
