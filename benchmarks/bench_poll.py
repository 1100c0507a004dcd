"""Poll engine: full poll cycles over N simulated devices served by another process.

    .venv/bin/python benchmarks/bench_poll.py [--quick] [--models hs110,hs300]
        [--counts 1,10,50,200,500] [--targets FILE] [--out benchmarks/results/poll.json]

The simulator runs as ``python -m tplink_tui simulate --count N --model M`` in a
child process (loopback only); this process is the client. One cycle = every
device updated once, all devices concurrently (``Monitor.poll_once`` for every
key under ``asyncio.gather``): a plug costs one batched request, a metered strip
one plus one per outlet. The first cycle (which connects) is a warm-up and not
counted. Per cycle: wall time, client CPU (``time.process_time`` of this
process), client CPU per request (requests counted by ``Connection.requests_sent``)
and the simulator's CPU (from /proc/PID/stat) to show which side bounds the wall
time. Figures are medians over the measured cycles.

``--targets FILE`` (a JSON list of "host:port") polls devices someone else
started instead; only loopback addresses are accepted here.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import ipaddress
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tplink_tui.address import format_address, parse_address  # noqa: E402
from tplink_tui.monitor import Monitor, Status  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
FULL_COUNTS = (1, 10, 50, 200, 500)
QUICK_COUNTS = (1, 10, 50)
MODELS = ("hs110", "hs300")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def raise_fd_limit(wanted: int = 65536) -> None:
    """Lift the soft open-files limit towards the hard one (500 sockets and more)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(wanted, hard) if hard != resource.RLIM_INFINITY else wanted
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def require_loopback(host: str) -> None:
    try:
        ok = ipaddress.ip_address(host).is_loopback
    except ValueError:
        ok = host == "localhost"
    if not ok:
        raise SystemExit(f"refusing non-loopback target {host!r}: benchmarks talk to 127.0.0.0/8")


@dataclass
class SimProcess:
    """The simulator child process and where its devices listen."""

    proc: subprocess.Popen[str]
    targets: list[tuple[str, int]]

    def cpu_seconds(self) -> float:
        """utime + stime of the simulator (its own threads included)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def __enter__(self) -> SimProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_simulator(
    model: str, count: int, base_port: int | None = None, timeout: float = 120.0
) -> SimProcess:
    """Run ``tplink-tui simulate`` in a child process and wait for {"ready": true}."""
    raise_fd_limit()
    cmd = [sys.executable, "-m", "tplink_tui", "simulate", "--count", str(count)]
    cmd += ["--model", model, "--host", "127.0.0.1"]
    if base_port is not None:
        cmd += ["--base-port", str(base_port)]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
        preexec_fn=raise_fd_limit,
    )
    sim = SimProcess(proc, [])
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    try:
        while True:
            if time.monotonic() > deadline:
                raise RuntimeError(f"simulator not ready within {timeout:g} s")
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError(f"simulator exited early (code {proc.wait(5)})")
            data = json.loads(line)
            if data.get("ready"):
                break
            require_loopback(data["host"])
            sim.targets.append((data["host"], int(data["port"])))
    except BaseException:
        sim.stop()
        raise
    if len(sim.targets) != count:
        sim.stop()
        raise RuntimeError(f"simulator started {len(sim.targets)} of {count} devices")
    return sim


def load_targets(path: Path) -> list[tuple[str, int]]:
    items = json.loads(path.read_text())
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise SystemExit(f'{path}: expected a JSON list of "host:port" strings')
    targets = [parse_address(item) for item in items]
    for host, _ in targets:
        require_loopback(host)
    return targets


async def measure_cycles(
    targets: list[tuple[str, int]],
    cycles: int,
    sim: SimProcess | None = None,
    timeout: float = 10.0,
) -> dict[str, object]:
    """Poll every target once per cycle, concurrently; return medians and totals."""
    monitor = Monitor(interval=3600.0, timeout=timeout)
    keys = [format_address(host, port) for host, port in targets]
    for key, (host, port) in zip(keys, targets, strict=True):
        monitor.add(key, host, port)
    clients = [monitor.client(k) for k in keys]

    async def cycle() -> list[object]:
        return await asyncio.gather(*(monitor.poll_once(k) for k in keys))

    first = await cycle()  # connects and learns each device's shape
    offline = sum(1 for s in first if s.status is not Status.ONLINE)  # type: ignore[attr-defined]
    model = next(
        (s.state.sysinfo.model for s in first if s.state is not None),  # type: ignore[attr-defined]
        "?",
    )
    walls, cpus, requests, sim_cpus = [], [], [], []
    failed = 0
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    gc.collect()
    for _ in range(cycles):
        sent0 = sum(c.connection.requests_sent for c in clients)
        sim0 = sim.cpu_seconds() if sim else float("nan")
        cpu0, wall0 = time.process_time(), time.perf_counter()
        snaps = await cycle()
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        sim_cpus.append((sim.cpu_seconds() if sim else float("nan")) - sim0)
        requests.append(sum(c.connection.requests_sent for c in clients) - sent0)
        failed += sum(1 for s in snaps if s.status is not Status.ONLINE)  # type: ignore[attr-defined]
        walls.append(wall)
        cpus.append(cpu)
    usage1 = resource.getrusage(resource.RUSAGE_SELF)
    await monitor.stop()
    total_cpu, total_req = sum(cpus), sum(requests)
    user = usage1.ru_utime - usage0.ru_utime
    system = usage1.ru_stime - usage0.ru_stime
    return {
        "model": model,
        "devices": len(targets),
        "cycles": cycles,
        "wall_ms": statistics.median(walls) * 1e3,
        "wall_ms_min": min(walls) * 1e3,
        "client_cpu_ms": statistics.median(cpus) * 1e3,
        "requests_per_cycle": statistics.median(requests),
        "client_cpu_per_request_ms": total_cpu / total_req * 1e3 if total_req else float("nan"),
        "client_user_share": user / (user + system) if user + system else float("nan"),
        "server_cpu_ms": statistics.median(sim_cpus) * 1e3 if sim else None,
        "server_cpu_per_request_ms": sum(sim_cpus) / total_req * 1e3 if sim and total_req else None,
        "offline_first_cycle": offline,
        "failed_polls": failed,
    }


def cycles_for(count: int, quick: bool) -> int:
    """Enough cycles for a steady median: many for a few devices, fewer for many."""
    if quick:
        return 50 if count <= 1 else 20 if count <= 10 else 5
    return 300 if count <= 1 else 100 if count <= 10 else 30 if count <= 50 else 12


def run(
    *,
    quick: bool = False,
    models: tuple[str, ...] = MODELS,
    counts: tuple[int, ...] | None = None,
    targets_file: Path | None = None,
    cycles: int | None = None,
    base_port: int | None = None,
) -> dict[str, object]:
    raise_fd_limit()
    rows = []
    if targets_file is not None:
        targets = load_targets(targets_file)
        n = cycles or cycles_for(len(targets), quick)
        rows.append(asyncio.run(measure_cycles(targets, n)))
        rows[-1]["source"] = str(targets_file)
    else:
        for model in models:
            for count in counts or (QUICK_COUNTS if quick else FULL_COUNTS):
                with start_simulator(model, count, base_port) as sim:
                    n = cycles or cycles_for(count, quick)
                    rows.append(asyncio.run(measure_cycles(sim.targets, n, sim)))
                    rows[-1]["source"] = f"simulate --count {count} --model {model}"
                print_row(rows[-1], header=len(rows) == 1)
    if targets_file is not None:
        print_row(rows[-1], header=True)
    return {
        "benchmark": "poll",
        "unit": "per full poll cycle (every device updated once, concurrently); medians",
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}",
        "rows": [
            {k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()} for r in rows
        ],
    }


HEADER = (
    f"{'model':>9} {'N':>4} | {'wall ms':>8} {'client CPU ms':>13} {'req/cycle':>9}"
    f" {'CPU/req ms':>10} {'user %':>6} | {'sim CPU/req':>11} {'fails':>5}"
)


def print_row(row: dict[str, object], header: bool = False) -> None:
    if header:
        print(HEADER)
        print("-" * len(HEADER))
    sim = row["server_cpu_per_request_ms"]
    print(
        f"{row['model']:>9} {row['devices']:>4} | {row['wall_ms']:8.1f}"
        f" {row['client_cpu_ms']:13.1f} {row['requests_per_cycle']:9.0f}"
        f" {row['client_cpu_per_request_ms']:10.3f} {row['client_user_share'] * 100:6.0f} |"
        f" {(f'{sim:.3f}' if isinstance(sim, float) else '-'):>11} {row['failed_polls']:>5}",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 1, 10, 50 and fewer cycles")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--counts", help="comma-separated device counts")
    parser.add_argument("--cycles", type=int, help="measured cycles per row")
    parser.add_argument("--targets", type=Path, help='JSON list of "host:port" to poll')
    parser.add_argument("--base-port", type=int, help="simulator ports P, P+1, ... (default: free)")
    parser.add_argument("--out", type=Path, default=RESULTS / "poll.json")
    args = parser.parse_args(argv)
    counts = tuple(int(c) for c in args.counts.split(",")) if args.counts else None
    result = run(
        quick=args.quick,
        models=tuple(args.models.split(",")),
        counts=counts,
        targets_file=args.targets,
        cycles=args.cycles,
        base_port=args.base_port,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
