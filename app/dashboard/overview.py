"""The overview (sends, delivery, conversion, failures over 1 h, 24 h, 7 d) and usage pages."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter
from litestar.response import Template

from app.apps.registry import AppRegistry
from app.apps.sessions import SignedIn
from app.dashboard.auth import BASE, signed_in
from app.dashboard.charts import bars, lines
from app.dashboard.views import chosen_app, page
from app.delivery.stats import Series, Stats, StatsView, Window
from app.delivery.usage import UsageReader, UsageView

__all__ = ["OverviewController", "overview_charts", "usage_charts"]

WINDOWS: tuple[Window, ...] = ("1h", "24h", "7d")


def overview_charts(series: Series) -> dict[str, Any]:
    """The chosen window's charts: sends, deliveries and approvals per bucket, failures."""
    points = series.points
    over_time = lines(
        [point.start for point in points],
        {
            "sends": [point.sends for point in points],
            "delivered": [point.delivered for point in points],
            "approved": [point.approved for point in points],
        },
        hours=series.view.window != "7d",
    )
    return {
        "over_time": over_time,
        "failures": bars(series.view.failures_by_reason),
        "by_country": bars({c: f.sends for c, f in series.view.by_country.items()}),
    }


def usage_charts(usage: UsageView) -> dict[str, Any]:
    """Sends, deliveries and approvals by day; cost by provider and by country."""
    starts = [datetime.combine(date.fromisoformat(day.date), datetime.min.time(), UTC).timestamp()
              for day in usage.days]  # fmt: skip
    return {
        "by_day": lines(
            starts,
            {
                "sends": [day.sends for day in usage.days],
                "delivered": [day.delivered for day in usage.days],
                "approved": [day.approved for day in usage.days],
            },
            hours=False,
        ),
        "cost_by_provider": bars({p: round(f.cost, 4) for p, f in usage.by_provider.items()}),
        "cost_by_country": bars({c: round(f.cost, 4) for c, f in usage.by_country.items()}),
    }


class OverviewController(Controller):
    path = BASE
    include_in_schema = False
    guards = [signed_in]
    signature_types = [AppRegistry, SignedIn, Stats, UsageReader, StatsView]

    @get("/overview", cache=False)
    async def overview(
        self,
        request: Request[SignedIn, Any, Any],
        apps: NamedDependency[AppRegistry],
        stats: NamedDependency[Stats],
        app: FromQuery[str | None] = None,
        window: FromQuery[Window] = "24h",
    ) -> Template:
        name = chosen_app(request.user, app, apps)
        series = await stats.series(name, window)
        views = [series.view if each == window else await stats.read(name, each)
                 for each in WINDOWS]  # fmt: skip
        return page(request, apps, "overview.html", name, window=window, windows=views,
                    view=series.view, **overview_charts(series))  # fmt: skip

    @get("/usage", cache=False)
    async def usage(
        self,
        request: Request[SignedIn, Any, Any],
        apps: NamedDependency[AppRegistry],
        usage: NamedDependency[UsageReader],
        app: FromQuery[str | None] = None,
        start: Annotated[date | None, QueryParameter(name="from")] = None,
        end: Annotated[date | None, QueryParameter(name="to")] = None,
    ) -> Template:
        name = chosen_app(request.user, app, apps)
        found = await usage.read(name, start, end)
        return page(request, apps, "usage.html", name, usage=found, **usage_charts(found))
