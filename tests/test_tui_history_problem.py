"""A history writer that dies while the dashboard runs is told once, as a toast.

The writer is a child process; killing it must not stop polling or freeze the
screen, and the user learns that readings are no longer recorded.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from tplink_tui.monitor import Monitor
from tplink_tui.simulator import Simulator
from tplink_tui.store.config import ConfigStore, SavedDevice
from tplink_tui.tui.app import TplinkApp


async def test_a_dead_writer_is_told_once_and_polling_goes_on(
    simulator: Simulator, tmp_path: Path
) -> None:
    plug = await simulator.add("hs110", "Desk")
    key = f"{plug.host}:{plug.port}"
    store = ConfigStore(tmp_path / "config.json")
    store.add_device(SavedDevice("Desk", plug.host, plug.port))
    app = TplinkApp(store, monitor=Monitor(interval=0.1, timeout=0.5))
    async with app.run_test() as pilot:
        deadline = time.monotonic() + 10
        while app.controller.recorder is None and time.monotonic() < deadline:
            await pilot.pause(0.05)
        recorder = app.controller.recorder
        assert recorder is not None
        pid = getattr(recorder.writer, "pid", None)
        assert pid, "the dashboard records through the writer process"
        os.kill(pid, signal.SIGKILL)

        def warnings() -> list[str]:
            return [str(n.message) for n in app._notifications if "history" in str(n.message)]

        deadline = time.monotonic() + 15
        while not warnings() and time.monotonic() < deadline:
            await pilot.pause(0.1)
        assert len(warnings()) == 1, warnings()
        polls = app.monitor.snapshot(key).polls
        await pilot.pause(1.0)
        assert app.monitor.snapshot(key).polls > polls  # still polling
        assert len(warnings()) == 1  # told once, not per batch
        await pilot.press("q")
