"""Dashboard: the real app, headless, on 200 simulated devices polling every second.

    .venv/bin/python benchmarks/bench_dashboard.py [--quick] [--devices 200]
        [--model hs300] [--duration 600] [--samples 40] [--device-side auto]
        [--out ...dashboard.json]

The devices run in a child process: ``benchmarks/devserver.js`` under Node when it
is installed (``--device-side auto``, the default; see ``benchmarks/devices.py``),
else ``tplink-tui simulate`` (``--device-side python``). On 2 cores the Python
simulator at 1,000 devices takes most of a core and starves the dashboard; Node
serves the same answers for about a fifth of the CPU. This process runs
``TplinkApp`` under ``App.run_test`` (headless, 120x36) with ``Monitor(interval=1)``
and history recording into a temporary folder, as a user's dashboard would. For
``--duration`` seconds (default 10 min; 30 s with --quick) it measures:

- redraw: the app's coalesced redraw of dirty rows (``show_changes``, handling the
  ``DevicesChanged`` message the flush timer posts every 0.2 s), timed per call;
  "per cycle" sums the calls of each second, i.e. the time to
  apply one full poll cycle (every device updated once);
- frames: one frame = one screen update that produced output (Textual's
  ``Screen._on_timer_update`` with dirty widgets). Headless Textual computes the
  compositor update but never turns it into terminal bytes, so the hook also
  renders each update to its escape sequence, as the terminal driver would; the
  frame time is layout + compositor + that rendering, in wall time and in the main
  thread's CPU time (``thread_time``: what the frame cost, whatever else the machine
  ran); frames/s is how many such updates the app produced per second (it only
  draws when something changed);
- key press -> request written: every duration/samples seconds, a device is
  highlighted, then (after a random pause, so presses land at any phase of the
  polls) "l" (LED toggle) is pressed; the latency runs from just before the press
  to the moment the ``set_led_off`` request is written on that device's
  connection (seen by a traffic listener, which the transport calls just before
  the write, in the same step; it listens only while a press is out, as decoding
  every request for it would cost the dashboard ~4 % of its CPU); beside the wall
  time, the main thread's CPU time in between (the work the app did before the
  write, whatever else the machine ran: on 2 cores shared with other benchmarks
  the wall time is mostly waiting for a core);
- chart: the detail pane's power chart (plotext) for the highlighted device,
  a strip of six outlets overlaid: how often it was built and the time per build
  (a repaint with unchanged data is a cache hit and is not counted);
- CPU: process time of this process over the run (and the device side's, and the
  load average, to judge the machine it ran on); RSS (VmRSS, VmHWM) from
  /proc/self/status at the end, and its growth over the run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from textual.screen import Screen  # noqa: E402

from benchmarks.devices import DeviceProcess, raise_fd_limit, start_devices  # noqa: E402
from tplink_tui import transport  # noqa: E402
from tplink_tui.monitor import Monitor  # noqa: E402
from tplink_tui.store.config import ConfigStore, SavedDevice  # noqa: E402
from tplink_tui.tui.app import TplinkApp  # noqa: E402
from tplink_tui.tui.widgets.power_chart import PowerChart  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
SIZE = (120, 36)


def rss_kib() -> dict[str, int]:
    """VmRSS and VmHWM of this process, in KiB."""
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0])
    return values


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


class FrameMeter:
    """Counts and times screen updates (see the module docstring)."""

    def __init__(self) -> None:
        self.active = False
        self.frames: list[tuple[float, float, int]] = []  # (end time, seconds, bytes)
        self.cpu: list[float] = []  # the main thread's CPU seconds per frame
        self._original = Screen._on_timer_update

    def install(self) -> None:
        meter, original = self, self._original

        def timed(screen: Screen) -> None:
            if not meter.active:
                original(screen)
                return
            start, cpu = time.perf_counter(), time.thread_time()
            app = screen.app
            output = 0
            display = app._display

            def capture(target: Screen, renderable: Any) -> None:
                nonlocal output
                if renderable is not None and hasattr(renderable, "render_segments"):
                    output += len(renderable.render_segments(app.console))
                display(target, renderable)

            app._display = capture  # type: ignore[method-assign]
            try:
                original(screen)
            finally:
                del app._display
            if meter.active and output:
                end = time.perf_counter()
                meter.frames.append((end, end - start, output))
                meter.cpu.append(time.thread_time() - cpu)

        Screen._on_timer_update = timed  # type: ignore[method-assign]

    def uninstall(self) -> None:
        Screen._on_timer_update = self._original  # type: ignore[method-assign]


async def measure(
    sim: DeviceProcess,
    *,
    duration: float,
    samples: int,
    warmup: float,
    seed: int,
) -> dict[str, Any]:
    rng = random.Random(seed)
    folder = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    store = ConfigStore(folder / "config.json")
    saved = [
        SavedDevice(f"Device {i:03d}", host, port, room=f"Room {i % 12}")
        for i, (host, port) in enumerate(sim.targets)
    ]
    store.update(lambda config: config.devices.extend(saved))
    monitor = Monitor(interval=1.0, timeout=3.0)
    app = TplinkApp(store, monitor=monitor, history_path=folder / "history.sqlite3")

    redraws: list[tuple[float, float, int]] = []  # (end time, seconds, dirty rows)
    original_redraw = app.show_changes
    measuring = False

    def timed_redraw(keys: Iterable[str]) -> None:
        keys = tuple(keys)
        start = time.perf_counter()
        original_redraw(keys)
        if measuring and keys:
            redraws.append((time.perf_counter(), time.perf_counter() - start, len(keys)))

    app.show_changes = timed_redraw  # type: ignore[method-assign]  # before on_mount

    led_written: dict[str, tuple[float, float]] = {}  # key -> (wall, main-thread CPU)

    def listener(direction: str, host: str, port: int, text: str) -> None:
        if direction == "->" and "set_led_off" in text:
            led_written[f"{host}:{port}"] = (time.perf_counter(), time.thread_time())

    meter = FrameMeter()
    meter.install()
    latencies: list[tuple[float, float]] = []  # (seconds into the run, latency)
    latency_cpu: list[float] = []  # main-thread CPU spent between press and write
    rss_trace: list[tuple[float, int]] = []
    try:
        async with app.run_test(size=SIZE) as pilot:
            keys = list(app.views)
            deadline = time.monotonic() + 60
            while sum(v.online for v in app.views.values()) < len(keys):
                if time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.2)
            online_at_start = sum(v.online for v in app.views.values())
            await asyncio.sleep(warmup)
            polls0 = sum(monitor.snapshot(k).polls for k in keys)
            sent0 = sum(monitor.client(k).connection.requests_sent for k in keys)
            chart = app.detail.query_one(PowerChart)
            builds0, build_s0 = chart.builds, chart.build_seconds
            measuring = meter.active = True
            cpu0, wall0 = time.process_time(), time.perf_counter()
            sim_cpu0 = sim.cpu_seconds()
            end = time.monotonic() + duration
            slot = duration / samples
            for _ in range(samples):
                slot_end = time.monotonic() + slot
                key = keys[rng.randrange(len(keys))]
                app.select_device(key)
                await asyncio.sleep(rng.uniform(0.2, max(0.25, slot * 0.6)))
                led_written.pop(key, None)
                # Listening costs a decode per request: only while a press is out.
                transport.add_traffic_listener(listener)
                t0, c0 = time.perf_counter(), time.thread_time()
                await pilot.press("l")
                limit = time.monotonic() + 5
                while key not in led_written and time.monotonic() < limit:
                    await asyncio.sleep(0.0005)
                transport.remove_traffic_listener(listener)
                if key in led_written:
                    written, cpu_at = led_written[key]
                    latencies.append((t0 - wall0, written - t0))
                    latency_cpu.append(cpu_at - c0)
                rss_trace.append((time.perf_counter() - wall0, rss_kib()["VmRSS"]))
                await asyncio.sleep(max(0.0, min(slot_end, end) - time.monotonic()))
            await asyncio.sleep(max(0.0, end - time.monotonic()))
            wall = time.perf_counter() - wall0
            cpu = time.process_time() - cpu0
            sim_cpu = sim.cpu_seconds() - sim_cpu0
            load = os.getloadavg()
            measuring = meter.active = False
            builds, build_s = chart.builds - builds0, chart.build_seconds - build_s0
            polls = sum(monitor.snapshot(k).polls for k in keys) - polls0
            sent = sum(monitor.client(k).connection.requests_sent for k in keys) - sent0
            online_at_end = sum(v.online for v in app.views.values())
            memory = rss_kib()
            await monitor.stop()
            await app.action_quit()
    finally:
        transport.remove_traffic_listener(listener)
        meter.uninstall()

    per_second: dict[int, float] = {}
    for t, seconds, _ in redraws:
        per_second[int(t - wall0)] = per_second.get(int(t - wall0), 0.0) + seconds
    redraw_ms = [s * 1e3 for _, s, _ in redraws]
    cycle_ms = [s * 1e3 for s in per_second.values()]
    frame_ms = [s * 1e3 for _, s, _ in meter.frames]
    frame_cpu = [s * 1e3 for s in meter.cpu]
    lat_ms = [s * 1e3 for _, s in latencies]
    lat_cpu_ms = [s * 1e3 for s in latency_cpu]
    first_rss = rss_trace[0][1] if rss_trace else memory["VmRSS"]
    return {
        "devices": len(sim.targets),
        "online_at_start": online_at_start,
        "online_at_end": online_at_end,
        "duration_s": round(wall, 1),
        "polls_per_s": polls / wall,
        "requests_per_s": sent / wall,
        "cpu_percent": cpu / wall * 100,
        "device_side_cpu_percent": sim_cpu / wall * 100,
        "load_average": [round(x, 2) for x in load],
        "redraw_calls": len(redraws),
        "redraw_rows_median": statistics.median(r for _, _, r in redraws) if redraws else 0,
        "redraw_ms_p50": percentile(redraw_ms, 50),
        "redraw_ms_p95": percentile(redraw_ms, 95),
        "redraw_ms_max": max(redraw_ms, default=float("nan")),
        "cycle_apply_ms_p50": percentile(cycle_ms, 50),
        "cycle_apply_ms_p95": percentile(cycle_ms, 95),
        "frames": len(frame_ms),
        "fps": len(frame_ms) / wall,
        "frame_ms_p50": percentile(frame_ms, 50),
        "frame_ms_p95": percentile(frame_ms, 95),
        "frame_ms_max": max(frame_ms, default=float("nan")),
        "frame_cpu_ms_p50": percentile(frame_cpu, 50),
        "frame_cpu_ms_p95": percentile(frame_cpu, 95),
        "frame_cpu_ms_max": max(frame_cpu, default=float("nan")),
        "frame_bytes_median": statistics.median(b for _, _, b in meter.frames)
        if meter.frames
        else 0,
        "chart_builds": builds,
        "chart_builds_per_s": builds / wall,
        "chart_build_ms_mean": build_s / builds * 1e3 if builds else 0.0,
        "latency_samples": len(lat_ms),
        "latency_missed": samples - len(lat_ms),
        "latency_ms_p50": percentile(lat_ms, 50),
        "latency_ms_p95": percentile(lat_ms, 95),
        "latency_ms_max": max(lat_ms, default=float("nan")),
        "latency_cpu_ms_p50": percentile(lat_cpu_ms, 50),
        "latency_cpu_ms_p95": percentile(lat_cpu_ms, 95),
        "latency_cpu_ms_max": max(lat_cpu_ms, default=float("nan")),
        "latency_samples_ms": [(round(t, 1), round(s * 1e3, 2)) for t, s in latencies],
        "rss_mb": memory["VmRSS"] / 1024,
        "rss_peak_mb": memory["VmHWM"] / 1024,
        "rss_growth_mb": (memory["VmRSS"] - first_rss) / 1024,
        "rss_trace_mb": [
            (round(t), round(kib / 1024, 1))
            for t, kib in rss_trace[:: max(1, len(rss_trace) // 20)]
        ],
    }


def run(
    *,
    quick: bool = False,
    devices: int = 200,
    model: str = "hs300",
    duration: float | None = None,
    samples: int = 40,
    warmup: float = 5.0,
    seed: int = 7,
    device_side: str = "auto",
) -> dict[str, Any]:
    raise_fd_limit()
    duration = duration if duration is not None else (30.0 if quick else 600.0)
    with start_devices(model, devices, side=device_side) as sim:
        row = asyncio.run(
            measure(sim, duration=duration, samples=samples, warmup=warmup, seed=seed)
        )
    row["model"] = model
    row["device_side"] = sim.side
    print_row(row)
    return {
        "benchmark": "dashboard",
        "method": __doc__,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}",
        "rows": [{k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}],
    }


def print_row(r: dict[str, Any]) -> None:
    print(
        f"dashboard: {r['devices']} x {r['model']} polling at 1 Hz for {r['duration_s']:.0f} s"
        f" ({r['online_at_end']} online at the end, {r['requests_per_s']:.0f} requests/s,"
        f" CPU {r['cpu_percent']:.0f}% of one core)"
    )
    print(
        f"  devices served by {r['device_side']} ({r['device_side_cpu_percent']:.0f}% of a core),"
        f" load average {' '.join(str(x) for x in r['load_average'])}"
    )
    print(
        f"  redraw of dirty rows: p50 {r['redraw_ms_p50']:.1f} ms, p95 {r['redraw_ms_p95']:.1f} ms"
        f" ({r['redraw_rows_median']:.0f} rows per call); per poll cycle"
        f" p50 {r['cycle_apply_ms_p50']:.1f} ms, p95 {r['cycle_apply_ms_p95']:.1f} ms"
    )
    print(
        f"  frames: {r['fps']:.1f}/s, frame time p50 {r['frame_ms_p50']:.1f} ms,"
        f" p95 {r['frame_ms_p95']:.1f} ms, max {r['frame_ms_max']:.1f} ms; main-thread CPU"
        f" per frame p50 {r['frame_cpu_ms_p50']:.1f}, p95 {r['frame_cpu_ms_p95']:.1f},"
        f" max {r['frame_cpu_ms_max']:.1f} ms"
    )
    print(
        f"  chart: {r['chart_builds_per_s']:.2f} builds/s,"
        f" {r['chart_build_ms_mean']:.1f} ms per build ({r['chart_builds']} builds)"
    )
    print(
        f"  key press -> request written: p50 {r['latency_ms_p50']:.1f} ms,"
        f" p95 {r['latency_ms_p95']:.1f} ms, max {r['latency_ms_max']:.1f} ms"
        f" ({r['latency_samples']} samples, {r['latency_missed']} missed); the main"
        f" thread's CPU in between p50 {r['latency_cpu_ms_p50']:.1f} ms,"
        f" p95 {r['latency_cpu_ms_p95']:.1f} ms, max {r['latency_cpu_ms_max']:.1f} ms"
    )
    print(
        f"  memory: RSS {r['rss_mb']:.0f} MB (peak {r['rss_peak_mb']:.0f} MB,"
        f" {r['rss_growth_mb']:+.1f} MB over the run)",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="30 s instead of 10 min")
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--model", default="hs300")
    parser.add_argument("--duration", type=float, help="seconds (default 600, --quick 30)")
    parser.add_argument("--samples", type=int, default=40, help="key presses (>= 30)")
    parser.add_argument(
        "--device-side",
        choices=("auto", "node", "python"),
        default="auto",
        help="who serves the devices: Node's devserver.js (auto: if installed) or"
        " the Python simulator",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "dashboard.json")
    args = parser.parse_args(argv)
    result = run(
        quick=args.quick,
        devices=args.devices,
        model=args.model,
        duration=args.duration,
        samples=args.samples,
        device_side=args.device_side,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
