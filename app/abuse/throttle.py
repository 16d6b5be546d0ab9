"""Rate limits on top of the `limits` library: which counters a request touches.

`limits` does the counting (its Redis storage and Lua scripts); this module only decides
which rules apply to a request and turns an exhausted one into a ``rate_limited`` error.
Per-number and per-IP rules use the moving window (exact: a rule fires at exactly its
count and frees exactly one window after the oldest hit); app and country budgets, whose
counts can be large, use the sliding-window counter (two counters instead of a list).
"""

from __future__ import annotations

import asyncio
import functools
import time
from typing import TYPE_CHECKING, Annotated, Literal

import limits
import msgspec
from limits.aio.strategies import MovingWindowRateLimiter, SlidingWindowCounterRateLimiter

from app.errors import OtpgateError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from limits.aio.storage import Storage

    from app.abuse.config import LimitRules

__all__ = ["RateCounter", "RuleName", "RuleState", "Throttle", "rate_limit_headers"]

#: The rules of ``[limits]``, each counting one kind of event for one subject.
RuleName = Literal[
    "send_per_number", "send_per_ip", "send_per_app", "send_per_country",
    "wrong_checks_per_number", "checks_per_ip",
]  # fmt: skip

_BUDGET_RULES = frozenset({"send_per_app", "send_per_country"})
# Rates come from settings: a few distinct strings, parsed on every request otherwise.
_parse = functools.lru_cache(maxsize=512)(limits.parse)


class RateCounter(msgspec.Struct, frozen=True):
    """One rate of one rule, counted for one subject (a number, an IP, an app...)."""

    rule: RuleName
    rate: str
    identifiers: tuple[str, ...]

    @property
    def item(self) -> limits.RateLimitItem:
        return _parse(self.rate)


class RuleState(msgspec.Struct, frozen=True):
    """Where one counter of a rate-limit rule stands."""

    rule: Annotated[RuleName, msgspec.Meta(description="The rule (a `[limits]` setting).")]
    limit: Annotated[int, msgspec.Meta(description="Events the rate allows per window.")]
    window: Annotated[int, msgspec.Meta(description="The rate's window, in seconds.")]
    remaining: Annotated[int, msgspec.Meta(description="Events still allowed now.")]
    reset_at: Annotated[
        float, msgspec.Meta(description="Unix time (s) at which the counter next frees up.")
    ]


def counters(rule: RuleName, rates: Sequence[str], *identifiers: str) -> list[RateCounter]:
    """A counter for each rate of ``rule`` (none when the rule is off)."""
    return [RateCounter(rule, rate, (rule, *identifiers)) for rate in rates]


class Throttle:
    """Tests, takes and reads counters in the `limits` storage."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._moving = MovingWindowRateLimiter(storage)
        self._sliding = SlidingWindowCounterRateLimiter(storage)

    def _limiter(
        self, counter: RateCounter
    ) -> MovingWindowRateLimiter | SlidingWindowCounterRateLimiter:
        return self._sliding if counter.rule in _BUDGET_RULES else self._moving

    async def states(self, wanted: Sequence[RateCounter]) -> list[RuleState]:
        stats = await asyncio.gather(
            *(self._limiter(c).get_window_stats(c.item, *c.identifiers) for c in wanted)
        )
        return [
            RuleState(
                rule=c.rule,
                limit=c.item.amount,
                window=c.item.get_expiry(),
                remaining=max(0, s.remaining),
                reset_at=s.reset_time,
            )
            for c, s in zip(wanted, stats, strict=True)
        ]

    async def ensure_available(self, wanted: Sequence[RateCounter]) -> list[RuleState]:
        """Raise ``rate_limited`` for the first exhausted counter; consume nothing."""
        states = await self.states(wanted)
        for state in states:
            if state.remaining < 1:
                raise _rate_limited(state)
        return states

    async def acquire(self, wanted: Sequence[RateCounter]) -> list[RuleState]:
        """Take one unit of every counter, or none when any is exhausted.

        Every counter is read first, so a request refused by one rule consumes nothing
        of the others. Two requests racing for the last unit both pass the read; the
        hits themselves are atomic, so the loser is refused, but the units it already
        took from other rules stay taken (`limits` has no undo). The states returned
        are those after this request.
        """
        states = await self.ensure_available(wanted)
        taken = await asyncio.gather(
            *(self._limiter(c).hit(c.item, *c.identifiers) for c in wanted)
        )
        for state, ok in zip(states, taken, strict=True):
            if not ok:
                raise _rate_limited(msgspec.structs.replace(state, remaining=0))
        return [msgspec.structs.replace(s, remaining=s.remaining - 1) for s in states]

    async def hit(self, wanted: Sequence[RateCounter]) -> None:
        """Count an event (a wrong code) without refusing anything."""
        await asyncio.gather(*(self._limiter(c).hit(c.item, *c.identifiers) for c in wanted))

    async def clear(self, wanted: Sequence[RateCounter]) -> None:
        await asyncio.gather(*(self._limiter(c).clear(c.item, *c.identifiers) for c in wanted))


def _rate_limited(state: RuleState) -> OtpgateError:
    return OtpgateError(
        "rate_limited",
        f"{state.rule}: at most {state.limit} per {state.window} s",
        retry_after=max(0.0, state.reset_at - time.time()),
        rule=state.rule,
        limit=state.limit,
        window=state.window,
    )


def rate_limit_headers(states: Sequence[RuleState], now: float) -> dict[str, str]:
    """IETF RateLimit headers (draft-ietf-httpapi-ratelimit-headers) of the tightest rule."""
    if not states:
        return {}
    tightest = min(states, key=lambda s: (s.remaining, -s.reset_at))
    return {
        "RateLimit-Limit": str(tightest.limit),
        "RateLimit-Remaining": str(tightest.remaining),
        "RateLimit-Reset": str(max(0, int(-(-(tightest.reset_at - now) // 1)))),
        "RateLimit-Policy": f"{tightest.limit};w={tightest.window}",
    }


def send_counters(
    rules: LimitRules, app: str, number: str, network: str | None, country: str
) -> list[RateCounter]:
    """The counters one send takes: per number, per client network, per app, per country."""
    return [
        *counters("send_per_number", rules.send_per_number, app, number),
        *(counters("send_per_ip", rules.send_per_ip, app, network) if network else []),
        *counters("send_per_app", rules.send_per_app, app),
        *counters("send_per_country", rules.send_per_country, app, country),
    ]
