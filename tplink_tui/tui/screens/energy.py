"""The energy view of a device, a strip as a whole, or one outlet.

Two sources: the statistics the device keeps itself (about a month of days, and
months of this year) and our own history (power integrated over time, kept in
SQLite across restarts and device reboots). Days are bars on a real axis from
the first day with data; small values read in Wh; with a tariff every figure
has its cost. On a strip, left/right step between the whole strip and its outlets.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from ...devices.client import DeviceClient
from ...devices.models import EnergyStat, summed_stats
from ...errors import TplinkError
from ...store.history import HistoryStore
from ...tariff import Tariff
from ..safe import text as safe_text
from ..widgets.energy_bars import EnergyBars

HISTORY_DAYS = 30
WINDOWS = (("24 h", 86400.0), ("7 d", 7 * 86400.0), ("30 d", 30 * 86400.0))
WHOLE = None  # the scope of a plug, or of a strip as a whole (its outlets summed)

Scope = int | None


@dataclass
class EnergyReport:
    device_days: list[EnergyStat] = field(default_factory=list)
    device_months: list[EnergyStat] = field(default_factory=list)
    device_error: str | None = None
    our_days: list[EnergyStat] = field(default_factory=list)
    our_totals: dict[str, float] = field(default_factory=dict)
    outlets: list[tuple[int, str]] = field(default_factory=list)  # a strip's (index, name)
    # With a night rate, the cost of each of our days priced piece by piece (same order).
    our_day_costs: list[float] | None = None


StatsLoader = Callable[[date, Scope, Tariff | None], Awaitable[EnergyReport]]


def _our_history(
    history: HistoryStore, key: str, outlets: list[int | None], tariff: Tariff | None
) -> EnergyReport:
    """Our history summed over ``outlets`` (one of them None: the device's own series)."""
    now = time.time()
    report = EnergyReport()

    def energy(since: float, until: float) -> float:
        return sum(history.energy_kwh(key, o, since, until) for o in outlets)

    report.our_totals = {label: energy(now - span, now) for label, span in WINDOWS}
    days: dict[date, float] = {}
    for outlet in outlets:
        for day, kwh in history.daily_kwh(key, outlet, HISTORY_DAYS, now=now):
            days[day] = days.get(day, 0.0) + kwh
    report.our_days = [EnergyStat(d.year, d.month, d.day, kwh) for d, kwh in sorted(days.items())]
    if tariff is not None and tariff.night_price is not None:
        costs = []
        for day in sorted(days):
            start = datetime.combine(day, datetime.min.time())
            end = min(start + timedelta(days=1), datetime.fromtimestamp(now))
            costs.append(tariff.cost_between(energy, start, end) if end > start else 0.0)
        report.our_day_costs = costs
    return report


def device_stats(
    client: DeviceClient,
    outlet: int | None,
    history: HistoryStore | None = None,
    key: str | None = None,
) -> StatsLoader:
    """Read our history (in a thread) and the device's own statistics for a scope.

    ``outlet`` is only the scope first shown; on a strip the whole strip (scope
    None) adds up its outlets, for the device's counters and for our history.
    """

    async def load(today: date, scope: Scope, tariff: Tariff | None) -> EnergyReport:
        info = client.sysinfo
        outlets = [(o.index, o.alias) for o in info.children] if info and info.is_strip else []
        parts: list[int | None] = [scope] if scope is not None or not outlets else []
        if not parts:
            parts = [index for index, _ in outlets]
        if history is not None and key is not None:
            report = await asyncio.to_thread(_our_history, history, key, parts, tariff)
        else:
            report = EnergyReport()
        report.outlets = outlets
        try:
            days = [await client.day_stats(today.year, today.month, p) for p in parts]
            months = [await client.month_stats(today.year, p) for p in parts]
        except TplinkError as exc:
            report.device_error = str(exc)
        else:
            report.device_days, report.device_months = summed_stats(days), summed_stats(months)
        return report

    return load


def energy_text(kwh: float) -> str:
    """``0.84 kWh``; below 1 kWh in Wh (``840 Wh``, ``3.2 Wh``) so small use is not 0.00."""
    if not math.isfinite(kwh):
        return "—"
    if abs(kwh) >= 1:
        return f"{kwh:.2f} kWh"
    wh = kwh * 1000
    return f"{wh:.0f} Wh" if abs(wh) >= 10 else f"{wh:.1f} Wh"


def from_first_data(stats: list[EnergyStat]) -> list[EnergyStat]:
    """Drop the leading days (or months) with nothing: a new install starts at its first day."""
    for index, stat in enumerate(stats):
        if stat.energy_kwh > 0:
            return stats[index:]
    return []


def stat_label(stat: EnergyStat) -> str:
    return f"{stat.day}" if stat.day else date(2000, stat.month, 1).strftime("%b")


def day_table(
    days: list[EnergyStat], tariff: Tariff | None, costs: list[float] | None = None
) -> Table:
    """Every day with its energy (and cost), newest first."""
    table = Table(box=None, header_style="bold", expand=False, pad_edge=False)
    table.add_column("day", style="dim")
    table.add_column("energy", justify="right")
    if tariff is not None:
        table.add_column("cost", justify="right")
    priced = costs if costs is not None and len(costs) == len(days) else None
    for index in range(len(days) - 1, -1, -1):
        stat = days[index]
        name = date(stat.year, stat.month, stat.day or 1).strftime("%a %d %b")
        row = [name, energy_text(stat.energy_kwh)]
        if tariff is not None:
            cost = priced[index] if priced else tariff.cost(stat.energy_kwh)
            row.append(tariff.money(cost))
        table.add_row(*row)
    return table


class EnergyScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,e", "dismiss", "Close", id="energy.close"),
        Binding("left,left_square_bracket", "scope(-1)", "Previous outlet", id="energy.prev"),
        Binding("right,right_square_bracket", "scope(1)", "Next outlet", id="energy.next"),
        Binding("h", "source", "Device counters / our history", id="energy.source"),
    ]
    DEFAULT_CSS = """
    EnergyScreen { align: center middle; }
    EnergyScreen > VerticalScroll {
        width: 100; max-width: 100%; height: 94%; border: thick $accent; background: $surface;
        padding: 0 1;
    }
    EnergyScreen #energy-title { text-style: bold; }
    EnergyScreen #energy-scope { color: $accent; }
    EnergyScreen #energy-status { color: $text-muted; }
    EnergyScreen #energy-totals { margin-bottom: 1; }
    EnergyScreen #energy-days { height: 12; }
    EnergyScreen #energy-months { height: 9; }
    """

    def __init__(
        self,
        name: str,
        load: StatsLoader,
        today: date | None = None,
        scope: Scope = WHOLE,
        tariff: Tariff | None = None,
    ) -> None:
        super().__init__()
        self.device_name = name.split(" · outlet ")[0]
        self.load_stats = load
        self.today = today
        self.scope: Scope = scope
        self.tariff = tariff
        self.outlets: list[tuple[int, str]] = []
        self.report: EnergyReport | None = None
        self.ours = False  # show our history instead of the device's counters

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Label(safe_text(f"Energy — {self.device_name}", limit=200), id="energy-title")
            yield Label("", id="energy-scope")
            yield Label("Reading history and the device's statistics…", id="energy-status")
            yield Static("", id="energy-totals")
            yield EnergyBars(id="energy-days")
            yield EnergyBars(id="energy-months")
            yield Static("", id="energy-table")

    def on_mount(self) -> None:
        if self.tariff is None:
            self.tariff = getattr(getattr(self.app, "controller", None), "tariff", None)
        self.load()

    def action_scope(self, step: int) -> None:
        """Whole strip, outlet 0, outlet 1, …: one step (only on a strip)."""
        if not self.outlets:
            return
        scopes: list[Scope] = [WHOLE, *(index for index, _ in self.outlets)]
        self.scope = scopes[(scopes.index(self.scope) + step) % len(scopes)]
        self.query_one("#energy-status", Label).update("Reading…")
        self.load()

    def action_source(self) -> None:
        self.ours = not self.ours
        self.draw()

    @work(exclusive=True, group="energy")
    async def load(self) -> None:
        today = self.today or date.today()
        self.report = await self.load_stats(today, self.scope, self.tariff)
        self.outlets = self.report.outlets
        if self.scope is not None and self.scope not in [i for i, _ in self.outlets]:
            self.scope = WHOLE if self.outlets else None
        self.draw()

    def _scope_text(self) -> Text:
        if not self.outlets:
            return Text("")
        names = dict(self.outlets)
        what = "whole strip" if self.scope is None else f"outlet {self.scope}: "
        text = Text("◀ ", style="dim")
        text.append(what)
        if self.scope is not None:
            text.append(safe_text(names.get(self.scope, ""), limit=40))
        text.append(" ▶   ←/→: whole strip and each outlet", style="dim")
        return text

    def draw(self) -> None:
        report = self.report
        if report is None:
            return
        today = self.today or date.today()
        tariff = self.tariff
        self.query_one("#energy-scope", Label).update(self._scope_text())
        if report.device_error:
            self.ours = True
        source = "our history" if self.ours else "the device's counters"
        other = "" if report.device_error else "   h: the other source"
        status = f"Days from {source}{other}"
        if report.device_error:
            status += f"; the device's statistics are unavailable: {report.device_error}"
        self.query_one("#energy-status", Label).update(safe_text(status, limit=300))
        days = from_first_data(report.our_days if self.ours else report.device_days)
        costs = report.our_day_costs if self.ours else None
        if costs is not None:
            costs = costs[len(report.our_days) - len(days) :]
        months = from_first_data(report.device_months)
        self.query_one("#energy-totals", Static).update(
            self._totals(report, today, tariff, days, costs)
        )
        self.query_one("#energy-days", EnergyBars).show(
            f"Per day, {today:%B %Y}" if not self.ours else "Per day, last 30 days",
            [stat_label(s) for s in days],
            [s.energy_kwh for s in days],
        )
        bars = self.query_one("#energy-months", EnergyBars)
        bars.display = bool(months) and not self.ours
        bars.show(
            f"Per month, {today.year}",
            [stat_label(s) for s in months],
            [s.energy_kwh for s in months],
        )
        self.query_one("#energy-table", Static).update(day_table(days, tariff, costs))

    def _totals(
        self,
        report: EnergyReport,
        today: date,
        tariff: Tariff | None,
        days: list[EnergyStat],
        costs: list[float] | None,
    ) -> Text:
        """Today and this month (with cost), and our history's 24 h / 7 d / 30 d."""
        text = Text()

        def figure(label: str, kwh: float, cost: float | None = None) -> None:
            text.append(f"{label} ", style="dim")
            text.append(energy_text(kwh), style="bold")
            if tariff is not None:
                money = tariff.money(tariff.cost(kwh) if cost is None else cost)
                text.append(f" ({money})")
            text.append("   ")

        this_month = [s for s in days if (s.year, s.month) == (today.year, today.month)]
        today_stat = next((s for s in days if s.day == today.day and s in this_month), None)
        today_cost = month_cost = None
        if costs is not None:
            by_day = dict(zip([id(s) for s in days], costs, strict=True))
            today_cost = by_day.get(id(today_stat)) if today_stat else None
            month_cost = sum(by_day[id(s)] for s in this_month)
        figure("Today", today_stat.energy_kwh if today_stat else 0.0, today_cost)
        figure("This month", sum(s.energy_kwh for s in this_month), month_cost)
        if report.device_months and not self.ours:
            figure(f"{today.year}", sum(s.energy_kwh for s in report.device_months))
        if report.our_totals:
            text.append("\nMeasured by tplink-tui: ", style="dim")
            text.append("   ".join(f"{k} {energy_text(v)}" for k, v in report.our_totals.items()))
        if tariff is not None:
            text.append(f"\nTariff {tariff.describe()}", style="dim")
            if tariff.night_price is not None and not self.ours:
                text.append(" (device counters are per day: priced at the day rate)", "dim")
        return text
