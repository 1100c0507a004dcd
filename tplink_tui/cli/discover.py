"""``discover``: find plugs and strips with one UDP broadcast, then read their meters."""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from rich import box
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..devices.client import DeviceClient
from ..devices.models import DeviceState
from ..discovery import DEFAULT_TARGET, NEW_PROTOCOL_PORT, DiscoveredDevice, DiscoveryResult
from ..discovery import discover as discover_devices
from ..errors import TplinkError
from ..transport import DEFAULT_PORT
from .common import (
    fmt,
    on_off,
    print_json,
    run,
    safe,
    stderr,
    stdout,
    strip_totals,
    sysinfo_dict,
)
from .main import EXIT_CODES_HELP, UsageError, add_common_options

NEW_PROTOCOL_NOTE = "needs the newer authenticated protocol (not supported yet)"
METER_CONCURRENCY = 16
METER_TIMEOUT = 3.0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "discover",
        help="find devices on the local network (UDP broadcast)",
        description="Broadcast one sysinfo query and list every device that answers, with"
        " its state and, for metered devices, its power. Devices that answer only the"
        " newer authenticated protocol (UDP 20002) are listed as not supported yet.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--target",
        default=DEFAULT_TARGET,
        metavar="ADDR",
        help=f"broadcast or unicast address to ask (default {DEFAULT_TARGET})",
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, metavar="P", help="UDP port (default 9999)"
    )
    # Here --timeout is the listening time, so the common options come without it.
    parser.add_argument(
        "--timeout",
        dest="wait",
        type=float,
        default=3.0,
        metavar="S",
        help="seconds to wait for answers (default 3)",
    )
    add_common_options(parser, timeout=False)
    parser.add_argument(
        "--new-protocol-port",
        type=int,
        default=NEW_PROTOCOL_PORT,
        help=argparse.SUPPRESS,  # for tests against simulated newer devices
    )
    parser.set_defaults(func=run_discover)


def _check(args: argparse.Namespace) -> None:
    if not 0 < args.port < 65536:
        raise UsageError(f"--port {args.port}: must be 1-65535")
    if not 0 < args.wait <= 60:
        raise UsageError("--timeout must be between 0 and 60 seconds")
    if not args.target.strip() or any(c.isspace() for c in args.target):
        raise UsageError(f"--target {args.target!r}: not an address")


async def _search(
    args: argparse.Namespace,
) -> tuple[DiscoveryResult, dict[tuple[str, int], DeviceState | None]]:
    console = stderr()
    show = console.is_terminal
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(bar_width=24),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not show,
    )
    with progress:
        task = progress.add_task(f"Asking {args.target}:{args.port}", total=args.wait)
        started = time.monotonic()

        async def tick() -> None:
            while True:
                progress.update(task, completed=min(args.wait, time.monotonic() - started))
                await asyncio.sleep(0.1)

        ticker = asyncio.create_task(tick())
        try:
            result = await discover_devices(
                args.target, args.port, args.wait, new_protocol_port=args.new_protocol_port
            )
        finally:
            ticker.cancel()
        metered = [d for d in result.devices if d.sysinfo.has_emeter]
        states: dict[tuple[str, int], DeviceState | None] = {}
        if metered:
            progress.update(
                task, description=f"Reading {len(metered)} meters", total=None, completed=0
            )
            states = await _read_meters(metered, min(args.timeout, METER_TIMEOUT))
    return result, states


async def _read_meters(
    devices: list[DiscoveredDevice], timeout: float
) -> dict[tuple[str, int], DeviceState | None]:
    limit = asyncio.Semaphore(METER_CONCURRENCY)

    async def one(device: DiscoveredDevice) -> DeviceState | None:
        async with limit:
            client = DeviceClient(device.host, device.port, timeout)
            try:
                return await client.update()
            except TplinkError:
                return None
            finally:
                client.connection.abort()

    states = await asyncio.gather(*(one(d) for d in devices))
    return {(d.host, d.port): s for d, s in zip(devices, states, strict=True)}


def _power(state: DeviceState | None) -> float | None:
    if state is None:
        return None
    if state.sysinfo.is_strip:
        return strip_totals(state)["power_w"]
    return state.energy.power_w if state.energy else None


def _device_dict(device: DiscoveredDevice, state: DeviceState | None) -> dict[str, Any]:
    info = (state.sysinfo if state else None) or device.sysinfo
    return {
        "host": device.host,
        "port": device.port,
        **sysinfo_dict(info),
        "power_w": _power(state),
    }


def run_discover(args: argparse.Namespace) -> int:
    _check(args)
    started = time.monotonic()
    result, states = run(_search(args))
    devices = [_device_dict(d, states.get((d.host, d.port))) for d in result.devices]
    err = stderr()
    for address, reason in result.invalid:
        err.print(
            f"tplink-tui: warning: {address} sent an invalid discovery reply: {reason}",
            markup=False,
            highlight=False,
        )
    if args.json:
        print_json(
            {
                "target": args.target,
                "port": args.port,
                "devices": devices,
                "new_protocol": [
                    {"host": h, "port": args.new_protocol_port, "note": NEW_PROTOCOL_NOTE}
                    for h in result.new_protocol_hosts
                ],
                "invalid": [{"address": a, "reason": r} for a, r in result.invalid],
            }
        )
        return 0
    found = len(devices) + len(result.new_protocol_hosts)
    summary = (
        f"{len(devices)} device{'s' * (len(devices) != 1)} on {args.target}:{args.port}"
        f" in {time.monotonic() - started:.1f} s"
    )
    if not found:
        err.print(f"No device answered on {safe(args.target)}:{args.port} within {args.wait:g} s.")
        return 0
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for column, justify in (
        ("host", "left"),
        ("model", "left"),
        ("alias", "left"),
        ("mac", "left"),
        ("state", "left"),
        ("power", "right"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for data in devices:
        host = data["host"] if data["port"] == DEFAULT_PORT else f"{data['host']}:{data['port']}"
        if data["outlets"]:
            on = sum(o["is_on"] for o in data["outlets"])
            state = f"{on}/{len(data['outlets'])} on"
            state = f"[green]{state}[/]" if on else f"[red]{state}[/]"
        else:
            state = on_off(data["is_on"])
        power = fmt(data["power_w"], 1, "W") if data["has_meter"] else "[dim]—[/]"
        table.add_row(
            safe(host),
            safe(data["model"]),
            f"[bold]{safe(data['alias'])}[/]",
            f"[dim]{safe(data['mac'])}[/]",
            state,
            power,
        )
    console = stdout()
    if devices:
        console.print(table)
    for host in result.new_protocol_hosts:
        console.print(f" [yellow]{safe(host)}[/]  {NEW_PROTOCOL_NOTE}")
    if result.new_protocol_hosts:
        summary += f", {len(result.new_protocol_hosts)} needing the newer protocol"
    err.print(f"[dim]{summary}[/]")
    return 0
