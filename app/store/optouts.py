"""Opt-outs in Redis: a mark per (app, number) in the number's slot, which the send's first
script reads (``admit_number.lua``), and the app's list of them, to show and clear.

A change writes both in one round trip. They live in different slots (the mark beside the
number's verifications, the list in the app's), so on Cluster they are two writes rather
than one transaction: each is idempotent, and the retry of a failed one (the provider's,
or the admin's) settles both. Only a STOP and a START of one number at the same instant
could leave the two apart. Neither expires: an opt-out lasts until the number opts back
in or an admin clears it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from app.store.keys import Keys

if TYPE_CHECKING:
    from collections.abc import Sequence

    from app.store.redis import Scripts

__all__ = ["OptOut", "OptOutStore"]


class OptOut(msgspec.Struct, frozen=True):
    """One number's opt-out of an app, as the app's list keeps it: never the number."""

    id: str
    #: the (app, number) subject, which names the mark's key
    subject: str
    #: the number masked (``+86138****8000``)
    number: str
    country: str
    #: Unix time (s) of the opt-out
    at: float
    #: the provider name it came through
    provider: str
    #: the stop word, as folded (``td``)
    keyword: str


class OptOutStore:
    """Marks numbers opted out of apps, lists and clears them."""

    def __init__(self, scripts: Scripts) -> None:
        self._scripts = scripts
        self._client = scripts.client

    async def mark(self, app: str, entries: Sequence[OptOut]) -> list[bool]:
        """Opt each entry's number out of ``app``; whether each one is new (a number opted
        out already keeps its first entry)."""
        if not entries:
            return []
        batch = self._scripts.batch()
        for entry in entries:
            batch.command("SET", Keys.opt_out(entry.subject), int(entry.at * 1000), "NX")
            batch.command("HSETNX", Keys.opt_outs(app), entry.id, msgspec.json.encode(entry))
        results = await batch.run()
        return [results[2 * n] is not None for n in range(len(entries))]

    async def unmark(self, app: str, entries: Sequence[tuple[str, str]]) -> list[bool]:
        """Opt each (subject, id) back in to ``app``; whether each one was opted out (its
        mark was there: of two clears at once, one is told it was)."""
        if not entries:
            return []
        batch = self._scripts.batch()
        for subject, opt_out_id in entries:
            batch.command("DEL", Keys.opt_out(subject))
            batch.command("HDEL", Keys.opt_outs(app), opt_out_id)
        results = await batch.run()
        return [results[2 * n] == 1 for n in range(len(entries))]

    async def find(self, app: str, opt_out_id: str) -> OptOut | None:
        batch = self._scripts.batch()
        batch.command("HGET", Keys.opt_outs(app), opt_out_id)
        return _decoded((await batch.run())[0])

    async def page(self, app: str, cursor: int, count: int) -> tuple[int, list[OptOut]]:
        """About ``count`` of ``app``'s opt-outs from ``cursor`` (``HSCAN``'s: 0 starts, and
        the next cursor 0 means the list is done), and the next cursor."""
        following, fields = await self._client.hscan(Keys.opt_outs(app), cursor, count=count)
        found = [_decoded(raw) for raw in fields.values()]
        return int(following), [entry for entry in found if entry is not None]


def _decoded(raw: str | None) -> OptOut | None:
    try:
        return None if raw is None else msgspec.json.decode(raw, type=OptOut)
    except msgspec.DecodeError:
        return None
