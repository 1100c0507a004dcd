"""The dashboard's controller, headless: no App, no Textual, real store and simulator."""

from __future__ import annotations

import ast
import asyncio
import inspect
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from test_tui_messages import KEY, PLUG, reading
from textual.cache import LRUCache
from textual.widgets import DataTable

import tplink_tui.tui.controller as controller_module
from tplink_tui.monitor import Monitor
from tplink_tui.simulator import Simulator
from tplink_tui.store.config import ConfigStore, SavedDevice
from tplink_tui.tui.controller import DashboardController
from tplink_tui.tui.sample import StillMonitor
from tplink_tui.tui.state import WHOLE_DEVICE
from tplink_tui.tui.widgets.device_table import TEXTUAL_INTERNALS


def test_the_controller_imports_no_textual() -> None:
    tree = ast.parse(Path(inspect.getfile(controller_module)).read_text())
    imported = [
        name
        for node in ast.walk(tree)
        for name in (
            [a.name for a in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else []
        )
    ]
    assert not [n for n in imported if n == "textual" or n.startswith("textual.")]


class Toasts:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def __call__(self, message: str, *, severity: str = "information", **_: Any) -> None:
        self.seen.append((message, severity))


def started(tmp_path: Path, devices: list[SavedDevice], monitor: Monitor) -> DashboardController:
    store = ConfigStore(tmp_path / "config.json")
    for device in devices:
        store.add_device(device)
    controller = DashboardController(store, monitor, store.load().devices)
    tasks: list[asyncio.Future[None]] = []

    def spawn(coroutine: Coroutine[Any, Any, None], group: str) -> None:
        tasks.append(asyncio.ensure_future(coroutine))

    controller.start(Toasts(), spawn)
    return controller


async def test_batches_coalesce_in_order_and_refill_yields_to_polls(tmp_path: Path) -> None:
    lamp = SavedDevice("Lamp", "127.0.0.1", 9905)
    controller = started(tmp_path, [PLUG, lamp], StillMonitor())
    assert controller.take_dirty() == (KEY, lamp.address)  # watched: new rows, in order
    assert controller.take_dirty() == ()
    for polls in range(1, 4):
        controller.on_snapshot(reading(float(polls), polls))
    controller.apply_refill(
        {(KEY, None): [(1.0, 9.0)], (lamp.address, None): [(1.0, 4.0), (3.0, 5.0)]}
    )
    assert controller.take_dirty() == (KEY, lamp.address)  # one batch, each key once
    assert list(controller.views[KEY].power) == [1.0, 2.0, 3.0]  # polls were newer
    assert list(controller.views[lamp.address].power) == [4.0, 5.0]  # empty: refilled
    controller.on_snapshot(reading(7.0, 4))  # after the batch was taken: the next one
    assert controller.take_dirty() == (KEY,)


async def test_switching_shows_the_wish_then_the_device(
    simulator: Simulator, tmp_path: Path
) -> None:
    plug = await simulator.add("hs110", "Fridge", on=True)
    saved = SavedDevice("Fridge", plug.host, plug.port)
    monitor = Monitor(interval=0.2, timeout=0.5)
    controller = started(tmp_path, [saved], monitor)
    monitor.start()
    try:
        view = controller.views[saved.address]
        for _ in range(100):
            if view.online:
                break
            await asyncio.sleep(0.05)
        controller.take_dirty()
        controller.set_switch(saved.address, WHOLE_DEVICE, False)
        assert view.shown_state() is False and view.pending  # at once, before any reply
        assert controller.take_dirty() == (saved.address,)
        for _ in range(100):
            if not plug.relay_on and not view.pending:
                break
            await asyncio.sleep(0.05)
        assert not plug.relay_on and not view.pending and view.is_on() is False
    finally:
        await controller.shutdown()


async def test_config_writes_run_in_order_off_the_event_loop(tmp_path: Path) -> None:
    controller = started(tmp_path, [PLUG], StillMonitor())
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.001)

    running = asyncio.ensure_future(ticker())
    await asyncio.gather(*(controller.save_settings(poll_interval=float(i)) for i in (3, 4, 5)))
    await controller.add_devices([SavedDevice("Lamp", "127.0.0.1", 9905)])
    running.cancel()
    saved = controller.store.load()
    assert saved.settings.poll_interval == 5.0  # the last one asked for wins
    assert saved.find("Lamp") is not None and "127.0.0.1:9905" in controller.views
    assert ticks > 0  # the loop went on while the files were written
    toasts = controller.notify
    assert isinstance(toasts, Toasts) and ("Added Lamp", "information") in toasts.seen


def test_device_table_relies_only_on_the_textual_internals_it_names() -> None:
    """DeviceTable overrides DataTable internals; a Textual release that changes them fails here.

    If this fails, read the docstring of tplink_tui/tui/widgets/device_table.py: the
    cell and row caches must be adapted to the new DataTable (or dropped) before
    upgrading, and benchmarks/bench_dashboard.py run again.
    """
    for method in ("_render_cell", "_render_line_in_row"):
        original = getattr(DataTable, method, None)
        assert callable(original), f"Textual's DataTable has no {method} any more"
        params = tuple(inspect.signature(original).parameters)[1:]
        assert params == TEXTUAL_INTERNALS[method], (
            f"DataTable.{method} now takes {params}, DeviceTable expects"
            f" {TEXTUAL_INTERNALS[method]}"
        )
    table: DataTable[Any] = DataTable()
    missing = [name for name in TEXTUAL_INTERNALS["attributes"] if not hasattr(table, name)]
    assert not missing, f"DataTable lost the private attributes DeviceTable reads: {missing}"
    for name in ("_cell_render_cache", "_row_render_cache", "_line_cache"):
        assert isinstance(getattr(table, name), LRUCache), f"DataTable.{name} is not an LRUCache"
    assert callable(getattr(table._row_locations, "get_key", None))
    assert callable(getattr(table._column_locations, "get_key", None))


async def test_back_online_only_after_went_offline(tmp_path: Path) -> None:
    """A first poll that failed at start (a slow machine) was never news, so its
    recovery says nothing; an outage that was announced is announced over too."""
    import dataclasses

    from tplink_tui.monitor import Status

    store = ConfigStore(tmp_path / "config.json")
    store.add_device(PLUG)
    controller = DashboardController(store, StillMonitor(), store.load().devices)
    toasts, tasks = Toasts(), []

    def spawn(coroutine: Coroutine[Any, Any, None], group: str) -> None:
        tasks.append(asyncio.ensure_future(coroutine))

    controller.start(toasts, spawn)
    good = reading(5.0, 1)
    down = dataclasses.replace(good, status=Status.OFFLINE, state=None, error="no reply")

    def poll(snapshot: object, polls: int, changed: bool) -> None:
        controller.on_snapshot(dataclasses.replace(snapshot, polls=polls, status_changed=changed))  # type: ignore[type-var]

    try:
        poll(down, 1, True)  # the very first poll failed: no note
        poll(good, 2, True)  # and its recovery is no news either
        assert [m for m, _ in toasts.seen if "online" in m] == []
        poll(down, 3, True)
        poll(down, 4, False)
        poll(good, 5, True)
        notes = [m for m, _ in toasts.seen]
        assert sum("went offline" in m for m in notes) == 1
        assert sum("is back online" in m for m in notes) == 1
    finally:
        for task in tasks:  # the reads the polls started end here, not in the GC
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await controller.shutdown()
