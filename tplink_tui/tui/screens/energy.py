"""The energy view of one device or outlet.

Two sources side by side: our own history (power integrated over time, kept in
SQLite across restarts and device reboots) and the statistics the device keeps
itself (about a month of days, and months of this year).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
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
from ...store.history import HistoryStore
from ..safe import text as safe_text

BAR_WIDTH = 40
HISTORY_DAYS = 30
WINDOWS = (("24 h", 86400.0), ("7 d", 7 * 86400.0), ("30 d", 30 * 86400.0))


@dataclass
class EnergyReport:
    device_days: list[EnergyStat] = field(default_factory=list)
    device_months: list[EnergyStat] = field(default_factory=list)
    device_error: str | None = None
    our_days: list[EnergyStat] = field(default_factory=list)
    our_totals: dict[str, float] = field(default_factory=dict)


StatsLoader = Callable[[date], Awaitable[EnergyReport]]


def _our_history(history: HistoryStore, key: str, outlet: int | None) -> EnergyReport:
    now = time.time()
    report = EnergyReport()
    report.our_totals = {
        label: history.energy_kwh(key, outlet, now - span, now) for label, span in WINDOWS
    }
    report.our_days = [
        EnergyStat(day.year, day.month, day.day, kwh)
        for day, kwh in history.daily_kwh(key, outlet, HISTORY_DAYS, now=now)
    ]
    return report


def device_stats(
    client: DeviceClient,
    outlet: int | None,
    history: HistoryStore | None = None,
    key: str | None = None,
) -> StatsLoader:
    """Read our history (in a thread) and the device's own statistics."""

    async def load(today: date) -> EnergyReport:
        if history is not None and key is not None:
            report = await asyncio.to_thread(_our_history, history, key, outlet)
        else:
            report = EnergyReport()
        try:
            report.device_days = await client.day_stats(today.year, today.month, outlet)
            report.device_months = await client.month_stats(today.year, outlet)
        except TplinkError as exc:
            report.device_error = str(exc)
        return report

    return load


def bar_table(title: str, stats: list[EnergyStat], label: str) -> Table:
    """One row per day or month: a bar scaled to the largest value, and the kWh."""
    table = Table(title=title, box=None, show_header=False, title_justify="left", expand=True)
    table.add_column(label, style="dim", no_wrap=True)
    table.add_column("bar", ratio=1)
    table.add_column("kWh", justify="right", no_wrap=True)
    top = max((s.energy_kwh for s in stats if math.isfinite(s.energy_kwh)), default=0.0)
    for stat in stats:
        finite = math.isfinite(stat.energy_kwh)
        width = round(stat.energy_kwh / top * BAR_WIDTH) if top > 0 and finite else 0
        name = f"{stat.year}-{stat.month:02d}" + (f"-{stat.day:02d}" if stat.day else "")
        table.add_row(name, Text("█" * width, style="green"), f"{stat.energy_kwh:.3f}")
    if not stats:
        table.add_row("", Text("no data yet", style="dim"), "")
    return table


class EnergyScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,e", "dismiss", "Close", id="energy.close")]
    DEFAULT_CSS = """
    EnergyScreen { align: center middle; }
    EnergyScreen > VerticalScroll {
        width: 90; max-width: 100%; height: 90%; border: thick $accent; background: $surface;
        padding: 1 2;
    }
    EnergyScreen #energy-title { text-style: bold; }
    EnergyScreen #energy-status { color: $text-muted; }
    EnergyScreen Static { margin-bottom: 1; }
    """

    def __init__(self, name: str, load: StatsLoader, today: date | None = None) -> None:
        super().__init__()
        self.device_name = name
        self.load_stats = load
        self.today = today

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Label(safe_text(f"Energy — {self.device_name}", limit=200), id="energy-title")
            yield Label("Reading history and the device's statistics…", id="energy-status")
            yield Static("", id="energy-ours")
            yield Static("", id="energy-days")
            yield Static("", id="energy-months")

    def on_mount(self) -> None:
        self.load()

    @work(exclusive=True, group="energy")
    async def load(self) -> None:
        today = self.today or date.today()
        report = await self.load_stats(today)
        status = self.query_one("#energy-status", Label)
        totals = "   ".join(f"{k}: {v:.2f} kWh" for k, v in report.our_totals.items())
        status.update(f"Measured by tplink-tui — {totals}" if totals else "No history recorded")
        if report.our_totals:
            self.query_one("#energy-ours", Static).update(
                bar_table("Per day, from our history", report.our_days, "day")
            )
        if report.device_error:
            self.query_one("#energy-days", Static).update(
                safe_text(
                    f"The device's statistics are unavailable: {report.device_error}",
                    "red",
                    limit=300,
                )
            )
            return
        year_total = sum(s.energy_kwh for s in report.device_months)
        self.query_one("#energy-days", Static).update(
            bar_table(f"Device counters, days of {today:%B %Y}", report.device_days, "day")
        )
        self.query_one("#energy-months", Static).update(
            bar_table(
                f"Device counters, months of {today.year} ({year_total:.1f} kWh)",
                report.device_months,
                "month",
            )
        )
