"""Dashboard sessions: who signed in with which API key, kept in Redis with a TTL.

The browser holds a random id (256 bits) in a cookie; Redis holds, under a digest of that
id (:meth:`~app.store.keys.Keys.dashboard_session`), the key's id, app and scopes and the
session's CSRF token, never the API key. Each request reads the key's record again
(:meth:`~app.apps.keys.ApiKeyStore.current`), so a revoked or expired key, a key that lost
its scope, a source network it is no longer accepted from or a disabled app ends the
session at its next request.

Litestar's server-side sessions would name the Redis key by the cookie's id itself and
need a plain ``Redis`` client (not our Cluster or Sentinel one); hence this small store.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import msgspec

from app.apps.keys import effective_scopes
from app.errors import OtpgateError
from app.store.keys import Keys

if TYPE_CHECKING:
    from app.apps.keys import ApiKey, ApiKeyStore
    from app.apps.registry import AppRegistry
    from app.store.redis import StoreClient

__all__ = ["DASHBOARD_SCOPES", "Session", "Sessions", "SignedIn"]

#: A key with one of these may sign in to the dashboard (``admin``: its own app).
DASHBOARD_SCOPES = frozenset({"admin", "operator"})


class Session(msgspec.Struct, frozen=True):
    """What Redis keeps of a session."""

    key_id: str
    app: str
    scopes: list[str]
    #: The token every form that changes something must carry.
    csrf: str
    created_at: float

    def accepts(self, token: str) -> bool:
        """Whether ``token`` is this session's CSRF token."""
        return hmac.compare_digest(self.csrf.encode(), token.encode())


@dataclass(frozen=True)
class SignedIn:
    """A live session and its key's record as it stands now."""

    session_id: str
    session: Session
    key: ApiKey

    @property
    def app(self) -> str:
        return self.key.app

    @property
    def operator(self) -> bool:
        return "operator" in self.key.scopes


class Sessions:
    """Signs in with an API key, resumes and ends dashboard sessions.

    Args:
        client: the Redis client.
        api_keys: where keys are found and read again on each request.
        apps: the apps (a disabled app's keys cannot sign in).
        ttl: seconds a session lasts without a request.
    """

    def __init__(
        self, client: StoreClient, api_keys: ApiKeyStore, apps: AppRegistry, ttl: float
    ) -> None:
        self._client, self._keys, self._apps = client, api_keys, apps
        self._ttl_ms = int(ttl * 1000)

    async def sign_in(
        self, key: str, address: str | None, replacing: str | None = None
    ) -> tuple[str, Session]:
        """A new session for ``key``, used from ``address``, in place of the browser's
        session ``replacing`` if it had one; returns its id and record.

        Raises:
            OtpgateError: ``unauthorized`` for an unknown, revoked or expired key (or one
                for signed requests only), ``forbidden`` without ``admin`` or ``operator``,
                ``ip_not_allowed``, ``app_disabled``.
        """
        record = await self._keys.find(key.strip()) if key.strip() else None
        if record is None or record.expired(time.time()):
            raise OtpgateError("unauthorized", "unknown, revoked or expired API key")
        if record.signed_only:
            raise OtpgateError("unauthorized", "this API key accepts signed requests only")
        if not record.allows(address):
            raise OtpgateError("ip_not_allowed", "this API key is not accepted from this address")
        if self._apps.disabled(record.app):
            raise OtpgateError("app_disabled", f"app {record.app!r} is disabled")
        if not effective_scopes(record.scopes) & DASHBOARD_SCOPES:
            raise OtpgateError(
                "forbidden",
                "the dashboard needs an API key with scope 'admin' (its own app) or "
                f"'operator' (every app); this key has {', '.join(record.scopes)}",
            )
        session_id = secrets.token_urlsafe(32)
        session = Session(record.id, record.app, record.scopes, secrets.token_urlsafe(32),
                          time.time())  # fmt: skip
        await self._client.set(
            Keys.dashboard_session(session_id), msgspec.json.encode(session), px=self._ttl_ms
        )
        if replacing:
            await self.sign_out(replacing)
        return session_id, session

    async def resume(self, session_id: str, address: str | None) -> SignedIn | None:
        """The session ``session_id`` (its TTL starts again), if it and its key still hold;
        a session whose key no longer may sign in is ended."""
        name = Keys.dashboard_session(session_id)
        raw = await self._client.getex(name, px=self._ttl_ms)
        if raw is None:
            return None
        session = msgspec.json.decode(raw, type=Session)
        record = await self._keys.current(session.key_id)
        if record is None or not self._usable(record, address):
            await self._client.delete(name)
            return None
        return SignedIn(session_id, session, record)

    def _usable(self, record: ApiKey, address: str | None) -> bool:
        return (
            not record.expired(time.time())
            and record.allows(address)
            and not self._apps.disabled(record.app)
            and bool(effective_scopes(record.scopes) & DASHBOARD_SCOPES)
        )

    async def sign_out(self, session_id: str) -> None:
        await self._client.delete(Keys.dashboard_session(session_id))
