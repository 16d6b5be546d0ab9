"""API keys: random, shown once, stored only as SHA-256.

An API key carries 256 random bits, so a fast hash is the right one: nobody can
brute-force it, and a slow hash (argon2) on every request would only burn CPU.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import TYPE_CHECKING, Literal

import msgspec

from app.store.keys import Keys

if TYPE_CHECKING:
    from collections.abc import Iterable

    from app.store.redis import StoreClient

__all__ = ["SCOPES", "ApiKey", "ApiKeyStore", "key_digest"]

Scope = Literal["verify", "admin"]
SCOPES: tuple[Scope, ...] = ("verify", "admin")
_KEY_PREFIX = "otpg_"


class ApiKey(msgspec.Struct, frozen=True):
    """What is known of a key (never the key itself)."""

    id: str
    app: str
    scopes: list[str]
    name: str
    created_at: float


def _sha256(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def key_digest(key: str) -> str:
    return _sha256(key).hex()


_BOOTSTRAP = ApiKey(
    id="bootstrap", app="default", scopes=list(SCOPES), name="bootstrap", created_at=0
)


class ApiKeyStore:
    """Creates, finds, lists and revokes API keys in Redis.

    Args:
        client: the Redis client.
        bootstrap_key: a key from the configuration with every scope for app
            ``default``; it is checked without Redis and never stored there.
    """

    def __init__(self, client: StoreClient, bootstrap_key: str | None = None) -> None:
        self._client = client
        self._bootstrap = None if bootstrap_key is None else _sha256(bootstrap_key)

    async def create(
        self, app: str, scopes: Iterable[str], name: str = "", key: str | None = None
    ) -> tuple[str, ApiKey]:
        """A new key for ``app`` (or register ``key`` itself); returns the key and its record."""
        unknown = set(scopes) - set(SCOPES)
        if unknown:
            raise ValueError(f"unknown scopes: {', '.join(sorted(unknown))}")
        key = key or _KEY_PREFIX + secrets.token_urlsafe(32)
        digest = key_digest(key)
        record = ApiKey(
            id=digest[:16], app=app, scopes=sorted(set(scopes)), name=name, created_at=time.time()
        )
        # The record and the index live in different slots (on Cluster no transaction
        # spans them), so the index entry comes first: a failure in between leaves an
        # entry without a record, which no request can use and :meth:`list` skips.
        await self._client.hset(Keys.API_KEY_INDEX, record.id, digest)
        await self._client.set(Keys.api_key(digest), msgspec.json.encode(record))
        return key, record

    async def find(self, key: str) -> ApiKey | None:
        if self._bootstrap is not None and hmac.compare_digest(_sha256(key), self._bootstrap):
            return _BOOTSTRAP
        raw = await self._client.get(Keys.api_key(key_digest(key)))
        return None if raw is None else msgspec.json.decode(raw, type=ApiKey)

    async def list(self) -> list[ApiKey]:
        digests = await self._client.hvals(Keys.API_KEY_INDEX)
        if not digests:
            return []
        pipe = self._client.pipeline(transaction=False)  # on Cluster: split by slot
        for digest in digests:
            pipe.get(Keys.api_key(digest))
        raws = await pipe.execute()
        keys = [msgspec.json.decode(raw, type=ApiKey) for raw in raws if raw is not None]
        return sorted(keys, key=lambda record: record.created_at)

    async def revoke(self, key_id: str) -> bool:
        digest = await self._client.hget(Keys.API_KEY_INDEX, key_id)
        if digest is None:
            return False
        # The record first: once it is gone the key stops working, whatever happens next.
        await self._client.delete(Keys.api_key(digest))
        await self._client.hdel(Keys.API_KEY_INDEX, key_id)
        return True
