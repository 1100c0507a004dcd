"""Every request and reply, decrypted, live: what the old Wireshark dissector showed."""

from __future__ import annotations

import time

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Label, RichLog

from ...transport import add_traffic_listener, remove_traffic_listener
from ..safe import plain

MAX_TEXT = 400


class TrafficScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,i", "dismiss", "Close", id="traffic.close"),
        Binding("c", "clear", "Clear", id="traffic.clear"),
        Binding("f", "toggle_filter", "Only this device", id="traffic.filter"),
    ]
    DEFAULT_CSS = """
    TrafficScreen { align: center middle; }
    TrafficScreen RichLog {
        width: 95%; height: 90%; border: thick $accent; background: $surface;
    }
    TrafficScreen Label { width: 95%; color: $text-muted; }
    """

    def __init__(self, focus_host: tuple[str, int] | None = None) -> None:
        super().__init__()
        self.focus_host = focus_host
        self.only_focus = focus_host is not None

    def compose(self) -> ComposeResult:
        yield Label("", id="traffic-title")
        yield RichLog(max_lines=2000, wrap=False, markup=False, id="traffic-log")

    def on_mount(self) -> None:
        self._title()
        add_traffic_listener(self._on_traffic)

    def on_unmount(self) -> None:
        remove_traffic_listener(self._on_traffic)

    def _title(self) -> None:
        scope = (
            f"{self.focus_host[0]}:{self.focus_host[1]}"
            if self.only_focus and self.focus_host
            else "all devices"
        )
        self.query_one("#traffic-title", Label).update(
            f"Traffic, decrypted — {scope}   (f: this device / all, c: clear, esc: close)"
        )

    def _on_traffic(self, direction: str, host: str, port: int, text: str) -> None:
        if self.only_focus and self.focus_host != (host, port):
            return
        line = Text()
        line.append(time.strftime("%H:%M:%S "), style="dim")
        line.append(f"{direction} ", style="bold green" if direction == "->" else "bold cyan")
        line.append(f"{host}:{port} ", style="yellow")
        line.append(plain(text, limit=MAX_TEXT))
        self.query_one(RichLog).write(line)

    def action_clear(self) -> None:
        self.query_one(RichLog).clear()

    def action_toggle_filter(self) -> None:
        self.only_focus = not self.only_focus and self.focus_host is not None
        self._title()
