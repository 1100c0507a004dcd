"""History store benchmark: 200 devices x 1 h at 1 Hz (720,000 readings).

Measures what issue 6 asks for (database size and insert cost) plus the prune and
query costs, and projects a year at the default retention. Prints a table and
writes benchmarks/results/history.json.

    .venv/bin/python benchmarks/bench_history.py [--devices 200] [--seconds 3600]
        [--writer process|thread]

``--writer process`` (the default, what the front ends use): the CPU of this
process (the caller's appends, the sender and reader threads) and of the writer
process (its own count, from ``writer_cpu``) per row, apart. ``thread``: the
thread writer, whose SQLite work is in this process's CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tplink_tui.store.history import HistoryStore, HistoryWriter, Retention
from tplink_tui.store.history_process import HistoryProcessWriter

RESULTS = Path(__file__).resolve().parent / "results" / "history.json"


def _file_bytes(path: Path) -> int:
    """Main file after a full checkpoint (the WAL is folded in and truncated)."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return path.stat().st_size


def run(devices: int, seconds: int, batch_size: int, process: bool) -> dict[str, object]:
    rng = random.Random(1)
    folder = Path(tempfile.mkdtemp(prefix="bench-history-"))
    path = folder / "history.sqlite3"
    start = 1_700_000_000.0
    keys = [f"127.0.{i // 250}.{i % 250 + 1}:9999" for i in range(devices)]  # only names here
    base = [rng.uniform(5, 2000) for _ in keys]
    counters = [rng.uniform(0, 500) for _ in keys]
    rows = devices * (seconds + 0)

    writer: HistoryWriter | HistoryProcessWriter
    if process:
        writer = HistoryProcessWriter(path, batch_size=batch_size, max_queue=rows + 1)
    else:
        writer = HistoryWriter(path, batch_size=batch_size, max_queue=rows + 1)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    add_time = 0.0
    for s in range(seconds):
        ts = start + s
        t = time.perf_counter()
        for d, key in enumerate(keys):
            power = base[d] * (0.9 + 0.2 * rng.random())
            counters[d] += power / 3.6e6
            writer.add(key, None, ts, power, 230.0 + rng.random(), power / 230.0, counters[d])
        add_time += time.perf_counter() - t
    writer.close(timeout=None)
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    assert writer.committed == rows, (writer.committed, rows)
    child_cpu = getattr(writer, "writer_cpu", None) or 0.0
    raw_bytes = _file_bytes(path)

    with HistoryStore(path) as store:
        t = time.perf_counter()
        store.energy_kwh(keys[0], None, start, start + seconds)
        energy_ms = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        store.counter_energy_kwh(keys[0], None, start, start + seconds)
        counter_ms = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        points = len(store.recent(keys[0], None, start + seconds - 3600))
        recent_ms = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        for key in keys:
            store.recent(key, None, start + seconds - 3600)
        recent_all_ms = (time.perf_counter() - t) * 1000
        # Pretend 48 h have passed: the whole hour becomes 1-minute means.
        stats = store.prune(now=start + seconds + Retention().raw + 60)
        counts = store.counts()
    minute_bytes = _file_bytes(path)
    conn = sqlite3.connect(path)
    conn.execute("VACUUM")
    conn.close()
    minute_vacuumed = path.stat().st_size

    raw_per_row = raw_bytes / rows
    minute_rows = counts["minute"]
    minute_per_row = minute_vacuumed / max(1, minute_rows)
    year = _project(devices, raw_per_row, minute_per_row)
    result: dict[str, object] = {
        "devices": devices,
        "seconds": seconds,
        "rows": rows,
        "batch_size": batch_size,
        "writer": "process" if process else "thread",
        "insert_wall_s": round(wall, 3),
        "insert_rows_per_s": round(rows / wall),
        "insert_us_per_row_wall": round(wall / rows * 1e6, 2),
        "insert_us_per_row_cpu": round(cpu / rows * 1e6, 2),
        "writer_process_us_per_row_cpu": round(child_cpu / rows * 1e6, 2),
        "add_us_per_call": round(add_time / rows * 1e6, 3),
        "live_cpu_percent_at_1hz": round(devices * (cpu + child_cpu) / rows * 100, 2),
        "db_bytes_raw": raw_bytes,
        "db_bytes_per_raw_row": round(raw_per_row, 1),
        "prune_s": round(stats.seconds, 3),
        "minute_rows": minute_rows,
        "db_bytes_after_prune": minute_bytes,
        "db_bytes_after_prune_vacuum": minute_vacuumed,
        "db_bytes_per_minute_row": round(minute_per_row, 1),
        "query_energy_1h_ms": round(energy_ms, 2),
        "query_counter_1h_ms": round(counter_ms, 2),
        "query_recent_1h_ms": round(recent_ms, 2),
        "query_recent_1h_points": points,
        "query_recent_1h_all_devices_ms": round(recent_all_ms, 1),
        "projected_year_bytes": year,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
    }
    for p in folder.iterdir():
        p.unlink()
    folder.rmdir()
    return result


COMPACT = Retention(raw=24 * 3600, minute=14 * 86400)


def _project(devices: int, raw_row: float, bucket_row: float) -> dict[str, float]:
    """Steady-state size after a year: default retention (raw 48 h, minutes 90 d), and
    a compact one (raw 24 h, minutes 14 d) for comparison; per poll interval."""
    out: dict[str, float] = {}
    for label, r in (("default", Retention()), ("compact", COMPACT)):
        minute_rows = devices * (r.minute - r.raw) / 60
        hour_rows = devices * (365 * 86400 - r.minute) / 3600
        for interval in (1.0, 2.0):
            raw_rows = devices * r.raw / interval
            total = raw_rows * raw_row + (minute_rows + hour_rows) * bucket_row
            out[f"{label}_poll_{interval:g}s"] = round(total)
    return out


def _table(result: dict[str, object]) -> str:
    year = result["projected_year_bytes"]
    assert isinstance(year, dict)
    raw, pruned = result["db_bytes_raw"], result["db_bytes_after_prune_vacuum"]
    assert isinstance(raw, int) and isinstance(pruned, int)
    mb = 1e6
    lines = [
        ("readings", f"{result['rows']:,} ({result['devices']} devices x {result['seconds']} s)"),
        (f"insert (writer {result['writer']})", f"{result['insert_wall_s']} s wall,"
         f" {result['insert_rows_per_s']:,} rows/s"),
        ("insert cost per row", f"{result['insert_us_per_row_wall']} us wall,"
         f" {result['insert_us_per_row_cpu']} us CPU here,"
         f" {result['writer_process_us_per_row_cpu']} us CPU in the writer process"),
        ("add() per call", f"{result['add_us_per_call']} us (caller side)"),
        ("live load at 1 Hz", f"{result['live_cpu_percent_at_1hz']} % of one CPU"),
        ("database size, raw", f"{raw / mb:.1f} MB"
         f" ({result['db_bytes_per_raw_row']} B/row)"),
        ("prune raw -> minute", f"{result['prune_s']} s -> {result['minute_rows']:,} rows,"
         f" {pruned / mb:.2f} MB after VACUUM"),
        ("energy_kwh / counter, 1 h", f"{result['query_energy_1h_ms']} ms /"
         f" {result['query_counter_1h_ms']} ms"),
        ("recent 1 h (1 / all)", f"{result['query_recent_1h_ms']} ms /"
         f" {result['query_recent_1h_all_devices_ms']} ms"),
        ("year, 48 h raw + 90 d min", f"{year['default_poll_1s'] / mb:,.0f} MB at 1 Hz,"
         f" {year['default_poll_2s'] / mb:,.0f} MB at 0.5 Hz"),
        ("year, 24 h raw + 14 d min", f"{year['compact_poll_1s'] / mb:,.0f} MB at 1 Hz,"
         f" {year['compact_poll_2s'] / mb:,.0f} MB at 0.5 Hz"),
    ]  # fmt: skip
    width = max(len(k) for k, _ in lines)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=3600)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--writer", choices=("process", "thread"), default="process")
    args = parser.parse_args()
    result = run(args.devices, args.seconds, args.batch_size, args.writer == "process")
    print(_table(result))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
