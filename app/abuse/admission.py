"""The abuse rules' part of a request's first round trip, one script per hash slot.

A send queues, beside the store's look at the number (``admit_number``):
the client network's throttle, the app's budget, the country's block, conversion guard
and budget (``admit_country``), the prefix's block and velocity (``admit_prefix``). They
run in one pipeline, each atomic in its slot; none can see the others' answers, so a
request refused by any part gives back what the others took (``counters_release``) and
a refusal consumes nothing. Between a take and its give-back another request may find a
unit missing that is about to return: a refusal, never an excess.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import msgspec

from app.abuse import policy
from app.abuse.guards import Block, new_block_id
from app.abuse.quota import QuotaRefusal, QuotaTaken, queue_quota
from app.abuse.throttle import RuleState, counter, rate_limited, state
from app.errors import OtpgateError
from app.store.throttles import (
    Counter,
    Refusal,
    queue_counters,
    queue_release,
    rates_args,
    read_counters,
    refusal_of,
)

if TYPE_CHECKING:
    from app.abuse.config import AbuseRules, LimitRules
    from app.abuse.quota import QuotaPart
    from app.phone import Phone
    from app.store.keys import Keys
    from app.store.redis import Batch
    from app.store.throttles import Room

__all__ = [
    "LIMITED", "Admitted", "SendAdmission", "number_counter", "queue_give_back", "refusal_error",
    "suspected",
]  # fmt: skip

# What a part refused, by precedence: a block in force, a block it just set, the app's
# quota (in force until the day or month ends), a throttle.
_BLOCKED, _NEW_BLOCK, _QUOTA, LIMITED = 0, 1, 2, 3


class Admitted(msgspec.Struct, frozen=True):
    """Every part of a send's first round trip let it through."""

    limits: list[RuleState]
    #: what the request took, to give back if a later step refuses it
    taken: list[tuple[list[Counter], int]]
    quota: QuotaTaken | None = None
    #: the app's soft quota caps this send passed first (each told once per period)
    passed: list[str] = msgspec.field(default_factory=list)


def suspected(block: Block) -> OtpgateError:
    return OtpgateError(
        "suspected_fraud",
        f"sends to this {block.kind} are blocked: {block.reason}",
        retry_after=max(1.0, block.until - time.time()),
        block_id=block.id,
    )


class SendAdmission:
    """The abuse parts of one send's first round trip: queued, then read."""

    def __init__(
        self,
        keys: Keys,
        app: str,
        phone: Phone | None,
        number: str,
        network: str | None,
        limits: LimitRules,
        rules: AbuseRules,
        quota: QuotaPart | None = None,
        *,
        safe: bool,
    ) -> None:
        self._keys, self._app, self._phone, self._number = keys, app, phone, number
        self._limits, self._rules, self.quota = limits, rules, quota
        ip = keys.network_window(app, network, "si") if network else ""
        self.network = counter("send_per_ip", ip, limits.send_per_ip) if network else []
        self.budget = counter("send_per_app", keys.app_window(app), limits.send_per_app)
        # An email address has no country: neither a country's budget nor its guard.
        self.country = (
            []
            if phone is None
            else counter(
                "send_per_country", keys.country(app, phone.region, "w"), limits.send_per_country
            )
        )
        #: ``safe``: a safe number or prefix (or an address), which the pumping guards
        #: leave alone
        self.guarded = not safe
        self._calls: dict[str, int] = {}

    def queue(self, batch: Batch) -> None:
        """Queue every part of the send's abuse rules into ``batch``."""
        if self.network:
            self._calls["network"] = queue_counters(batch, self.network, "take")
        if self.budget:
            self._calls["budget"] = queue_counters(batch, self.budget, "take")
        if self._phone is not None:
            self._calls["country"] = self._queue_country(batch)
        if self.guarded:
            self._calls["prefix"] = self._queue_prefix(batch)
        if self.quota is not None:
            self._calls["quota"] = self.quota.queue(batch)

    def _queue_country(self, batch: Batch) -> int:
        assert self._phone is not None
        rules, keys, app, region = self._rules, self._keys, self._app, self._phone.region
        budget = self.country[0].rates if self.country else ()
        return batch.script(
            "admit_country",
            [keys.country(app, region, "b"), keys.country(app, region, "cv"),
             keys.country(app, region, "w")],
            ["take", "1" if self.guarded else "0", int(rules.conversion_window * 1000),
             rules.conversion_min_sends, rules.conversion_min_rate,
             int(rules.conversion_hold * 1000), new_block_id(), app, region,
             *rates_args(budget)],
        )  # fmt: skip

    def _queue_prefix(self, batch: Batch) -> int:
        assert self._phone is not None  # an address is never guarded
        rules, app = self._rules, self._app
        prefix = policy.number_prefix(self._phone.e164, rules.prefix_digits)
        return batch.script(
            "admit_prefix",
            [self._keys.prefix(app, prefix, "b"), self._keys.prefix(app, prefix, "pv")],
            [self._number, int(rules.prefix_window * 1000), rules.prefix_max_numbers,
             int(rules.prefix_block * 1000), new_block_id(), app, prefix],
        )  # fmt: skip

    def read(self, results: list[Any]) -> tuple[Admitted, list[tuple[int, Any]]]:
        """What the parts answered: what they took, and their refusals as (precedence,
        refusal) pairs: a :class:`Block` (in force or new) or a throttle's refusal."""
        refusals: list[tuple[int, Any]] = []
        rooms: list[Room] = []
        taken: list[tuple[list[Counter], int]] = []
        for part, counters in (("network", self.network), ("budget", self.budget)):
            if part in self._calls:
                answer = read_counters(counters, results[self._calls[part]])
                if isinstance(answer, Refusal):
                    refusals.append((LIMITED, answer))
                else:
                    taken.append((counters, answer[0]))
                    rooms += answer[1]
        for part in ("country", "prefix"):
            if part in self._calls:
                self._read_guard(part, results[self._calls[part]], refusals, taken)
        quota, passed = None, list[str]()
        if self.quota is not None:
            said = self.quota.read(results[self._calls["quota"]])
            if isinstance(said, QuotaRefusal):
                refusals.append((_QUOTA, said))
            else:
                quota, passed = self.quota.taken, list[str](said)
        return Admitted([state(room) for room in rooms], taken, quota, passed), refusals

    def _read_guard(
        self,
        part: str,
        answer: list[Any],
        refusals: list[tuple[int, Any]],
        taken: list[tuple[list[Counter], int]],
    ) -> None:
        outcome = answer[0]
        if outcome in {"blocked", "new_block"}:
            block = msgspec.json.decode(answer[1], type=Block)
            refusals.append((_BLOCKED if outcome == "blocked" else _NEW_BLOCK, block))
        elif outcome == "limited":
            refusals.append((LIMITED, refusal_of(self.country[0], int(answer[1]), answer[4])))
        elif part == "country" and self.country:
            taken.append((self.country, int(answer[1])))


def refusal_error(refusals: list[tuple[int, Any]]) -> OtpgateError:
    """The error a refused send answers: a block, then the quota, then a throttle."""
    _, first = min(refusals, key=lambda pair: pair[0])
    if isinstance(first, Block):
        return suspected(first)
    if isinstance(first, QuotaRefusal):
        return first.error(time.time())
    return rate_limited(first)


def queue_give_back(
    batch: Batch, taken: list[tuple[list[Counter], int]], quota: QuotaTaken | None = None
) -> None:
    for counters, taken_at in taken:
        queue_release(batch, counters, taken_at)
    if quota is not None:
        queue_quota(batch, quota, "give", 1, quota.micros)


def number_counter(keys: Keys, subject: str, rule: str, texts: list[str]) -> Counter | None:
    """A per-number throttle (in the number's slot, taken by the store's scripts)."""
    code = "sn" if rule == "send_per_number" else "wn"
    found = counter(rule, keys.number_window(subject, code), texts)  # type: ignore[arg-type]
    return found[0] if found else None
