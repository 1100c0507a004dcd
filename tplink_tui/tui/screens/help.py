"""The help screen: every binding of the app and the focused widget, from the bindings."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

INTRO = (
    "tplink-tui watches and switches TP-Link Kasa plugs and strips.\n"
    "The list on top polls every device; the pane below shows the highlighted one:\n"
    "its details, a power chart (1-4 or [ ]: 5 min, 1 h, 24 h, 7 d) and its outlets.\n"
    "Tab moves into the outlet switches (the focused one is highlighted); space or\n"
    "enter flips it, up/down move between outlets, Esc goes back to the list.\n"
)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", id="help.close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 84; max-width: 100%; max-height: 90%; border: thick $accent;
        background: $surface; padding: 1 2;
    }
    """

    def __init__(self, bindings: list[tuple[str, str, str]]) -> None:
        super().__init__()
        self.rows = bindings

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=True, header_style="bold", expand=True)
        table.add_column("Key", style="bold cyan", no_wrap=True)
        table.add_column("Action")
        table.add_column("Where", style="dim")
        for key, description, where in self.rows:
            table.add_row(key, description, where)
        with VerticalScroll():
            yield Static(Text(INTRO))
            yield Static(table)
            yield Static(Text("\nctrl+p: the command palette, every action and device.", "dim"))
