"""The energy view of one device: its own day and month statistics as bars."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from ...devices.client import DeviceClient
from ...devices.models import EnergyStat
from ...errors import TplinkError

BAR_WIDTH = 40

StatsLoader = Callable[[date], Awaitable[tuple[list[EnergyStat], list[EnergyStat]]]]
"""Given today, return (this month's days, this year's months)."""


def device_stats(client: DeviceClient, outlet: int | None) -> StatsLoader:
    """Read the statistics the device (or one outlet) keeps itself."""

    async def load(today: date) -> tuple[list[EnergyStat], list[EnergyStat]]:
        days = await client.day_stats(today.year, today.month, outlet)
        months = await client.month_stats(today.year, outlet)
        return days, months

    return load


def bar_table(title: str, stats: list[EnergyStat], label: str) -> Table:
    """One row per day or month: a bar scaled to the largest value, and the kWh."""
    table = Table(title=title, box=None, show_header=False, title_justify="left", expand=True)
    table.add_column(label, style="dim", no_wrap=True)
    table.add_column("bar", ratio=1)
    table.add_column("kWh", justify="right", no_wrap=True)
    top = max((s.energy_kwh for s in stats), default=0.0)
    for stat in stats:
        width = round(stat.energy_kwh / top * BAR_WIDTH) if top > 0 else 0
        name = f"{stat.year}-{stat.month:02d}" + (f"-{stat.day:02d}" if stat.day else "")
        table.add_row(name, Text("█" * width, style="green"), f"{stat.energy_kwh:.3f}")
    if not stats:
        table.add_row("", Text("no data", style="dim"), "")
    return table


class EnergyScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,e", "dismiss", "Close", id="energy.close")]
    DEFAULT_CSS = """
    EnergyScreen { align: center middle; }
    EnergyScreen > VerticalScroll {
        width: 90; height: 90%; border: thick $accent; background: $surface; padding: 1 2;
    }
    EnergyScreen #energy-status { color: $text-muted; }
    """

    def __init__(self, name: str, load: StatsLoader, today: date | None = None) -> None:
        super().__init__()
        self.device_name = name
        self.load_stats = load
        self.today = today

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Label(f"Energy — {self.device_name}", id="energy-title")
            yield Label("Reading the device's statistics…", id="energy-status")
            yield Static("", id="energy-days")
            yield Static("", id="energy-months")

    def on_mount(self) -> None:
        self.load()

    @work(exclusive=True, group="energy")
    async def load(self) -> None:
        today = self.today or date.today()
        status = self.query_one("#energy-status", Label)
        try:
            days, months = await self.load_stats(today)
        except TplinkError as exc:
            status.update(f"Cannot read energy statistics: {exc}")
            return
        total = sum(s.energy_kwh for s in months)
        status.update(f"This year so far: {total:.2f} kWh (the device's own counters)")
        self.query_one("#energy-days", Static).update(
            bar_table(f"Days of {today:%B %Y}", days, "day")
        )
        self.query_one("#energy-months", Static).update(
            bar_table(f"Months of {today.year}", months, "month")
        )
