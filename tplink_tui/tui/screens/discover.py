"""Scan the network for plugs: an editable target, progress while waiting, add what was found.

Old-protocol plugs and newer (KLAP/AES) ones are rows of the same table; a newer
one is added with the transport its 20002 answer named, and asks for a login.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Label, ProgressBar

from ...discovery import (
    NEW_PROTOCOL_PORT,
    DiscoveredDevice,
    DiscoveryResult,
    NewDevice,
    discover,
)
from ...errors import TplinkError
from ...present import format_address, outlets_on
from ..safe import text as safe_text
from ..widgets.table_widths import fit_columns

Scanner = Callable[[str, int, float], Awaitable[DiscoveryResult]]
Found = DiscoveredDevice | NewDevice  # a row: an old-protocol plug or a newer one
NEEDS_LOGIN = "needs login"


def found_address(found: Found) -> tuple[str, int]:
    """Where the device would be saved: a newer one at its HTTP port."""
    if isinstance(found, NewDevice):
        return found.host, found.http_port
    return found.host, found.port


class DiscoverScreen(ModalScreen[list[Found] | None]):
    """Dismisses with the devices the user chose to add."""

    BINDINGS = [
        Binding("escape", "close", "Close", id="discover.close"),
        Binding("enter", "add_selected", "Add selected", id="discover.add", show=True),
        Binding("ctrl+a", "add_all", "Add all new", id="discover.add_all"),
    ]
    DEFAULT_CSS = """
    DiscoverScreen { align: center middle; }
    DiscoverScreen > Vertical {
        width: 96; max-width: 100%; height: 80%; border: thick $accent; background: $surface;
        padding: 1 2;
    }
    DiscoverScreen Horizontal { height: auto; }
    DiscoverScreen #discover-target { width: 1fr; }
    DiscoverScreen #discover-port { width: 12; }
    DiscoverScreen DataTable { height: 1fr; }
    DiscoverScreen #discover-status { color: $text-muted; height: auto; width: 1fr; }
    """

    def __init__(
        self,
        target: str,
        port: int,
        known: set[tuple[str, int]],
        timeout: float = 3.0,
        scanner: Scanner | None = None,
        new_protocol_port: int | None = NEW_PROTOCOL_PORT,
    ):
        super().__init__()
        # The default scan also hears newer devices, on ``new_protocol_port``.
        self.scanner: Scanner = scanner or partial(discover, new_protocol_port=new_protocol_port)
        self.target = target
        self.port = port
        self.known = known
        self.timeout = timeout
        self.found: list[Found] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Discover devices: broadcast address (or one host) and port")
            with Horizontal():
                yield Input(self.target, id="discover-target")
                yield Input(str(self.port), id="discover-port", type="integer")
                yield Button("Scan", id="scan", variant="primary")
            yield ProgressBar(total=100, show_eta=False, id="discover-progress")
            yield Label("", id="discover-status")
            yield DataTable(id="discover-results", cursor_type="row")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Host", "Port", "Model", "Alias", "MAC", "State", "Saved")
        self.scan()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "scan":
            self.scan()

    def on_input_submitted(self) -> None:
        self.scan()

    @work(exclusive=True, group="discover")
    async def scan(self) -> None:
        target = self.query_one("#discover-target", Input).value.strip()
        port_text = self.query_one("#discover-port", Input).value.strip()
        status = self.query_one("#discover-status", Label)
        if not target or not port_text.isdigit() or not 0 < int(port_text) < 65536:
            status.update("Enter an address and a port between 1 and 65535.")
            return
        progress = self.query_one(ProgressBar)
        progress.update(progress=0)
        status.update(safe_text(f"Scanning {target}:{port_text} for {self.timeout:g} s…"))
        task = asyncio.ensure_future(self.scanner(target, int(port_text), self.timeout))
        steps = 20
        for step in range(steps):
            if task.done():
                break
            await asyncio.sleep(self.timeout / steps)
            progress.update(progress=100 * (step + 1) / steps)
        try:
            result = await task
        except TplinkError as exc:
            status.update(safe_text(f"Scan failed: {exc}", limit=300))
            return
        except OSError as exc:
            status.update(safe_text(f"Scan failed: {exc.strerror or exc}", limit=300))
            return
        progress.update(progress=100)
        self._show(result)

    def _show(self, result: DiscoveryResult) -> None:
        """Fill the table: the old-protocol plugs, then the newer ones (need a login)."""
        self.found = []
        table = self.query_one(DataTable)
        table.clear()
        for found in result.devices:
            info = found.sysinfo
            state = outlets_on(info) if info.is_strip else ("on" if info.is_on else "off")
            self._row(found, info.model_family, info.alias, info.mac, state)
        for newer in result.newer:
            kind = newer.encrypt_type.upper() or "newer"
            self._row(newer, newer.model, newer.model, newer.mac, f"{kind} · {NEEDS_LOGIN}")
        notes = [f"Found {len(self.found)} device(s)."]
        if result.newer:
            notes.append(f"{len(result.newer)} newer one(s) will ask for a login.")
        decoded = {n.host for n in result.newer}
        undecoded = [h for h in result.new_protocol_hosts if h not in decoded]
        if undecoded:
            hosts = ", ".join(undecoded)
            notes.append(f"Newer answers not understood from: {hosts}.")
        if result.invalid:
            notes.append(f"{len(result.invalid)} invalid repl(ies) skipped.")
        notes.append("enter adds the highlighted device, ctrl+a adds all new ones.")
        self.query_one("#discover-status", Label).update(safe_text(" ".join(notes), limit=None))
        fit_columns(table)
        table.focus()

    def _row(self, found: Found, model: str, alias: str, mac: str, state: str) -> None:
        host, port = found_address(found)
        key = format_address(host, port)
        table = self.query_one(DataTable)
        if key in table.rows:
            return  # one device answering both queries is listed once
        saved = "yes" if (host, port) in self.known else ""
        table.add_row(
            safe_text(host),
            str(port),
            safe_text(model),
            safe_text(alias or model),
            safe_text(mac),
            safe_text(state),
            saved,
            key=key,
        )
        self.found.append(found)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_add_selected()

    def _new(self, devices: list[Found]) -> list[Found]:
        return [d for d in devices if found_address(d) not in self.known]

    def action_add_selected(self) -> None:
        table = self.query_one(DataTable)
        if not self.found or not table.row_count:
            return
        chosen = self._new([self.found[table.cursor_row]])
        if not chosen:
            self.query_one("#discover-status", Label).update("That device is saved already.")
            return
        self.dismiss(chosen)

    def action_add_all(self) -> None:
        self.dismiss(self._new(self.found))

    def action_close(self) -> None:
        self.dismiss(None)
