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
import os
import sys
from datetime import datetime
from typing import Any, TextIO

from ..errors import DeviceUnreachable, ProtocolError, UsageError
from ..gc_tune import GC_SETTLE_SECONDS, tune_gc
from ..monitor import Monitor, Snapshot, Status
from ..present import power
from ..recorder import start_recording
from .common import Target, prepare, resolve, run, safe, stdout
from .main import EXIT_CODES_HELP, verb
from .watch_json import snapshot_json


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
        help=(
            "do not record readings in the energy history"
            " (recorded by default, at most one every 0.4 s per device)"
        ),
    )
    parser.set_defaults(func=run_watch)


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

    count = args.count
    finished = 0  # devices that have had their --count readings

    def on_snapshot(snap: Snapshot) -> None:
        nonlocal finished
        key = snap.key
        seen = counts[key]
        if not result.pipe_open or (count is not None and seen >= count):
            return
        counts[key] = seen = seen + 1
        target = targets[key]
        if snap.status is Status.ONLINE:
            result.answered.add(key)
            if snap.status_changed or target.transport == "auto":
                target.transport = monitor.client(key).transport_name or target.transport
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
        if count is not None and seen == count:
            finished += 1
            if finished == len(counts):
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
    asyncio.get_running_loop().call_later(GC_SETTLE_SECONDS, tune_gc)
    try:
        await done.wait()
    finally:
        lines.flush()
        await monitor.stop()
        if recorder is not None:
            recorder.close()
    return result


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
