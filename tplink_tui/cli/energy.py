"""energy: realtime readings, day and month statistics, and erasing them."""

from __future__ import annotations

import argparse
from typing import Any

from rich.table import Table

from ..devices.client import DeviceClient
from ..devices.models import DeviceState, EnergyReading, EnergyStat, OutletInfo
from ..present import number
from .common import (
    Target,
    confirm,
    describe_target,
    on_off,
    outlet_ref,
    parse_month,
    parse_year,
    period,
    print_json,
    reading_dict,
    resolve,
    run_with_info,
    safe,
    stdout,
    strip_totals,
)
from .common import table as new_table
from .main import verb

Namespace = argparse.Namespace

# -- energy ---------------------------------------------------------------------------


@verb
def run_energy(args: Namespace) -> int:
    target = resolve(args.host)
    if args.month is not None:
        return _energy_stats(args, target, month=parse_month(args.month))
    if args.year is not None:
        return _energy_stats(args, target, year=parse_year(args.year))
    if args.erase:
        return _energy_erase(args, target)
    return _energy_now(args, target)


def _energy_now(args: Namespace, target: Target) -> int:
    async def action(
        client: DeviceClient,
    ) -> tuple[OutletInfo | None, EnergyReading | None, DeviceState | None]:
        if args.outlet is not None:
            outlet = await client.resolve_outlet(args.outlet)
            return outlet, await client.energy(outlet.id), None
        sysinfo = await client.get_sysinfo()
        if sysinfo.is_strip and sysinfo.has_emeter:
            return None, None, await client.update()
        return None, await client.energy(), None

    (outlet, reading, strip), seen = run_with_info(args, target, action)
    if strip is not None:
        totals = strip_totals(strip)
        outlets = [
            {
                **(outlet_ref(o) or {}),
                "is_on": o.is_on,
                **reading_dict(strip.outlet_energy.get(o.index)),
            }
            for o in strip.sysinfo.children
        ]
        if args.json:
            print_json({"host": target.host, "port": target.port, **totals, "outlets": outlets})
            return 0
        table = _reading_table(f"{safe(strip.sysinfo.alias)}  [dim]{safe(target.address)}[/]")
        for row in outlets:
            table.add_row(
                f"{row['index']} {safe(row['alias'])}", *_reading_cells(row), on_off(row["is_on"])
            )
        table.add_section()
        table.add_row("[bold]total[/]", *_reading_cells(totals), "", style="bold")
        stdout().print(table)
        return 0
    values = reading_dict(reading)
    if args.json:
        where = {"host": target.host, "port": target.port, "outlet": outlet_ref(outlet)}
        print_json({**where, **values})
        return 0
    table = _reading_table(describe_target(target, outlet, seen), state=False)
    table.add_row("now", *_reading_cells(values))
    stdout().print(table)
    return 0


def _reading_table(title: str, state: bool = True) -> Table:
    table = new_table(title)
    table.add_column("")
    for column in ("power W", "voltage V", "current A", "total kWh"):
        table.add_column(column, justify="right")
    if state:
        table.add_column("state")
    return table


def _reading_cells(values: dict[str, Any]) -> list[str]:
    return [
        number(values["power_w"], 1),
        number(values["voltage_v"], 1),
        number(values["current_a"], 3),
        number(values["total_kwh"], 3),
    ]


def _energy_stats(
    args: Namespace,
    target: Target,
    *,
    month: tuple[int, int] | None = None,
    year: int | None = None,
) -> int:
    async def action(client: DeviceClient) -> tuple[OutletInfo | None, list[EnergyStat]]:
        outlet = await client.resolve_outlet(args.outlet) if args.outlet is not None else None
        spec = outlet.id if outlet is not None else None
        if month is not None:
            return outlet, await client.day_stats(month[0], month[1], spec)
        assert year is not None
        return outlet, await client.month_stats(year, spec)

    (outlet, stats), seen = run_with_info(args, target, action)
    rows = [
        {"year": s.year, "month": s.month, "day": s.day, "energy_kwh": round(s.energy_kwh, 6)}
        for s in stats
    ]
    total = round(sum(s.energy_kwh for s in stats), 6)
    if args.json:
        key = "days" if month is not None else "months"
        span = {"year": month[0], "month": month[1]} if month else {"year": year}
        print_json(
            {
                "host": target.host,
                "port": target.port,
                "outlet": outlet_ref(outlet),
                **span,
                key: rows,
                "total_kwh": total,
            }
        )
        return 0
    label = period(*month) if month else str(year)
    table = new_table(f"{describe_target(target, outlet, seen)}  [dim]{label}[/]")
    table.add_column("day" if month else "month")
    table.add_column("kWh", justify="right")
    table.add_column("", style="cyan")
    peak = max((s.energy_kwh for s in stats), default=0.0) or 1.0
    for stat in sorted(stats, key=lambda s: (s.year, s.month, s.day or 0)):
        bar = "▇" * max(0, round(20 * stat.energy_kwh / peak))
        table.add_row(period(stat.year, stat.month, stat.day), number(stat.energy_kwh, 3), bar)
    table.add_section()
    table.add_row("[bold]total[/]", f"[bold]{number(total, 3)}[/]", "")
    if not stats:
        table.caption = "no data for that period"
    stdout().print(table)
    return 0


def _energy_erase(args: Namespace, target: Target) -> int:
    what = f"outlet {args.outlet} of {target.label}" if args.outlet is not None else target.label
    confirm(args, f"Erase the energy statistics of {what}")

    async def action(client: DeviceClient) -> OutletInfo | None:
        outlet = await client.resolve_outlet(args.outlet) if args.outlet is not None else None
        await client.erase_energy(outlet.id if outlet is not None else None)
        return outlet

    outlet, seen = run_with_info(args, target, action)
    if args.json:
        print_json(
            {"host": target.host, "port": target.port, "outlet": outlet_ref(outlet), "erased": True}
        )
    else:
        stdout().print(f"{describe_target(target, outlet, seen)}: energy statistics erased")
    return 0
