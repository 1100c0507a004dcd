"""The device verbs: info, on, off, toggle, energy, led, alias, time, schedule,
countdown, antitheft, cloudinfo, wlanscan, reboot, reset.

Each verb talks to one device through ``DeviceClient``; ``--json`` prints one JSON
object on stdout and nothing else; human output is a few lines of rich markup
(a table only for a strip's outlets).
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..present import MISSING, duration, number, outlets_on, power
from .common import (
    HOST_HELP,
    OUTLET_HELP,
    Target,
    add_yes,
    describe_target,
    on_off,
    outlet_ref,
    print_json,
    resolve,
    run_on,
    run_with_info,
    safe,
    state_dict,
    stdout,
)
from .common import table as new_table
from .main import EXIT_CODES_HELP, verb, wanted

if TYPE_CHECKING:
    from rich.table import Table

    from ..devices.client import DeviceClient
    from ..devices.models import DeviceState, OutletInfo, SysInfo


def _later(module: str, name: str) -> Callable[[Namespace], int]:
    """A verb whose module is imported when it runs (energy and rules draw tables:
    rich.table is a tenth of ``info``'s start-up)."""

    def run(args: Namespace) -> int:
        entry: Callable[[Namespace], int] = getattr(
            importlib.import_module(f".{module}", __package__), name
        )
        return entry(args)

    run.__name__ = run.__qualname__ = name
    return run


run_energy = _later("energy", "run_energy")
run_cloudinfo = _later("rules", "run_cloudinfo")
run_countdown = _later("rules", "run_countdown")
run_restart = _later("rules", "run_restart")
run_wlanscan = _later("rules", "run_wlanscan")

Namespace = argparse.Namespace


def _add(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    summary: str,
    func: Callable[[Namespace], int],
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
    parser.set_defaults(func=func, quick_exit=True)  # only stdout and stderr: main._quick_exit
    return parser


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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

    led = _add(sub, "led", "show the status LED, or switch it on or off", run_led)
    led.add_argument(
        "state", nargs="?", choices=("on", "off"), help="switch the LED (omit: show it)"
    )

    alias = _add(
        sub, "alias", "show or change the name of a device or strip outlet", run_alias, outlet=True
    )
    alias.add_argument(
        "new_name", nargs="?", metavar="NEW_NAME", help="the new name (quote spaces; omit: show it)"
    )
    alias.set_defaults(late_positional="new_name")

    clock = _add(sub, "time", "show the device clock, or set it from this computer", run_time)
    clock.add_argument("sync", nargs="?", choices=("sync",), help="set the device clock")

    if wanted(sub, "schedule", "antitheft"):  # rules_table imports the rule model
        from . import rules_table

        rules_table.register(sub, _add)

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


@verb
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
    rows: list[tuple[str, str]] = []
    title = f"[bold]{safe(info.alias or target.label)}[/]  [dim]{safe(info.model)}[/]"
    if info.is_strip:
        rows.append(("state", outlets_on(info)))
    else:
        since = f"  [dim]for {duration(info.on_time)}[/]" if info.is_on and info.on_time else ""
        rows.append(("state", on_off(info.is_on) + since))
    if data["power_w"] is not None:
        rows.append(
            (
                "power",
                f"[bold]{power(data['power_w'])}[/]   {number(data['voltage_v'], 1, 'V')}"
                f"   {number(data['current_a'], 3, 'A')}   {number(data['total_kwh'], 3, 'kWh')}"
                " total",
            )
        )
    elif not info.has_emeter:
        rows.append(("power", "[dim]no energy meter[/]"))
    rows.append(("led", on_off(info.led_on)))
    saved = f"  [dim](saved as {safe(target.name)})[/]" if target.name else ""
    rows.append(("address", safe(target.address) + saved))
    rows.append(("mac", safe(info.mac or MISSING)))
    rows.append(("signal", f"{info.rssi} dBm" if info.rssi is not None else MISSING))
    rows.append(("hardware", safe(f"{info.hw_ver}  {info.device_type}".strip() or MISSING)))
    rows.append(("firmware", safe(info.sw_ver or MISSING)))
    rows.append(("device id", f"[dim]{safe(info.device_id or MISSING)}[/]"))
    console.print(title)
    width = max(len(label) for label, _ in rows)
    for label, value in rows:  # a right-aligned dim label column, as a grid would draw
        console.print(f"[dim]{label:>{width}}[/]  {value}", soft_wrap=True)
    if info.is_strip:
        console.print(_outlet_table(state))
    return 0


def _outlet_table(state: DeviceState) -> Table:
    metered = state.sysinfo.has_emeter
    table = new_table()
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
            row.append(power(reading.power_w if reading else None))
        row.append(duration(outlet.on_time) if outlet.is_on else "")
        table.add_row(*row)
    return table


# -- switching ------------------------------------------------------------------------


@verb
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
        stdout().print(f"{describe_target(target, outlet, seen)}: {verb} {on_off(is_on)}")
    return 0


# -- LED, alias, time -------------------------------------------------------------------


@verb
def run_led(args: Namespace) -> int:
    target = resolve(args.host)
    if args.state is None:
        return _show_led(args, target)
    on = args.state == "on"

    async def action(client: DeviceClient) -> None:
        await client.set_led(on)

    run_on(args, target, action)
    if args.json:
        print_json({"host": target.host, "port": target.port, "led": on})
    else:
        stdout().print(f"{describe_target(target)}: LED switched {on_off(on)}")
    return 0


def _show_led(args: Namespace, target: Target) -> int:
    info = run_on(args, target, lambda client: client.get_sysinfo())
    if args.json:
        print_json({"host": target.host, "port": target.port, "led": info.led_on})
    else:
        stdout().print(f"{describe_target(target, None, info)}: LED {on_off(info.led_on)}")
    return 0


def _show_alias(args: Namespace, target: Target) -> int:
    async def action(client: DeviceClient) -> tuple[OutletInfo | None, SysInfo]:
        outlet = await client.resolve_outlet(args.outlet) if args.outlet is not None else None
        return outlet, client.sysinfo or await client.get_sysinfo()

    outlet, info = run_on(args, target, action)
    alias = outlet.alias if outlet is not None else info.alias
    if args.json:
        ref = outlet_ref(outlet)
        print_json({"host": target.host, "port": target.port, "outlet": ref, "alias": alias})
    else:
        where = safe(target.label) + (f" outlet {outlet.index}" if outlet else "")
        stdout().print(f"{where}: [bold]{safe(alias)}[/]")
    return 0


@verb
def run_alias(args: Namespace) -> int:
    target = resolve(args.host)
    if args.new_name is None:
        return _show_alias(args, target)
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


@verb
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
        stdout().print(f"{describe_target(target)}: clock set to [bold]{when}[/]")
    else:
        drift = "" if abs(offset) < 2 else f"  [yellow]({offset:+d} s from this computer)[/]"
        stdout().print(f"{describe_target(target)}: [bold]{when}[/]{drift}")
    return 0
