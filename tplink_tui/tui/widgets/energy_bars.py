"""Energy per day (or month) as bars on a real axis: kWh, or Wh when every bar is below 1 kWh."""

from __future__ import annotations

from .cached_plot import SERIES_COLORS, CachedPlot, axis_levels, nice_top


def energy_unit(values: list[float]) -> tuple[str, float]:
    """("Wh", 1000) when the largest value is below 1 kWh, else ("kWh", 1)."""
    top = max(values, default=0.0)
    return ("Wh", 1000.0) if top < 1.0 else ("kWh", 1.0)


class EnergyBars(CachedPlot):
    """One bar per label; ``show`` replaces the data (our labels and numbers only)."""

    DEFAULT_CSS = """
    EnergyBars { height: 12; min-height: 6; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.labels: list[str] = []
        self.values: list[float] = []
        self.title = ""

    def show(self, title: str, labels: list[str], values: list[float]) -> None:
        self.title, self.labels, self.values = title, labels, values
        self.changed()

    def signature(self) -> tuple[object, ...]:
        return (self.title, tuple(self.labels), tuple(self.values))

    def data(self) -> tuple[str, list[str], list[float]]:
        return self.title, self.labels, self.values  # show() replaces them, never changes them

    def draw(self, width: int, height: int, data: tuple[str, list[str], list[float]]) -> None:
        plt = self.plt
        title, labels, values = data
        unit, scale = energy_unit(values)
        plt.title(f"{title} ({unit})" if values else f"{title}: no data yet")
        if not values:
            return
        scaled = [v * scale for v in values]
        positions = list(range(1, len(scaled) + 1))
        plt.bar(positions, scaled, color=SERIES_COLORS[0], width=0.5, reset_ticks=False)
        plt.xlim(0.4, len(positions) + 0.6)
        # Label every bar while there is room, else every n-th one.
        room = max(1, width // 6)
        every = max(1, -(-len(positions) // room))
        ticks = positions[::every]
        plt.xticks([float(p) for p in ticks], [labels[p - 1] for p in ticks])
        top = nice_top(max(scaled) * 1.05) if max(scaled) > 1 else 1.0
        plt.ylim(0, top)
        levels = axis_levels(top, height)
        plt.yticks(levels, [f"{v:.3g}" for v in levels])
