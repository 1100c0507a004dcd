"""The detail pane's power chart: watts over time, a W axis from zero and a time axis.

A strip's outlets are overlaid in one chart on one scale (each outlet's colour is
the colour of its name in the outlet rows), so 2.5 W looks small beside 30 W.
"""

from __future__ import annotations

from ..chart_data import ChartSeries
from ..state import WHOLE_DEVICE
from .cached_plot import SERIES_COLORS, CachedPlot, axis_levels, nice_top


def ago(seconds: float) -> str:
    """An x tick: ``now``, ``-30s``, ``-5m``, ``-3h``, ``-2d``."""
    seconds = abs(seconds)
    if seconds < 1:
        return "now"
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            value = seconds / size
            return (
                f"-{value:.0f}{unit}"
                if value >= 10 or value == int(value)
                else f"-{value:.1f}{unit}"
            )
    return f"-{seconds:.0f}s"


def series_color(outlet: int) -> tuple[int, int, int]:
    return SERIES_COLORS[0 if outlet == WHOLE_DEVICE else outlet % len(SERIES_COLORS)]


class PowerChart(CachedPlot):
    """Shows one ``ChartSeries``; ``show`` replaces it, the cache skips unchanged repaints."""

    DEFAULT_CSS = """
    PowerChart { height: 1fr; min-height: 5; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.chart: ChartSeries | None = None
        self.note = ""  # why it is empty, drawn as the title

    def show(self, chart: ChartSeries | None, note: str = "") -> None:
        self.chart, self.note = chart, note
        self.changed()

    def signature(self) -> tuple[object, ...]:
        return (self.chart.signature() if self.chart else None, self.note)

    def subject(self) -> object:
        """The same device and range: its new readings are drawn at most every 2 s."""
        chart = self.chart
        return None if chart is None else (chart.span, chart.source, tuple(chart.names.items()))

    def data(self) -> tuple[ChartSeries | None, str]:
        return self.chart, self.note  # show() replaces the series, never changes one

    def draw(self, width: int, height: int, data: tuple[ChartSeries | None, str]) -> None:
        plt = self.plt
        chart, note = data
        span = chart.span if chart else 300.0
        plt.xlim(-span, 0)
        step = _time_step(span, width)
        ticks = [-span + step * i for i in range(int(span // step) + 1)]
        plt.xticks(ticks, [ago(t) for t in ticks])
        top = nice_top(chart.top() if chart else 0.0)
        plt.ylim(0, top)
        levels = axis_levels(top, height)
        plt.yticks(levels, [_watts(v) for v in levels])
        drawn = False
        if chart is not None:
            for outlet, points in sorted(chart.series.items()):
                if len(points) < 1:
                    continue
                xs = [ts - chart.end for ts, _ in points]
                ys = [watts for _, watts in points]
                plt.plot(xs, ys, marker="hd", color=series_color(outlet))
                drawn = True
        if not drawn:
            plt.title(note or "no readings in this range yet")


def _time_step(span: float, width: int) -> float:
    """Seconds between x ticks: a round step with room for each label (~12 cells)."""
    most = max(2, width // 12)
    for step in (15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 3 * 3600, 6 * 3600, 86400):
        if span / step <= most:
            return float(step)
    return 2 * 86400.0


def _watts(value: float) -> str:
    if value >= 1000:
        return f"{value / 1000:g} kW"
    return f"{value:g} W"
