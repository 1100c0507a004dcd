"""Client CPU side by side: the bare client, ``watch --json``, the monitor, python-kasa.

    .venv/bin/python benchmarks/bench_compare.py [--quick] [--rounds 8]
        [--only compare,growth] [--out benchmarks/results/compare.json]

Every client is a separate program polling the same device-side process (Node
``devserver.js``, else ``tplink-tui simulate``; see ``devices.py``), every device
flat out and all at once, in one run:

- ``bare``: ``clients/bare.py``, one ``asyncio.Protocol`` per device, decrypt and
  ``json.loads``, no model: the floor the targets are ratios against;
- ``watch``: ``tplink-tui watch --json -i 0.001`` (history on, the default), its
  JSON lines to a file, run by ``clients/watch.py``; ``watch-nohist``: the same
  with ``--no-history``; ``watch-every``: history storing every reading (the
  recorder's 0.4 s spacing off, as before it), to show what a row costs;
  ``watch-thread`` (only when asked for): history on the thread writer (before the
  writer process);
- ``monitor``: ``clients/monitor.py``, the dashboard's poll path (``Monitor`` +
  the history recorder) without the screen; ``monitor-nohist``, ``monitor-every``,
  ``monitor-thread`` as for watch;
- ``kasa-speedups`` / ``kasa-pure``: ``clients/pykasa.py`` under python-kasa with
  and without kasa-crypt + orjson, each in a virtual environment this script
  builds from the package registry (python-kasa is GPL: run, never imported).

CPU per cycle = (CPU of a run of C polls - CPU of a 1-poll run) / (C - 1), C = ``--cycles``
(31), from the
child's rusage (user + system, its threads included), so start-up cancels out.
Variants are interleaved within each round and the order rotates between rounds;
figures are medians over the rounds. Per request for the clients that send the
same requests (an HS110: 1, an HS300: 7 per update); per device update for all.
``growth`` runs the project's clients and the bare one at 200, 1,000 and 2,000
HS110 with the client's soft open-files limit set to ``--client-nofile`` (1024,
the usual default) first: the client has to raise it itself.

The history writer is a child process of the client: rusage from ``wait4`` counts
it in (it is reaped before the client ends), and the project's clients also report
their own CPU and their children's apart, so the table shows the poll process
("poll µs") and the writer process ("writer µs") separately as well as the sum.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.devices import DeviceProcess, start_devices  # noqa: E402

HERE = ROOT / "benchmarks"
RESULTS = HERE / "results"
VENVS = RESULTS / "kasa-venvs"
KASA = "python-kasa==0.12.0"
KASA_FLAVOURS = {"kasa-pure": KASA, "kasa-speedups": KASA.replace("==", "[speedups]==")}
REQUESTS_PER_UPDATE = {"hs110": 1, "hs300": 7}
SAME_REQUESTS = (
    "bare",
    "watch",
    "watch-nohist",
    "watch-every",
    "watch-thread",
    "monitor",
    "monitor-nohist",
    "monitor-every",
    "monitor-thread",
)
ALL_VARIANTS = (*SAME_REQUESTS, "kasa-speedups", "kasa-pure")
DEFAULT_VARIANTS = tuple(v for v in ALL_VARIANTS if not v.endswith("-thread"))
COMPARE = (("hs110", 200), ("hs300", 50))
GROWTH_COUNTS = (200, 1000, 2000)
GROWTH_VARIANTS = ("bare", "watch", "monitor")
WRITERS = ("-thread", "-every")  # a variant's history writer: clients' --writer
SHORT = 1


def kasa_python(flavour: str, log: Callable[[str], None]) -> Path | None:
    """The venv interpreter for a python-kasa flavour, built on first use (None: failed)."""
    venv = VENVS / flavour
    python = venv / "bin" / "python"
    marker = venv / ".installed"
    if marker.exists() and python.exists():
        return python
    log(f"building {venv} ({KASA_FLAVOURS[flavour]}) from the package registry ...")
    try:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", KASA_FLAVOURS[flavour]],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        speedups = subprocess.run(
            [str(python), "-c", "import kasa_crypt, orjson"], capture_output=True
        )
        if (speedups.returncode == 0) != (flavour == "kasa-speedups"):
            log(f"{flavour}: speedups {'missing' if speedups.returncode else 'present'}")
            return None
    except (OSError, subprocess.CalledProcessError) as exc:
        log(f"{flavour}: cannot build the environment ({exc})")
        return None
    marker.write_text(KASA_FLAVOURS[flavour] + "\n")
    return python


def command(
    variant: str, model: str, targets: Path, hosts: list[str], count: int, pythons: dict[str, Path]
) -> list[str]:
    py = sys.executable
    if variant == "bare":
        return [py, str(HERE / "clients" / "bare.py"), str(targets), "--count", str(count)]
    writer = ["--writer", variant.rpartition("-")[2] if variant.endswith(WRITERS) else "process"]
    if variant.startswith("monitor"):
        cmd = [py, str(HERE / "clients" / "monitor.py"), str(targets), "--count", str(count)]
        return cmd + writer + (["--no-history"] if variant.endswith("nohist") else [])
    if variant.startswith("watch"):
        cmd = [py, str(HERE / "clients" / "watch.py"), *writer, "--json", "-i", "0.001"]
        cmd += ["--count", str(count), "--timeout", "10", "--transport", "xor", *hosts]
        return cmd + (["--no-history"] if variant.endswith("nohist") else [])
    script = str(HERE / "clients" / "pykasa.py")
    return [str(pythons[variant]), script, str(targets), "--count", str(count), "--model", model]


def run_client(cmd: list[str], nofile: int) -> dict[str, Any]:
    """Run one client to the end; its CPU (rusage), wall time and what it reported."""

    def limit() -> None:
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(nofile, hard), hard))

    with tempfile.TemporaryDirectory(prefix="bench-client-") as tmp:
        env = {**os.environ, "TPLINK_TUI_DATA_DIR": tmp, "TPLINK_TUI_CONFIG": f"{tmp}/config.json"}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # bytecode caches as on a user's install
        env.pop("PYTHONUNBUFFERED", None)  # block-buffered output, as on a user's machine
        out_path, err_path = Path(tmp) / "out", Path(tmp) / "err"
        with out_path.open("wb") as out, err_path.open("wb") as err:
            wall0 = time.perf_counter()
            proc = subprocess.Popen(
                cmd, stdout=out, stderr=err, cwd=ROOT, env=env, preexec_fn=limit
            )
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - wall0
            proc.returncode = os.waitstatus_to_exitcode(status)
        text = out_path.read_bytes()
        errors = err_path.read_text(errors="replace")
    cpu = usage.ru_utime + usage.ru_stime
    split = _cpu_split(errors)
    return {
        "cpu": cpu,
        "self_cpu": split.get("self_cpu", cpu),
        "children_cpu": split.get("children_cpu", 0.0),
        "wall": wall,
        "code": proc.returncode,
        "offline_lines": text.count(b'"status":"offline"'),
        "too_many_files": "too many open files" in (errors + text.decode(errors="replace")).lower(),
        "stderr": errors[-2000:],
    }


def _cpu_split(stderr: str) -> dict[str, float]:
    """The client's own report of its CPU and its children's (last JSON line)."""
    for line in reversed(stderr.splitlines()):
        if line.startswith("{") and "self_cpu" in line:
            try:
                found = json.loads(line)
            except ValueError:
                return {}
            return {k: float(found[k]) for k in ("self_cpu", "children_cpu") if k in found}
    return {}


def measure(
    devs: DeviceProcess,
    model: str,
    variants: tuple[str, ...],
    rounds: int,
    long: int,
    pythons: dict[str, Path],
    nofile: int,
    log: Callable[[str], None],
) -> list[dict[str, Any]]:
    """Interleaved rounds of (1-poll, 11-poll) runs per variant; medians per variant."""
    n = len(devs.targets)
    hosts = [f"{h}:{p}" for h, p in devs.targets]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(devs.targets, f)
        targets = Path(f.name)
    per_cycle: dict[str, list[float]] = {v: [] for v in variants}
    own: dict[str, list[float]] = {v: [] for v in variants}
    kids: dict[str, list[float]] = {v: [] for v in variants}
    walls: dict[str, list[float]] = {v: [] for v in variants}
    trouble: dict[str, list[str]] = {v: [] for v in variants}
    try:
        for r in range(rounds):
            order = variants[r % len(variants) :] + variants[: r % len(variants)]
            for variant in order:
                runs = {}
                for count in (SHORT, long) if r % 2 == 0 else (long, SHORT):
                    cmd = command(variant, model, targets, hosts, count, pythons)
                    runs[count] = run_client(cmd, nofile)
                    res = runs[count]
                    if res["code"] != 0 or res["offline_lines"] or res["too_many_files"]:
                        trouble[variant].append(
                            f"count {count}: exit {res['code']}, {res['offline_lines']} offline"
                            f" lines, too many open files: {res['too_many_files']};"
                            f" {res['stderr'][-300:]!r}"
                        )

                for field, into in (("cpu", per_cycle), ("self_cpu", own), ("children_cpu", kids)):
                    into[variant].append((runs[long][field] - runs[SHORT][field]) / (long - SHORT))
                walls[variant].append((runs[long]["wall"] - runs[SHORT]["wall"]) / (long - SHORT))
            log(
                f"  round {r + 1}/{rounds}: "
                + ", ".join(f"{v} {per_cycle[v][-1] / n * 1e6:.0f}" for v in variants)
                + " µs CPU per update"
            )
    finally:
        targets.unlink(missing_ok=True)
    rows = []
    per_request = REQUESTS_PER_UPDATE.get(model, 1)
    for variant in variants:
        cycle = statistics.median(per_cycle[variant])
        rows.append(
            {
                "model": model,
                "devices": n,
                "variant": variant,
                "rounds": rounds,
                "cycles": long,
                "cpu_ms_per_cycle": cycle * 1e3,
                "us_per_update": cycle / n * 1e6,
                "poll_us_per_update": statistics.median(own[variant]) / n * 1e6,
                "writer_us_per_update": statistics.median(kids[variant]) / n * 1e6,
                "us_per_request": cycle / n / per_request * 1e6
                if variant in SAME_REQUESTS
                else None,
                "wall_ms_per_cycle": statistics.median(walls[variant]) * 1e3,
                "spread_us_per_update": [
                    round(min(per_cycle[variant]) / n * 1e6, 1),
                    round(max(per_cycle[variant]) / n * 1e6, 1),
                ],
                "per_round_us": [round(c / n * 1e6, 1) for c in per_cycle[variant]],
                "per_round_poll_us": [round(c / n * 1e6, 1) for c in own[variant]],
                "problems": trouble[variant][:5],
                "device_side": devs.side,
            }
        )
    bare = next((row for row in rows if row["variant"] == "bare"), None)
    for row in rows:
        row["ratio_to_bare"] = row["us_per_update"] / bare["us_per_update"] if bare else None
    return rows


def print_rows(rows: list[dict[str, Any]]) -> None:
    print(
        f"{'model':>6} {'N':>5} {'variant':>15} | {'µs/update':>9} {'µs/req':>7} {'x bare':>6}"
        f" {'poll µs':>8} {'writer µs':>9} {'wall ms/cycle':>13} problems"
    )
    for r in rows:
        req = f"{r['us_per_request']:.1f}" if r["us_per_request"] is not None else "-"
        ratio = f"{r['ratio_to_bare']:.2f}" if r["ratio_to_bare"] else "-"
        print(
            f"{r['model']:>6} {r['devices']:>5} {r['variant']:>15} | {r['us_per_update']:9.1f}"
            f" {req:>7} {ratio:>6} {r['poll_us_per_update']:8.1f}"
            f" {r['writer_us_per_update']:9.1f} {r['wall_ms_per_cycle']:13.1f}"
            f" {len(r['problems'])}",
            flush=True,
        )
    for variant, off, poll, total in history_shares(rows):
        print(
            f"  history share, {variant} vs {off} (median of per-round ratios):"
            f" poll process {poll:+.1%}, poll + writer {total:+.1%}"
        )


def history_shares(rows: list[dict[str, Any]]) -> list[tuple[str, str, float, float]]:
    """(variant, its -nohist twin, poll-process share, poll + writer share) per pair.

    Each share is the median over rounds of that round's ratio: the two ran
    minutes apart at most, so a machine busier in one round cancels out.
    """
    by = {(r["model"], r["devices"], r["variant"]): r for r in rows}
    shares = []
    for (model, n, variant), r in by.items():
        off = by.get((model, n, variant.split("-")[0] + "-nohist"))
        if off is None or variant.endswith("nohist") or variant == "bare":
            continue
        poll = [
            a / b - 1 for a, b in zip(r["per_round_poll_us"], off["per_round_poll_us"], strict=True)
        ]
        total = [a / b - 1 for a, b in zip(r["per_round_us"], off["per_round_us"], strict=True)]
        shares.append((variant, off["variant"], statistics.median(poll), statistics.median(total)))
    return shares


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds, growth to 1,000 only")
    parser.add_argument("--rounds", type=int, help="rounds per row (default 8; 3 with --quick)")
    parser.add_argument("--only", default="compare,growth", help="compare, growth or both")
    parser.add_argument("--variants", help=f"comma-separated subset of {','.join(ALL_VARIANTS)}")
    parser.add_argument("--compare", help="model:count pairs, e.g. hs110:200,hs300:50")
    parser.add_argument("--growth-counts", help="HS110 counts for growth (200,1000,2000)")
    parser.add_argument("--cycles", type=int, default=31, help="polls per device in a long run")
    parser.add_argument("--device-side", default="auto", choices=("auto", "node", "python"))
    parser.add_argument("--client-nofile", type=int, default=1024, help="client soft limit")
    parser.add_argument("--out", type=Path, default=RESULTS / "compare.json")
    args = parser.parse_args(argv)
    rounds = args.rounds or (3 if args.quick else 8)

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    variants = tuple(args.variants.split(",")) if args.variants else DEFAULT_VARIANTS
    pythons: dict[str, Path] = {}
    for flavour in KASA_FLAVOURS:
        if flavour in variants:
            python = kasa_python(flavour, log)
            if python is not None:
                pythons[flavour] = python
    variants = tuple(v for v in variants if v in SAME_REQUESTS or v in pythons)
    pairs = COMPARE
    if args.compare:
        pairs = tuple((m, int(c)) for m, c in (p.split(":") for p in args.compare.split(",")))
    result: dict[str, Any] = {
        "benchmark": "compare",
        "unit": "client CPU (user + system) per device update / per request, medians of rounds",
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}",
        "kasa": {f: KASA_FLAVOURS[f] for f in pythons},
        "compare": [],
        "history_share": [],
        "growth": [],
    }
    only = set(args.only.split(","))
    if "compare" in only:
        for model, count in pairs:
            with start_devices(model, count, side=args.device_side) as devs:
                log(f"{count} x {model} ({devs.side} device side), {rounds} rounds")
                rows = measure(
                    devs, model, variants, rounds, args.cycles, pythons, args.client_nofile, log
                )
            print_rows(rows)
            result["compare"] += rows
            result["history_share"] += [
                {
                    "model": model,
                    "devices": count,
                    "variant": v,
                    "versus": off,
                    "poll_process": round(poll, 4),
                    "poll_and_writer": round(total, 4),
                }
                for v, off, poll, total in history_shares(rows)
            ]
    if "growth" in only:
        counts = GROWTH_COUNTS[:2] if args.quick else GROWTH_COUNTS
        if args.growth_counts:
            counts = tuple(int(c) for c in args.growth_counts.split(","))
        chosen = tuple(v for v in GROWTH_VARIANTS if v in variants) or GROWTH_VARIANTS
        for count in counts:
            with start_devices("hs110", count, side=args.device_side) as devs:
                log(f"growth: {count} x hs110, client soft limit {args.client_nofile}")
                rows = measure(
                    devs,
                    "hs110",
                    chosen,
                    max(2, rounds // 2),
                    args.cycles,
                    pythons,
                    args.client_nofile,
                    log,
                )
            print_rows(rows)
            result["growth"] += rows
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
