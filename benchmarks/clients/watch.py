"""``tplink-tui watch`` as the benchmark runs it, with the CPU split reported at the end.

    python benchmarks/clients/watch.py [--writer process|thread|every] WATCH-ARGUMENTS...

Runs the real command line (``tplink_tui.cli.main.main``) in this process, then
writes one JSON line to stderr with this process's CPU and that of its reaped
children (the history writer process), so the benchmark can show both.
``--writer thread`` makes ``watch`` record on the thread writer, ``--writer every``
store every reading (no 0.4 s spacing), for comparison.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.clients.monitor import WRITER_OPTIONS, cpu_split  # noqa: E402


def run(argv: list[str]) -> int:
    if argv[:1] == ["--writer"]:
        options = WRITER_OPTIONS[argv[1]]
        if options:
            from tplink_tui.cli import watch
            from tplink_tui.recorder import start_recording

            watch.start_recording = functools.partial(start_recording, **options)  # type: ignore[assignment]
        argv = argv[2:]
    from tplink_tui.cli.main import main

    try:
        code = main(["watch", *argv])
    finally:
        sys.stdout.flush()
        os.write(2, (json.dumps(cpu_split()) + "\n").encode())
    return code


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
