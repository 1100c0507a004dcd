"""Soak: many simulated devices with random faults, polled by one Monitor for minutes.

    .venv/bin/python benchmarks/soak.py [--minutes 5] [--quick] [--devices 100]
        [--seed 1] [--trace-memory] [--out benchmarks/results/soak.json]

The simulator runs in a child process (loopback only) and takes orders over a
pipe: switch a fault on for one device, clear it, clear everything. This process
is the client: a ``Monitor`` polling every device every second (timeout 2 s,
back-off capped at ``--max-backoff``). Every ``--tick`` seconds a random tenth of
the devices has its fault switched (a healthy device gets a random fault, a
faulty one is healed). Every 10 s we sample this process's RSS, its open file
descriptors, the asyncio task count (all tasks, and the monitor's "poll" tasks)
and how many devices are online.

At the end every fault is cleared and the clock runs until every device is
ONLINE again from a poll made after the clearing (bounded by ``--recovery``).

Exit status 0 only if: every device recovered in time, RSS grew by at most
``max(--rss-tolerance-mib, 20 %)`` from the first sample (taken after a warm-up
with every device online), the task count at the end is at most the start count
plus 10 (the poll tasks exactly one per device), and open descriptors did not
grow by more than 10. Results: a table on stdout and ``benchmarks/results/soak.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import multiprocessing
import os
import platform
import random
import sys
import time
import tracemalloc
from dataclasses import asdict, dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tplink_tui.monitor import Monitor, Snapshot, Status  # noqa: E402
from tplink_tui.simulator import Simulator  # noqa: E402
from tplink_tui.simulator.server import is_loopback  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
MODELS = ("hs110", "hs105", "hs103", "kp115", "hs110v4", "hs300", "kp303", "hs100")
FAULTS = (
    "delay=3",  # longer than the 2 s timeout
    "no_reply",
    "hang_mid_frame",
    "close_mid_frame",
    "garbage",
    "bad_length",
    "non_utf8",
    "non_json",
    "not_object",
    "err_code=system:-1",
    "offline",
    "flap=2",
)
SAMPLE_SECONDS = 10.0
PAGE = os.sysconf("SC_PAGE_SIZE")


# -- the simulator process -------------------------------------------------------


def simulator_process(conn: Connection, count: int, seed: int) -> None:
    """Child: serve ``count`` devices; obey ("set", i, spec), ("clear", i), ("clear_all",),
    ("stop",) from the pipe, answering each with ("ok", detail)."""
    asyncio.run(_serve(conn, count, seed))


async def _serve(conn: Connection, count: int, seed: int) -> None:
    sim = Simulator(seed=seed, discovery_port=None, klap_port=None)
    await sim.start()
    models = [MODELS[i % len(MODELS)] for i in range(count)]
    devices = await sim.start_many(models)
    for dev in devices:
        if not is_loopback(dev.host):
            raise SystemExit(f"refusing non-loopback device {dev.host}")
    conn.send([(d.host, d.port, d.model) for d in devices])
    loop = asyncio.get_running_loop()
    stopped: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        while conn.poll():
            try:
                msg = conn.recv()
            except EOFError:
                if not stopped.done():
                    stopped.set_result(None)
                return
            kind = msg[0]
            if kind == "set":
                faults = devices[msg[1]].faults
                faults.clear()
                faults.set(msg[2])
            elif kind == "clear":
                devices[msg[1]].faults.clear()
            elif kind == "clear_all":
                for dev in devices:
                    dev.faults.clear()
            elif kind == "stop" and not stopped.done():
                stopped.set_result(None)
            conn.send(("ok", kind))

    loop.add_reader(conn.fileno(), readable)
    try:
        await stopped
    finally:
        loop.remove_reader(conn.fileno())
        await sim.stop()


class SimControl:
    """The parent's end of the pipe; every order waits for its acknowledgement."""

    def __init__(self, count: int, seed: int) -> None:
        ctx = multiprocessing.get_context("fork")  # forked before any loop or thread exists
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=simulator_process, args=(child, count, seed), daemon=True)
        self.proc.start()
        child.close()
        if not self.conn.poll(120):
            self.stop()
            raise RuntimeError("the simulator did not start within 120 s")
        self.targets: list[tuple[str, int, str]] = self.conn.recv()
        for host, _, _ in self.targets:
            if not is_loopback(host):
                self.stop()
                raise SystemExit(f"refusing non-loopback target {host}")

    async def order(self, *msg: Any) -> None:
        self.conn.send(msg)
        ready = await asyncio.to_thread(self.conn.poll, 30)
        if not ready:
            raise RuntimeError(f"the simulator did not acknowledge {msg!r}")
        self.conn.recv()

    def rss_mib(self) -> float:
        return _rss_mib(self.proc.pid)

    def stop(self) -> None:
        if self.proc.is_alive():
            with contextlib.suppress(OSError):
                self.conn.send(("stop",))
            self.proc.join(15)
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(5)
        self.conn.close()


# -- measuring ---------------------------------------------------------------------


def _rss_mib(pid: int | str = "self") -> float:
    try:
        resident = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return float("nan")
    return resident * PAGE / 2**20


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@dataclass
class Sample:
    t: float  # seconds since the chaos began (negative: warm-up)
    rss_mib: float
    sim_rss_mib: float
    tasks: int
    poll_tasks: int
    fds: int
    online: int
    faulty: int


def sample(t: float, sim: SimControl, monitor: Monitor, faulty: int) -> Sample:
    tasks = asyncio.all_tasks()
    poll_tasks = sum(1 for task in tasks if task.get_name().startswith("poll "))
    keys = monitor.keys()
    online = sum(1 for key in keys if monitor.snapshot(key).status is Status.ONLINE)
    return Sample(
        round(t, 1),
        round(_rss_mib(), 2),
        round(sim.rss_mib(), 2),
        len(tasks),
        poll_tasks,
        _open_fds(),
        online,
        faulty,
    )


# -- the soak ------------------------------------------------------------------------


async def wait_all_online(monitor: Monitor, since: float, limit: float) -> float | None:
    """Seconds until every device has an ONLINE snapshot from a poll after ``since``."""
    deadline = time.monotonic() + limit
    started = time.monotonic()
    while time.monotonic() < deadline:
        keys = monitor.keys()
        snaps = [monitor.snapshot(k) for k in keys]
        if all(s.status is Status.ONLINE and (s.last_seen or 0) >= since for s in snaps):
            return time.monotonic() - started
        await asyncio.sleep(0.1)
    return None


async def soak(args: argparse.Namespace, sim: SimControl) -> dict[str, Any]:
    rng = random.Random(args.seed)
    monitor = Monitor(interval=1.0, timeout=args.timeout, max_backoff=args.max_backoff)
    keys = []
    for host, port, _ in sim.targets:
        key = f"{host}:{port}"
        keys.append(key)
        monitor.add(key, host, port)
    went_offline: dict[str, int] = dict.fromkeys(keys, 0)
    came_back: dict[str, int] = dict.fromkeys(keys, 0)
    polls = 0

    def on_snapshot(snap: Snapshot) -> None:
        nonlocal polls
        polls += 1
        if snap.status_changed and snap.status is Status.OFFLINE:
            went_offline[snap.key] += 1
        elif snap.status_changed and snap.status is Status.ONLINE and snap.polls > 1:
            came_back[snap.key] += 1

    monitor.subscribe(on_snapshot)
    monitor.start()
    warm = await wait_all_online(monitor, 0.0, 60.0)
    if warm is None:
        await monitor.stop()
        raise RuntimeError("not every device came online during the warm-up")
    await asyncio.sleep(3.0)  # a few healthy cycles: connections and caches settle
    gc.collect()
    samples = [sample(0.0, sim, monitor, 0)]
    first_trace = tracemalloc.take_snapshot() if tracemalloc.is_tracing() else None
    print(_row(samples[-1]), flush=True)

    faulty: dict[int, str] = {}
    switches = 0
    per_fault: dict[str, int] = dict.fromkeys(FAULTS, 0)
    started = time.monotonic()
    end = started + args.minutes * 60
    next_sample = started + SAMPLE_SECONDS
    while (now := time.monotonic()) < end:
        for index in rng.sample(range(len(keys)), max(1, len(keys) // 10)):
            if index in faulty:
                del faulty[index]
                await sim.order("clear", index)
            else:
                spec = rng.choice(FAULTS)
                faulty[index] = spec
                per_fault[spec] += 1
                await sim.order("set", index, spec)
            switches += 1
        if now >= next_sample:
            samples.append(sample(now - started, sim, monitor, len(faulty)))
            print(_row(samples[-1]), flush=True)
            next_sample += SAMPLE_SECONDS
        await asyncio.sleep(min(args.tick, max(0.0, end - time.monotonic())))

    # Heal everything; every device must come back on its own (no refresh()).
    await sim.order("clear_all")
    healed_at = time.time()
    recovery = await wait_all_online(monitor, healed_at, args.recovery)
    not_recovered = [
        k
        for k in keys
        if monitor.snapshot(k).status is not Status.ONLINE
        or (monitor.snapshot(k).last_seen or 0) < healed_at
    ]
    await asyncio.sleep(2.0)  # a couple of healthy cycles before the last sample
    gc.collect()
    final = sample(time.monotonic() - started, sim, monitor, 0)
    growth_sites: list[str] = []
    if first_trace is not None:
        diff = tracemalloc.take_snapshot().compare_to(first_trace, "lineno")
        growth_sites = [str(stat) for stat in diff[:10]]
    samples.append(final)
    print(_row(final), flush=True)
    await monitor.stop()

    first = samples[0]
    rss_growth = final.rss_mib - first.rss_mib
    rss_limit = max(args.rss_tolerance_mib, 0.2 * first.rss_mib)
    problems = []
    if not_recovered:
        problems.append(f"{len(not_recovered)} device(s) did not recover: {not_recovered[:5]}")
    if rss_growth > rss_limit:
        problems.append(f"RSS grew {rss_growth:.1f} MiB (limit {rss_limit:.1f})")
    if final.tasks > first.tasks + 10 or final.poll_tasks != len(keys):
        problems.append(
            f"tasks {first.tasks} -> {final.tasks}, poll tasks {final.poll_tasks} of {len(keys)}"
        )
    if final.fds > first.fds + 10:
        problems.append(f"open descriptors {first.fds} -> {final.fds}")
    return {
        "devices": len(keys),
        "minutes": args.minutes,
        "interval_s": 1.0,
        "timeout_s": args.timeout,
        "max_backoff_s": args.max_backoff,
        "tick_s": args.tick,
        "seed": args.seed,
        "fault_switches": switches,
        "faults_applied": per_fault,
        "polls": polls,
        "offline_transitions": sum(went_offline.values()),
        "online_transitions": sum(came_back.values()),
        "warmup_s": round(warm, 2),
        "recovery_s": None if recovery is None else round(recovery, 2),
        "recovery_limit_s": args.recovery,
        "not_recovered": not_recovered,
        "rss_start_mib": first.rss_mib,
        "rss_end_mib": final.rss_mib,
        "rss_max_mib": max(s.rss_mib for s in samples),
        "rss_growth_mib": round(rss_growth, 2),
        "rss_limit_mib": round(rss_limit, 2),
        "tasks_start": first.tasks,
        "tasks_end": final.tasks,
        "tasks_max": max(s.tasks for s in samples),
        "poll_tasks_end": final.poll_tasks,
        "fds_start": first.fds,
        "fds_end": final.fds,
        "fds_max": max(s.fds for s in samples),
        "sim_rss_start_mib": first.sim_rss_mib,
        "sim_rss_end_mib": final.sim_rss_mib,
        "samples": [asdict(s) for s in samples],
        "growth_sites": growth_sites,  # with --trace-memory: top allocation growth
        "problems": problems,
        "ok": not problems,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }


HEADER = f"{'t s':>7} {'RSS MiB':>8} {'sim MiB':>8} {'tasks':>6} {'poll':>5} {'fds':>5}" + (
    f" {'online':>6} {'faulty':>6}"
)


def _row(s: Sample) -> str:
    return (
        f"{s.t:>7.1f} {s.rss_mib:>8.1f} {s.sim_rss_mib:>8.1f} {s.tasks:>6} {s.poll_tasks:>5}"
        f" {s.fds:>5} {s.online:>6} {s.faulty:>6}"
    )


def summary(result: dict[str, Any]) -> str:
    lines = [
        "",
        f"soak: {result['devices']} devices, {result['minutes']:g} min,"
        f" {result['fault_switches']} fault switches, {result['polls']} polls",
        f"  offline transitions {result['offline_transitions']},"
        f" back online {result['online_transitions']}",
        f"  RSS      {result['rss_start_mib']:.1f} -> {result['rss_end_mib']:.1f} MiB"
        f" (max {result['rss_max_mib']:.1f}, growth {result['rss_growth_mib']:+.1f},"
        f" limit {result['rss_limit_mib']:.1f})",
        f"  tasks    {result['tasks_start']} -> {result['tasks_end']}"
        f" (max {result['tasks_max']}, poll tasks {result['poll_tasks_end']})",
        f"  fds      {result['fds_start']} -> {result['fds_end']} (max {result['fds_max']})",
        f"  recovery {result['recovery_s']} s after clearing every fault"
        f" (limit {result['recovery_limit_s']:g} s)",
        "  " + ("OK" if result["ok"] else "FAILED: " + "; ".join(result["problems"])),
    ]
    if result["growth_sites"]:
        lines += ["  allocation growth by line (tracemalloc):"]
        lines += [f"    {site}" for site in result["growth_sites"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="chaos duration (default 5)")
    parser.add_argument("--quick", action="store_true", help="one minute")
    parser.add_argument("--devices", type=int, default=100, help="simulated devices (100)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tick", type=float, default=2.0, help="seconds between fault switches")
    parser.add_argument("--timeout", type=float, default=2.0, help="client timeout (2 s)")
    parser.add_argument("--max-backoff", type=float, default=10.0, help="back-off cap (10 s)")
    parser.add_argument(
        "--recovery", type=float, default=40.0, help="seconds allowed to recover (40)"
    )
    parser.add_argument("--rss-tolerance-mib", type=float, default=16.0)
    parser.add_argument(
        "--trace-memory",
        action="store_true",
        help="tracemalloc: list the lines whose allocations grew (slower)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "soak.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.minutes = 1.0
    if not 0 < args.minutes <= 120 or not 0 < args.devices <= 1000:
        parser.error("--minutes must be in (0, 120] and --devices in (0, 1000]")
    sim = SimControl(args.devices, args.seed)  # forked before tracing starts
    if args.trace_memory:
        tracemalloc.start(1)
    try:
        print(HEADER, flush=True)
        result = asyncio.run(soak(args, sim))
    finally:
        sim.stop()
    print(summary(result))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"  written to {args.out}")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
