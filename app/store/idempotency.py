"""Idempotency-Key entries in Redis: claimed with a lease, moved on and let go only by
the request that holds them (a token in the entry says which)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.store.keys import Keys

if TYPE_CHECKING:
    from app.store.redis import Scripts

__all__ = ["IdempotencyEntries"]


class IdempotencyEntries:
    """One JSON entry per (app, key); the phases and their meaning are the caller's."""

    def __init__(self, scripts: Scripts) -> None:
        self._client = scripts.client
        self._scripts = scripts

    @staticmethod
    def name(app: str, key: str) -> str:
        """Where the entry of ``key`` of ``app`` lives."""
        return Keys.idempotency(app, key)

    async def claim(self, name: str, entry: bytes, lease_ms: int) -> bool:
        """Write ``entry`` unless the key has one; it lives ``lease_ms`` unless moved on."""
        return bool(await self._client.set(name, entry, nx=True, px=lease_ms))

    async def read(self, name: str) -> bytes | str | None:
        raw: bytes | str | None = await self._client.get(name)
        return raw

    async def move(self, name: str, token: str, entry: bytes, ttl_ms: int) -> bool:
        """Replace the entry held with ``token`` (or one whose lease ran out unclaimed)."""
        moved = await self._scripts.run("idempotency_sending", [name], [token, entry, ttl_ms])
        return bool(moved[0] == "sending")

    async def put(self, name: str, entry: bytes, ttl_ms: int) -> None:
        await self._client.set(name, entry, px=ttl_ms)

    async def release(self, name: str, token: str) -> None:
        """Delete the entry held with ``token``; another request's claim stays."""
        await self._scripts.run("idempotency_release", [name], [token])
