"""Feed the monitor's readings into the history database, off the caller's path.

The monitor calls the recorder for every snapshot; the recorder only queues rows
(``HistoryProcessWriter`` sends them in batches to a writer process, so the SQLite
work never takes the poll loop's GIL), so polling and the dashboard never wait
on SQLite. A strip gets one row per metered outlet plus one whole-device row with
the summed power, so totals need no joins.

A device's readings are kept at least ``MIN_SPACING`` seconds apart: polling at 2 Hz
or slower is stored whole, while ``watch -i 0.01`` (20 and more polls a second per
device) is thinned to about two rows a second instead of filling the disk with
samples no chart or energy sum can tell apart.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from .monitor import Monitor, Snapshot
from .store.history import HistoryUnavailable, HistoryWriter
from .store.history_process import HistoryProcessWriter

log = logging.getLogger(__name__)

MIN_SPACING = 0.4
"""Seconds between two stored readings of a device (2 Hz polls with jitter all pass)."""


class HistoryRecorder:
    """A monitor subscriber that queues every fresh reading for the history."""

    def __init__(
        self, writer: HistoryProcessWriter | HistoryWriter, min_spacing: float = MIN_SPACING
    ) -> None:
        self.writer = writer
        self.min_spacing = min_spacing
        self._stored: dict[str, float] = {}  # device key -> timestamp of its last stored row

    def __call__(self, snapshot: Snapshot) -> None:
        state = snapshot.state
        if not snapshot.fresh or state is None:
            return
        key, ts = snapshot.key, state.timestamp
        last = self._stored.get(key)
        if last is not None and 0.0 <= ts - last < self.min_spacing:
            return  # too soon after the last stored one (a clock set back stores at once)
        self._stored[key] = ts
        add = self.writer.add
        energy = state.energy
        if energy is not None:
            add(key, None, ts, energy.power_w, energy.voltage_v, energy.current_a, energy.total_kwh)
            return
        if not state.outlet_energy:
            return
        power = current = total = 0.0
        voltage = None
        for index, reading in state.outlet_energy.items():
            add(
                key,
                index,
                ts,
                reading.power_w,
                reading.voltage_v,
                reading.current_a,
                reading.total_kwh,
            )
            power += reading.power_w or 0.0
            current += reading.current_a or 0.0
            total += reading.total_kwh or 0.0
            voltage = voltage or reading.voltage_v
        add(key, None, ts, power, voltage, current, total)

    def close(self) -> None:
        self.writer.close()


def start_recording(
    monitor: Monitor,
    *,
    enabled: bool = True,
    path: Path | str | None = None,
    process: bool = True,
    on_problem: Callable[[str], None] | None = None,
    min_spacing: float = MIN_SPACING,
) -> tuple[HistoryRecorder | None, str | None]:
    """Subscribe a recorder to ``monitor``; (None, reason) when history is off or broken.

    The writer is a process (``process=False``: a thread, as the benchmarks compare);
    if a process cannot be started (no memory, no processes left), a thread in this
    process does the same work. ``on_problem`` hears each distinct later problem
    once (the writer process died, a batch could not be written), from a writer
    thread: a front end hands it to its own loop. ``min_spacing``: seconds between
    two stored readings of one device (0 stores every reading).
    """
    if not enabled:
        return None, None
    writer: HistoryProcessWriter | HistoryWriter
    try:
        try:
            if not process:
                raise OSError("a thread was asked for")
            writer = HistoryProcessWriter(path)
        except OSError as exc:
            log.info("history writer process not started (%s); writing on a thread", exc)
            writer = HistoryWriter(path)
    except HistoryUnavailable as exc:
        return None, f"history is off: {exc}"
    if on_problem is not None:
        writer.on_error = _once(on_problem)
    recorder = HistoryRecorder(writer, min_spacing)
    monitor.subscribe(recorder)
    return recorder, None


def _once(tell: Callable[[str], None]) -> Callable[[HistoryUnavailable], None]:
    """``tell`` each distinct message once: a broken disk fails every batch alike."""
    said: set[str] = set()

    def on_error(exc: HistoryUnavailable) -> None:
        text = str(exc)
        if text not in said and len(said) < 100:
            said.add(text)
            tell(text)

    return on_error
