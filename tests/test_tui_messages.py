"""State reaches the widgets in messages, and config writes never hold up a key press."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import pytest
from test_tui_app import SIZE, wait_for
from textual.widgets import Input

from tplink_tui.devices.models import DeviceState, parse_realtime, parse_sysinfo
from tplink_tui.monitor import Snapshot, Status
from tplink_tui.store.config import ConfigStore, SavedDevice
from tplink_tui.tui.app import TplinkApp
from tplink_tui.tui.messages import DevicesChanged, HistoryRefilled
from tplink_tui.tui.sample import StillMonitor
from tplink_tui.tui.widgets.power_chart import PowerChart

PLUG = SavedDevice("Desk", "127.0.0.1", 9902)
KEY = PLUG.address
SYSINFO = {
    "alias": "Desk",
    "model": "KP115(US)",
    "type": "IOT.SMARTPLUGSWITCH",
    "mac": "50:C7:BF:00:00:02",
    "deviceId": "80065A1B2C3D4E5F60718293A4B5C6D7E8F90002",
    "relay_state": 1,
    "feature": "TIM:ENE",
}


def reading(watts: float, polls: int) -> Snapshot:
    info = parse_sysinfo(SYSINFO)
    energy = parse_realtime({"power": watts, "voltage": 120.0, "current": 0.1, "total": 1.0})
    now = time.time()
    state = DeviceState(info, energy, {}, now)
    return Snapshot(
        KEY, PLUG.host, PLUG.port, Status.ONLINE, state, last_seen=now, polls=polls, fresh=True
    )


def still_app(tmp_path: Path, devices: list[SavedDevice]) -> TplinkApp:
    """The real app on a monitor that never polls: the test feeds every snapshot."""
    store = ConfigStore(tmp_path / "config.json")
    for device in devices:
        store.add_device(device)
    return TplinkApp(store, monitor=StillMonitor(), history=False)


def power_cell(app: TplinkApp) -> str:
    return app.table.get_row(KEY)[3].plain


def points(*watts: float) -> list[tuple[float, float]]:
    """A refill: (ts, W) points a few seconds apart, ending just now."""
    now = time.time()
    return [(now - 2.0 * (len(watts) - i), w) for i, w in enumerate(watts)]


def charted(app: TplinkApp) -> list[float]:
    """The watts the detail pane's chart draws (its one series)."""
    chart = app.detail.query_one("#power-chart", PowerChart).chart
    return [w for points in (chart.series.values() if chart else ()) for _, w in points]


async def test_a_poll_batch_during_the_history_refill_loses_no_redraw(tmp_path: Path) -> None:
    app = still_app(tmp_path, [PLUG])
    async with app.run_test(size=SIZE) as pilot:
        app.select_device(KEY)
        await wait_for(pilot, lambda: app.detail.device_key == KEY)
        # Interleaved, in one step of the event loop (nothing is handled in between):
        # a poll, the flush timer's batch for it, the refill thread's result for the
        # same device, then a newer poll.
        app.controller.on_snapshot(reading(10.0, 1))
        app.flush()  # posts DevicesChanged for the first poll
        app.post_message(HistoryRefilled({(KEY, None): points(1.0, 2.0, 3.0)}))
        app.controller.on_snapshot(reading(20.0, 2))
        await wait_for(pilot, lambda: power_cell(app) == "20.0 W")
        await pilot.pause(0.3)  # the flush timer has run again since
        assert power_cell(app) == "20.0 W"  # the newest poll, not the one batched first
        view = app.views[KEY]
        assert list(view.power) == [10.0, 20.0]  # polls came first: the refill yields
        assert charted(app) == [10.0, 20.0]
        assert "20.0 W" in str(app.detail.query_one("#power-label").render())


async def test_a_refill_before_the_first_poll_is_drawn_with_it(tmp_path: Path) -> None:
    app = still_app(tmp_path, [PLUG])
    async with app.run_test(size=SIZE) as pilot:
        app.select_device(KEY)
        await wait_for(pilot, lambda: app.detail.device_key == KEY)
        app.post_message(HistoryRefilled({(KEY, None): points(1.0, 2.0, 3.0)}))
        await pilot.pause()
        app.controller.on_snapshot(reading(30.0, 1))
        await wait_for(pilot, lambda: charted(app) == [1.0, 2.0, 3.0, 30.0])
        assert power_cell(app) == "30.0 W"


async def test_one_message_per_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = still_app(tmp_path, [PLUG, SavedDevice("Lamp", "127.0.0.1", 9905)])
    batches: list[tuple[str, ...]] = []
    async with app.run_test(size=SIZE) as pilot:
        original = app.show_changes

        def record(keys: Iterable[str]) -> None:
            batches.append(tuple(keys))
            original(keys)

        monkeypatch.setattr(app, "show_changes", record)
        for polls in range(1, 6):  # five polls of one device, one of the other
            app.controller.on_snapshot(reading(float(polls), polls))
        app.controller.mark("127.0.0.1:9905")
        await wait_for(pilot, lambda: bool(batches))
        await pilot.pause(0.05)
        assert batches[0] == (KEY, "127.0.0.1:9905")  # coalesced, in order
        assert power_cell(app) == "5.0 W"
        assert isinstance(DevicesChanged(batches[0]).keys, tuple)


HOLDER = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
"""


async def test_keys_are_answered_while_another_process_holds_the_config_lock(
    tmp_path: Path,
) -> None:
    store = ConfigStore(tmp_path / "config.json")
    store.add_device(PLUG)
    app = TplinkApp(store, monitor=StillMonitor(), history=False)
    async with app.run_test(size=SIZE) as pilot:
        before = store.load().settings.poll_interval
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(store.lock_path), "3"],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
            held_since = time.monotonic()
            await pilot.press("minus")  # poll slower: a settings write, now waiting
            slower = app.monitor.interval
            assert slower != before
            await pilot.press("a")  # and add a device: a second write, queued behind it
            await wait_for(pilot, lambda: isinstance(app.focused, Input))
            box = app.focused
            assert isinstance(box, Input)
            box.value = "127.0.0.1:9907"
            await pilot.press("enter")
            answered = []
            handled: list[float] = []
            next_sort = app.controller.next_sort

            def stamped() -> str:  # when the sort key was handled
                handled.append(time.time())
                return next_sort()

            app.controller.next_sort = stamped  # type: ignore[method-assign]
            while time.monotonic() - held_since < 2.5:
                sort = app.controller.sort
                pressed = time.time()
                await pilot.press("s")
                assert app.controller.sort != sort  # handled, not just queued
                answered.append(handled[-1] - pressed)
                await pilot.pause(0.1)
            # Still waiting for the lock: nothing written yet, yet every key was handled.
            assert store.load().settings.poll_interval == before
            assert "127.0.0.1:9907" not in app.views
            slowest = max(answered)
            assert len(answered) >= 3
            assert slowest < 0.1, f"a key took {slowest * 1e3:.0f} ms during the lock wait"
        finally:
            holder.wait(timeout=10)
        # The lock is free: both writes complete, in the order they were asked for.
        await wait_for(pilot, lambda: store.load().settings.poll_interval == slower)
        await wait_for(pilot, lambda: "127.0.0.1:9907" in app.views)
        assert store.load().find("127.0.0.1:9907") is not None
        assert time.monotonic() - held_since >= 3.0
