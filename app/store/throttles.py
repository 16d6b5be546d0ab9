"""Throttles in Redis: a rule's counter for one subject, checked and taken by the request's
own scripts, one script per hash slot.

The `limits` library evaluates a rate in two round trips of its own (read, then take)
and keeps one key per rate; one send would cost it 14 round trips and 7 keys. Here every
rate of a rule shares one key (a moving window's list holds the largest limit's worth of
send times, which answers every smaller rate of the rule too), and all the counters of
one slot are checked, then taken, by one script (``counters.lua``), so a refusal by one
consumes nothing of the others in that slot. Across slots (the number, the client
network, the app, the country live in different ones on Redis Cluster) a request whose
other part was refused gives its units back (``counters_release.lua``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import msgspec

if TYPE_CHECKING:
    from collections.abc import Sequence

    from app.store.redis import Batch

__all__ = [
    "Counter", "Kind", "Refusal", "Room", "queue_counters", "queue_release", "read_counters",
]  # fmt: skip

Kind = Literal["w", "b"]  # moving window | sliding-window counter
Mode = Literal["take", "check", "view"]


class Counter(msgspec.Struct, frozen=True):
    """One rule's counter for one subject: where it lives and its rates."""

    rule: str
    key: str
    kind: Kind
    rates: tuple[tuple[int, int], ...]  # (limit, window ms)


class Room(msgspec.Struct, frozen=True):
    """Where one rate of a counter stands (after the request, when it took a unit)."""

    rule: str
    limit: int
    window: int  # seconds
    remaining: int
    reset_at: float  # unix seconds


class Refusal(msgspec.Struct, frozen=True):
    """The first spent rate: which rule, its rate, and when a unit frees up."""

    rule: str
    limit: int
    window: int  # seconds
    reset_at: float  # unix seconds


def rates_args(rates: Sequence[tuple[int, int]]) -> list[int]:
    """A script's view of rates: their count, then each (limit, window ms)."""
    return [len(rates), *(value for rate in rates for value in rate)]


def _args(counters: Sequence[Counter]) -> list[Any]:
    return [value for c in counters for value in (c.kind, *rates_args(c.rates))]


def queue_counters(batch: Batch, counters: Sequence[Counter], mode: Mode) -> int:
    """Queue one ``counters.lua`` call over ``counters`` (all in one slot)."""
    return batch.script("counters", [c.key for c in counters], [mode, *_args(counters)])


def queue_release(batch: Batch, counters: Sequence[Counter], taken_at: int) -> int:
    """Queue giving back the units ``counters`` took at ``taken_at`` (ms)."""
    return batch.script("counters_release", [c.key for c in counters], [taken_at, *_args(counters)])


def refusal_of(counter: Counter, rate: int, reset_ms: float) -> Refusal:
    """The refusal of rate number ``rate`` (from 1) of ``counter``."""
    limit, window_ms = counter.rates[rate - 1]
    return Refusal(counter.rule, limit, window_ms // 1000, reset_ms / 1000)


def rooms_of(counters: Sequence[Counter], values: Sequence[Any]) -> list[Room]:
    """The rooms a script listed as (remaining, resets at ms) per rate of each counter."""
    rooms, at = [], 0
    for counter in counters:
        for limit, window_ms in counter.rates:
            remaining, reset = int(values[at]), float(values[at + 1])
            rooms.append(Room(counter.rule, limit, window_ms // 1000, remaining, reset / 1000))
            at += 2
    return rooms


def read_counters(
    counters: Sequence[Counter], result: list[Any]
) -> tuple[int, list[Room]] | Refusal:
    """A ``counters.lua`` answer: (taken at ms, rooms) or the refusal."""
    if int(result[0]) != 0:
        counter = counters[int(result[0]) - 1]
        return refusal_of(counter, int(result[1]), float(result[4]))
    return int(result[1]), rooms_of(counters, result[2:])
