"""The recorder keeps a device's readings at least MIN_SPACING apart, over real TCP."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

from tplink_tui.monitor import Monitor, Snapshot, Status
from tplink_tui.recorder import MIN_SPACING, HistoryRecorder, start_recording
from tplink_tui.simulator import Simulator
from tplink_tui.store.history import HistoryStore


async def test_flat_out_polling_is_stored_at_most_every_min_spacing(
    simulator: Simulator, tmp_path: Path
) -> None:
    strip = await simulator.add("hs300", "Office")
    plug = await simulator.add("hs110", "Fridge")
    path = tmp_path / "history.sqlite3"
    monitor = Monitor(interval=0.01, timeout=2.0)
    polled: dict[str, list[float]] = {}

    def seen(snap: Snapshot) -> None:
        if snap.fresh and snap.state is not None:
            polled.setdefault(snap.key, []).append(snap.state.timestamp)

    monitor.subscribe(seen)
    recorder, problem = start_recording(monitor, path=path)
    assert recorder is not None and problem is None
    keys = []
    for dev in (strip, plug):
        keys.append(f"{dev.host}:{dev.port}")
        monitor.add(keys[-1], dev.host, dev.port)
    monitor.start()
    await asyncio.sleep(1.5)
    await monitor.stop()
    recorder.close()
    with HistoryStore(path) as store:
        for key in keys:
            rows = list(store.export(device=key))
            for outlet in {r.outlet for r in rows}:
                stamps = [r.ts for r in rows if r.outlet == outlet]
                # the first reading, then one each MIN_SPACING: at most 4 in 1.5 s
                assert 2 <= len(stamps) <= 4, (key, outlet, stamps)
                assert all(b - a >= MIN_SPACING - 0.002 for a, b in itertools.pairwise(stamps))
                # what is stored is readings as taken (ms precision), not a mean
                taken = {round(t, 3) for t in polled[key]}
                assert {round(t, 3) for t in stamps} <= taken
            assert len(polled[key]) >= 10  # many more were taken than stored
    assert {r.outlet for r in rows} == {None}  # the plug: one series


class _Rows:
    """A writer that only remembers what it was given."""

    def __init__(self) -> None:
        self.rows: list[tuple[object, ...]] = []

    def add(self, *row: object) -> bool:
        self.rows.append(row)
        return True


def _reading(state: object) -> Snapshot:
    return Snapshot("dev", "127.0.0.1", 9999, Status.ONLINE, state, fresh=True)  # type: ignore[arg-type]


def test_a_clock_set_back_is_stored_at_once_and_spacing_zero_keeps_all() -> None:
    class State:
        def __init__(self, ts: float) -> None:
            self.timestamp, self.outlet_energy = ts, None
            self.energy = type("E", (), {"power_w": 1.0, "voltage_v": None,
                                         "current_a": None, "total_kwh": None})()  # fmt: skip

    thinned, every = _Rows(), _Rows()
    recorders = HistoryRecorder(thinned), HistoryRecorder(every, min_spacing=0.0)  # type: ignore[arg-type]
    for ts in (100.0, 100.1, 100.5, 50.0, 50.2, 51.0):
        for recorder in recorders:
            recorder(_reading(State(ts)))
    assert [row[2] for row in thinned.rows] == [100.0, 100.5, 50.0, 51.0]
    assert [row[2] for row in every.rows] == [100.0, 100.1, 100.5, 50.0, 50.2, 51.0]
