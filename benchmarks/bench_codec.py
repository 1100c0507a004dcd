"""Codec throughput: encrypt and decrypt in MB/s for 100 B, 2 kB and 70 kB payloads.

    .venv/bin/python benchmarks/bench_codec.py [--repeats 7] [--out benchmarks/results/codec.json]

Each figure is the median over ``--repeats`` timeit runs (each run long enough to
take ~0.1 s). The same payloads go through a naive per-byte Python loop (the
cipher exactly as DESIGN.md states it) and the speed-up is reported as a ratio.
MB here is 10^6 bytes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tplink_tui import codec  # noqa: E402

SIZES = [("100 B", 100), ("2 kB", 2_000), ("70 kB", 70_000)]


def naive_encrypt(plaintext: bytes) -> bytes:
    key, out = 171, bytearray()
    for byte in plaintext:
        key ^= byte
        out.append(key)
    return bytes(out)


def naive_decrypt(ciphertext: bytes) -> bytes:
    key, out = 171, bytearray()
    for byte in ciphertext:
        out.append(byte ^ key)
        key = byte
    return bytes(out)


def payload(size: int) -> bytes:
    """JSON-like bytes of the given size (what the cipher really carries)."""
    unit = b'{"system":{"get_sysinfo":{"alias":"Kitchen \xe2\x98\x95","relay_state":1}}},'
    return (unit * (size // len(unit) + 1))[:size]


def throughput(function: object, data: bytes, repeats: int) -> float:
    """Median MB/s of ``function(data)`` over ``repeats`` timeit runs."""
    timer = timeit.Timer(lambda: function(data))  # type: ignore[operator]
    number, _ = timer.autorange()  # enough calls for ~0.2 s
    number = max(1, number // 2)
    times = timer.repeat(repeat=repeats, number=number)
    per_call = statistics.median(times) / number
    return len(data) / per_call / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "codec.json")
    args = parser.parse_args(argv)

    rows = []
    for label, size in SIZES:
        data = payload(size)
        cipher = codec.encrypt(data)
        assert naive_encrypt(data) == cipher and naive_decrypt(cipher) == data
        assert codec.decrypt(cipher) == data
        row = {
            "payload": label,
            "bytes": size,
            "encrypt_mb_s": throughput(codec.encrypt, data, args.repeats),
            "decrypt_mb_s": throughput(codec.decrypt, cipher, args.repeats),
            "naive_encrypt_mb_s": throughput(naive_encrypt, data, args.repeats),
            "naive_decrypt_mb_s": throughput(naive_decrypt, cipher, args.repeats),
        }
        row["encrypt_speedup"] = row["encrypt_mb_s"] / row["naive_encrypt_mb_s"]
        row["decrypt_speedup"] = row["decrypt_mb_s"] / row["naive_decrypt_mb_s"]
        rows.append(row)

    header = (
        f"{'payload':>8} | {'encrypt MB/s':>12} {'naive':>7} {'ratio':>6} |"
        f" {'decrypt MB/s':>12} {'naive':>7} {'ratio':>6}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['payload']:>8} | {r['encrypt_mb_s']:12.1f} {r['naive_encrypt_mb_s']:7.1f}"
            f" {r['encrypt_speedup']:5.1f}x | {r['decrypt_mb_s']:12.1f}"
            f" {r['naive_decrypt_mb_s']:7.1f} {r['decrypt_speedup']:5.1f}x"
        )

    result = {
        "benchmark": "codec",
        "unit": "MB/s (10^6 bytes per second), median of repeats",
        "repeats": args.repeats,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}",
        "rows": [
            {k: round(v, 2) if isinstance(v, float) else v for k, v in r.items()} for r in rows
        ],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
