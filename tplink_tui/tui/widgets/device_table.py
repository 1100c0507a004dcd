"""The device list: a DataTable keyed by device, updated cell by cell in place."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

from ...monitor import Status
from ..state import (
    DeviceView,
    format_power,
    last_seen_text,
    state_text,
    status_text,
    today_kwh_text,
)

# Most important first: on a narrow terminal the right-hand columns scroll away.
COLUMNS = (
    ("status", "Status", 13),
    ("name", "Name", 16),
    ("state", "State", 6),
    ("power", "Power", 9),
    ("today", "kWh today", 9),
    ("room", "Room", 11),
    ("model", "Model", 6),
    ("seen", "Seen", 8),
)
STATUS_STYLE = {Status.ONLINE: "green", Status.OFFLINE: "red", Status.CONNECTING: "yellow"}


def row_cells(view: DeviceView) -> dict[str, Text]:
    """The cells of one row, styled: offline devices are dimmed."""
    dim = "dim" if view.status is Status.OFFLINE else ""
    info = view.sysinfo
    state = view.state
    power = state.power_w if state and view.online else None
    on = state_text(view)
    marker = {"online": "●", "connecting": "◌"}.get(view.status.value, "○")
    return {
        "status": Text(f"{marker} {status_text(view)}", style=STATUS_STYLE[view.status]),
        "name": Text(view.name, style=f"bold {dim}".strip()),
        "room": Text(view.room, style=dim),
        "model": Text(info.model_family if info else "", style=dim),
        "state": Text(on, style=dim or ("green" if on == "on" or " on" in on else "")),
        "power": Text(format_power(power), style=dim, justify="right"),
        "today": Text(today_kwh_text(view), style=dim, justify="right"),
        "seen": Text(last_seen_text(view), style=dim),
    }


class DeviceTable(DataTable[Text]):
    """Keyed rows so a poll result updates its own cells without a rebuild."""

    BINDINGS = [
        Binding("space", "app.toggle_selected", "Toggle", id="toggle", key_display="space"),
    ]

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        for key, label, width in COLUMNS:
            self.add_column(label, key=key, width=width)

    def upsert(self, view: DeviceView) -> None:
        """Add the device's row, or update only the cells that changed."""
        cells = row_cells(view)
        if view.key not in self.rows:
            self.add_row(*(cells[key] for key, _, _ in COLUMNS), key=view.key)
            return
        row = self.get_row(view.key)
        for (column, _, _), old in zip(COLUMNS, row, strict=True):
            new = cells[column]
            if old.plain != new.plain or old.style != new.style:
                self.update_cell(view.key, column, new)

    def selected_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except Exception:  # an empty or shrinking table: nothing is selected
            return None
        return str(key.value) if key.value is not None else None
