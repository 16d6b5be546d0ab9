"""API keys: random, shown once, stored only as SHA-256.

An API key carries 256 random bits, so a fast hash is the right one: nobody can
brute-force it, and a slow hash (argon2) on every request would only burn CPU.

A key belongs to one app and holds scopes: ``verify`` (send and check), ``read``
(verification reads and statistics), ``admin`` (its own app's limits, blocks, events,
providers and keys; implies ``read``) and ``operator`` (every app; implies ``admin``).
It may expire (a rotated key keeps working for its grace period) and may be held to
source networks.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import logging
import secrets
import time
from typing import TYPE_CHECKING, Literal

import msgspec
from redis.exceptions import RedisClusterException, RedisError

from app.apps.signing import signing_secret
from app.store.keys import Keys

if TYPE_CHECKING:
    from collections.abc import Iterable

    from app.store.redis import StoreClient

__all__ = ["SCOPES", "ApiKey", "ApiKeyStore", "effective_scopes", "key_digest"]

log = logging.getLogger("otpgate.keys")

Scope = Literal["verify", "read", "admin", "operator"]
SCOPES: tuple[Scope, ...] = ("verify", "read", "admin", "operator")
_IMPLIED: dict[str, tuple[str, ...]] = {"admin": ("read",), "operator": ("admin", "read")}
_KEY_PREFIX = "otpg_"
#: How often a key's last use is written, at most (per process).
LAST_USED_EVERY = 60.0


def effective_scopes(scopes: Iterable[str]) -> frozenset[str]:
    """``scopes`` with what each implies (``operator`` -> ``admin`` -> ``read``)."""
    return frozenset(s for scope in scopes for s in (scope, *_IMPLIED.get(scope, ())))


class ApiKey(msgspec.Struct, frozen=True):
    """What is known of a key (never the key itself)."""

    id: str
    app: str
    scopes: list[str]
    name: str
    created_at: float
    #: Unix time after which the key is refused; None: never.
    expires_at: float | None = None
    #: Source networks (CIDR) the key is accepted from; empty: anywhere.
    networks: list[str] = msgspec.field(default_factory=list)
    #: Refuse it as a bearer token: signed requests only (app/apps/signing.py).
    signed_only: bool = False

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def allows(self, address: str | None) -> bool:
        """Whether a request from ``address`` may use the key."""
        if not self.networks:
            return True
        try:
            ip = ipaddress.ip_address(address or "")
        except ValueError:
            return False
        return any(ip in ipaddress.ip_network(network) for network in self.networks)


def check_networks(networks: Iterable[str]) -> list[str]:
    """``networks`` in their normal form; a ValueError names one that is not a CIDR."""
    return [str(ipaddress.ip_network(network, strict=False)) for network in networks]


def _sha256(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def key_digest(key: str) -> str:
    return _sha256(key).hex()


_BOOTSTRAP = ApiKey(  # every scope, operator included
    id="bootstrap", app="default", scopes=list(SCOPES), name="bootstrap", created_at=0
)


class ApiKeyStore:
    """Creates, finds, lists and revokes API keys in Redis.

    Args:
        client: the Redis client.
        bootstrap_key: a key from the configuration with every scope for app
            ``default``; it is checked without Redis and never stored there.
    """

    def __init__(
        self, client: StoreClient, bootstrap_key: str | None = None, pepper: bytes = b""
    ) -> None:
        self._client = client
        self._pepper = pepper
        self._bootstrap = None if bootstrap_key is None else _sha256(bootstrap_key)
        self._last_written: dict[str, float] = {}  # key id -> monotonic time
        self._writes: set[asyncio.Task[None]] = set()

    async def create(
        self,
        app: str,
        scopes: Iterable[str],
        name: str = "",
        key: str | None = None,
        *,
        expires_at: float | None = None,
        networks: Iterable[str] = (),
        signed_only: bool = False,
    ) -> tuple[str, ApiKey]:
        """A new key for ``app`` (or register ``key`` itself); returns the key and its record."""
        unknown = set(scopes) - set(SCOPES)
        if unknown:
            raise ValueError(f"unknown scopes: {', '.join(sorted(unknown))}")
        key = key or _KEY_PREFIX + secrets.token_urlsafe(32)
        digest = key_digest(key)
        record = ApiKey(
            id=digest[:16], app=app, scopes=sorted(set(scopes)), name=name,
            created_at=time.time(), expires_at=expires_at, networks=check_networks(networks),
            signed_only=signed_only,
        )  # fmt: skip
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

    def signing_secret(self, key: str) -> str:
        """The secret that signs requests for ``key`` (derived, never stored)."""
        return signing_secret(self._pepper, key_digest(key))

    async def find_signing(self, key_id: str) -> tuple[ApiKey, str] | None:
        """Key ``key_id`` and its signing secret, for a signed request."""
        stored = await self._stored(key_id)
        return None if stored is None else (stored[1], signing_secret(self._pepper, stored[0]))

    async def first_use(self, key_id: str, nonce: str, ttl_ms: int) -> bool:
        """Whether ``nonce`` is new for ``key_id`` (it is remembered for ``ttl_ms``)."""
        return bool(await self._client.set(Keys.nonce(key_id, nonce), "1", nx=True, px=ttl_ms))

    async def _stored(self, key_id: str) -> tuple[str, ApiKey] | None:
        """Key ``key_id``'s digest and record, through the index."""
        digest = await self._client.hget(Keys.API_KEY_INDEX, key_id)
        raw = None if digest is None else await self._client.get(Keys.api_key(digest))
        if digest is None or raw is None:
            return None
        return digest, msgspec.json.decode(raw, type=ApiKey)

    async def get(self, key_id: str) -> ApiKey | None:
        stored = await self._stored(key_id)
        return None if stored is None else stored[1]

    async def current(self, key_id: str) -> ApiKey | None:
        """Key ``key_id``'s record as it stands now (the bootstrap key's too, while it is
        configured): None once it is revoked."""
        if key_id == _BOOTSTRAP.id:
            return _BOOTSTRAP if self._bootstrap is not None else None
        return await self.get(key_id)

    async def expire(self, key_id: str, at: float) -> ApiKey | None:
        """Make key ``key_id`` stop working at ``at`` (or earlier, if it already would)."""
        stored = await self._stored(key_id)
        if stored is None:
            return None
        digest, record = stored
        until = at if record.expires_at is None else min(at, record.expires_at)
        record = msgspec.structs.replace(record, expires_at=until)
        await self._client.set(Keys.api_key(digest), msgspec.json.encode(record))
        return record

    def used(self, key_id: str) -> None:
        """Note that ``key_id`` was just used: written at most every LAST_USED_EVERY
        seconds per process, in the background (a failed write only delays it)."""
        now = time.monotonic()
        if now - self._last_written.get(key_id, -LAST_USED_EVERY) < LAST_USED_EVERY:
            return
        self._last_written[key_id] = now
        task = asyncio.get_running_loop().create_task(self._write_last_used(key_id))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _write_last_used(self, key_id: str) -> None:
        try:
            await self._client.hset(Keys.API_KEY_LAST_USED, key_id, str(int(time.time())))
        except (RedisError, RedisClusterException) as exc:  # the request went on regardless
            self._last_written.pop(key_id, None)
            log.warning("could not record a key's last use: %s", type(exc).__name__)

    async def last_used(self) -> dict[str, float]:
        """Key id -> Unix time of its last recorded use."""
        stamps = await self._client.hgetall(Keys.API_KEY_LAST_USED)
        return {key_id: float(at) for key_id, at in stamps.items()}

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
        await self._client.hdel(Keys.API_KEY_LAST_USED, key_id)
        return True
