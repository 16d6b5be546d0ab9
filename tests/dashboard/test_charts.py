"""The charts' geometry: pure functions of the figures."""

from __future__ import annotations

from app.dashboard.charts import PLOT_HEIGHT, WIDTH, bars, lines


def test_bars_are_longest_first_and_scaled_to_the_largest() -> None:
    chart = bars({"30001": 2, "21610": 8, "unreachable": 4})
    assert [bar.label for bar in chart.bars] == ["21610", "unreachable", "30001"]
    widths = [bar.width for bar in chart.bars]
    assert widths[0] == 2 * widths[1] == 4 * widths[2]
    assert chart.label_width + widths[0] < WIDTH
    assert [bar.y for bar in chart.bars] == sorted(bar.y for bar in chart.bars)


def test_bars_keep_the_largest_few_and_show_nothing_for_nothing() -> None:
    assert len(bars({str(n): n for n in range(1, 30)}, limit=5).bars) == 5
    assert bars({}).bars == []
    assert bars({"a": 0}).bars[0].width == 1.0  # still visible, never negative


def test_lines_share_one_scale_from_the_first_bucket_to_the_last() -> None:
    starts = [0.0, 3600.0, 7200.0]
    chart = lines(starts, {"sends": [0, 5, 10], "delivered": [0, 5, 5]}, hours=True)
    sends, delivered = chart.lines
    assert chart.top == 10 and sends.total == 15 and delivered.total == 10
    assert (
        sends.points
        == f"0.0,{PLOT_HEIGHT:.1f} {WIDTH / 2:.1f},{PLOT_HEIGHT / 2:.1f} {WIDTH:.1f},0.0"
    )
    assert delivered.points.endswith(f"{WIDTH:.1f},{PLOT_HEIGHT / 2:.1f}")
    assert (chart.first, chart.last) == ("00:00", "02:00")


def test_lines_of_no_traffic_lie_flat_on_the_axis() -> None:
    chart = lines([0.0, 86400.0], {"sends": [0, 0]}, hours=False)
    assert chart.lines[0].points == f"0.0,{PLOT_HEIGHT:.1f} {WIDTH:.1f},{PLOT_HEIGHT:.1f}"
    assert (chart.first, chart.last) == ("Jan 01", "Jan 02")
