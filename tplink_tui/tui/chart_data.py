"""The points the power chart draws, for one device and one time range. No Textual here.

The shortest range comes from the readings in memory (every poll, with its time);
the longer ones from the history database, read on a thread and averaged into
as many buckets as the chart has columns, so a week is a few hundred points.
A strip is one series per outlet, on one shared scale.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..store.history import HistoryStore, HistoryUnavailable
from .state import WHOLE_DEVICE, DeviceView

RANGES: tuple[tuple[str, float], ...] = (
    ("5 min", 300.0),
    ("1 h", 3600.0),
    ("24 h", 86400.0),
    ("7 d", 7 * 86400.0),
)
LIVE_LAG = 90.0  # s: a newer reading than this ends the live chart (not the clock)
MAX_POINTS = 240  # per series: more than a wide chart has braille columns

Points = list[tuple[float, float]]  # (unix s, W), oldest first


@dataclass
class ChartSeries:
    """What the chart shows: a label per series (outlet or the plug), its points."""

    span: float
    end: float
    series: dict[int, Points] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)
    source: str = "live"  # "live" | "history"

    def top(self) -> float:
        return max((w for points in self.series.values() for _, w in points), default=0.0)

    def signature(self) -> tuple[object, ...]:
        """Changes whenever what is drawn would change (the chart's render cache key)."""
        return (
            self.span,
            round(self.end),
            tuple((k, len(p), p[-1] if p else None) for k, p in sorted(self.series.items())),
            tuple(sorted(self.names.items())),
        )


def outlets_of(view: DeviceView) -> list[int]:
    info = view.sysinfo
    return [o.index for o in info.children] if info and info.is_strip else [WHOLE_DEVICE]


def names_of(view: DeviceView) -> dict[int, str]:
    info = view.sysinfo
    if info and info.is_strip:
        return {o.index: o.alias or f"Outlet {o.index}" for o in info.children}
    return {WHOLE_DEVICE: view.name}


def _timed(values: Sequence[float], times: Sequence[float]) -> Points:
    """Pair a series with the newest of the view's times (both end at the last poll)."""
    n = min(len(values), len(times))
    if n == 0:
        return []
    return list(zip(list(times)[-n:], list(values)[-n:], strict=True))


def live_series(view: DeviceView, span: float, now: float | None = None) -> ChartSeries:
    """The readings in memory from the last ``span`` seconds (strip: per outlet).

    The right edge is the newest reading while the device answers (so the picture
    only moves when a poll brings something new), else the present moment.
    """
    if now is None:
        now = time.time()
        if view.online and view.times and now - view.times[-1] < LIVE_LAG:
            now = view.times[-1]
    chart = ChartSeries(span, now, names=names_of(view))
    for outlet in outlets_of(view):
        values = view.power if outlet == WHOLE_DEVICE else view.outlet_power.get(outlet, ())
        chart.series[outlet] = [p for p in _timed(list(values), view.times) if p[0] >= now - span]
    return chart


def bucketed(points: Points, start: float, end: float, count: int = MAX_POINTS) -> Points:
    """Mean power per bucket (``count`` buckets over start..end); empty buckets left out."""
    if end <= start or count <= 0:
        return []
    size = (end - start) / count
    sums: dict[int, tuple[float, int]] = {}
    for ts, watts in points:
        if start <= ts <= end:
            slot = min(count - 1, int((ts - start) / size))
            total, n = sums.get(slot, (0.0, 0))
            sums[slot] = (total + watts, n + 1)
    return [(start + (slot + 0.5) * size, total / n) for slot, (total, n) in sorted(sums.items())]


def history_series(
    history: HistoryStore, view: DeviceView, span: float, now: float | None = None
) -> ChartSeries | None:
    """``span`` seconds from the database, bucketed. Blocking: call it on a thread."""
    now = time.time() if now is None else now
    chart = ChartSeries(span, now, names=names_of(view), source="history")
    try:
        if not history.wait_open(0):
            return None
        for outlet in outlets_of(view):
            stored = None if outlet == WHOLE_DEVICE else outlet
            points = history.recent(view.key, stored, now - span, now)
            chart.series[outlet] = bucketed(points, now - span, now)
    except HistoryUnavailable:
        return None
    return chart


def extend_with_live(chart: ChartSeries, view: DeviceView, now: float | None = None) -> ChartSeries:
    """A history chart plus the polls since it was read (so it keeps moving)."""
    now = time.time() if now is None else now
    live = live_series(view, now - chart.end, now)
    merged = ChartSeries(chart.span, now, names=names_of(view), source=chart.source)
    for outlet, points in chart.series.items():
        newer = [p for p in live.series.get(outlet, []) if p[0] > chart.end]
        merged.series[outlet] = [p for p in points if p[0] >= now - chart.span] + newer
    return merged
