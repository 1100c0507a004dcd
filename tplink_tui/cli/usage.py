"""``usage``: how long a device (or one strip outlet) was on, per day and per month.

The plugs keep runtime statistics in the ``schedule`` module (``get_daystat`` and
``get_monthstat``, minutes in ``time``), beside the energy meter's kWh; every model
has them, metered or not. Without a period: the days of the current month.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import date
from typing import Any

from ..devices import catalog
from ..devices.client import DeviceClient
from ..devices.models import OutletInfo, stat_entries
from ..errors import ProtocolError
from ..present import duration
from .common import (
    HOST_HELP,
    OUTLET_HELP,
    describe_target,
    outlet_ref,
    parse_month,
    parse_year,
    period,
    print_json,
    resolve,
    run_with_info,
)
from .common import stdout as stdout_console
from .common import table as new_table
from .main import EXIT_CODES_HELP, verb

Namespace = argparse.Namespace
MINUTES_PER_DAY = 24 * 60


@dataclass(slots=True, frozen=True)
class RuntimeStat:
    """Minutes on over one day (``day`` set) or one month (``day`` None)."""

    year: int
    month: int
    day: int | None
    minutes: int


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "usage",
        help="runtime statistics: minutes on per day and per month",
        description="How long the device (or one strip outlet) was switched on: one row per"
        " day of a month (default: this month), or per month of a year. Every model keeps"
        " these, with or without an energy meter.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("host", metavar="HOST", help=HOST_HELP)
    parser.add_argument("-o", "--outlet", metavar="N|ID|NAME", help=OUTLET_HELP)
    period = parser.add_mutually_exclusive_group()
    period.add_argument("--month", metavar="YYYY-MM", help="one row per day (default: this month)")
    period.add_argument("--year", metavar="YYYY", help="one row per month of that year")
    parser.set_defaults(func=run_usage)


def _int_field(item: dict[str, Any], key: str, list_key: str) -> int | None:
    value = item.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProtocolError(f"{list_key!r} entry field {key!r} should be an integer")
    return value


def parse_runtime(data: Any, list_key: str) -> list[RuntimeStat]:
    """``schedule.get_daystat`` (``day_list``) / ``get_monthstat`` (``month_list``)."""
    stats = []
    for item in stat_entries(data, list_key, "runtime statistics"):
        year, month = _int_field(item, "year", list_key), _int_field(item, "month", list_key)
        if year is None or month is None or not 1 <= month <= 12:
            raise ProtocolError(f"{list_key!r} entry lacks a valid year or month")
        minutes = _int_field(item, "time", list_key) or 0
        if minutes < 0:
            raise ProtocolError(f"{list_key!r} entry has a negative runtime")
        stats.append(RuntimeStat(year, month, _int_field(item, "day", list_key), minutes))
    return stats


@verb
def run_usage(args: Namespace) -> int:
    target = resolve(args.host)
    month: tuple[int, int] | None = None
    year: int | None = None
    if args.year is not None:
        year = parse_year(args.year)
    else:
        today = date.today()
        month = parse_month(args.month) if args.month is not None else (today.year, today.month)

    async def action(client: DeviceClient) -> tuple[OutletInfo | None, list[RuntimeStat]]:
        outlet = await client.resolve_outlet(args.outlet) if args.outlet is not None else None
        spec = outlet.id if outlet is not None else None
        if month is not None:
            request, method, key = catalog.runtime_daystat(*month), "get_daystat", "day_list"
        else:
            assert year is not None
            request, method, key = catalog.runtime_monthstat(year), "get_monthstat", "month_list"
        module = (await client.query(request, spec)).get("schedule")
        body = module.get(method) if isinstance(module, dict) else None
        try:
            return outlet, parse_runtime(body, key)
        except ProtocolError as exc:
            raise ProtocolError(f"{client.address}: {exc}") from None

    (outlet, stats), seen = run_with_info(args, target, action)
    stats.sort(key=lambda s: (s.year, s.month, s.day or 0))
    total = sum(s.minutes for s in stats)
    if args.json:
        key = "days" if month is not None else "months"
        span = {"year": month[0], "month": month[1]} if month else {"year": year}
        rows = [
            {"year": s.year, "month": s.month, "day": s.day, "minutes": s.minutes} for s in stats
        ]
        value = {
            "host": target.host,
            "port": target.port,
            "outlet": outlet_ref(outlet),
            **span,
            key: rows,
            "total_minutes": total,
        }
        print_json(value)
        return 0
    label = period(*month) if month else str(year)
    title = describe_target(target, outlet, seen)
    _print_table(title, label, stats, total, by_day=month is not None)
    return 0


def _print_table(
    title: str, label: str, stats: list[RuntimeStat], total: int, *, by_day: bool
) -> None:
    table = new_table(f"{title}  [dim]{label} runtime[/]")
    table.add_column("day" if by_day else "month")
    table.add_column("on", justify="right")
    table.add_column("min", justify="right", style="dim")
    table.add_column("", style="cyan")
    # A full bar is a whole day (or month) switched on, so rows compare across periods.
    full = MINUTES_PER_DAY if by_day else MINUTES_PER_DAY * 31
    for stat in stats:
        bar = "▇" * round(20 * min(stat.minutes, full) / full)
        table.add_row(
            period(stat.year, stat.month, stat.day),
            duration(stat.minutes * 60),
            str(stat.minutes),
            bar,
        )
    table.add_section()
    table.add_row("[bold]total[/]", f"[bold]{duration(total * 60)}[/]", str(total), "")
    if not stats:
        table.caption = "no data for that period"
    stdout_console().print(table)
