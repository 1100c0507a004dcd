"""The dashboard's poll path without the screen: ``Monitor`` plus the history recorder.

    python benchmarks/clients/monitor.py TARGETS.json --count N [--no-history]

The same ``Monitor`` (its own poll loop per device, ``start()``) and the same
``start_recording`` subscriber the dashboard uses; every device polled flat out
(interval 1 ms) until each has ``--count`` readings. The history goes to
``$TPLINK_TUI_DATA_DIR`` (the benchmark points it at a temporary folder).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tplink_tui.monitor import Monitor, Snapshot, Status  # noqa: E402
from tplink_tui.recorder import start_recording  # noqa: E402


async def main(targets: list[tuple[str, int]], count: int, history: bool) -> dict[str, int]:
    monitor = Monitor(interval=0.001, timeout=10.0)
    seen: dict[str, int] = {}
    offline = 0
    done = asyncio.Event()

    def on_snapshot(snap: Snapshot) -> None:
        nonlocal offline
        n = seen.get(snap.key, 0)
        if n >= count:
            return
        seen[snap.key] = n + 1
        offline += snap.status is not Status.ONLINE
        if len(seen) == len(targets) and all(v >= count for v in seen.values()):
            done.set()

    monitor.subscribe(on_snapshot)
    recorder, problem = start_recording(monitor, enabled=history)
    if problem:
        print(problem, file=sys.stderr)
    for host, port in targets:
        monitor.add(f"{host}:{port}", host, port, transport="xor")
    monitor.start()
    await done.wait()
    await monitor.stop()
    if recorder is not None:
        recorder.close()
    keys = [f"{host}:{port}" for host, port in targets]
    sent = sum(monitor.client(k).connection.requests_sent for k in keys)
    return {"requests": sent, "offline": offline}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", type=Path)
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--no-history", dest="history", action="store_false")
    args = parser.parse_args()
    items = [(h, int(p)) for h, p in json.loads(args.targets.read_text())]
    print(json.dumps(asyncio.run(main(items, args.count, args.history))), file=sys.stderr)
