"""The geometry of the dashboard's charts, drawn by the server as inline SVG.

Pure functions of the figures: the templates only place the shapes these compute, so a
page needs no JavaScript chart library (and no CDN). Coordinates are in the SVG's
``viewBox``; CSS scales the chart to the screen's width.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = ["Bars", "Lines", "bars", "lines"]

WIDTH = 360
PLOT_HEIGHT = 120
BAR_HEIGHT = 22
_LABEL_WIDTH = 120


@dataclass(frozen=True)
class Bar:
    label: str
    value: str
    y: float
    width: float


@dataclass(frozen=True)
class Bars:
    """Horizontal bars, one per labelled count (failures by reason, sends by country)."""

    bars: list[Bar]
    height: float
    label_width: float = _LABEL_WIDTH
    width: float = WIDTH


def bars(items: Mapping[str, float], unit: str = "", limit: int = 12) -> Bars:
    """The ``limit`` largest of ``items`` as bars, longest first."""
    largest = sorted(items.items(), key=lambda item: (-item[1], item[0]))[:limit]
    top = max((value for _, value in largest), default=0) or 1
    room = WIDTH - _LABEL_WIDTH - 50
    shown = [
        Bar(label, f"{value:g}{unit}", index * (BAR_HEIGHT + 6), max(1.0, room * value / top))
        for index, (label, value) in enumerate(largest)
    ]
    return Bars(shown, max(BAR_HEIGHT, len(shown) * (BAR_HEIGHT + 6)))


@dataclass(frozen=True)
class Line:
    name: str
    points: str  # the polyline's "x,y x,y …"
    total: float


@dataclass(frozen=True)
class Lines:
    """Series over time on one scale (sends, deliveries, approvals per bucket)."""

    lines: list[Line]
    top: float
    first: str
    last: str
    width: float = WIDTH
    height: float = PLOT_HEIGHT


def lines(starts: Sequence[float], series: Mapping[str, Sequence[float]], hours: bool) -> Lines:
    """One polyline per series over the buckets that begin at ``starts`` (Unix seconds);
    ``hours``: label the ends with the hour (else the day)."""
    top = max((value for values in series.values() for value in values), default=0) or 1
    step = WIDTH / max(1, len(starts) - 1)

    def points(values: Sequence[float]) -> str:
        return " ".join(
            f"{index * step:.1f},{PLOT_HEIGHT - PLOT_HEIGHT * value / top:.1f}"
            for index, value in enumerate(values)
        )

    shape = "%H:%M" if hours else "%b %d"
    first, last = (
        datetime.fromtimestamp(at, UTC).strftime(shape) if starts else ""
        for at in (starts[0] if starts else 0, starts[-1] if starts else 0)
    )
    drawn = [Line(name, points(values), sum(values)) for name, values in series.items()]
    return Lines(drawn, top, first, last)
