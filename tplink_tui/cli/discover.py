"""``discover``: find plugs and strips with one UDP broadcast, then read their meters.

The whole run is bounded: listening takes ``--timeout`` seconds, then every metered
device is read concurrently within one shared budget (``meter_budget``), so a
device whose meter stalls costs at most that budget, never a per-request timeout
per outlet. Everything the devices said is shown through ``untrusted``.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import time
from typing import Any

from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..devices.client import DeviceClient
from ..devices.models import DeviceState, SysInfo
from ..discovery import (
    DEFAULT_TARGET,
    NEW_PROTOCOL_PORT,
    DiscoveredDevice,
    DiscoveryResult,
    NewDevice,
)
from ..discovery import discover as discover_devices
from ..errors import TplinkError, UsageError
from ..present import DEFAULT_PORT, MISSING, format_address, outlets_on, power
from ..untrusted import display
from .common import on_off, print_json, run, safe, stderr, stdout, sysinfo_dict
from .common import table as new_table
from .main import EXIT_CODES_HELP, add_common_options, verb

NEW_PROTOCOL_NOTE = "needs the newer authenticated protocol (not supported yet)"
"""For a host that answered on 20002 with a record we could not decode."""
NEWER_NOTE = "supported; needs --username/--password (or devices add HOST --username U)"
METER_CONCURRENCY = 64
# Reading meters after the broadcast gets between these two, whatever --timeout is:
# enough for a strip's seven round trips on a LAN, short enough to stay "about --timeout".
METER_BUDGET_MIN = 1.0
METER_BUDGET_MAX = 2.0
TEXT_LIMIT = 40  # longest alias/model/mac shown in a table cell


def meter_budget(wait: float) -> float:
    """Seconds for reading every meter after listening ``wait`` seconds."""
    return min(max(wait, METER_BUDGET_MIN), METER_BUDGET_MAX)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "discover",
        help="find devices on the local network (UDP broadcast)",
        description="Broadcast one sysinfo query and list every device that answers, with"
        " its state and, for metered devices, its power. Newer devices (KLAP or AES,"
        " answering on UDP 20002) are listed with their model, MAC and encryption: they"
        " work with --username/--password.",
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
        "--port",
        type=int,
        default=DEFAULT_PORT,
        metavar="P",
        help=f"UDP port (default {DEFAULT_PORT})",
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
        "--klap-port",
        dest="new_protocol_port",
        type=int,
        default=NEW_PROTOCOL_PORT,
        metavar="P",
        help=f"UDP port the newer (KLAP/AES) devices answer on (default {NEW_PROTOCOL_PORT})",
    )
    parser.add_argument(
        "--new-protocol-port", dest="new_protocol_port", type=int, help=argparse.SUPPRESS
    )  # the old spelling
    parser.set_defaults(func=run_discover)


def _check(args: argparse.Namespace) -> None:
    if not 0 < args.port < 65536:
        raise UsageError(f"--port {args.port}: must be 1-65535")
    if not 0 < args.new_protocol_port < 65536:
        raise UsageError(f"--klap-port {args.new_protocol_port}: must be 1-65535")
    if not 0 < args.wait <= 60:
        raise UsageError("--timeout must be between 0 and 60 seconds")
    try:
        ipaddress.IPv4Address(args.target.strip())
    except ValueError:
        # Discovery is one UDP datagram to an IPv4 broadcast (or one device's) address;
        # a host name would be a guess, and a typo used to find nothing, silently.
        raise UsageError(
            f"--target {display(args.target)!r}: not an IPv4 address"
            " (give a broadcast address like 192.168.1.255, or one device's address)"
        ) from None
    args.target = args.target.strip()


async def _search(
    args: argparse.Namespace,
) -> tuple[DiscoveryResult, dict[tuple[str, int], DeviceState | None]]:
    console = stderr().rich()  # the progress bar is rich's
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
        where = format_address(args.target, args.port)
        task = progress.add_task(f"Asking {where}", total=args.wait)
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
            states = await read_meters(metered, meter_budget(args.wait))
    return result, states


async def read_meters(
    devices: list[DiscoveredDevice], budget: float
) -> dict[tuple[str, int], DeviceState | None]:
    """Read every device's meter concurrently; whatever is not done in ``budget`` s is None."""
    limit = asyncio.Semaphore(METER_CONCURRENCY)

    async def one(device: DiscoveredDevice) -> DeviceState | None:
        async with limit:
            client = DeviceClient(device.host, device.port, budget)
            try:
                return await client.update()
            except (TplinkError, OSError, ValueError):
                return None
            finally:
                client.connection.abort()

    tasks = [asyncio.create_task(one(d)) for d in devices]
    done, pending = await asyncio.wait(tasks, timeout=budget)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=0.5)  # let cancelled reads close their sockets
    states: dict[tuple[str, int], DeviceState | None] = {}
    for device, task in zip(devices, tasks, strict=True):
        ok = task in done and not task.cancelled() and task.exception() is None
        states[(device.host, device.port)] = task.result() if ok else None
    return states


def _power(state: DeviceState | None) -> float | None:
    if state is None:
        return None
    reading = state.outlets_total() if state.sysinfo.is_strip else state.energy
    return reading.power_w if reading else None


def _info(device: DiscoveredDevice, state: DeviceState | None) -> SysInfo:
    """The freshest sysinfo: the meter read's, else the discovery reply's."""
    return (state.sysinfo if state else None) or device.sysinfo


def _device_dict(device: DiscoveredDevice, state: DeviceState | None) -> dict[str, Any]:
    info = _info(device, state)
    return {
        "host": device.host,
        "port": device.port,
        **sysinfo_dict(info),
        "power_w": _power(state),
    }


def _text(value: object, limit: int = TEXT_LIMIT) -> str:
    """Device text for a rich cell: one line, no control bytes, no markup."""
    return safe(display(value, limit))


@verb
def run_discover(args: argparse.Namespace) -> int:
    _check(args)
    started = time.monotonic()
    result, states = run(_search(args))
    found_states = [(d, states.get((d.host, d.port))) for d in result.devices]
    devices = [_device_dict(d, state) for d, state in found_states]
    err = stderr()
    for address, reason in result.invalid:
        err.print(
            f"tplink-tui: warning: {address} sent an invalid discovery reply:"
            f" {display(reason, 200)}",
            markup=False,
            highlight=False,
        )
    unread = [
        d for d in result.devices if d.sysinfo.has_emeter and states.get((d.host, d.port)) is None
    ]
    newer = list(result.newer)
    decoded = {d.host for d in newer}
    undecoded = [h for h in result.new_protocol_hosts if h not in decoded]
    if args.json:
        value = {
            "target": args.target,
            "port": args.port,
            "devices": devices,
            "newer": [newer_dict(d) for d in newer],
            "new_protocol": [
                {
                    "host": h,
                    "port": args.new_protocol_port,
                    "note": NEWER_NOTE if h in decoded else NEW_PROTOCOL_NOTE,
                }
                for h in result.new_protocol_hosts
            ],
            "invalid": [{"address": a, "reason": r} for a, r in result.invalid],
        }
        print_json(value)
        return 0
    found = len(devices) + len(newer) + len(undecoded)
    asked = safe(format_address(args.target, args.port))
    summary = (
        f"{len(devices)} device{'s' * (len(devices) != 1)} on {asked}"
        f" in {time.monotonic() - started:.1f} s"
    )
    if not found:
        err.print(f"No device answered on {asked} within {args.wait:g} s.")
        return 0
    console = stdout()
    if devices:
        console.print(_table(found_states))
    if newer:
        console.print(newer_table(newer))
        summary += f", {len(newer)} newer (KLAP/AES: give --username/--password)"
    for host in undecoded:
        console.print(f" [yellow]{_text(host)}[/]  {NEW_PROTOCOL_NOTE}")
    if undecoded:
        summary += f", {len(undecoded)} needing the newer protocol"
    if unread:
        summary += (
            f"; {len(unread)} meter{'s' * (len(unread) != 1)} not read within"
            f" {meter_budget(args.wait):g} s"
        )
    err.print(f"[dim]{summary}[/]")
    return 0


def _table(found: list[tuple[DiscoveredDevice, DeviceState | None]]) -> Table:
    table = new_table()
    for column in ("host", "model", "alias", "mac", "state"):
        table.add_column(column)
    table.add_column("power", justify="right")
    for device, state in found:
        info = _info(device, state)
        port = device.port
        host = device.host if port == DEFAULT_PORT else format_address(device.host, port)
        if info.children:
            text = outlets_on(info)
            status = f"[green]{text}[/]" if info.outlets_on else f"[red]{text}[/]"
        else:
            status = on_off(info.is_on)
        watts = power(_power(state)) if info.has_emeter else f"[dim]{MISSING}[/]"
        table.add_row(
            _text(host),
            _text(info.model),
            f"[bold]{_text(info.alias)}[/]",
            f"[dim]{_text(info.mac)}[/]",
            status,
            watts,
        )
    return table


def newer_dict(device: NewDevice) -> dict[str, Any]:
    """A newer device's ``--json`` entry: what its 20002 record says, and how to reach it."""
    return {
        "host": device.host,
        "port": device.http_port,
        "address": format_address(device.host, device.http_port),
        "model": device.model,
        "type": device.device_type,
        "mac": device.mac,
        "device_id": device.device_id,
        "encryption": device.encrypt_type,
        "login_version": device.login_version,
        "https": device.https,
        "transport": device.transport,
        "needs_credentials": True,
        "note": NEWER_NOTE,
    }


def newer_table(found: list[NewDevice]) -> Table:
    table = new_table("newer devices: supported, need --username/--password")
    for column in ("host", "model", "type", "mac", "encryption", "login", "https"):
        table.add_column(column)
    for device in found:
        table.add_row(
            _text(format_address(device.host, device.http_port)),
            _text(device.model),
            _text(device.device_type),
            f"[dim]{_text(device.mac)}[/]",
            _text(device.encrypt_type),
            _text(f"v{device.login_version}"),
            "yes" if device.https else "no",
        )
    return table
