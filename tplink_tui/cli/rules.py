"""The countdown timer; cloud info, Wi-Fi scan, reboot and reset (rules: rules_table)."""

from __future__ import annotations

import argparse
import math
from typing import Any

from rich.table import Table

from ..devices.client import DeviceClient
from ..devices.models import OutletInfo
from ..errors import UsageError
from ..present import MISSING, duration
from .common import (
    confirm,
    describe_target,
    outlet_ref,
    print_json,
    resolve,
    run_on,
    run_with_info,
    safe,
    stdout,
)
from .common import table as new_table
from .main import verb

Namespace = argparse.Namespace
MIN_COUNTDOWN_S = 1
MAX_COUNTDOWN_MIN = 24 * 60

# -- countdown ----------------------------------------------------------------------------
# (schedule and away-mode rules: rules_table.py)


def _act(value: Any) -> str:
    return {1: "[green]on[/]", 0: "[red]off[/]"}.get(value, "") if isinstance(value, int) else ""


@verb
def run_countdown(args: Namespace) -> int:
    target = resolve(args.host)
    if args.set is not None:
        if args.action is None:
            raise UsageError("countdown --set needs --action on|off")
        # The device counts whole seconds, 1 s to 24 h. Zero is not a timer: to switch
        # now, `on` or `off` says so (and a 0-second rule is refused by real plugs).
        valid = math.isfinite(args.set) and args.set <= MAX_COUNTDOWN_MIN
        if not (valid and round(args.set * 60) >= MIN_COUNTDOWN_S):
            raise UsageError(
                f"countdown --set {args.set:g}: expects minutes above 0 (at least 1 second,"
                f" e.g. 0.5 for 30 s) and at most {MAX_COUNTDOWN_MIN} (24 h);"
                " to switch now, use `on` or `off`"
            )
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
    where = describe_target(target, outlet, seen)
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
            f" [bold]{duration(remain) if isinstance(remain, int) else MISSING}[/]"
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


@verb
def run_cloudinfo(args: Namespace) -> int:
    target = resolve(args.host)

    async def action(client: DeviceClient) -> dict[str, Any]:
        return await client.cloud_info()

    info = run_on(args, target, action)
    if args.json:
        print_json({"host": target.host, "port": target.port, "cloud": info})
    else:
        stdout().print(_kv_table(describe_target(target), info))
    return 0


_KEY_TYPES = {0: "open", 1: "WEP", 2: "WPA", 3: "WPA2"}


@verb
def run_wlanscan(args: Namespace) -> int:
    target = resolve(args.host)

    async def action(client: DeviceClient) -> list[dict[str, Any]]:
        return await client.wlan_scan()

    networks = run_on(args, target, action)
    if args.json:
        print_json({"host": target.host, "port": target.port, "networks": networks})
        return 0
    if not networks:
        stdout().print(f"{describe_target(target)}: no networks found")
        return 0
    table = new_table(describe_target(target))
    table.add_column("ssid")
    table.add_column("security")
    show_rssi = any("rssi" in n for n in networks)
    if show_rssi:
        table.add_column("signal", justify="right")
    for network in networks:
        key = network.get("key_type")
        security = _KEY_TYPES.get(key, safe(key)) if key is not None else MISSING
        row = [safe(network.get("ssid", "")), security]
        if show_rssi:
            rssi = network.get("rssi")
            row.append(f"{rssi} dBm" if isinstance(rssi, int) else MISSING)
        table.add_row(*row)
    stdout().print(table)
    return 0


@verb
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
        stdout().print(f"{describe_target(target)}: {what} in {args.delay} s")
    return 0
