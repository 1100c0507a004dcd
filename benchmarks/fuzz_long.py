"""The long fuzz run (outside CI): 100,000+ inputs through the same checks as tests/test_fuzz.py.

    .venv/bin/python benchmarks/fuzz_long.py               # 100,000 inputs
    .venv/bin/python benchmarks/fuzz_long.py --inputs 500000 --seed 7

Targets: codec round trips (bytes and text), the frame reader fed arbitrary byte
streams in arbitrary segments (through a real ``Connection`` on an in-memory
stream), and the reply parsers and the device client fed arbitrary JSON and
arbitrary reply bytes. Only ``TplinkError`` subclasses may escape; anything else
fails the run, and Hypothesis prints the shrunk input. No network is used.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import test_fuzz  # noqa: E402
from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

# (name, strategy, check, share of the inputs, the check's counter in test_fuzz.CALLS)
TARGETS = [
    ("codec bytes", st.binary(max_size=4096), test_fuzz.check_round_trip, 0.20, "codec"),
    ("codec text", st.text(max_size=300), test_fuzz.check_text_round_trip, 0.05, "codec"),
    (
        "frame reader",
        test_fuzz.segmented(),
        lambda case: test_fuzz.check_frame_reader(*case),
        0.35,
        "frame reader",
    ),
    ("parsers", test_fuzz.replies, test_fuzz.check_parsers, 0.30, "parsers"),
    ("client bytes", st.binary(max_size=300), test_fuzz.check_client_bytes, 0.10, "parsers"),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=100_000, help="total inputs (default 100k)")
    parser.add_argument("--seed", type=int, default=None, help="Hypothesis seed (reproducible)")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here as JSON")
    args = parser.parse_args(argv)

    results = []
    failed = False
    overall = time.perf_counter()
    for name, strategy, check, share, key in TARGETS:
        examples = max(1, round(args.inputs * share))
        config = settings(
            max_examples=examples,
            deadline=None,
            database=None,
            phases=[Phase.generate, Phase.shrink],
            suppress_health_check=list(HealthCheck),
        )
        runner = config(given(strategy)(check))
        if args.seed is not None:
            runner = seed(args.seed)(runner)
        before = test_fuzz.CALLS[key]
        start = time.perf_counter()
        status = "ok"
        try:
            runner()
        except Exception as exc:  # a failure: Hypothesis has printed the falsifying input
            failed = True
            traceback.print_exc()
            status = f"FAILED: {type(exc).__name__}: {exc}"
        elapsed = time.perf_counter() - start
        count = test_fuzz.CALLS[key] - before
        results.append({"target": name, "inputs": count, "seconds": round(elapsed, 1)})
        print(f"{name:<14} {count:>8,} inputs  {elapsed:7.1f} s  {status}", flush=True)
    total = sum(r["inputs"] for r in results)
    seconds = time.perf_counter() - overall
    print(f"{'total':<14} {total:>8,} inputs  {seconds:7.1f} s  {'FAILED' if failed else 'ok'}")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        summary = {"total_inputs": total, "seconds": round(seconds, 1), "failed": failed}
        args.json.write_text(json.dumps({**summary, "targets": results}, indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
