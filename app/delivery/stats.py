"""Statistics for dashboards: time-bucketed Redis counters, written on the hot path.

Every write is one script call (``stats.lua``, a few HINCRBYs) queued into a batch the
request sends anyway, so it costs no extra round trip; a read sums at most 168 small
hashes in one pipeline, so it costs milliseconds whatever the traffic. Minute buckets
serve the last hour, hour buckets the last day and week, day buckets (kept 400 days)
the usage by day (:mod:`app.delivery.usage`).
"""

from __future__ import annotations

import bisect
import time
from typing import TYPE_CHECKING, Annotated, Literal

import msgspec

from app.store.keys import Keys

if TYPE_CHECKING:
    from collections.abc import Mapping

    from app.store.redis import Batch, StoreClient

__all__ = ["USAGE_DAYS", "Point", "Series", "Stats", "StatsView", "Window", "slices"]

#: Days the day buckets are kept (what ``/v1/apps/{app}/usage`` can look back over).
USAGE_DAYS = 400

Window = Literal["1h", "24h", "7d"]
_WINDOWS: Mapping[str, tuple[str, int, int]] = {  # bucket kind, seconds per bucket, buckets
    "1h": ("m", 60, 60),
    "24h": ("h", 3600, 24),
    "7d": ("h", 3600, 168),
}
_TTL = {"m": 2 * 3600, "h": 8 * 86400, "d": USAGE_DAYS * 86400}
#: Upper bounds (seconds) of the time-to-delivery histogram buckets.
_DELIVERY_BOUNDS = (1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987, 1597, 3600)
_BUCKETS = (("m", 60), ("h", 3600), ("d", 86400))
_UNMATCHED = "*unmatched"
METRICS = (
    "verifications", "sends", "delivered", "undelivered", "approved", "failed", "opted_out",
    "opted_in",
)  # fmt: skip


_key = Keys.stats


class Figures(msgspec.Struct, frozen=True):
    """The figures of one slice (all traffic, one provider or one country)."""

    verifications: Annotated[
        int, msgspec.Meta(description="Verifications started (test numbers not counted).")
    ] = 0
    sends: Annotated[
        int, msgspec.Meta(description="Messages sent or tried (first sends and resends).")
    ] = 0
    delivered: Annotated[int, msgspec.Meta(description="SMS the provider reported delivered.")] = 0
    undelivered: Annotated[
        int, msgspec.Meta(description="SMS the provider reported undelivered or failed.")
    ] = 0
    approved: Annotated[int, msgspec.Meta(description="Verifications approved.")] = 0
    failed: Annotated[int, msgspec.Meta(description="Sends no provider accepted.")] = 0
    opted_out: Annotated[
        int, msgspec.Meta(description="Numbers that opted out (a stop word texted in).")
    ] = 0
    opted_in: Annotated[
        int,
        msgspec.Meta(description="Numbers that opted back in (a start word, or an admin's clear)."),
    ] = 0
    delivery_rate: Annotated[
        float | None, msgspec.Meta(description="delivered / sends (null: no sends).")
    ] = None
    conversion_rate: Annotated[
        float | None,
        msgspec.Meta(description="approved / verifications (null: no verifications)."),
    ] = None
    median_delivery_seconds: Annotated[
        float | None,
        msgspec.Meta(
            description="Median time from send to delivery report, as the upper bound of "
            "its histogram bucket (null: no deliveries)."
        ),
    ] = None


class StatsView(msgspec.Struct, frozen=True):
    """What an app sent and how it went, over the last hour, day or week."""

    window: Annotated[Window, msgspec.Meta(description="The period: 1h, 24h or 7d.")]
    app: Annotated[str, msgspec.Meta(description="The app counted.")]
    total: Annotated[Figures, msgspec.Meta(description="All of the app's traffic.")]
    by_provider: Annotated[dict[str, Figures], msgspec.Meta(description="By provider name.")]
    by_country: Annotated[
        dict[str, Figures], msgspec.Meta(description="By ISO 3166 alpha-2 country.")
    ]
    by_channel: Annotated[
        dict[str, Figures],
        msgspec.Meta(description="By channel: `sms`, `voice`, `whatsapp`, `email`."),
    ]
    failures_by_reason: Annotated[
        dict[str, int],
        msgspec.Meta(
            description="Failed sends and undelivered SMS, by the provider's error code "
            "(or status)."
        ),
    ]
    unmatched_reports: Annotated[
        int,
        msgspec.Meta(
            description="Status reports (of any app) for provider message ids otpgate does "
            "not know."
        ),
    ] = 0


class Point(msgspec.Struct, frozen=True):
    """The counts of one time bucket."""

    start: float  # Unix time (s) the bucket begins
    verifications: int = 0
    sends: int = 0
    delivered: int = 0
    undelivered: int = 0
    approved: int = 0
    failed: int = 0
    opted_out: int = 0
    opted_in: int = 0


class Series(msgspec.Struct, frozen=True):
    """A window's figures, and its counts bucket by bucket, oldest first."""

    view: StatsView
    points: list[Point]


class Stats:
    """Counters of sends, deliveries, approvals and failures, per app."""

    def __init__(self, client: StoreClient) -> None:
        self._client = client

    @staticmethod
    def queue(
        batch: Batch,
        app: str,
        counts: Mapping[str, int],
        *,
        provider: str | None = None,
        country: str | None = None,
        reason: str | None = None,
        delivery_seconds: float | None = None,
        now: float | None = None,
        channel: str | None = None,
    ) -> None:
        """Queue the increments of one event into ``batch`` (one script, both buckets)."""
        fields: dict[str, int] = {}
        for metric, amount in counts.items():
            if not amount:
                continue
            fields[metric] = amount
            for slice_, value in (("p", provider), ("c", country), ("h", channel)):
                if value:
                    fields[f"{metric}|{slice_}={value}"] = amount
        if reason:
            fields[f"reason|{reason}"] = 1
        if delivery_seconds is not None:
            bucket = bisect.bisect_left(_DELIVERY_BOUNDS, delivery_seconds)
            for scope in (
                "",
                f"p={provider}|" if provider else None,
                f"c={country}|" if country else None,
                f"h={channel}|" if channel else None,
            ):
                if scope is not None:
                    fields[f"dt|{scope}{bucket}"] = 1
        if not fields:
            return
        at = time.time() if now is None else now
        keys = [_key(app, kind, int(at // seconds)) for kind, seconds in _BUCKETS]
        pairs = [value for field, amount in fields.items() for value in (field, amount)]
        batch.script("stats", keys, [*(_TTL[kind] for kind, _ in _BUCKETS), *pairs])

    @classmethod
    def queue_unmatched(cls, batch: Batch, provider: str) -> None:
        """A report for a message nobody knows: counted apart, since it has no app."""
        cls.queue(batch, _UNMATCHED, {"unmatched": 1}, provider=provider)

    async def read(self, app: str, window: Window, now: float | None = None) -> StatsView:
        return (await self.series(app, window, now)).view

    async def series(self, app: str, window: Window, now: float | None = None) -> Series:
        """The figures of ``window`` in total and bucket by bucket (a dashboard's chart)."""
        kind, seconds, count = _WINDOWS[window]
        current = int((time.time() if now is None else now) // seconds)
        buckets = range(current - count + 1, current + 1)
        async with self._client.pipeline(transaction=False) as pipe:
            for source in (app, _UNMATCHED):
                for bucket in buckets:
                    pipe.hgetall(_key(source, kind, bucket))
            hashes = await pipe.execute()
        summed: dict[str, int] = {}
        points = []
        for bucket, fields in zip(buckets, hashes[:count], strict=True):
            counts = {field: int(value) for field, value in fields.items()}
            points.append(Point(bucket * seconds, *(counts.get(metric, 0) for metric in METRICS)))
            for field, value in counts.items():
                summed[field] = summed.get(field, 0) + value
        unmatched = sum(int(fields.get("unmatched", 0)) for fields in hashes[count:])
        view = msgspec.structs.replace(_view(app, window, summed), unmatched_reports=unmatched)
        return Series(view, points)


def _figures(summed: Mapping[str, int], suffix: str, histogram_scope: str) -> Figures:
    counts = {metric: summed.get(metric + suffix, 0) for metric in METRICS}
    histogram = [
        summed.get(f"dt|{histogram_scope}{i}", 0) for i in range(len(_DELIVERY_BOUNDS) + 1)
    ]
    return Figures(
        **counts,
        delivery_rate=counts["delivered"] / counts["sends"] if counts["sends"] else None,
        conversion_rate=(
            counts["approved"] / counts["verifications"] if counts["verifications"] else None
        ),
        median_delivery_seconds=_median(histogram),
    )


def _median(histogram: list[int]) -> float | None:
    """The upper bound of the bucket holding the median delivery (None without any)."""
    total = sum(histogram)
    if not total:
        return None
    seen = 0
    for index, amount in enumerate(histogram):
        seen += amount
        if seen * 2 >= total:
            return float(_DELIVERY_BOUNDS[min(index, len(_DELIVERY_BOUNDS) - 1)])
    return None


def slices(summed: Mapping[str, int], tag: str) -> list[str]:
    """The names counted under ``tag`` (``|p=`` providers, ``|c=`` countries, ``|h=``
    channels) in a bucket's fields."""
    return sorted({f.split(tag)[1] for f in summed if tag in f and not f.startswith("dt|")})


def _view(app: str, window: Window, summed: Mapping[str, int]) -> StatsView:
    providers, countries = slices(summed, "|p="), slices(summed, "|c=")
    return StatsView(
        window=window,
        app=app,
        total=_figures(summed, "", ""),
        by_provider={p: _figures(summed, f"|p={p}", f"p={p}|") for p in providers},
        by_country={c: _figures(summed, f"|c={c}", f"c={c}|") for c in countries},
        by_channel={h: _figures(summed, f"|h={h}", f"h={h}|") for h in slices(summed, "|h=")},
        failures_by_reason={
            f.removeprefix("reason|"): n
            for f, n in sorted(summed.items())
            if f.startswith("reason|")
        },
        unmatched_reports=summed.get("unmatched", 0),
    )
