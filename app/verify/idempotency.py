"""Idempotency-Key for POST /v1/verifications: a retried request sends no second SMS.

The same key with the same body within the TTL answers the first response again; with a
different body it is refused. Only a completed send is remembered: a request that failed
(cooldown, bad number, Redis down) leaves nothing behind, so the client may retry it.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

import msgspec

from app.errors import OtpgateError
from app.store.keys import Keys

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["IdempotencyStore", "fingerprint"]

_MAX_KEY_LENGTH = 255
# A claim lives only this long unless completed, so a request that died with its Redis
# connection (and could not release its claim) blocks retries for seconds, not a day.
_CLAIM_LEASE_MS = 30_000


class _Entry(msgspec.Struct):
    fingerprint: str
    done: bool = False
    response: dict[str, Any] | None = None


def fingerprint(body: msgspec.Struct) -> str:
    """A digest of a decoded request body (field order and spacing do not matter)."""
    return hashlib.sha256(msgspec.json.encode(body)).hexdigest()


class IdempotencyStore:
    """Claims, completes and releases idempotency keys in Redis."""

    def __init__(self, client: Redis, ttl: float) -> None:
        self._client = client
        self._ttl_ms = int(ttl * 1000)

    async def claim(self, app: str, key: str, body_fingerprint: str) -> dict[str, Any] | None:
        """Claim ``key`` for this request; the stored response if it already completed.

        Raises:
            OtpgateError: ``idempotency_key_reused`` for another body,
                ``idempotency_key_in_progress`` while the first request still runs.
        """
        if not 1 <= len(key) <= _MAX_KEY_LENGTH:
            raise OtpgateError(
                "invalid_request", f"Idempotency-Key must be 1 to {_MAX_KEY_LENGTH} characters"
            )
        redis_key = Keys.idempotency(app, key)
        claimed = await self._client.set(
            redis_key,
            msgspec.json.encode(_Entry(body_fingerprint)),
            nx=True,
            px=min(_CLAIM_LEASE_MS, self._ttl_ms),
        )
        if claimed:
            return None
        raw = await self._client.get(redis_key)
        if raw is None:  # expired between the two calls: claim again
            return await self.claim(app, key, body_fingerprint)
        entry = msgspec.json.decode(raw, type=_Entry)
        if entry.fingerprint != body_fingerprint:
            raise OtpgateError(
                "idempotency_key_reused",
                "this Idempotency-Key was used with a different request body",
            )
        if not entry.done:
            raise OtpgateError("idempotency_key_in_progress", retry_after=1)
        return entry.response

    async def complete(
        self, app: str, key: str, body_fingerprint: str, response: dict[str, Any]
    ) -> None:
        entry = _Entry(body_fingerprint, done=True, response=response)
        await self._client.set(
            Keys.idempotency(app, key), msgspec.json.encode(entry), px=self._ttl_ms
        )

    async def release(self, app: str, key: str) -> None:
        await self._client.delete(Keys.idempotency(app, key))
