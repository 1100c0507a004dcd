"""``watch``: one line per reading from the shared monitor, or JSON lines.

Runs until Ctrl-C, or after ``--count N`` poll cycles of every device. An offline
device is reported once per poll (with back-off) and does not stop the others; when
no device answered at all, the exit code is 3 (unreachable). A
reading that cannot be printed ends the watch with a one-line error, never a hang.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import sys
import time
from datetime import datetime
from typing import Any, TextIO

from ..errors import DeviceUnreachable, ProtocolError, UsageError
from ..monitor import Monitor, Snapshot, Status
from ..present import power
from ..recorder import start_recording
from ..untrusted import dumps
from .common import Target, prepare, resolve, run, safe, state_dict, stdout
from .main import EXIT_CODES_HELP, verb


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "watch",
        help="print a line per reading of one or more devices (JSON lines with --json)",
        description="Poll devices through the shared monitor and print one line per"
        " reading: time, device, status, on/off and power (per outlet on strips)."
        " Ctrl-C stops (exit 0).",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "hosts", nargs="+", metavar="HOST", help="saved device names or host[:port]"
    )
    parser.add_argument(
        "-i", "--interval", type=float, default=2.0, metavar="S", help="seconds between polls (2)"
    )
    parser.add_argument(
        "-n", "--count", type=int, metavar="N", help="stop after N polls of every device"
    )
    parser.add_argument(
        "--no-history",
        dest="history",
        action="store_false",
        help="do not record readings in the energy history (recorded by default)",
    )
    parser.set_defaults(func=run_watch)


class _Clock:
    """``datetime.now().astimezone().isoformat(timespec="milliseconds")``, fast.

    Hundreds of readings a second share their second: its text (and the UTC
    offset) is made once per second, the milliseconds appended per reading."""

    def __init__(self) -> None:
        self._second = -1
        self._head = self._offset = ""

    def now(self) -> str:
        now = time.time()
        second = int(now)
        if second != self._second:
            stamp = datetime.fromtimestamp(second).astimezone()
            text = stamp.isoformat(timespec="seconds")
            self._head, self._offset = text[:19], text[19:]
            self._second = second
        return f"{self._head}.{int((now - second) * 1000):03d}{self._offset}"


_clock = _Clock()


def snapshot_dict(target: Target, snap: Snapshot) -> dict[str, Any]:
    """One JSON line: the time, the status and (when online) the info --json fields."""
    data: dict[str, Any] = {
        "time": _clock.now(),
        "key": snap.key,
        "status": str(snap.status),
        "error": snap.error,
    }
    if snap.status is Status.ONLINE and snap.state is not None:
        data.update(state_dict(target, snap.state))
    else:
        data.update({"host": target.host, "port": target.port, "name": target.name})
    return data


def snapshot_json(target: Target, snap: Snapshot) -> str:
    """``dumps(snapshot_dict(target, snap), compact=True)``, the same text, fast.

    ``watch --json`` writes one per reading, hundreds a second: the object is
    built in one go, and each meter value is rounded (as ``common.reading_dict``
    rounds it) through a cache, because a correctly rounded ``round(x, 6)`` is a
    decimal conversion and a strip's line has 28 of them."""
    state = snap.state
    if snap.status is not Status.ONLINE or state is None:
        return dumps(snapshot_dict(target, snap), compact=True)
    info = state.sysinfo
    readings = state.outlet_energy
    outlets = []
    for o in info.children:
        r = readings.get(o.index)
        row: dict[str, Any] = {"index": o.index, "id": o.id, "alias": o.alias, "is_on": o.is_on}
        row["on_time"] = o.on_time
        if r is None:
            row.update(_NO_READING)
        else:
            row["power_w"] = _round6(r.power_w)
            row["voltage_v"] = _round6(r.voltage_v)
            row["current_a"] = _round6(r.current_a)
            row["total_kwh"] = _round6(r.total_kwh)
        outlets.append(row)
    meter = state.outlets_total() if info.is_strip else state.energy
    line: dict[str, Any] = {
        "time": _clock.now(),
        "key": snap.key,
        "status": "online",
        "error": snap.error,
        "host": target.host,
        "port": target.port,
        "name": target.name,
        "transport": target.transport,
        "alias": info.alias,
        "model": info.model,
        "type": info.device_type,
        "mac": info.mac,
        "device_id": info.device_id,
        "hw_ver": info.hw_ver,
        "sw_ver": info.sw_ver,
        "is_on": info.is_on,
        "led": info.led_on,
        "rssi": info.rssi,
        "on_time": info.on_time,
        "has_meter": info.has_emeter,
    }
    if meter is None:
        line.update(_NO_READING)
    else:
        line["power_w"] = _round6(meter.power_w)
        line["voltage_v"] = _round6(meter.voltage_v)
        line["current_a"] = _round6(meter.current_a)
        line["total_kwh"] = _round6(meter.total_kwh)
    line["outlets"] = outlets
    return dumps(line, compact=True)


_NO_READING: dict[str, float | None] = dict.fromkeys(
    ("power_w", "voltage_v", "current_a", "total_kwh")
)
_ROUNDED: dict[float, float] = {}
_ROUNDED_MAX = 1 << 16


def _round6(value: float | None) -> float | None:
    """``round(value, 6)``, remembered: meters repeat their values a lot."""
    if type(value) is not float or not value:  # None, ints, and ±0.0 (equal keys)
        return None if value is None else round(value, 6)
    rounded = _ROUNDED.get(value)
    if rounded is None:
        if len(_ROUNDED) >= _ROUNDED_MAX:
            _ROUNDED.clear()
        rounded = _ROUNDED[value] = round(value, 6)
    return rounded


def snapshot_line(target: Target, snap: Snapshot) -> str:
    """The human line (rich markup)."""
    stamp = datetime.now().strftime("%H:%M:%S")
    if snap.status is not Status.ONLINE or snap.state is None:
        reason = safe(snap.error or str(snap.status))
        return f"[dim]{stamp}[/]  {safe(target.label)}  [red]{snap.status}[/]  [dim]{reason}[/]"
    info = snap.state.sysinfo
    name = info.alias or target.label
    parts = [f"[dim]{stamp}[/]", f"[bold]{safe(name)}[/] [dim]{safe(target.address)}[/]"]
    if info.is_strip:
        outlets = []
        for outlet in info.children:
            mark = "[green]●[/]" if outlet.is_on else "[red]○[/]"
            reading = snap.state.outlet_energy.get(outlet.index)
            watts = f" {power(reading.power_w)}" if reading is not None else ""
            outlets.append(f"{outlet.index}{mark}{watts}")
        parts.append("  ".join(outlets))
    else:
        parts.append("[bold green]on[/]" if info.is_on else "[red]off[/]")
    total = snap.state.power_w
    if total is not None:
        parts.append(f"[bold]{power(total)}[/]")
    return "  ".join(parts)


class _Run:
    """What one watch run saw: whether stdout stayed open, who answered, what broke."""

    def __init__(self, targets: dict[str, Target]) -> None:
        self.pipe_open = True
        self.counts: dict[str, int] = dict.fromkeys(targets, 0)
        self.answered: set[str] = set()
        self.failure: BaseException | None = None


class _Lines:
    """JSON lines to stdout, flushed once per event-loop turn rather than per line.

    The readings of one turn (often dozens: every reply the loop read at once) go
    out in one write; a reader that went away ends the watch quietly."""

    def __init__(self, out: TextIO, on_closed: Any) -> None:
        self.out = out
        self.on_closed = on_closed
        self.pending = False

    def write(self, text: str) -> None:
        self.out.write(text)
        if not self.pending:
            self.pending = True
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        self.pending = False
        try:
            self.out.flush()
        except BrokenPipeError:
            self.on_closed()


async def _watch(args: argparse.Namespace, targets: dict[str, Target]) -> _Run:
    """Print readings until --count is reached, stdout closes or a reading breaks."""
    monitor = Monitor(interval=args.interval, timeout=args.timeout)
    console = stdout()
    done = asyncio.Event()
    result = _Run(targets)
    counts = result.counts

    def pipe_closed() -> None:
        # The reader went away (watch ... | head): stop quietly.
        result.pipe_open = False
        done.set()

    lines = _Lines(sys.stdout, pipe_closed)

    def on_snapshot(snap: Snapshot) -> None:
        target = targets[snap.key]
        if not result.pipe_open or (args.count is not None and counts[snap.key] >= args.count):
            return
        counts[snap.key] += 1
        if snap.status is Status.ONLINE:
            result.answered.add(snap.key)
            target.transport = monitor.client(snap.key).transport_name or target.transport
        try:
            if args.json:
                lines.write(snapshot_json(target, snap) + "\n")
            else:
                console.print(snapshot_line(target, snap), soft_wrap=True)
        except BrokenPipeError:
            pipe_closed()
            return
        except Exception as exc:  # never leave the watch hanging on a dead subscriber
            result.failure = exc
            done.set()
            return
        if args.count is not None and all(n >= args.count for n in counts.values()):
            done.set()

    monitor.subscribe(on_snapshot)
    recorder, problem = start_recording(monitor, enabled=args.history)
    if problem:
        print(f"tplink-tui: warning: {problem}", file=sys.stderr)
    for key, target in targets.items():
        monitor.add(
            key,
            target.host,
            target.client_port,
            transport=target.transport,
            credentials=target.credentials,
        )
    monitor.start()
    if monitor.open_files_note:
        print(f"tplink-tui: warning: {monitor.open_files_note}", file=sys.stderr)
    # Once running, what is alive stays (targets, clients, modules): out of the
    # collector's way, so full collections do not walk it every few seconds.
    asyncio.get_running_loop().call_later(2.0, _settle)
    try:
        await done.wait()
    finally:
        lines.flush()
        await monitor.stop()
        if recorder is not None:
            recorder.close()
    return result


def _settle() -> None:
    gc.collect()
    gc.freeze()


@verb
def run_watch(args: argparse.Namespace) -> int:
    if args.interval <= 0:
        raise UsageError("--interval must be positive")
    if args.count is not None and args.count < 1:
        raise UsageError("--count must be at least 1")
    targets: dict[str, Target] = {}
    for text in args.hosts:
        target = prepare(args, resolve(text))
        targets.setdefault(target.address, target)
    result = _Run(targets)
    try:
        result = run(_watch(args, targets))
    except KeyboardInterrupt:
        return 0
    if not result.pipe_open:
        # Python flushes stdout at exit; point it at /dev/null so that is quiet too.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    if result.failure is not None:
        raise ProtocolError(f"watch stopped: a reading could not be shown: {result.failure}")
    if not result.answered:  # some answering is a partial outage: the lines show it
        silent = ", ".join(t.address for t in targets.values())
        raise DeviceUnreachable(f"{silent}: never answered during the watch")
    return 0
