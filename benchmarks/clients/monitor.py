"""The dashboard's poll path without the screen: ``Monitor`` plus the history recorder.

    python benchmarks/clients/monitor.py TARGETS.json --count N [--no-history]
        [--writer process|thread]

The same ``Monitor`` (its own poll loop per device, ``start()``) and the same
``start_recording`` subscriber the dashboard uses; every device polled flat out
(interval 1 ms) until each has ``--count`` readings. The history goes to
``$TPLINK_TUI_DATA_DIR`` (the benchmark points it at a temporary folder), written
by the history process (``--writer thread``: the thread writer, ``--writer every``:
every reading stored, for comparison).
The last stderr line has this process's CPU and its reaped children's (the
writer process) apart, so the benchmark can report both.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tplink_tui.gc_tune import GC_SETTLE_SECONDS, tune_gc  # noqa: E402
from tplink_tui.monitor import Monitor, Snapshot, Status  # noqa: E402
from tplink_tui.recorder import start_recording  # noqa: E402

WRITER_OPTIONS: dict[str, dict[str, Any]] = {
    "process": {},  # as the dashboard records
    "thread": {"process": False},  # the thread writer, as before the writer process
    "every": {"min_spacing": 0.0},  # every reading stored, as before the recorder's spacing
}


async def main(
    targets: list[tuple[str, int]], count: int, history: bool, writer: str
) -> dict[str, Any]:
    monitor = Monitor(interval=0.001, timeout=10.0)
    seen: dict[str, int] = {}
    offline = 0
    finished = 0  # devices with their --count readings (not a walk over all per reading)
    done = asyncio.Event()

    def on_snapshot(snap: Snapshot) -> None:
        nonlocal offline, finished
        n = seen.get(snap.key, 0)
        if n >= count:
            return
        seen[snap.key] = n = n + 1
        offline += snap.status is not Status.ONLINE
        if n == count:
            finished += 1
            if finished == len(targets):
                done.set()

    monitor.subscribe(on_snapshot)
    recorder, problem = start_recording(monitor, enabled=history, **WRITER_OPTIONS[writer])
    if problem:
        print(problem, file=sys.stderr)
    for host, port in targets:
        monitor.add(f"{host}:{port}", host, port, transport="xor")
    monitor.start()
    # As the dashboard does: once settled, what is alive is frozen out of the GC.
    asyncio.get_running_loop().call_later(GC_SETTLE_SECONDS, tune_gc)
    await done.wait()
    await monitor.stop()
    threads = thread_cpu()  # before close(): the writer's threads end there
    if recorder is not None:
        recorder.close()
    keys = [f"{host}:{port}" for host, port in targets]
    sent = sum(monitor.client(k).connection.requests_sent for k in keys)
    return {"requests": sent, "offline": offline, **cpu_split(), "threads": threads}


def cpu_split() -> dict[str, float]:
    """CPU seconds of this process and of its reaped children (the history writer),
    and this process's context switches (GIL handoffs between threads show there)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "self_cpu": own.ru_utime + own.ru_stime,
        "children_cpu": kids.ru_utime + kids.ru_stime,
        "voluntary_switches": own.ru_nvcsw,
        "involuntary_switches": own.ru_nivcsw,
    }


def thread_cpu() -> dict[str, float]:
    """CPU seconds of each live thread (Linux ``/proc``; else empty), to see who pays."""
    threads: dict[str, float] = {}
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    for thread in threading.enumerate():
        try:
            stat = Path(f"/proc/self/task/{thread.native_id}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        threads[thread.name] = (int(fields[11]) + int(fields[12])) / tick
    return threads


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", type=Path)
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--no-history", dest="history", action="store_false")
    parser.add_argument("--writer", choices=tuple(WRITER_OPTIONS), default="process")
    args = parser.parse_args()
    items = [(h, int(p)) for h, p in json.loads(args.targets.read_text())]
    result = asyncio.run(main(items, args.count, args.history, args.writer))
    print(json.dumps(result), file=sys.stderr)
