"""An app's usage by day, provider and country, with its estimated cost and where its
quota stands: what a billing or capacity dashboard reads.

Read from the statistics' day buckets (one small hash per app and day) and the quota's
day and month counts, in one pipeline.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Literal

import msgspec

from app.delivery.prices import MICROS
from app.delivery.stats import USAGE_DAYS, slices
from app.errors import OtpgateError
from app.store.keys import Keys

if TYPE_CHECKING:
    from collections.abc import Mapping

    from app.abuse.config import Quota
    from app.settings import Settings
    from app.store.redis import StoreClient

__all__ = ["UsageReader", "UsageView"]

_METRICS = ("sends", "delivered", "approved", "cost")


class Figures(msgspec.Struct, frozen=True):
    """Sends, deliveries, approvals and estimated cost of one slice."""

    sends: Annotated[int, msgspec.Meta(description="Messages sent or tried.")] = 0
    delivered: Annotated[int, msgspec.Meta(description="SMS reported delivered.")] = 0
    approved: Annotated[int, msgspec.Meta(description="Verifications approved.")] = 0
    cost: Annotated[
        float,
        msgspec.Meta(
            description="Estimated cost in `currency`: each message a provider took, at "
            "the price table's price for that provider and country."
        ),
    ] = 0.0


class Day(Figures, frozen=True):
    """One UTC day's figures."""

    date: Annotated[str, msgspec.Meta(description="The UTC day (YYYY-MM-DD).")] = ""


class QuotaStanding(msgspec.Struct, frozen=True):
    """Where the app's quota stands now (the current UTC day and month)."""

    mode: Annotated[Literal["hard", "soft"], msgspec.Meta(description="hard refuses, soft tells.")]
    sends_today: Annotated[int, msgspec.Meta(description="Sends counted today.")]
    sends_this_month: Annotated[int, msgspec.Meta(description="Sends counted this month.")]
    spend_today: Annotated[float, msgspec.Meta(description="Estimated spend today.")]
    spend_this_month: Annotated[float, msgspec.Meta(description="Estimated spend this month.")]
    sends_per_day: Annotated[int | None, msgspec.Meta(description="The cap; null: none.")]
    sends_per_month: Annotated[int | None, msgspec.Meta(description="The cap; null: none.")]
    spend_per_day: Annotated[float | None, msgspec.Meta(description="The cap; null: none.")]
    spend_per_month: Annotated[float | None, msgspec.Meta(description="The cap; null: none.")]


class UsageView(msgspec.Struct, frozen=True, rename={"start": "from", "end": "to"}):
    """An app's usage over whole UTC days."""

    app: Annotated[str, msgspec.Meta(description="The app counted.")]
    start: Annotated[str, msgspec.Meta(description="The first day (YYYY-MM-DD).")]
    end: Annotated[str, msgspec.Meta(description="The last day (YYYY-MM-DD), included.")]
    currency: Annotated[str, msgspec.Meta(description="ISO 4217 code of every cost.")]
    total: Annotated[Figures, msgspec.Meta(description="The whole period.")]
    days: Annotated[list[Day], msgspec.Meta(description="Each day, oldest first.")]
    by_provider: Annotated[dict[str, Figures], msgspec.Meta(description="By provider name.")]
    by_country: Annotated[
        dict[str, Figures], msgspec.Meta(description="By ISO 3166 alpha-2 country.")
    ]
    quota: Annotated[
        QuotaStanding | None, msgspec.Meta(description="The app's quota; null: it has none.")
    ] = None


def _counts(summed: Mapping[str, int], suffix: str) -> tuple[int, int, int, float]:
    sends, delivered, approved, cost = (summed.get(m + suffix, 0) for m in _METRICS)
    return sends, delivered, approved, cost / MICROS


def _sliced(summed: Mapping[str, int], marker: str) -> dict[str, Figures]:
    return {name: Figures(*_counts(summed, f"{marker}{name}")) for name in slices(summed, marker)}


class UsageReader:
    """Reads usage and quota standing for every app."""

    def __init__(self, client: StoreClient, keys: Keys, settings: Settings) -> None:
        self._client, self._keys, self.currency = client, keys, settings.price_currency
        self._quotas: Mapping[str, Quota] = {
            name: own.quota for name, own in settings.apps.items() if own.quota
        }

    async def summed(self, app: str, start: date, end: date) -> dict[str, int]:
        """Every counter of ``app`` from ``start`` to ``end`` (UTC days, both included),
        summed over the days (kept: the last :data:`USAGE_DAYS`)."""
        days = (end - start).days + 1
        async with self._client.pipeline(transaction=False) as pipe:
            for n in range(max(0, min(days, USAGE_DAYS))):
                pipe.hgetall(Keys.stats(app, "d", _day_number(start + timedelta(days=n))))
            hashes = await pipe.execute()
        summed: dict[str, int] = {}
        for fields in hashes:
            for field, value in fields.items():
                summed[field] = summed.get(field, 0) + int(value)
        return summed

    async def read(
        self, app: str, start: date | None, end: date | None, now: datetime | None = None
    ) -> UsageView:
        """Usage from ``start`` to ``end`` (UTC days, both included; default: the last
        30 days up to today).

        Raises:
            OtpgateError: ``invalid_request`` for a range backwards or beyond what is kept.
        """
        now = now or datetime.now(UTC)
        today = now.astimezone(UTC).date()
        end = end or today
        start = start or end - timedelta(days=29)
        if start > end or (end - start).days >= USAGE_DAYS:
            raise OtpgateError(
                "invalid_request", f"`from` must not be after `to`, nor {USAGE_DAYS} days before"
            )
        days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
        quota = self._quotas.get(app)
        async with self._client.pipeline(transaction=False) as pipe:
            for day in days:
                pipe.hgetall(Keys.stats(app, "d", _day_number(day)))
            for key in self._keys.quota(app, now) if quota else ():
                pipe.hmget(key, ["s", "c"])
            answers = await pipe.execute()
        hashes = [{f: int(v) for f, v in h.items()} for h in answers[: len(days)]]
        summed: dict[str, int] = {}
        for fields in hashes:
            for field, value in fields.items():
                summed[field] = summed.get(field, 0) + value
        return UsageView(
            app=app, start=start.isoformat(), end=end.isoformat(), currency=self.currency,
            total=Figures(*_counts(summed, "")),
            days=[Day(*_counts(h, ""), date=d.isoformat())
                  for d, h in zip(days, hashes, strict=True)],
            by_provider=_sliced(summed, "|p="), by_country=_sliced(summed, "|c="),
            quota=None if quota is None else _standing(quota, answers[len(days) :]),
        )  # fmt: skip


def _day_number(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() // 86400)


def _standing(quota: Quota, counts: list[list[str | None]]) -> QuotaStanding:
    (day_sends, day_cost), (month_sends, month_cost) = (
        (int(sends or 0), int(cost or 0) / MICROS) for sends, cost in counts
    )
    return QuotaStanding(
        mode=quota.mode, sends_today=day_sends, sends_this_month=month_sends,
        spend_today=day_cost, spend_this_month=month_cost,
        sends_per_day=quota.sends_per_day, sends_per_month=quota.sends_per_month,
        spend_per_day=quota.spend_per_day, spend_per_month=quota.spend_per_month,
    )  # fmt: skip
