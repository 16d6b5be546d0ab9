"""Rate limits: which counters a request touches, and what a spent one answers.

The counting itself is the store's (:mod:`app.store.throttles`), inside the request's
own scripts; the `limits` library reads the rates (``"5/hour"``). Per-number and per-IP
rules use the moving window (exact: a rule fires at exactly its count and frees exactly
one window after the oldest hit); app and country budgets, whose counts can be large,
use the sliding-window counter (two counts instead of a list).
"""

from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING, Annotated, Literal

import limits
import msgspec

from app.errors import OtpgateError
from app.store.throttles import Counter, Kind

if TYPE_CHECKING:
    from collections.abc import Sequence

    from app.store.throttles import Refusal, Room

__all__ = ["RuleName", "RuleState", "rate_limit_headers", "rate_limited", "rates", "state"]

#: The rules of ``[limits]``, each counting one kind of event for one subject.
RuleName = Literal[
    "send_per_number", "send_per_ip", "send_per_app", "send_per_country",
    "wrong_checks_per_number", "checks_per_ip",
]  # fmt: skip


class RuleState(msgspec.Struct, frozen=True):
    """Where one counter of a rate-limit rule stands."""

    rule: Annotated[RuleName, msgspec.Meta(description="The rule (a `[limits]` setting).")]
    limit: Annotated[int, msgspec.Meta(description="Events the rate allows per window.")]
    window: Annotated[int, msgspec.Meta(description="The rate's window, in seconds.")]
    remaining: Annotated[int, msgspec.Meta(description="Events still allowed now.")]
    reset_at: Annotated[
        float, msgspec.Meta(description="Unix time (s) at which the counter next frees up.")
    ]


@functools.lru_cache(maxsize=512)
def _rate(text: str) -> tuple[int, int]:
    item = limits.parse(text)
    return item.amount, item.get_expiry() * 1000


def rates(texts: Sequence[str]) -> tuple[tuple[int, int], ...]:
    """A rule's rates as (limit, window ms) pairs (settings are checked at start)."""
    return tuple(_rate(text) for text in texts)


def counter(rule: RuleName, key: str, texts: Sequence[str]) -> list[Counter]:
    """The counter of ``rule`` at ``key``, or none when the rule is off."""
    kind: Kind = "b" if rule in {"send_per_app", "send_per_country"} else "w"
    return [Counter(rule, key, kind, rates(texts))] if texts else []


def state(room: Room) -> RuleState:
    return RuleState(room.rule, room.limit, room.window, room.remaining, room.reset_at)  # type: ignore[arg-type]


def rate_limited(refusal: Refusal) -> OtpgateError:
    return OtpgateError(
        "rate_limited",
        f"{refusal.rule}: at most {refusal.limit} per {refusal.window} s",
        retry_after=max(0.0, refusal.reset_at - time.time()),
        rule=refusal.rule,
        limit=refusal.limit,
        window=refusal.window,
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
