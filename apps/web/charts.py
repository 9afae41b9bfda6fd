"""Geometry for the dashboard's inline SVG bar chart (no JavaScript, no chart library)."""

from __future__ import annotations

from dataclasses import dataclass

from apps.web.selectors import DayActivity

CHART_HEIGHT = 110
SLOT_WIDTH = 24
BAR_WIDTH = 9


@dataclass(frozen=True)
class Bar:
    """One rectangle of the chart."""

    x: int
    y: float
    height: float
    value: int


@dataclass(frozen=True)
class DayBars:
    """The two bars (refreshed, failed) of one day, with its label."""

    activity: DayActivity
    label_x: int
    refreshed: Bar
    failed: Bar


def activity_chart(days: list[DayActivity]) -> dict[str, object]:
    """Bars scaled to the busiest day; a zero value still gets a 1px baseline bar."""
    peak = max([max(d.refreshed, d.failed) for d in days] + [1])

    def bar(x: int, value: int) -> Bar:
        height = max(value / peak * (CHART_HEIGHT - 4), 1.0)
        return Bar(x=x, y=round(CHART_HEIGHT - height, 1), height=round(height, 1), value=value)

    bars = [
        DayBars(
            activity=day,
            label_x=i * SLOT_WIDTH + SLOT_WIDTH // 2,
            refreshed=bar(i * SLOT_WIDTH + 2, day.refreshed),
            failed=bar(i * SLOT_WIDTH + 2 + BAR_WIDTH + 1, day.failed),
        )
        for i, day in enumerate(days)
    ]
    return {
        "bars": bars,
        "width": SLOT_WIDTH * len(days),
        "height": CHART_HEIGHT,
        "peak": peak,
        "bar_width": BAR_WIDTH,
        "total_refreshed": sum(d.refreshed for d in days),
        "total_failed": sum(d.failed for d in days),
    }
