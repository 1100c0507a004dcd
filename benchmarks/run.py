"""Run the benchmarks, print one summary table and write benchmarks/results/*.json.

    .venv/bin/python -m benchmarks.run [--quick] [--only poll,codec,dashboard,startup,history]
        [--targets FILE] [--duration SECONDS]

Each benchmark runs in its own process (so one's memory or monkeypatching never
shows in another's figures) and writes its own JSON; this script then writes
results/summary.md (every result file present, checked against the targets of
issue 7; each section says when it was measured) and results/summary.json.
--quick: smaller N, fewer cycles and runs, a 30 s dashboard run instead of 10
minutes: a sanity check in about a minute and a half, not a measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "benchmarks"
RESULTS = HERE / "results"
ORDER = ("codec", "poll", "compare", "startup", "history", "bridge", "dashboard", "instructions")
DEFAULT = ORDER[:-1]  # instructions (callgrind, ~10 min) only when asked for with --only

TARGET_CPU_PER_REQUEST_MS = 0.25
TARGET_CYCLE_200_HS300_MS = 1000.0
TARGET_KEY_P95_MS = 50.0
TARGET_FIRST_FRAME_MS = 600.0
TARGET_RSS_MB = 150.0
# issue 17: ratios to the bare client the benchmark contains, and start-up
TARGET_RATIO = {"HS110": 1.5, "HS300": 1.3}
TARGET_GROWTH = 0.10
TARGET_HISTORY_SHARE = 0.10
TARGET_INFO_MS = 90.0
TARGET_HELP_MS = 80.0
# issue 15: the bridge at 200 HS110 polled every second
TARGET_BRIDGE_P95_MS = 20.0
TARGET_MQTT_CPU_SHARE = 0.25


def commands(args: argparse.Namespace) -> dict[str, list[str]]:
    py = [sys.executable]
    quick = args.quick
    poll = [*py, str(HERE / "bench_poll.py"), "--out", str(RESULTS / "poll.json")]
    if quick:
        poll.append("--quick")
    if args.targets:
        poll += ["--targets", str(args.targets)]
    dashboard = [*py, str(HERE / "bench_dashboard.py"), "--out", str(RESULTS / "dashboard.json")]
    if quick:
        dashboard += ["--quick", "--samples", "30"]
    else:
        dashboard += ["--samples", "100"]
    if args.duration is not None:
        dashboard += ["--duration", str(args.duration)]
    return {
        "codec": [*py, str(HERE / "bench_codec.py"), "--out", str(RESULTS / "codec.json")]
        + (["--repeats", "3"] if quick else []),
        "poll": poll,
        "startup": [
            *py,
            str(HERE / "bench_startup.py"),
            *("--out", str(RESULTS / "startup.json"), "--runs", "5" if quick else "9"),
        ],
        "history": [*py, str(HERE / "bench_history.py")] + (["--seconds", "300"] if quick else []),
        "compare": [*py, str(HERE / "bench_compare.py"), "--out", str(RESULTS / "compare.json")]
        + (["--quick"] if quick else []),
        "bridge": [*py, str(HERE / "bench_bridge.py"), "--out", str(RESULTS / "bridge.json")]
        + (["--quick"] if quick else []),
        "dashboard": dashboard,
        "instructions": [*py, str(HERE / "bench_instructions.py")]
        + (["--counts", "50,250", "--cycles", "6"] if quick else []),
    }


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {mem_kib / 1024**2:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        mem = ""
    try:
        from importlib.metadata import version

        textual = f", Textual {version('textual')}"
    except Exception:  # not installed: the dashboard rows are missing anyway
        textual = ""
    return (
        f"{cpu}, {os.cpu_count()} CPUs{mem}, {platform.system()} {platform.release()},"
        f" Python {platform.python_version()}{textual}"
    )


def load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def verdict(ok: bool) -> str:
    return "yes" if ok else "**no**"


def when(name: str) -> str:
    """When a result file was written (sections may come from different runs)."""
    try:
        return time.strftime(
            "%Y-%m-%d %H:%M", time.localtime((RESULTS / f"{name}.json").stat().st_mtime)
        )
    except OSError:
        return "?"


def compare_section(
    compare: dict[str, Any],
    out: Callable[[str], None],
    targets: list[tuple[str, str, str]],
) -> None:
    """The side-by-side table (bare client, watch, monitor, python-kasa) and its targets."""
    rows = compare["compare"]
    out(f"### Client CPU side by side ({when('compare')})\n")
    out(
        "Every client a separate program on the same device-side process, every device"
        " polled flat out; CPU (user + system, threads included) per device update,"
        " median of interleaved rounds; x bare = ratio to the bare asyncio client.\n"
    )
    out("| devices | client | µs CPU / update | µs / request | x bare |")
    out("|---|---|---:|---:|---:|")
    for r in rows:
        req = f"{r['us_per_request']:.0f}" if r["us_per_request"] is not None else "-"
        out(
            f"| {r['devices']} x {r['model'].upper()} | {LABELS.get(r['variant'], r['variant'])} |"
            f" {r['us_per_update']:.0f} | {req} | {r['ratio_to_bare']:.2f} |"
        )
    out("")
    for r in rows:
        family = r["model"].upper()
        if r["variant"] in ("watch", "monitor") and family in TARGET_RATIO:
            limit = TARGET_RATIO[family]
            targets.append(
                (
                    f"{LABELS[r['variant']]}, {r['devices']} {family}: ≤ {limit}x bare",
                    f"{r['ratio_to_bare']:.2f}x",
                    verdict(r["ratio_to_bare"] <= limit),
                )
            )
    by = {(r["model"], r["devices"], r["variant"]): r for r in rows}
    for (model, n, variant), r in by.items():
        base = by.get((model, n, f"{variant}-nohist"))
        if base and variant in ("watch", "monitor"):
            share = r["us_per_update"] / base["us_per_update"] - 1
            wall = r["wall_ms_per_cycle"] / base["wall_ms_per_cycle"] - 1
            targets.append(
                (
                    f"history's share, {LABELS[variant]}, {n} {model.upper()} ≤ 10 %",
                    f"CPU {share * 100:+.0f} %, cycle wall time {wall * 100:+.0f} %",
                    verdict(share <= TARGET_HISTORY_SHARE),
                )
            )
    growth = compare.get("growth") or []
    if growth:
        out("Growth (HS110, client soft open-files limit 1024 at start):\n")
        out("| devices | client | µs CPU / update | x bare | wall ms / cycle | problems |")
        out("|---:|---|---:|---:|---:|---|")
        for r in growth:
            problems = "; ".join(r["problems"]) or "none"
            out(
                f"| {r['devices']} | {LABELS.get(r['variant'], r['variant'])} |"
                f" {r['us_per_update']:.0f} | {r['ratio_to_bare']:.2f} |"
                f" {r['wall_ms_per_cycle']:.0f} | {problems[:80]} |"
            )
        out("")
        g = {(r["devices"], r["variant"]): r for r in growth}

        def rise(variant: str) -> float | None:
            small, big = g.get((200, variant)), g.get((1000, variant))
            if not (small and big):
                return None
            return float(big["us_per_update"] / small["us_per_update"] - 1)

        bare_rise = rise("bare")
        for variant in ("watch", "monitor"):
            grown = rise(variant)
            if grown is not None:
                bare_note = "" if bare_rise is None else f" (the bare client {bare_rise:+.0%})"
                targets.append(
                    (
                        f"{LABELS[variant]}: CPU per request at 1,000 within 10 % of 200",
                        f"{grown:+.0%}{bare_note}",
                        verdict(grown <= TARGET_GROWTH),
                    )
                )
        for r in growth:
            if r["devices"] >= 2000 and r["variant"] != "bare":
                targets.append(
                    (
                        f"{LABELS[r['variant']]}: {r['devices']} devices, no 'too many open files'",
                        "none" if not r["problems"] else r["problems"][0][:60],
                        verdict(not r["problems"]),
                    )
                )


LABELS = {
    "bare": "bare asyncio client",
    "watch": "`watch --json` (history on)",
    "watch-nohist": "`watch --json --no-history`",
    "watch-every": "`watch --json`, history storing every reading",
    "monitor": "Monitor + history (the dashboard's poll path)",
    "monitor-nohist": "Monitor, no history",
    "monitor-every": "Monitor + history storing every reading",
    "kasa-speedups": "python-kasa 0.12 + kasa-crypt + orjson",
    "kasa-pure": "python-kasa 0.12, pure Python",
}


def summarize(started: float, argv: list[str]) -> str:
    """The summary of every result file present (this run's and earlier ones)."""
    lines: list[str] = []
    targets: list[tuple[str, str, str]] = []
    out = lines.append

    poll = load("poll")
    if poll:
        out(f"### Poll engine (simulator in a separate process; {when('poll')})\n")
        out("One cycle = every device updated once, concurrently; medians over the cycles.\n")
        out("| model | devices | requests/cycle | wall ms | client CPU ms | CPU/request ms |")
        out("|---|---:|---:|---:|---:|---:|")
        for r in poll["rows"]:
            out(
                f"| {r['model']} | {r['devices']} | {r['requests_per_cycle']:.0f} |"
                f" {r['wall_ms']:.1f} | {r['client_cpu_ms']:.1f} |"
                f" {r['client_cpu_per_request_ms']:.3f} |"
            )
        out("")
        for family in ("HS110", "HS300"):
            rows = [r for r in poll["rows"] if str(r["model"]).startswith(family)]
            if rows:
                worst = max(rows, key=lambda r: r["client_cpu_per_request_ms"])
                targets.append(
                    (
                        f"client CPU per request ≤ {TARGET_CPU_PER_REQUEST_MS} ms ({family})",
                        f"{worst['client_cpu_per_request_ms']:.3f} ms"
                        f" (worst row: N = {worst['devices']})",
                        verdict(worst["client_cpu_per_request_ms"] <= TARGET_CPU_PER_REQUEST_MS),
                    )
                )
        big = [
            r for r in poll["rows"] if str(r["model"]).startswith("HS300") and r["devices"] == 200
        ]
        if big:
            wall = big[0]["wall_ms"]
            targets.append(
                (
                    "full cycle, 200 HS300 strips (1,400 requests) < 1 s",
                    f"{wall:.0f} ms",
                    verdict(wall < TARGET_CYCLE_200_HS300_MS),
                )
            )

    compare = load("compare")
    if compare:
        compare_section(compare, out, targets)

    codec = load("codec")
    if codec:
        out(f"### Codec (MB/s, 10^6 bytes per second; {when('codec')})\n")
        out("| payload | encrypt | decrypt |")
        out("|---|---:|---:|")
        for r in codec["rows"]:
            out(f"| {r['payload']} | {r['encrypt_mb_s']:.0f} | {r['decrypt_mb_s']:.0f} |")
        out("")

    dash = load("dashboard")
    if dash:
        r = dash["rows"][0]
        out(
            f"### Dashboard ({r['devices']} x {r['model']} polled at 1 Hz, headless 120x36,"
            f" {r['duration_s']:.0f} s; {when('dashboard')})\n"
        )
        out("| measure | value |")
        out("|---|---:|")
        out(f"| requests/s handled | {r['requests_per_s']:.0f} |")
        out(f"| CPU of the dashboard process | {r['cpu_percent']:.0f}% of one core |")
        out(
            f"| apply one poll cycle (redraw of dirty rows, per second) p50 / p95 |"
            f" {r['cycle_apply_ms_p50']:.1f} / {r['cycle_apply_ms_p95']:.1f} ms |"
        )
        out(
            f"| one coalesced redraw (every 0.2 s) p50 / p95 |"
            f" {r['redraw_ms_p50']:.1f} / {r['redraw_ms_p95']:.1f} ms |"
        )
        out(f"| frames drawn | {r['fps']:.1f}/s |")
        out(f"| frame time p50 / p95 | {r['frame_ms_p50']:.1f} / {r['frame_ms_p95']:.1f} ms |")
        out(
            f"| key press → request written p50 / p95 ({r['latency_samples']} presses) |"
            f" {r['latency_ms_p50']:.1f} / {r['latency_ms_p95']:.1f} ms |"
        )
        out(
            f"| resident memory at the end (peak) | {r['rss_mb']:.0f} MB"
            f" ({r['rss_peak_mb']:.0f} MB) |"
        )
        out("")
        targets.append(
            (
                f"key press → request written p95 < {TARGET_KEY_P95_MS:.0f} ms",
                f"{r['latency_ms_p95']:.1f} ms",
                verdict(r["latency_ms_p95"] < TARGET_KEY_P95_MS),
            )
        )
        targets.append(
            (
                f"resident memory < {TARGET_RSS_MB:.0f} MB (after {r['duration_s'] / 60:.1f} min)",
                f"{r['rss_mb']:.0f} MB",
                verdict(r["rss_mb"] < TARGET_RSS_MB),
            )
        )

    startup = load("startup")
    if startup:
        out(f"### Start-up (median of runs; {when('startup')})\n")
        out("| what | median ms | min ms |")
        out("|---|---:|---:|")
        for r in startup["rows"]:
            out(f"| {r['what']} | {r['median_ms']:.0f} | {r['min_ms']:.0f} |")
        out("")
        by_what = {r["what"]: r for r in startup["rows"]}
        first = by_what.get("tplink-tui --demo: spawn -> first frame")
        if first:
            targets.append(
                (
                    f"first frame of --demo < {TARGET_FIRST_FRAME_MS / 1000:g} s",
                    f"{first['median_ms']:.0f} ms",
                    verdict(first["median_ms"] < TARGET_FIRST_FRAME_MS),
                )
            )
        for what, limit in (
            ("tplink-tui info HOST", TARGET_INFO_MS),
            ("tplink-tui --help", TARGET_HELP_MS),
        ):
            row = by_what.get(what)
            if row:
                targets.append(
                    (
                        f"`{what}` ≤ {limit:.0f} ms (warm)",
                        f"{row['median_ms']:.0f} ms (min {row['min_ms']:.0f})",
                        verdict(row["median_ms"] <= limit),
                    )
                )

    counted = load("instructions")
    if counted:
        out(f"### Instructions, callgrind ({when('instructions')}; no noise, user space only)\n")
        out("| what | instructions | growth from the first count |")
        out("|---|---:|---:|")
        for r in counted.get("startup", []):
            out(f"| {r['what']} | {r['instructions'] / 1e6:.1f} M | |")
        for r in counted.get("growth", []):
            out(
                f"| {r['devices']} HS110, {r['variant']}, per update | {r['per_update']:,}"
                f" | {r['growth']:+.1%} |"
            )
            if r["devices"] == 1000 and r["variant"] != "bare":
                targets.append(
                    (
                        f"{LABELS[r['variant']]}: instructions per update at 1,000 within 10 %",
                        f"{r['growth']:+.1%}",
                        verdict(r["growth"] <= TARGET_GROWTH),
                    )
                )
        out("")

    history = load("history")
    if history:
        out(
            f"### History store ({history['devices']} devices x {history['seconds']} s;"
            f" {when('history')})\n"
        )
        out(
            f"Insert {history['insert_rows_per_s']:,} rows/s"
            f" ({history['insert_us_per_row_cpu']} µs CPU per row),"
            f" {history['db_bytes_per_raw_row']} bytes per raw row;"
            f" live recording at 1 Hz costs {history['live_cpu_percent_at_1hz']}% of a core.\n"
        )

    bridge = load("bridge")
    if bridge:
        bridge_section(bridge, out, targets)

    head = [
        "## Performance\n",
        f"Measured on {machine()}. Last run: `{' '.join(['python -m benchmarks.run', *argv])}`"
        f" ({(time.time() - started) / 60:.0f} min); each section says when it was measured.\n",
    ]
    if targets:
        head += ["| target | measured | met |", "|---|---:|:---:|"]
        head += [f"| {a} | {b} | {c} |" for a, b, c in targets]
        head.append("")
    return "\n".join(head + lines)


def bridge_section(
    bridge: dict[str, Any], out: Callable[[str], None], targets: list[tuple[str, str, str]]
) -> None:
    """The bridge's read latency per route and what MQTT costs (bench_bridge.py)."""
    out(
        f"### Bridge ({bridge['devices']} {bridge['model'].upper()} polled every"
        f" {bridge['interval_s']:g} s; {when('bridge')})\n"
    )
    out("| route | p50 ms | p95 ms | p99 ms | bytes |")
    out("|---|---:|---:|---:|---:|")
    for key, label in (
        ("api_devices", "GET /api/devices"),
        ("api_devices_cold", "GET /api/devices, 1.1 s apart"),
        ("metrics", "GET /metrics"),
        ("metrics_cold", "GET /metrics, 1.1 s apart"),
    ):
        r = bridge.get(key)
        if r:
            out(f"| {label} | {r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} | {r['bytes']:,} |")
    mqtt = bridge.get("mqtt") or {}
    out(
        f"\nHTTP only: {bridge['http_only_cpu_share']:.1%} of a core; with MQTT"
        f" ({mqtt.get('messages_per_s', 0):.0f} messages/s):"
        f" {bridge['with_mqtt_cpu_share']:.1%}, MQTT's own share"
        f" {bridge['mqtt_cpu_share']:.1%}.\n"
    )
    for key, label in (("api_devices", "/api/devices"), ("metrics", "/metrics")):
        r = bridge.get(key)
        if r:
            targets.append(
                (
                    f"bridge `{label}` p95 < {TARGET_BRIDGE_P95_MS:.0f} ms",
                    f"{r['p95_ms']} ms",
                    verdict(r["p95_ms"] < TARGET_BRIDGE_P95_MS),
                )
            )
    targets.append(
        (
            f"bridge MQTT < {TARGET_MQTT_CPU_SHARE:.0%} of a core",
            f"{bridge['mqtt_cpu_share']:.1%}",
            verdict(bridge["mqtt_cpu_share"] < TARGET_MQTT_CPU_SHARE),
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a fast sanity run (~3 min)")
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(ORDER)}")
    parser.add_argument("--targets", type=Path, help='poll devices from a JSON list of "host:port"')
    parser.add_argument("--duration", type=float, help="dashboard run in seconds (default 600)")
    args = parser.parse_args(argv)
    chosen = DEFAULT if not args.only else tuple(n.strip() for n in args.only.split(","))
    unknown = [n for n in chosen if n not in ORDER]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(ORDER)}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    started = time.time()
    cmds = commands(args)
    ran, failed = [], []
    for name in (n for n in ORDER if n in chosen):
        print(f"\n=== {name} ===", flush=True)
        code = subprocess.call(cmds[name], cwd=ROOT)
        (ran if code == 0 else failed).append(name)
        if code:
            print(f"{name}: exited with {code}", file=sys.stderr)
    summary = summarize(started, sys.argv[1:] if argv is None else argv)
    (RESULTS / "summary.md").write_text(summary + "\n")
    (RESULTS / "summary.json").write_text(
        json.dumps({"ran": ran, "failed": failed, "machine": machine()}, indent=2) + "\n"
    )
    print("\n" + summary)
    print(f"written to {RESULTS / 'summary.md'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
