"""Size a DataTable's auto-width columns at once, when its rows are filled.

A DataTable widens its columns for new rows only at its next idle. On a busy loop the
screen can paint in between, and that first picture (cells cut at the header's width)
stays cached until something else changes: the rules screen was seen in that state. A
table filled in one go calls ``fit_columns`` afterwards, so its first paint is right.
"""

from __future__ import annotations

from typing import Any

from rich.measure import Measurement
from rich.text import Text
from textual.widgets import DataTable


def fit_columns(table: DataTable[Any]) -> None:
    """Widen every auto-width column to its widest cell now (never narrows one)."""
    console = table.app.console
    options = console.options
    for key, column in table.columns.items():
        if not column.auto_width:
            continue
        widest = column.content_width
        for cell in table.get_column(key):
            shown = Text(cell) if isinstance(cell, str) else cell  # str: never as markup
            widest = max(widest, Measurement.get(console, options, shown).maximum)
        column.content_width = widest
    table.refresh()
