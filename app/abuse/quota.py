"""An app's quota of sends and spend per UTC day and month, as a part of a send's first
round trip (``quota.lua`` in the app's slot, beside the app's send budget).

A send reserves one send and the price of the dearest provider of its route to the
number's country, so concurrent sends cannot pass a cap however the route fails over;
once it went out, the record step turns the reservation into the price of the provider
that took it (``settle``), and a send no provider took gives it all back.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, get_args

import msgspec

from app.errors import OtpgateError

if TYPE_CHECKING:
    from app.abuse.config import Quota
    from app.store.keys import Keys
    from app.store.redis import Batch

__all__ = ["CAPS", "Cap", "QuotaPart", "QuotaRefusal", "QuotaTaken", "period_ends", "queue_quota"]

#: The caps, in the order the script numbers them.
Cap = Literal["sends_per_day", "sends_per_month", "spend_per_day", "spend_per_month"]
CAPS: tuple[Cap, ...] = get_args(Cap)
_MICROS = 1_000_000
#: A day's counts outlive it by a day, a month's by a week (the usage view reads its own
#: statistics; these only guard the caps).
_DAY_TTL, _MONTH_TTL = 2 * 86400, 38 * 86400


class QuotaTaken(msgspec.Struct, frozen=True):
    """What a send took of its app's quota: given back, or settled, later."""

    keys: tuple[str, str]
    micros: int
    caps: tuple[int, int, int, int]


class QuotaRefusal(msgspec.Struct, frozen=True):
    """A hard cap the send would pass."""

    cap: Cap
    limit: float
    used: float
    reset_at: float  # unix seconds

    def error(self, now: float) -> OtpgateError:
        return OtpgateError(
            "quota_exceeded",
            f"the app's {self.cap.replace('_', ' ')} quota ({self.limit:g}) is used up",
            retry_after=max(1.0, self.reset_at - now),
            quota=self.cap,
            quota_limit=self.limit,
        )


def period_ends(now: datetime) -> tuple[datetime, datetime]:
    """When the UTC day and the UTC month of ``now`` end."""
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    month = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
    return day + timedelta(days=1), month


def _caps(quota: Quota) -> tuple[int, int, int, int]:
    def micros(cap: float | None) -> int:
        return round(cap * _MICROS) if cap else 0

    return (
        quota.sends_per_day or 0,
        quota.sends_per_month or 0,
        micros(quota.spend_per_day),
        micros(quota.spend_per_month),
    )


class QuotaPart:
    """The quota's part of one send: queued, then read."""

    def __init__(self, keys: Keys, app: str, quota: Quota, micros: int, now: datetime) -> None:
        self._quota, self._now = quota, now
        self.taken = QuotaTaken(keys.quota(app, now), micros, _caps(quota))

    def queue(self, batch: Batch) -> int:
        return queue_quota(batch, self.taken, "take", 1, self.taken.micros, self._quota.mode)

    def read(self, answer: list[Any]) -> QuotaRefusal | list[Cap]:
        """A hard cap's refusal, or the (soft) caps this send passed first."""
        if answer[0] == "refused":
            index = int(answer[1]) - 1
            unit = _MICROS if index >= 2 else 1  # spend is counted in millionths
            limit, used = self.taken.caps[index] / unit, int(answer[2]) / unit
            day_end, month_end = period_ends(self._now)
            reset = (day_end if index % 2 == 0 else month_end).timestamp()
            return QuotaRefusal(CAPS[index], limit, used, reset)
        return [CAPS[int(i) - 1] for i in answer[1:]]


def queue_quota(
    batch: Batch, taken: QuotaTaken, op: str, sends: int, micros: int, mode: str = "soft"
) -> int:
    """Queue one ``quota.lua`` call: ``take``, ``give`` (back) or ``cost`` (a difference)."""
    return batch.script(
        "quota",
        list(taken.keys),
        [op, sends, micros, "1" if mode == "hard" else "0", _DAY_TTL, _MONTH_TTL, *taken.caps],
    )
