"""Feed the monitor's readings into the history database, off the caller's path.

The monitor calls the recorder for every snapshot; the recorder only queues rows
(the ``HistoryWriter`` commits them in batches on its own thread), so polling
and the dashboard never wait on SQLite. A strip gets one row per metered outlet
plus one whole-device row with the summed power, so totals need no joins.
"""

from __future__ import annotations

from pathlib import Path

from .monitor import Monitor, Snapshot
from .store.history import HistoryUnavailable, HistoryWriter


class HistoryRecorder:
    """A monitor subscriber that queues every fresh reading for the history."""

    def __init__(self, writer: HistoryWriter) -> None:
        self.writer = writer

    def __call__(self, snapshot: Snapshot) -> None:
        state = snapshot.state
        if not snapshot.fresh or state is None:
            return
        add, key, ts = self.writer.add, snapshot.key, state.timestamp
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
    monitor: Monitor, *, enabled: bool = True, path: Path | str | None = None
) -> tuple[HistoryRecorder | None, str | None]:
    """Subscribe a recorder to ``monitor``; (None, reason) when history is off or broken."""
    if not enabled:
        return None, None
    try:
        writer = HistoryWriter(path)
    except HistoryUnavailable as exc:
        return None, f"history is off: {exc}"
    recorder = HistoryRecorder(writer)
    monitor.subscribe(recorder)
    return recorder, None
