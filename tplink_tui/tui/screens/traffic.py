"""Every request and reply, decrypted, live: what the old Wireshark dissector showed.

``i`` opens a capture file (pcap or pcapng) in the same pane: it is read and
decoded off the UI thread by ``tplink_tui.capture`` and shown in the live lines'
form with its own times, every device of it (the live filter is for live traffic).
While a capture is shown, live lines wait; ``l`` goes back to them.
"""

from __future__ import annotations

import asyncio
import datetime
import shlex
import time
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Label, RichLog

from ...capture import Capture, CaptureError, decode_capture, is_capture
from ...capture.text import summary
from ...errors import TplinkError
from ...transport import add_traffic_listener, remove_traffic_listener
from ...untrusted import dumps
from ..safe import plain
from .prompt import PromptScreen

MAX_TEXT = 400
MAX_CAPTURE = 512 * 1024 * 1024  # bytes read from a capture file
IMPORT_HINT = "pcap/pcapng file [ports], e.g. cap.pcapng 9999 10001"


def parse_import(text: str) -> tuple[Path, list[int]]:
    """``PATH [PORT...]`` as typed in the prompt; ValueError with a readable reason."""
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise ValueError(f"cannot read that: {exc}") from None
    if not words:
        raise ValueError("give a capture file")
    ports: list[int] = []
    for word in words[1:]:
        if not word.isdigit() or not 0 < int(word) <= 65535:
            raise ValueError(f"{word!r} is not a port (1-65535)")
        ports.append(int(word))
    return Path(words[0]).expanduser(), ports or [9999]


def _check_import(text: str) -> str | None:
    try:
        path, _ = parse_import(text)
        with path.open("rb") as handle:
            head = handle.read(4)
    except ValueError as exc:
        return str(exc)
    except OSError as exc:
        return f"cannot open it: {exc.strerror or exc}"
    return None if is_capture(head) else "not a pcap or pcapng capture"


def load_capture(path: Path, ports: list[int]) -> Capture:
    """Read and decode a capture (runs in a thread: files can be large)."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_CAPTURE + 1)
    except OSError as exc:
        raise CaptureError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_CAPTURE:
        raise CaptureError(f"{path} is over {MAX_CAPTURE // 2**20} MiB: use tplink-tui decode")
    return decode_capture(data, ports)


class TrafficScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "dismiss", "Close", id="traffic.close"),
        Binding("i", "import_capture", "Import a capture…", id="traffic.import"),
        Binding("l", "live", "Live traffic", id="traffic.live"),
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
        self.capture_name: str | None = None  # a capture is shown instead of live lines

    def compose(self) -> ComposeResult:
        yield Label("", id="traffic-title")
        yield RichLog(max_lines=2000, wrap=False, markup=False, id="traffic-log")

    def on_mount(self) -> None:
        self._title()
        add_traffic_listener(self._on_traffic)

    def on_unmount(self) -> None:
        remove_traffic_listener(self._on_traffic)

    def _title(self) -> None:
        label = self.query_one("#traffic-title", Label)
        if self.capture_name is not None:
            label.update(
                f"Capture {plain(self.capture_name, limit=60)}, decrypted   (i: another"
                " capture, l: back to live traffic, esc: close)"
            )
            return
        scope = (
            f"{self.focus_host[0]}:{self.focus_host[1]}"
            if self.only_focus and self.focus_host
            else "all devices"
        )
        label.update(
            f"Traffic, decrypted — {scope}   (i: import a capture…, f: this device / all,"
            " c: clear, esc: close)"
        )

    def _line(self, stamp: str, direction: str, host: str, port: int, body: Text | str) -> None:
        line = Text()
        line.append(f"{stamp} ", style="dim")
        line.append(f"{direction} ", style="bold green" if direction == "->" else "bold cyan")
        line.append(f"{host}:{port} ", style="yellow")
        line.append(body)
        self.query_one(RichLog).write(line)

    def _on_traffic(self, direction: str, host: str, port: int, text: str) -> None:
        if self.capture_name is not None or (self.only_focus and self.focus_host != (host, port)):
            return
        self._line(time.strftime("%H:%M:%S"), direction, host, port, plain(text, limit=MAX_TEXT))

    def action_clear(self) -> None:
        self.query_one(RichLog).clear()

    def action_toggle_filter(self) -> None:
        self.only_focus = not self.only_focus and self.focus_host is not None
        self._title()

    def action_live(self) -> None:
        """Back from a capture to the live lines (from now on)."""
        if self.capture_name is not None:
            self.capture_name = None
            self.query_one(RichLog).clear()
            self._title()

    # -- importing a capture ----------------------------------------------------

    def action_import_capture(self) -> None:
        prompt = PromptScreen(
            "Import a capture", placeholder="capture.pcapng", hint=IMPORT_HINT,
            validate=_check_import,
        )  # fmt: skip
        self.app.push_screen(prompt, self._import)

    def _import(self, answer: str | None) -> None:
        if answer:
            path, ports = parse_import(answer)
            self.run_worker(self._load(path, ports), group="traffic-import", exclusive=True)

    async def _load(self, path: Path, ports: list[int]) -> None:
        log = self.query_one(RichLog)
        log.write(Text(f"— importing {plain(path, limit=200)} …", style="dim"))
        try:
            capture = await asyncio.to_thread(load_capture, path, ports)
        except TplinkError as exc:
            log.write(Text(f"— import failed: {plain(exc, limit=300)}", style="bold red"))
            return
        self.show_capture(path, capture)

    def show_capture(self, path: Path, capture: Capture) -> None:
        """The capture's messages in the live lines' form, in place of the live lines."""
        self.capture_name = path.name
        self._title()
        log = self.query_one(RichLog)
        log.clear()
        log.write(Text(f"— {plain(path, limit=200)}: {summary(capture)}", style="bold"))
        for event in capture.events:
            host, port = event.device
            when = datetime.datetime.fromtimestamp(event.time, datetime.UTC)
            stamp = when.strftime("%H:%M:%S.%f")[:-3]
            if event.error is None:
                body: Text | str = plain(dumps(event.value, compact=True), limit=MAX_TEXT)
            else:
                body = Text(f"undecodable: {plain(event.error, limit=MAX_TEXT)}", style="red")
            self._line(stamp, "->" if event.to_device else "<-", host, port, body)
        log.write(Text(f"— end of {plain(path.name, limit=120)}", style="dim"))
