"""The device verbs: info, on, off, toggle, energy, led, alias, time, schedule,
countdown, antitheft, cloudinfo, wlanscan, reboot, reset.

Each verb talks to one device through ``DeviceClient``; ``--json`` prints one JSON
object on stdout and nothing else; human output is a concise rich table.
"""

from __future__ import annotations

import argparse
import re
from datetime import datetime
from typing import Any

from rich import box
from rich.table import Table

from ..devices.client import DeviceClient
from ..devices.models import DeviceState, EnergyReading, EnergyStat, OutletInfo, SysInfo
from .common import (
    HOST_HELP,
    OUTLET_HELP,
    Target,
    add_yes,
    confirm,
    duration,
    fmt,
    on_off,
    outlet_ref,
    print_json,
    reading_dict,
    resolve,
    run_on,
    run_with_info,
    safe,
    state_dict,
    stdout,
    strip_totals,
)
from .main import EXIT_CODES_HELP, UsageError

Namespace = argparse.Namespace


def _add(
    sub: argparse._SubParsersAction,  # type: ignore[type-arg]
    name: str,
    summary: str,
    func: Any,
    *,
    outlet: bool = False,
    yes: bool = False,
    description: str | None = None,
) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        name,
        help=summary,
        description=description or summary,
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("host", metavar="HOST", help=HOST_HELP)
    if outlet:
        parser.add_argument("-o", "--outlet", metavar="N|ID|NAME", help=OUTLET_HELP)
    if yes:
        add_yes(parser)
    parser.set_defaults(func=func)
    return parser


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    _add(sub, "info", "identity, state and meter readings of a device", run_info)
    for name, summary in (("on", "switch on"), ("off", "switch off"), ("toggle", "flip")):
        _add(
            sub,
            name,
            f"{summary} a plug, one strip outlet, or a whole strip",
            run_switch,
            outlet=True,
            description=f"{summary.capitalize()} the device. On a strip without --outlet this"
            " switches every outlet.",
        ).set_defaults(action=name)

    energy = _add(
        sub,
        "energy",
        "meter readings: realtime, per day, per month; erase",
        run_energy,
        outlet=True,
        yes=True,
        description="Realtime meter reading (W, V, A, kWh since the last reset). On a"
        " metered strip without --outlet: every outlet and the strip's total.",
    )
    period = energy.add_mutually_exclusive_group()
    period.add_argument("--month", metavar="YYYY-MM", help="one row per day of that month")
    period.add_argument("--year", metavar="YYYY", help="one row per month of that year")
    period.add_argument(
        "--erase", action="store_true", help="erase the stored statistics (asks first)"
    )

    led = _add(sub, "led", "switch the status LED on or off", run_led)
    led.add_argument("state", choices=("on", "off"), help="switch the LED on or off")

    alias = _add(sub, "alias", "rename a device or one strip outlet", run_alias, outlet=True)
    alias.add_argument("new_name", metavar="NEW_NAME", help="the new name (quote spaces)")

    clock = _add(sub, "time", "show the device clock, or set it from this computer", run_time)
    clock.add_argument("sync", nargs="?", choices=("sync",), help="set the device clock")

    _add(sub, "schedule", "list the schedule rules", run_rules, outlet=True).set_defaults(
        module="schedule"
    )
    _add(sub, "antitheft", "list the away-mode rules", run_rules, outlet=True).set_defaults(
        module="anti_theft"
    )

    countdown = _add(
        sub,
        "countdown",
        "show, set or clear the countdown timer",
        run_countdown,
        outlet=True,
        description="Show the countdown timer; --set MINUTES --action on|off replaces it,"
        " --clear removes it.",
    )
    what = countdown.add_mutually_exclusive_group()
    what.add_argument("--set", type=float, metavar="MINUTES", help="switch after MINUTES")
    what.add_argument("--clear", action="store_true", help="remove the timer")
    countdown.add_argument(
        "--action", choices=("on", "off"), help="what the timer does (with --set)"
    )

    _add(sub, "cloudinfo", "the cloud (Kasa account) binding", run_cloudinfo)
    _add(sub, "wlanscan", "Wi-Fi networks the device can see", run_wlanscan)
    for name, summary in (
        ("reboot", "restart the device (asks first)"),
        ("reset", "factory-reset the device: forgets Wi-Fi and settings (asks first)"),
    ):
        parser = _add(sub, name, summary, run_restart, yes=True)
        parser.add_argument(
            "--delay", type=int, default=1, metavar="S", help="seconds before it acts (1)"
        )
        parser.set_defaults(action=name)


# -- info -------------------------------------------------------------------------


def _where(target: Target, outlet: OutletInfo | None = None, info: SysInfo | None = None) -> str:
    """``Alias 127.0.0.1:9999 outlet 2 Name`` (the alias when the client read it)."""
    if info is not None and info.alias:
        text = f"[bold]{safe(info.alias)}[/] [dim]{safe(target.address)}[/]"
    else:
        text = safe(target.label)
    if outlet is not None:
        text += f" outlet {outlet.index} [bold]{safe(outlet.alias)}[/]"
    return text


def run_info(args: Namespace) -> int:
    target = resolve(args.host)

    async def action(client: DeviceClient) -> DeviceState:
        return await client.update()

    state = run_on(args, target, action)
    data = state_dict(target, state)
    if args.json:
        print_json(data)
        return 0
    info = state.sysinfo
    console = stdout()
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", justify="right")
    grid.add_column()
    title = f"[bold]{safe(info.alias or target.label)}[/]  [dim]{safe(info.model)}[/]"
    if info.is_strip:
        grid.add_row("state", f"{info.outlets_on} of {len(info.children)} outlets on")
    else:
        since = f"  [dim]for {duration(info.on_time)}[/]" if info.is_on and info.on_time else ""
        grid.add_row("state", on_off(info.is_on) + since)
    if data["power_w"] is not None:
        grid.add_row(
            "power",
            f"[bold]{fmt(data['power_w'], 1, 'W')}[/]   {fmt(data['voltage_v'], 1, 'V')}"
            f"   {fmt(data['current_a'], 3, 'A')}   {fmt(data['total_kwh'], 3, 'kWh')} total",
        )
    elif not info.has_emeter:
        grid.add_row("power", "[dim]no energy meter[/]")
    grid.add_row("led", on_off(info.led_on))
    saved = f"  [dim](saved as {safe(target.name)})[/]" if target.name else ""
    grid.add_row("address", safe(target.address) + saved)
    grid.add_row("mac", safe(info.mac or "—"))
    grid.add_row("signal", f"{info.rssi} dBm" if info.rssi is not None else "—")
    grid.add_row("hardware", safe(f"{info.hw_ver}  {info.device_type}".strip() or "—"))
    grid.add_row("firmware", safe(info.sw_ver or "—"))
    grid.add_row("device id", f"[dim]{safe(info.device_id or '—')}[/]")
    console.print(title)
    console.print(grid)
    if info.is_strip:
        console.print(_outlet_table(state))
    return 0


def _outlet_table(state: DeviceState) -> Table:
    metered = state.sysinfo.has_emeter
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("#", justify="right")
    table.add_column("id", style="dim")
    table.add_column("name")
    table.add_column("state")
    if metered:
        table.add_column("power", justify="right")
    table.add_column("on for", justify="right", style="dim")
    for outlet in state.sysinfo.children:
        row = [str(outlet.index), safe(outlet.short_id), safe(outlet.alias), on_off(outlet.is_on)]
        if metered:
            reading = state.outlet_energy.get(outlet.index)
            row.append(fmt(reading.power_w if reading else None, 1, "W"))
        row.append(duration(outlet.on_time) if outlet.is_on else "")
        table.add_row(*row)
    return table


# -- switching ------------------------------------------------------------------------


def run_switch(args: Namespace) -> int:
    target = resolve(args.host)

    async def action(client: DeviceClient) -> tuple[OutletInfo | None, bool]:
        outlet = await client.resolve_outlet(args.outlet) if args.outlet is not None else None
        spec = outlet.id if outlet is not None else None
        if args.action == "toggle":
            return outlet, await client.toggle(spec)
        on = args.action == "on"
        await client.set_relay(on, spec)
        return outlet, on

    (outlet, is_on), seen = run_with_info(args, target, action)
    if args.json:
        print_json(
            {"host": target.host, "port": target.port, "outlet": outlet_ref(outlet), "is_on": is_on}
        )
    else:
        verb = "toggled" if args.action == "toggle" else "switched"
        stdout().print(f"{_where(target, outlet, seen)}: {verb} {on_off(is_on)}")
    return 0


# -- energy ---------------------------------------------------------------------------


def _year_month(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d{4})-(\d{1,2})", text.strip())
    if not match or not 1 <= int(match[2]) <= 12:
        raise UsageError(f"--month expects YYYY-MM, got {text!r}")
    return int(match[1]), int(match[2])


def _year(text: str) -> int:
    if not re.fullmatch(r"\d{4}", text.strip()):
        raise UsageError(f"--year expects YYYY, got {text!r}")
    return int(text)


def run_energy(args: Namespace) -> int:
    target = resolve(args.host)
    if args.month is not None:
        return _energy_stats(args, target, month=_year_month(args.month))
    if args.year is not None:
        return _energy_stats(args, target, year=_year(args.year))
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
            {**outlet_ref(o), "is_on": o.is_on, **reading_dict(strip.outlet_energy.get(o.index))}
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
    table = _reading_table(_where(target, outlet, seen), state=False)
    table.add_row("now", *_reading_cells(values))
    stdout().print(table)
    return 0


def _reading_table(title: str, state: bool = True) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("")
    for column in ("power W", "voltage V", "current A", "total kWh"):
        table.add_column(column, justify="right")
    if state:
        table.add_column("state")
    return table


def _reading_cells(values: dict[str, Any]) -> list[str]:
    return [
        fmt(values["power_w"], 1),
        fmt(values["voltage_v"], 1),
        fmt(values["current_a"], 3),
        fmt(values["total_kwh"], 3),
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
        period = {"year": month[0], "month": month[1]} if month else {"year": year}
        print_json(
            {
                "host": target.host,
                "port": target.port,
                "outlet": outlet_ref(outlet),
                **period,
                key: rows,
                "total_kwh": total,
            }
        )
        return 0
    label = f"{month[0]}-{month[1]:02d}" if month else str(year)
    table = Table(
        title=f"{_where(target, outlet, seen)}  [dim]{label}[/]",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("day" if month else "month")
    table.add_column("kWh", justify="right")
    table.add_column("", style="cyan")
    peak = max((s.energy_kwh for s in stats), default=0.0) or 1.0
    for stat in sorted(stats, key=lambda s: (s.year, s.month, s.day or 0)):
        when = (
            f"{stat.year}-{stat.month:02d}-{stat.day:02d}"
            if stat.day is not None
            else f"{stat.year}-{stat.month:02d}"
        )
        bar = "▇" * max(0, round(20 * stat.energy_kwh / peak))
        table.add_row(when, f"{stat.energy_kwh:.3f}", bar)
    table.add_section()
    table.add_row("[bold]total[/]", f"[bold]{total:.3f}[/]", "")
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
        stdout().print(f"{_where(target, outlet, seen)}: energy statistics erased")
    return 0


# -- LED, alias, time -------------------------------------------------------------------


def run_led(args: Namespace) -> int:
    target = resolve(args.host)
    on = args.state == "on"

    async def action(client: DeviceClient) -> None:
        await client.set_led(on)

    run_on(args, target, action)
    if args.json:
        print_json({"host": target.host, "port": target.port, "led": on})
    else:
        stdout().print(f"{_where(target)}: LED switched {on_off(on)}")
    return 0


def run_alias(args: Namespace) -> int:
    target = resolve(args.host)
    name = args.new_name.strip()
    if not name:
        raise UsageError("the new name is empty")

    async def action(client: DeviceClient) -> OutletInfo | None:
        outlet = await client.resolve_outlet(args.outlet) if args.outlet is not None else None
        await client.set_alias(name, outlet.id if outlet is not None else None)
        return outlet

    outlet = run_on(args, target, action)
    if args.json:
        print_json(
            {"host": target.host, "port": target.port, "outlet": outlet_ref(outlet), "alias": name}
        )
    else:
        where = safe(target.label) + (f" outlet {outlet.index}" if outlet else "")
        stdout().print(f"{where}: renamed to [bold]{safe(name)}[/]")
    return 0


def run_time(args: Namespace) -> int:
    target = resolve(args.host)

    async def action(client: DeviceClient) -> datetime:
        if args.sync:
            return await client.sync_time()
        return await client.get_time()

    device_time = run_on(args, target, action)
    local = datetime.now().replace(microsecond=0)
    offset = round((device_time - local).total_seconds())
    if args.json:
        data: dict[str, Any] = {
            "host": target.host,
            "port": target.port,
            "time": device_time.isoformat(timespec="seconds"),
            "local_time": local.isoformat(timespec="seconds"),
            "offset_s": offset,
        }
        if args.sync:
            data["synced"] = True
        print_json(data)
        return 0
    when = device_time.strftime("%Y-%m-%d %H:%M:%S")
    if args.sync:
        stdout().print(f"{_where(target)}: clock set to [bold]{when}[/]")
    else:
        drift = "" if abs(offset) < 2 else f"  [yellow]({offset:+d} s from this computer)[/]"
        stdout().print(f"{_where(target)}: [bold]{when}[/]{drift}")
    return 0


# -- rules --------------------------------------------------------------------------------

_DAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")
_SUN = {1: "sunrise", 2: "sunset"}


def _days(rule: dict[str, Any]) -> str:
    wday = rule.get("wday")
    dated = all(isinstance(rule.get(k), int) for k in ("year", "month", "day"))
    if not rule.get("repeat", 1) and dated:
        return f"once {rule['year']}-{rule['month']:02d}-{rule['day']:02d}"
    if not isinstance(wday, list) or len(wday) != 7:
        return "—"
    if all(wday):
        return "every day"
    if not any(wday):
        return "never"
    return " ".join(name for name, on in zip(_DAYS, wday, strict=True) if on)


def _at(option: Any, minutes: Any) -> str:
    if option in _SUN:
        return _SUN[option]
    if isinstance(option, int) and option < 0:
        return ""
    if isinstance(minutes, int):
        return f"{minutes // 60:02d}:{minutes % 60:02d}"
    return "—"


def _act(value: Any) -> str:
    return {1: "[green]on[/]", 0: "[red]off[/]"}.get(value, "") if isinstance(value, int) else ""


def run_rules(args: Namespace) -> int:
    target = resolve(args.host)

    async def action(client: DeviceClient) -> tuple[OutletInfo | None, list[dict[str, Any]]]:
        outlet = await client.resolve_outlet(args.outlet) if args.outlet is not None else None
        return outlet, await client.rules(args.module, outlet.id if outlet is not None else None)

    (outlet, rules), seen = run_with_info(args, target, action)
    if args.json:
        print_json(
            {"host": target.host, "port": target.port, "outlet": outlet_ref(outlet), "rules": rules}
        )
        return 0
    label = "schedule" if args.module == "schedule" else "away mode"
    if not rules:
        stdout().print(f"{_where(target, outlet, seen)}: no {label} rules")
        return 0
    table = Table(
        title=f"{_where(target, outlet, seen)}  [dim]{label}[/]",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for column in ("name", "enabled", "days", "start", "action", "end", "action", "id"):
        table.add_column(column, style="dim" if column == "id" else None)
    for rule in rules:
        table.add_row(
            safe(rule.get("name", "")),
            on_off(bool(rule.get("enable"))) if "enable" in rule else "—",
            _days(rule),
            _at(rule.get("stime_opt"), rule.get("smin")),
            _act(rule.get("sact")),
            _at(rule.get("etime_opt", -1), rule.get("emin")),
            _act(rule.get("eact")),
            safe(rule.get("id", "")),
        )
    stdout().print(table)
    return 0


def run_countdown(args: Namespace) -> int:
    target = resolve(args.host)
    if args.set is not None:
        if args.action is None:
            raise UsageError("countdown --set needs --action on|off")
        if not 0 < args.set <= 24 * 60:
            raise UsageError("countdown --set expects minutes between 0 and 1440")
    elif args.action is not None:
        raise UsageError("countdown --action goes with --set MINUTES")

    async def action(client: DeviceClient) -> tuple[OutletInfo | None, list[dict[str, Any]]]:
        outlet = await client.resolve_outlet(args.outlet) if args.outlet is not None else None
        spec = outlet.id if outlet is not None else None
        if args.set is not None:
            await client.set_countdown(args.set, args.action == "on", spec)
        elif args.clear:
            await client.clear_countdown(spec)
        return outlet, await client.rules("count_down", spec)

    (outlet, rules), seen = run_with_info(args, target, action)
    if args.json:
        print_json(
            {"host": target.host, "port": target.port, "outlet": outlet_ref(outlet), "rules": rules}
        )
        return 0
    console = stdout()
    where = _where(target, outlet, seen)
    if args.clear:
        console.print(f"{where}: countdown cleared")
    active = [r for r in rules if r.get("enable")]
    if not active:
        if not args.clear:
            console.print(f"{where}: no countdown running")
        return 0
    for rule in active:
        remain = rule.get("remain", rule.get("delay"))
        verb = "set: " if args.set is not None else ""
        console.print(
            f"{where}: {verb}switches {_act(rule.get('act')) or '?'} in"
            f" [bold]{duration(remain if isinstance(remain, int) else None)}[/]"
        )
    return 0


# -- cloud, wlan, restart ----------------------------------------------------------------


def _kv_table(title: str, data: dict[str, Any]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.title = title
    table.title_justify = "left"
    table.add_column(style="dim", justify="right")
    table.add_column()
    for key, value in data.items():
        if key != "err_code":
            table.add_row(safe(key), safe(value))
    return table


def run_cloudinfo(args: Namespace) -> int:
    target = resolve(args.host)

    async def action(client: DeviceClient) -> dict[str, Any]:
        return await client.cloud_info()

    info = run_on(args, target, action)
    if args.json:
        print_json({"host": target.host, "port": target.port, "cloud": info})
    else:
        stdout().print(_kv_table(_where(target), info))
    return 0


_KEY_TYPES = {0: "open", 1: "WEP", 2: "WPA", 3: "WPA2"}


def run_wlanscan(args: Namespace) -> int:
    target = resolve(args.host)

    async def action(client: DeviceClient) -> list[dict[str, Any]]:
        return await client.wlan_scan()

    networks = run_on(args, target, action)
    if args.json:
        print_json({"host": target.host, "port": target.port, "networks": networks})
        return 0
    if not networks:
        stdout().print(f"{_where(target)}: no networks found")
        return 0
    table = Table(title=_where(target), title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("ssid")
    table.add_column("security")
    show_rssi = any("rssi" in n for n in networks)
    if show_rssi:
        table.add_column("signal", justify="right")
    for network in networks:
        key = network.get("key_type")
        security = _KEY_TYPES.get(key, safe(key)) if key is not None else "—"
        row = [safe(network.get("ssid", "")), security]
        if show_rssi:
            rssi = network.get("rssi")
            row.append(f"{rssi} dBm" if isinstance(rssi, int) else "—")
        table.add_row(*row)
    stdout().print(table)
    return 0


def run_restart(args: Namespace) -> int:
    target = resolve(args.host)
    if args.delay < 0:
        raise UsageError("--delay must not be negative")
    if args.action == "reset":
        confirm(args, f"Factory-reset {target.label}", "It forgets its Wi-Fi and all settings.")
    else:
        confirm(args, f"Reboot {target.label}")

    async def action(client: DeviceClient) -> None:
        if args.action == "reset":
            await client.reset(args.delay)
        else:
            await client.reboot(args.delay)

    run_on(args, target, action)
    key = "resetting" if args.action == "reset" else "rebooting"
    if args.json:
        print_json({"host": target.host, "port": target.port, key: True, "delay_s": args.delay})
    else:
        what = "factory reset" if args.action == "reset" else "reboot"
        stdout().print(f"{_where(target)}: {what} in {args.delay} s")
    return 0
