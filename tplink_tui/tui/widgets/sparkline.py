"""A power sparkline on a 0-based scale.

Textual's Sparkline scales min→max, so a steady 60 W load looks like noise. Power
is judged from zero, so this subclass keeps Textual's styling but draws bars
from 0 to the highest value shown, over as many rows as the widget is tall.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.style import Style
from rich.text import Text
from textual.app import RenderResult
from textual.widgets import Sparkline

BARS = "▁▂▃▄▅▆▇█"


def zero_based_rows(values: Sequence[float], width: int, height: int = 1) -> list[str]:
    """The last ``width`` values as ``height`` rows of bars, top row first."""
    if width <= 0 or height <= 0:
        return []
    recent = list(values)[-width:]
    top = max(recent, default=0.0)
    eighths = height * 8
    levels = [round(v / top * eighths) if top > 0 else 0 for v in recent]
    rows = []
    for row in range(height - 1, -1, -1):
        cells = []
        for level in levels:
            part = min(8, max(0, level - row * 8))
            cells.append(BARS[part - 1] if part else (BARS[0] if row == 0 else " "))
        rows.append("".join(cells).rjust(width))
    return rows


class PowerSparkline(Sparkline):
    DEFAULT_CSS = """
    PowerSparkline { height: 1; }
    PowerSparkline > .sparkline--max-color { color: $success; }
    PowerSparkline > .sparkline--min-color { color: $success 40%; }
    """

    def render(self) -> RenderResult:
        color = self.get_component_styles("sparkline--max-color").color
        rows = zero_based_rows(self.data or [], self.size.width, self.size.height)
        return Text("\n".join(rows), style=Style(color=color.rich_color))
