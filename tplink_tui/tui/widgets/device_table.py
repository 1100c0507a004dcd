"""The device list: a DataTable keyed by device, updated cell by cell in place.

This is the one place that reaches into DataTable's internals, on purpose:
DataTable keys its render caches on one table-wide update counter, so with 200
devices every poll re-renders every visible cell, and its public API offers no
way to cache by cell value. ``DeviceTable`` overrides two private render methods
(``_render_cell``, ``_render_line_in_row``), shrinks three private caches and
reads a few private attributes, all listed in ``TEXTUAL_INTERNALS``;
``tests/test_tui_controller.py`` checks them against the installed Textual and
fails with a clear message when a release renames or reshapes them. (Should one
still slip through, each override falls back to DataTable's own rendering.)

Only the rows on screen are redrawn as polls come in: a changed cell is written
into the table's data and just its row is repainted (``update_cell`` repaints the
whole table). A row off screen is only marked stale: ``catch_up`` brings a few
stale rows up to date per batch, and any stale row scrolled into view is brought
up to date before it is drawn. So 1,000 devices cost a screenful of rows per
poll cycle, not 1,000.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Region
from textual.widgets import DataTable

from ...monitor import Status
from ...present import power as format_power
from ...tariff import Tariff
from ..safe import text as safe_text
from ..state import (
    DeviceView,
    countdown_text,
    last_seen_text,
    state_text,
    status_text,
    today_kwh_text,
)

# (key, label, width, keep): on a narrow terminal the lowest ``keep`` goes first
# (Seen, then Model, then Room, ...), so the list never scrolls sideways. Cost and
# Timer are there only with a tariff / a running countdown.
COLUMNS = (
    ("status", "Status", 13, 9),
    ("name", "Name", 16, 9),
    ("state", "State", 6, 9),
    ("power", "Power", 9, 8),
    ("timer", "Timer", 13, 7),
    ("today", "kWh today", 9, 5),
    ("cost", "Cost today", 10, 4),
    ("room", "Room", 11, 3),
    ("model", "Model", 6, 2),
    ("seen", "Seen", 8, 1),
)
GROWS = {"name": 32, "room": 20}  # spare width widens these, up to this many cells
SORT_COLUMN = {"name": "name", "room": "room", "power": "power", "status": "status"}
SORT_ARROW = {"power": " ▼"}  # power sorts high to low; the others A→Z


def fit_columns(
    width: int, *, cost: bool = False, timer: bool = False
) -> list[tuple[str, str, int]]:
    """The columns that fit ``width`` cells (each takes its width + 2 of padding)."""
    wanted = [c for c in COLUMNS if (c[0] != "cost" or cost) and (c[0] != "timer" or timer)]
    chosen = list(wanted)
    while len(chosen) > 3 and sum(w + 2 for _, _, w, _ in chosen) > width:
        chosen.remove(min(chosen, key=lambda c: c[3]))
    spare = width - sum(w + 2 for _, _, w, _ in chosen)
    result = []
    for key, label, w, _ in chosen:
        grow = max(0, min(spare, GROWS.get(key, w) - w))
        spare -= grow
        result.append((key, label, w + grow))
    return result


STATUS_STYLE = {Status.ONLINE: "green", Status.OFFLINE: "red", Status.CONNECTING: "yellow"}
CELL_CACHE = 2000  # rendered cells kept (a screenful is ~300, with cursor/hover variants)
ROW_CACHE = 500  # rendered row lines kept
# DataTable's own caches are keyed on its update counter, so with a poll every few ms
# they fill with dead entries: thousands of Strips and Segments that every full
# garbage collection walks (150 ms pauses with 200 devices). These sizes still hold
# a tall screenful; cells and rows are cached above them, by value.
DATATABLE_CACHES = {
    "_cell_render_cache": 256,
    "_row_render_cache": 256,
    "_line_cache": 300,
}


# What DeviceTable relies on inside DataTable: methods it overrides (with the
# parameter names it passes) and attributes it reads. Checked by a test.
TEXTUAL_INTERNALS: dict[str, tuple[str, ...]] = {
    "_render_cell": ("row_index", "column_index", "base_style", "width", "cursor", "hover"),
    "_render_line_in_row": (
        "row_key",
        "line_no",
        "base_style",
        "cursor_location",
        "hover_location",
    ),
    "attributes": (
        "_data",
        "_row_locations",
        "_column_locations",
        "_show_hover_cursor",
        "_pseudo_class_state",
        "_update_count",
        "header_height",
        *DATATABLE_CACHES,
    ),
}
CATCH_UP_ROWS = 40  # stale off-screen rows brought up to date per batch (~4 ms)


def row_cells(view: DeviceView, tariff: Tariff | None = None) -> dict[str, Text]:
    """The cells of one row, styled: offline devices are dimmed."""
    dim = "dim" if view.status is Status.OFFLINE else ""
    info = view.sysinfo
    state = view.state
    power = state.power_w if state and view.online else None
    on = state_text(view)
    marker = {"online": "●", "connecting": "◌"}.get(view.status.value, "○")
    rebooting = view.rebooting
    status_style = "yellow" if view.needs_login or rebooting else STATUS_STYLE[view.status]
    return {
        "status": Text(f"{marker} {status_text(view)}", style=status_style),
        "name": safe_text(view.name, style=f"bold {dim}".strip()),
        "room": safe_text(view.room, style=dim),
        "model": safe_text(info.model_family if info else "", style=dim),
        "state": Text(on, style=dim or ("green" if on == "on" or " on" in on else "")),
        "power": Text(format_power(power), style=dim, justify="right"),
        "today": Text(today_kwh_text(view), style=dim, justify="right"),
        "seen": Text(last_seen_text(view), style=dim),
        "timer": Text(countdown_text(view), style="yellow"),
        "cost": Text(tariff.money(view.today_cost) if tariff else "", style=dim, justify="right"),
    }


def _look(value: object, context: tuple[object, ...]) -> tuple[object, ...] | None:
    """What a plain one-style cell's rendering depends on besides its row (None: others)."""
    if not isinstance(value, Text) or value.spans or "\n" in value.plain:
        return None
    return (value.plain, str(value.style), value.justify, value.overflow, value.end, *context)


def _meta(row: int, column: int) -> Style:
    return Style.from_meta({"row": row, "column": column})


def _placed(lines: Any, row: int, column: int) -> bool:
    """True when every segment carries exactly DataTable's (row, column) meta, nothing else."""
    want = {"row": row, "column": column}
    try:
        return all(seg.style is not None and seg.style.meta == want for ln in lines for seg in ln)
    except (AttributeError, TypeError):
        return False


def _moved(shared: tuple[int, Any], row: int, column: int) -> Any:
    """A cell rendered on another row, as DataTable would render it on this one.

    DataTable adds ``Style.from_meta({"row": r, "column": c})`` to every segment's
    style (mouse clicks read it); adding this row's meta over it gives the same
    style as rendering here. Rendering a cell through Rich costs ~0.2 ms.
    """
    first, lines = shared
    if first == row:
        return lines
    meta = _meta(row, column)
    return [[Segment(seg.text, seg.style + meta, seg.control) for seg in ln] for ln in lines]


class DeviceTable(DataTable[Text]):
    """Keyed rows so a poll result updates its own cells without a rebuild."""

    BINDINGS = [
        Binding("space", "app.toggle_selected", "Toggle", id="toggle", key_display="space"),
        Binding("home", "first_row", "First", show=False),
        Binding("end", "last_row", "Last", show=False),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, size in DATATABLE_CACHES.items():
            if isinstance(getattr(self, name, None), LRUCache):
                setattr(self, name, LRUCache(size))
        self._cells: dict[tuple[object, ...], tuple[object, Any]] = {}
        # Rendered cells by look (same text, style, width, cursor...), whatever row they
        # are on: "● online", "on", "now" are drawn once, not once per row.
        self._shared: dict[tuple[object, ...], tuple[int, Any]] = {}
        self._lines: dict[tuple[object, ...], tuple[tuple[object, ...], Any]] = {}
        self.shown: list[tuple[str, str, int]] = fit_columns(120)
        self.sorted_by = "name"
        self.tariff: Tariff | None = None
        self.source: Callable[[str], DeviceView | None] = lambda key: None  # the views
        self.stale: dict[str, None] = {}  # off-screen rows not redrawn yet, oldest first

    def _render_line_in_row(
        self,
        row_key: Any,
        line_no: int,
        base_style: Style,
        cursor_location: Any,
        hover_location: Any,
    ) -> Any:
        """DataTable's row line render, cached per row content (see ``_render_cell``).

        Assembling a line costs a few style look-ups up the DOM even when every
        cell comes from the cache, so an unchanged row is not assembled again.
        """
        args = (row_key, line_no, base_style, cursor_location, hover_location)
        try:
            if row_key not in self._data:  # the header row: as DataTable does
                return super()._render_line_in_row(*args)
            values = tuple(self._data[row_key].values())
            key = (
                *args,
                self._row_locations.get(row_key),
                self.size.width,
                tuple(column.width for column in self.columns.values()),
                self.cell_padding,
                self.cursor_type,
                self.show_cursor,
                self._show_hover_cursor,
                self._pseudo_class_state,
            )
        except (AttributeError, KeyError, TypeError):  # another Textual release: no cache
            return super()._render_line_in_row(*args)
        cached = self._lines.get(key)
        if cached is not None and all(a is b for a, b in zip(cached[0], values, strict=True)):
            return cached[1]
        lines = super()._render_line_in_row(*args)
        if len(self._lines) >= ROW_CACHE:
            self._lines.clear()
        self._lines[key] = (values, lines)
        return lines

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> Any:
        """DataTable's cell render, cached per cell value.

        DataTable keys its render caches on one table-wide update counter, so a poll
        that changes one cell re-renders every visible cell (most of a frame's cost
        with 200 devices). Here a cell is rendered again only when its own value (a
        new Text object: ``upsert`` replaces only changed cells) or its look changes.
        """
        if row_index < 0 or column_index < 0:  # header and row labels: as DataTable does
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        try:
            row_key = self._row_locations.get_key(row_index)
            column_key = self._column_locations.get_key(column_index)
            if row_key is None or column_key is None:
                raise KeyError(row_index, column_index)
            value = self._data[row_key][column_key]
            key = (
                row_key,
                column_key,
                row_index,
                column_index,
                base_style,
                width,
                cursor,
                hover,
                self.show_cursor,
                self._show_hover_cursor,
                self._pseudo_class_state,
                self.cursor_foreground_priority,
                self.cursor_background_priority,
            )
        except (AttributeError, KeyError):  # another Textual release: no cache
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        cached = self._cells.get(key)
        if cached is not None and cached[0] is value:
            return cached[1]
        look = _look(value, key[1:2] + key[4:])
        shared = self._shared.get(look) if look is not None else None
        if shared is not None:
            lines = _moved(shared, row_index, column_index)
        else:
            lines = super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
            if look is not None and _placed(lines, row_index, column_index):
                if len(self._shared) >= CELL_CACHE:
                    self._shared.clear()
                self._shared[look] = (row_index, lines)
        if len(self._cells) >= CELL_CACHE:
            self._cells.clear()
        self._cells[key] = (value, lines)
        return lines

    def notify_style_update(self) -> None:
        self._cells.clear()  # a theme or CSS change: every cell looks different
        self._shared.clear()
        self._lines.clear()
        super().notify_style_update()

    def clear(self, columns: bool = False) -> DeviceTable:
        self._cells.clear()
        self._shared.clear()
        self._lines.clear()
        self.stale.clear()
        super().clear(columns)
        return self

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        self._add_columns()

    def _add_columns(self) -> None:
        for key, label, width in self.shown:
            arrow = SORT_ARROW.get(key, " ▲") if SORT_COLUMN.get(self.sorted_by) == key else ""
            self.add_column(label + arrow, key=key, width=width)

    def set_columns(self, columns: list[tuple[str, str, int]], sort: str) -> bool:
        """Show these columns (sorted one marked in its header); True if that changed."""
        if columns == self.shown and sort == self.sorted_by:
            return False
        self.shown, self.sorted_by = columns, sort
        self.clear(columns=True)
        self._add_columns()
        return True

    def action_first_row(self) -> None:
        if self.row_count:
            self.move_cursor(row=0)

    def action_last_row(self) -> None:
        if self.row_count:
            self.move_cursor(row=self.row_count - 1)

    def upsert(self, view: DeviceView) -> None:
        """Add the device's row, or update only the cells that changed."""
        cells = row_cells(view, self.tariff)
        key = view.key
        if key not in self.rows:
            self.add_row(*(cells[column] for column, _, _ in self.shown), key=key)
            return
        self.stale.pop(key, None)
        try:
            data: dict[Any, Text] | None = self._data[key]  # type: ignore[index]
        except (AttributeError, KeyError, TypeError):  # another Textual release: its public way
            data = None
        changed = False
        for column, _, _ in self.shown:
            new = cells[column]
            old = data.get(column) if data is not None else self.get_cell(key, column)
            if old is None or old.plain != new.plain or old.style != new.style:
                changed = True
                if data is None:
                    self.update_cell(key, column, new)
                else:
                    data[column] = new
        if changed and data is not None:
            self._update_count += 1  # DataTable's own line caches are keyed on it
            self._repaint_row(key)

    def _repaint_row(self, key: str) -> None:
        """Repaint one row's line if it is on screen (every row is one line high)."""
        index = self.get_row_index(key)
        y = index + self.header_height - round(self.scroll_y)
        if self.header_height <= y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    def on_screen(self) -> range:
        """The indexes of the rows on screen (all of them before the first layout)."""
        height = self.size.height - self.header_height
        if height <= 0:
            return range(self.row_count)
        top = max(0, round(self.scroll_y))
        return range(top, min(self.row_count, top + height))

    def show_rows(self, views: Iterable[DeviceView]) -> None:
        """Redraw these devices' rows if on screen (or new); mark the others stale."""
        shown = self.on_screen()
        for view in views:
            key = view.key
            if key not in self.rows or self.get_row_index(key) in shown:
                self.upsert(view)
            else:
                self.stale[key] = None
        self.catch_up()

    def catch_up(self, rows: int = CATCH_UP_ROWS) -> None:
        """Bring the stale rows on screen, then up to ``rows`` more, up to date."""
        if not self.stale:
            return
        shown = self.on_screen()
        keys = (self._row_locations.get_key(index) for index in shown)
        due = {k.value: None for k in keys if k is not None and k.value in self.stale}
        more = rows
        for key in self.stale:
            if more <= 0:
                break
            if key not in due:
                due[key] = None
                more -= 1
        for key in due:
            view = self.source(key)
            if view is None or key not in self.rows:
                self.stale.pop(key, None)
            else:
                self.upsert(view)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if self.stale and round(old_value) != round(new_value):
            self.catch_up(0)  # rows scrolled into view are drawn up to date

    def on_resize(self, event: events.Resize) -> None:
        self.catch_up(0)

    def rebuild(self, views: list[DeviceView]) -> None:
        """On sort, filter or column changes (polls update rows in place); keeps the selection."""
        selected = self.selected_key()
        self.clear()
        for view in views:
            self.upsert(view)
        if selected and selected in self.rows:
            self.move_cursor(row=self.get_row_index(selected))

    def selected_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except Exception:  # an empty or shrinking table: nothing is selected
            return None
        return str(key.value) if key.value is not None else None
