"""The collector's tuning for long-running front ends (dashboard, bridge, watch)."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import gc, json
from tplink_tui.gc_tune import GC_FULL_EVERY, GC_YOUNG_EVERY, tune_gc
before = gc.get_threshold()
tune_gc()
tuned = gc.get_threshold()
frozen = gc.get_freeze_count()
tune_gc()  # once per process: a second call changes nothing
print(json.dumps({"before": before, "tuned": tuned, "again": gc.get_threshold(),
                  "frozen": frozen, "young": GC_YOUNG_EVERY, "full": GC_FULL_EVERY}))
"""


def test_tuning_freezes_the_settled_heap_and_spaces_the_collections() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    found = json.loads(out)
    assert found["before"] == [700, 10, 10]  # Python's defaults in a fresh process
    assert found["tuned"] == [found["young"], 10, found["full"]]
    assert found["again"] == found["tuned"]
    assert found["frozen"] > 1000  # the interpreter and the imports, out of every pass
