"""Start-up: process start to the first frame of ``tplink-tui --demo``, and import times.

    .venv/bin/python benchmarks/bench_startup.py [--runs 7] [--out benchmarks/results/startup.json]

- first frame: ``tplink-tui --demo`` (the installed console script, unmodified) is
  started under a pseudo-terminal of 120x36 (TERM=xterm-256color), so Textual runs
  its real terminal driver. The clock starts just before the process is spawned and
  stops when the pty output first contains the header title ("tplink-tui"), i.e.
  the first frame has been written to the terminal. Then "q" quits the demo.
- ``python -c "import tplink_tui.tui.app"``, ``tplink-tui --help`` and
  ``tplink-tui info HOST`` (one simulated HS110 in another process, see
  ``devices.py``; an empty HOME and no TPLINK_TUI_CONFIG, so the config folder is
  found as on a user's machine): wall time from spawn to exit, like hyperfine. ``--cli-only``
  measures just these command-line rows (targets: --help <= 80 ms, info <= 90 ms).
- two floors in the same run: ``python -c "pass"`` (the interpreter and site), and
  a bare asyncio ``info`` (``BARE_INFO`` below: import asyncio, one request, print
  the alias), the least any asyncio client can spend. Rows also give the CPU time
  (user + system) of the child, less disturbed by other load than wall time.

Every figure is the median of ``--runs`` runs (the command-line rows interleaved,
round after round), after one unmeasured warm-up run
(so the OS file cache is warm, as it is for a user starting the app twice). The
children import from bytecode caches, as on a user's install: they run with a
private PYTHONPYCACHEPREFIX (a temporary folder the warm-up fills) and without
PYTHONDONTWRITEBYTECODE. One extra row shows the first frame with no cache for the
project's own modules (PYTHONDONTWRITEBYTECODE=1 on an editable install, as in a
sandbox that forbids .pyc files: every start compiles them).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import platform
import pty
import resource
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results"
BIN = Path(sys.executable).parent
SCRIPT = BIN / "tplink-tui"
FIRST_FRAME_MARK = b"tplink-tui"
ALT_SCREEN = b"\x1b[?1049h"


def child_env(cache: Path | None) -> dict[str, str]:
    """The environment of a measured child: with a bytecode cache folder, or none."""
    env = dict(os.environ)
    env.pop("TEXTUAL", None)
    if cache is None:
        env.pop("PYTHONPYCACHEPREFIX", None)
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    else:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


def first_frame(env: dict[str, str], timeout: float = 20.0) -> float:
    """Seconds from spawn to the first frame of ``tplink-tui --demo`` on a pty."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 36, 120, 0, 0))
    env = {**env, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "36"}
    start = time.perf_counter()
    proc = subprocess.Popen(
        [str(SCRIPT), "--demo"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=ROOT,
        start_new_session=True,
    )
    os.close(slave)
    output = b""
    elapsed = None
    deadline = start + timeout
    try:
        while time.perf_counter() < deadline:
            ready, _, _ = select.select([master], [], [], 0.05)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            output += chunk
            screen = output.partition(ALT_SCREEN)[2]
            if FIRST_FRAME_MARK in screen:
                elapsed = time.perf_counter() - start
                break
        if elapsed is None:
            raise RuntimeError(f"no first frame within {timeout:g} s: {output[-300:]!r}")
        os.write(master, b"q")
        end = time.monotonic() + 5
        while proc.poll() is None and time.monotonic() < end:
            if select.select([master], [], [], 0.05)[0]:
                try:
                    os.read(master, 65536)
                except OSError:
                    break
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        os.close(master)
    return elapsed


BARE_INFO = """
import asyncio, json, struct, sys
from itertools import accumulate
from operator import xor

def encrypt(data):
    return bytes(accumulate(data, xor, initial=171))[1:]

def decrypt(data):
    return bytes(c ^ k for c, k in zip(data, (171, *data)))

async def info(host, port):
    reader, writer = await asyncio.open_connection(host, port)
    body = encrypt(b'{"system":{"get_sysinfo":{}},"emeter":{"get_realtime":{}}}')
    writer.write(struct.pack(">I", len(body)) + body)
    size = struct.unpack(">I", await reader.readexactly(4))[0]
    reply = json.loads(decrypt(await reader.readexactly(size)))
    writer.close()
    return reply

host, _, port = sys.argv[1].rpartition(":")
print(asyncio.run(info(host, int(port)))["system"]["get_sysinfo"]["alias"])
"""
"""The floor of an asyncio client: what ``info`` would cost with no project code."""

_cpu: list[float] = []  # CPU seconds of the last command_time child, for measure()


def command_time(cmd: list[str], env: dict[str, str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, cwd=ROOT, env=env
    )
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    _cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return elapsed


def measure(label: str, function: object, runs: int) -> dict[str, object]:
    function()  # type: ignore[operator]  # warm-up, not counted
    _cpu.clear()
    times = [function() for _ in range(runs)]  # type: ignore[operator]
    row = {
        "what": label,
        "runs": runs,
        "median_ms": statistics.median(times) * 1e3,
        "min_ms": min(times) * 1e3,
        "max_ms": max(times) * 1e3,
    }
    if len(_cpu) == runs:
        row["cpu_median_ms"] = statistics.median(_cpu) * 1e3
    print(
        f"{label:<44} median {row['median_ms']:7.1f} ms   min {row['min_ms']:7.1f}"
        f"   max {row['max_ms']:7.1f}"
        + (f"   cpu {row['cpu_median_ms']:6.1f}" if "cpu_median_ms" in row else ""),
        flush=True,
    )
    return row


def interleaved(
    commands: list[tuple[str, list[str]]], env: dict[str, str], runs: int
) -> list[dict[str, object]]:
    """Each command once as a warm-up, then ``runs`` rounds of all of them in turn:
    other load on the machine then falls on every row alike (the rows are compared)."""
    for _, cmd in commands:
        command_time(cmd, env)
    walls: dict[str, list[float]] = {label: [] for label, _ in commands}
    cpus: dict[str, list[float]] = {label: [] for label, _ in commands}
    for _ in range(runs):
        for label, cmd in commands:
            walls[label].append(command_time(cmd, env))
            cpus[label].append(_cpu[-1])
    rows = []
    for label, _ in commands:
        times, cpu = walls[label], cpus[label]
        row = {
            "what": label,
            "runs": runs,
            "median_ms": statistics.median(times) * 1e3,
            "min_ms": min(times) * 1e3,
            "max_ms": max(times) * 1e3,
            "cpu_median_ms": statistics.median(cpu) * 1e3,
        }
        print(
            f"{label:<44} median {row['median_ms']:7.1f} ms   min {row['min_ms']:7.1f}"
            f"   max {row['max_ms']:7.1f}   cpu {row['cpu_median_ms']:6.1f}",
            flush=True,
        )
        rows.append(row)
    return rows


def user_home(env: dict[str, str], home: str) -> dict[str, str]:
    """``env`` as on a user's machine: the config folder found from an empty HOME (no
    TPLINK_TUI_CONFIG or XDG_CONFIG_HOME), the history in ``home`` too."""
    env = {**env, "HOME": home, "TPLINK_TUI_DATA_DIR": home}
    for name in ("TPLINK_TUI_CONFIG", "TPLINK_TUI_CREDENTIALS", "XDG_CONFIG_HOME"):
        env.pop(name, None)
    return env


def cli_rows(env: dict[str, str], runs: int) -> list[dict[str, object]]:
    """--help, and info against one device served by another process, interleaved."""
    from benchmarks.devices import start_devices

    with start_devices("hs110", 1) as devs, tempfile.TemporaryDirectory() as home:
        host, port = devs.targets[0]
        env = user_home(env, home)
        info = [str(SCRIPT), "info", f"{host}:{port}"]
        return interleaved(
            [
                ("tplink-tui --help", [str(SCRIPT), "--help"]),
                ("tplink-tui info HOST", info),
                ("tplink-tui info --json HOST", [*info, "--json"]),
                ('python -c "pass" (interpreter alone)', [sys.executable, "-c", "pass"]),
                (
                    "bare asyncio info (floor of a client)",
                    [sys.executable, "-c", BARE_INFO, f"{host}:{port}"],
                ),
            ],
            env,
            runs,
        )


def run(runs: int = 7, cli_only: bool = False) -> dict[str, object]:
    python = sys.executable
    if cli_only:
        with tempfile.TemporaryDirectory(prefix="bench-startup-pyc-") as folder:
            rows = cli_rows(child_env(Path(folder)), runs)
        return result(rows)
    with tempfile.TemporaryDirectory(prefix="bench-startup-pyc-") as folder:
        env = child_env(Path(folder))
        rows = [
            measure("tplink-tui --demo: spawn -> first frame", lambda: first_frame(env), runs),
            measure(
                'python -c "import tplink_tui.tui.app"',
                lambda: command_time([python, "-c", "import tplink_tui.tui.app"], env),
                runs,
            ),
        ]
        rows += cli_rows(env, runs)
    no_cache = child_env(None)
    rows.append(
        measure(
            "first frame, project modules without .pyc",
            lambda: first_frame(no_cache),
            runs,
        )
    )
    return result(rows)


def result(rows: list[dict[str, object]]) -> dict[str, object]:
    return {
        "benchmark": "startup",
        "method": __doc__,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}",
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "rows": [
            {k: round(v, 2) if isinstance(v, float) else v for k, v in r.items()} for r in rows
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--cli-only", action="store_true", help="only --help and info rows")
    parser.add_argument("--out", type=Path, default=RESULTS / "startup.json")
    args = parser.parse_args(argv)
    data = run(args.runs, args.cli_only)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=2) + "\n")
    print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
