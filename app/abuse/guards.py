"""SMS-pumping guards: prefix velocity, the conversion guard, and the blocks they set.

A pumping attack sends codes to many numbers the attacker is paid for, typically
consecutive numbers under one prefix, and never types a code back. So: many distinct
numbers under one prefix in a short window block the prefix; a country whose
verifications stop converting to approvals is held.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Annotated, Literal

import limits
import msgspec
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from app.ids import random_id
from app.store.keys import Keys

if TYPE_CHECKING:
    from limits.aio.storage import Storage
    from redis.asyncio import Redis

    from app.store.redis import Scripts

__all__ = ["Block", "BlockStore", "ConversionGuard", "PrefixVelocity"]

BlockKind = Literal["prefix", "country"]
# Conversion counters only count; this is their "limit", never reached.
_UNBOUNDED = 10**12


class Block(msgspec.Struct, frozen=True):
    """Sends matching ``subject`` (a number prefix or a country) are refused until ``until``."""

    id: Annotated[str, msgspec.Meta(description="The block id (`blk_…`).")]
    app: Annotated[str, msgspec.Meta(description="The app whose sends it holds.")]
    kind: Annotated[
        BlockKind,
        msgspec.Meta(description="`prefix` (prefix velocity) or `country` (conversion guard)."),
    ]
    subject: Annotated[
        str, msgspec.Meta(description="The number prefix (`+8613800138`) or the country (`NG`).")
    ]
    reason: Annotated[str, msgspec.Meta(description="What tripped the guard.")]
    created_at: Annotated[float, msgspec.Meta(description="Unix time (s) it was set.")]
    until: Annotated[float, msgspec.Meta(description="Unix time (s) it ends by itself.")]


class BlockStore:
    """Active blocks: one key per subject (with its TTL) and an index for listing."""

    def __init__(self, client: Redis) -> None:
        self._client = client

    async def matching(self, app: str, prefix: str, country: str) -> Block | None:
        raws = await self._client.mget(
            [Keys.block(app, "prefix", prefix), Keys.block(app, "country", country)]
        )
        for raw in raws:
            if raw is not None:
                return msgspec.json.decode(raw, type=Block)
        return None

    async def add(
        self, app: str, kind: BlockKind, subject: str, reason: str, seconds: float
    ) -> Block:
        now = time.time()
        block = Block(random_id("blk_"), app, kind, subject, reason, now, now + seconds)
        encoded = msgspec.json.encode(block).decode()
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.set(Keys.block(app, kind, subject), encoded, px=int(seconds * 1000))
            pipe.hset(Keys.BLOCKS, block.id, encoded)
            await pipe.execute()
        return block

    async def active(self, app: str) -> list[Block]:
        """The app's blocks still in force (expired ones are dropped from the index)."""
        now = time.time()
        blocks = [
            msgspec.json.decode(raw, type=Block) for raw in (await self._client.hvals(Keys.BLOCKS))
        ]
        expired = [block.id for block in blocks if block.until <= now]
        if expired:
            await self._client.hdel(Keys.BLOCKS, *expired)
        live = [block for block in blocks if block.until > now and block.app == app]
        return sorted(live, key=lambda block: block.created_at)

    async def lift(self, app: str, block_id: str) -> Block | None:
        raw = await self._client.hget(Keys.BLOCKS, block_id)
        block = None if raw is None else msgspec.json.decode(raw, type=Block)
        if block is None or block.app != app:
            return None
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.delete(Keys.block(app, block.kind, block.subject))
            pipe.hdel(Keys.BLOCKS, block_id)
            await pipe.execute()
        return block


class PrefixVelocity:
    """Distinct numbers per prefix within a window (a Lua script over a sorted set)."""

    def __init__(self, client: Redis, scripts: Scripts) -> None:
        self._client = client
        self._scripts = scripts

    async def record(self, app: str, prefix: str, number: str, window: float) -> int:
        result = await self._scripts.run(
            "prefix_velocity", [Keys.prefix_velocity(app, prefix)], [number, int(window * 1000)]
        )
        return int(result)  # type: ignore[call-overload]

    async def reset(self, app: str, prefix: str) -> None:
        await self._client.delete(Keys.prefix_velocity(app, prefix))


class ConversionGuard:
    """Verifications started and approved per (app, country), over a sliding window."""

    def __init__(self, storage: Storage) -> None:
        self._counter = SlidingWindowCounterRateLimiter(storage)

    @staticmethod
    def _item(window: float) -> limits.RateLimitItem:
        return limits.RateLimitItemPerSecond(_UNBOUNDED, max(1, int(window)))

    async def started(self, app: str, country: str, window: float) -> None:
        await self._counter.hit(self._item(window), "conv-started", app, country)

    async def approved(self, app: str, country: str, window: float) -> None:
        await self._counter.hit(self._item(window), "conv-approved", app, country)

    async def counts(self, app: str, country: str, window: float) -> tuple[int, int]:
        """(started, approved) within the window."""
        item = self._item(window)
        started, approved = await asyncio.gather(
            self._counter.get_window_stats(item, "conv-started", app, country),
            self._counter.get_window_stats(item, "conv-approved", app, country),
        )
        return _UNBOUNDED - started.remaining, _UNBOUNDED - approved.remaining

    async def reset(self, app: str, country: str, window: float) -> None:
        item = self._item(window)
        await self._counter.clear(item, "conv-started", app, country)
        await self._counter.clear(item, "conv-approved", app, country)
