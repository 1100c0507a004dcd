"""Instructions per device update and per start-up, counted by callgrind: the noise-free view.

    .venv/bin/python benchmarks/bench_instructions.py [--counts 200,1000] [--cycles 11]
        [--variants bare,watch,monitor] [--no-startup] [--out results/instructions.json]

On this shared machine CPU times of one build move 10 to 50 % between runs (see
``bench_compare.py``), which hides whether the work per request grows with the
number of devices. ``valgrind --tool=callgrind`` counts the instructions a program
runs: the same count for the same program and input, whatever else the machine
does. It counts user space only (the kernel's socket work, a good part of the CPU
time per request, is not in it) and no cache misses, so it answers "does our code
do more per request at 1,000 devices?", not "does it take longer?".

- growth: the clients of ``bench_compare.py`` (same commands, same Node device side)
  run under callgrind with 1 and ``--cycles`` polls per device; instructions per
  update = (long run - short run) / ((cycles - 1) x devices), after one unmeasured run
  that fills a private bytecode cache. History on, its writer process not traced
  (it is another program; bench_compare counts its CPU).
- start-up: ``tplink-tui --help``, ``info HOST`` (one Node HS110, an empty HOME so
  the config folder is looked up as on a user's machine), the bare asyncio ``info``
  of ``bench_startup.py``, ``python -c pass`` and ``import asyncio``, each run once
  to fill a private bytecode cache, then counted.

Slow: callgrind runs a program ~50x slower (about 10 min for the defaults).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.bench_compare import GROWTH_VARIANTS, command  # noqa: E402
from benchmarks.bench_startup import BARE_INFO, SCRIPT, user_home  # noqa: E402
from benchmarks.devices import start_devices  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
_COLLECTED = re.compile(r"Collected : (\d+)")


def instructions(cmd: list[str], env: dict[str, str]) -> int:
    """Instructions ``cmd`` runs to its end (its child processes not traced)."""
    run = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *cmd],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    found = _COLLECTED.search(run.stderr)
    if run.returncode != 0 or found is None:
        raise RuntimeError(f"{cmd[:3]}: exit {run.returncode}: {run.stderr[-400:]}")
    return int(found.group(1))


def child_env(home: str) -> dict[str, str]:
    env = user_home(dict(os.environ), home)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as a user's install: from bytecode caches
    env["PYTHONPYCACHEPREFIX"] = f"{home}/pycache"
    return env


def growth(counts: list[int], variants: list[str], cycles: int) -> list[dict[str, Any]]:
    rows = []
    for n in counts:
        with start_devices("hs110", n, side="node") as devs, tempfile.TemporaryDirectory() as home:
            targets = Path(home) / "targets.json"
            targets.write_text(json.dumps(devs.targets))
            hosts = [f"{h}:{p}" for h, p in devs.targets]
            env = child_env(home)
            for variant in variants:
                # Once unmeasured: it fills the private bytecode cache (a first run compiles).
                first = command(variant, "hs110", targets, hosts, 1, {})
                subprocess.run(first, env=env, capture_output=True, cwd=ROOT, check=True)
                counted = {}
                for polls in (1, cycles):
                    cmd = command(variant, "hs110", targets, hosts, polls, {})
                    counted[polls] = instructions(cmd, env)
                per_update = (counted[cycles] - counted[1]) / ((cycles - 1) * n)
                rows.append({"devices": n, "variant": variant, "per_update": round(per_update)})
                print(f"{n:>6} hs110 {variant:>8}: {per_update:10,.0f} instructions per update")
    return rows


def startup() -> list[dict[str, Any]]:
    with start_devices("hs110", 1, side="node") as devs, tempfile.TemporaryDirectory() as home:
        host, port = devs.targets[0]
        address = f"{host}:{port}"
        env = child_env(home)
        cases = {
            "tplink-tui --help": [str(SCRIPT), "--help"],
            "tplink-tui info HOST": [str(SCRIPT), "info", address],
            "bare asyncio info (floor of a client)": [sys.executable, "-c", BARE_INFO, address],
            'python -c "import asyncio"': [sys.executable, "-c", "import asyncio"],
            'python -c "pass" (interpreter alone)': [sys.executable, "-c", "pass"],
        }
        rows = []
        for what, cmd in cases.items():
            subprocess.run(cmd, env=env, capture_output=True, cwd=ROOT, check=True)  # the cache
            count = instructions(cmd, env)
            rows.append({"what": what, "instructions": count})
            print(f"{what:<40} {count / 1e6:8.1f} M instructions")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="200,1000", help="HS110 counts for growth")
    parser.add_argument("--variants", default=",".join(GROWTH_VARIANTS))
    parser.add_argument("--cycles", type=int, default=11, help="polls per device, long run")
    parser.add_argument("--no-startup", dest="startup", action="store_false")
    parser.add_argument("--out", type=Path, default=RESULTS / "instructions.json")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian: apt-get install valgrind)", file=sys.stderr)
        return 2
    result: dict[str, Any] = {"benchmark": "instructions", "unit": "callgrind Ir"}
    if args.startup:
        result["startup"] = startup()
    counts = [int(c) for c in args.counts.split(",") if c]
    result["growth"] = growth(counts, args.variants.split(","), args.cycles)
    first = {r["variant"]: r["per_update"] for r in result["growth"] if r["devices"] == counts[0]}
    for row in result["growth"]:
        row["growth"] = round(row["per_update"] / first[row["variant"]] - 1, 4)
    for row in result["growth"]:
        if row["devices"] != counts[0]:
            print(f"{row['variant']:>8}: {counts[0]} -> {row['devices']}: {row['growth']:+.1%}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
