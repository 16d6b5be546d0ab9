"""The blocks SMS-pumping guards set, and their index.

A pumping attack sends codes to many numbers the attacker is paid for, typically
consecutive numbers under one prefix, and never types a code back. So: many distinct
numbers under one prefix in a short window block the prefix; a country whose
verifications stop converting to approvals is held. Both guards are scripts of the send's
first round trip (:mod:`app.abuse.admission`); this module lists and lifts their blocks.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated, Literal

import msgspec

from app.ids import random_id
from app.store.keys import Keys

if TYPE_CHECKING:
    from app.store.redis import StoreClient

__all__ = ["Block", "BlockStore", "new_block_id"]

BlockKind = Literal["prefix", "country"]


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
    """Blocks in force: one key per subject (with its TTL, set by the guards' scripts) and
    an index for listing and lifting."""

    def __init__(self, client: StoreClient, keys: Keys) -> None:
        self._client = client
        self._keys = keys

    def key(self, block: Block) -> str:
        if block.kind == "prefix":
            return self._keys.prefix(block.app, block.subject, "b")
        return self._keys.country(block.app, block.subject, "b")

    def evidence(self, block: Block) -> str:
        """What set the block: the prefix's numbers, or the country's conversion counts."""
        if block.kind == "prefix":
            return self._keys.prefix(block.app, block.subject, "pv")
        return self._keys.country(block.app, block.subject, "cv")

    async def index(self, block: Block) -> None:
        """List a block a guard's script has just set."""
        await self._client.hset(Keys.BLOCKS, block.id, msgspec.json.encode(block).decode())

    async def active(self, app: str) -> list[Block]:
        """The app's blocks still in force (expired ones are dropped from the index)."""
        now = time.time()
        blocks = [
            msgspec.json.decode(raw, type=Block) for raw in await self._client.hvals(Keys.BLOCKS)
        ]
        expired = [block.id for block in blocks if block.until <= now]
        if expired:
            await self._client.hdel(Keys.BLOCKS, *expired)
        live = [block for block in blocks if block.until > now and block.app == app]
        return sorted(live, key=lambda block: block.created_at)

    async def lift(self, app: str, block_id: str) -> Block | None:
        """Lift a block and forget the evidence that set it, so it does not trip again at
        once; None when ``app`` has no such block."""
        raw = await self._client.hget(Keys.BLOCKS, block_id)
        block = None if raw is None else msgspec.json.decode(raw, type=Block)
        if block is None or block.app != app:
            return None
        # Separate commands: on Redis Cluster the block, its evidence and the index live
        # in different slots. An interrupted lift leaves the block listed until it expires.
        await self._client.delete(self.key(block))
        await self._client.delete(self.evidence(block))
        await self._client.hdel(Keys.BLOCKS, block_id)
        return block


def new_block_id() -> str:
    return random_id("blk_")
