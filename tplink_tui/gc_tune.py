"""Keep the garbage collector's full passes rare and short (once per process)."""

from __future__ import annotations

import gc

GC_SETTLE_SECONDS = 2.0
GC_YOUNG_EVERY = 10_000  # allocations between young collections (Python's default: 700)
GC_FULL_EVERY = 100  # young collections between full ones (Python's default is 10)
_gc_tuned = False


def tune_gc() -> None:
    """Freeze what is alive once the app has settled; full passes a tenth as often.

    Every poll result lives about one interval, long enough to be promoted to the
    oldest generation, so with 200 devices the default thresholds walk the whole heap
    every ~5 s: a 120-150 ms stall each time, felt as key press latency. Objects
    alive once the app has settled (widgets, styles, Textual itself) are frozen out
    of those walks, and full passes happen a tenth as often. Young collections come
    every 10,000 allocations instead of 700: with 1,000 devices a poll's objects (its
    coroutines, futures, reply) live through a whole cycle of the others' polls, so at
    700 they were walked again and again and promoted before dying (callgrind, 1,000
    HS110 in the monitor: 332 k instructions per update at 700, 316 k at 10,000; 200
    devices: 307 k and 296 k).
    """
    global _gc_tuned
    if _gc_tuned:
        return
    _gc_tuned = True
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(max(young, GC_YOUNG_EVERY), middle, GC_FULL_EVERY)
