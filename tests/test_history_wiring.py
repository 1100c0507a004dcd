"""Readings reach the history from both pollers, and a restart refills the sparklines."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from tplink_tui.cli.main import main
from tplink_tui.monitor import Monitor
from tplink_tui.simulator import Simulator
from tplink_tui.store.config import ConfigStore, SavedDevice
from tplink_tui.store.history import HistoryStore, default_history_path
from tplink_tui.tui.app import TplinkApp


def test_watch_records_history(sim_thread: Any, capsys: Any) -> None:
    strip = sim_thread.add("hs300", "Office")
    key = f"{strip.host}:{strip.port}"
    # 0.45 s apart: every reading is stored (the recorder thins readings under 0.4 s apart)
    assert main(["watch", key, "--count", "3", "--interval", "0.45", "--json"]) == 0
    with HistoryStore(default_history_path()) as store:
        series = store.series()
        rows = list(store.export(device=key))
    assert (key, None) in series and (key, 5) in series  # the strip total and each outlet
    assert len([r for r in rows if r.outlet is None]) == 3
    assert len([r for r in rows if r.outlet == 0]) == 3


def test_watch_no_history(sim_thread: Any, capsys: Any) -> None:
    plug = sim_thread.add("hs110", "Fridge")
    key = f"{plug.host}:{plug.port}"
    assert main(["watch", key, "--count", "1", "--no-history"]) == 0
    assert not default_history_path().exists()


def test_watch_with_a_broken_history_still_runs(sim_thread: Any, capsys: Any) -> None:
    plug = sim_thread.add("hs110", "Fridge")
    path = default_history_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"this is not a database" * 100)
    before = path.read_bytes()
    assert main(["watch", f"{plug.host}:{plug.port}", "--count", "1"]) == 0
    err = capsys.readouterr().err
    assert "history is off" in err and str(path) in err
    assert path.read_bytes() == before  # never overwritten


async def test_dashboard_records_and_refills_after_restart(
    simulator: Simulator, tmp_path: Path
) -> None:
    plug = await simulator.add("kp115", "Desk")
    key = f"{plug.host}:{plug.port}"
    store = ConfigStore(tmp_path / "config.json")
    store.add_device(SavedDevice("Desk", plug.host, plug.port))

    # Polls 0.45 s apart are all stored (the recorder keeps readings >= 0.4 s apart).
    app = TplinkApp(store, monitor=Monitor(interval=0.45, timeout=0.5))
    async with app.run_test() as pilot:
        deadline = time.monotonic() + 8
        while len(app.views[key].power) < 3 and time.monotonic() < deadline:
            await pilot.pause(0.05)
        seen = list(app.views[key].power)
        await pilot.press("q")
    assert len(seen) >= 3

    plug.set_offline(True)  # the second run gets no readings: only history can fill it
    again = TplinkApp(ConfigStore(tmp_path / "config.json"), monitor=Monitor(interval=5))
    async with again.run_test() as pilot:
        deadline = time.monotonic() + 5
        while not again.views[key].power and time.monotonic() < deadline:
            await pilot.pause(0.05)
        refilled = list(again.views[key].power)
        await pilot.press("q")
    assert len(refilled) >= len(seen)
    assert refilled[-1] == seen[-1] or abs(refilled[-1] - seen[-1]) < 1e-6
    assert os.path.exists(default_history_path())
