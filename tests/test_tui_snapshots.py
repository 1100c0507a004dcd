"""SVG snapshots of the main views, on the fixed sample home (plain ``def`` tests).

Home, a six-outlet strip and the energy view at the three sizes people open
it at (80x24, 120x36, 200x50): every visible cell should carry information.
The sample's list is sorted by name: Desk, Fridge, Heater (offline), Lamp,
Media, Office strip (the last row, ``end``).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tplink_tui.store.config import ConfigStore
from tplink_tui.tui.sample import SampleApp
from tplink_tui.tui.widgets.cached_plot import CachedPlot

SIZE = (120, 36)
SIZES = [(80, 24), (120, 36), (200, 50)]
STRIP = ["end"]
ENERGY = ["end", "e"]  # the strip's energy view: the whole strip, its outlets added up


def sample(tmp_path: Path) -> SampleApp:
    return SampleApp(ConfigStore(tmp_path / "config.json"))


def steps(*keys: str) -> Callable[[Any], Awaitable[None]]:
    """Press the keys, then wait until every chart on screen is drawn (it builds on a thread)."""

    async def run(pilot: Any) -> None:
        await pilot.pause(0.3)
        for key in keys:
            await pilot.press(key)
            await pilot.pause(0.2)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            plots = list(pilot.app.screen.query(CachedPlot))
            if pilot.app.screen is not pilot.app.screen_stack[0]:
                plots += list(pilot.app.screen_stack[0].query(CachedPlot))
            if all(settled(p) for p in plots):
                break
            await pilot.pause(0.05)
        await pilot.pause(0.1)

    return run


def settled(plot: CachedPlot) -> bool:
    """Drawn for its data and size, with no redraw still to come (hidden ones count)."""
    if not plot.display:
        return True
    return bool(plot.size.area) and plot.built and not plot._later


settle = steps()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_home(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    assert snap_compare(sample(tmp_path), terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_strip_detail(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    assert snap_compare(sample(tmp_path), terminal_size=size, run_before=steps(*STRIP))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_energy_view(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    assert snap_compare(sample(tmp_path), terminal_size=size, run_before=steps(*ENERGY))


def test_offline_device(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(sample(tmp_path), terminal_size=SIZE, run_before=steps("down", "down"))


def test_help(snap_compare: Any, tmp_path: Path) -> None:
    async def opened(pilot: Any) -> None:
        # Behind the dialog the chart shows the 7-day range, which the sample has no
        # history for: the live 5-minute picture drew differently on a loaded machine
        # (seen in CI and under load, 1 run in 6), and this snapshot is about the help.
        await steps("4")(pilot)
        await pilot.pause(2.2)  # past the chart's 2 s redraw limit: its last build is in
        await steps("question_mark")(pilot)
        await pilot.pause(0.5)  # the dialog has settled over the dimmed dashboard

    assert snap_compare(sample(tmp_path), terminal_size=SIZE, run_before=opened)


def test_discovery(snap_compare: Any, tmp_path: Path) -> None:
    async def scan(pilot: Any) -> None:
        await steps("d")(pilot)
        await pilot.pause(0.8)

    assert snap_compare(sample(tmp_path), terminal_size=SIZE, run_before=scan)


def test_focused_outlet_switch(snap_compare: Any, tmp_path: Path) -> None:
    """Tab into the strip's outlets: the focused row is highlighted."""
    assert snap_compare(
        sample(tmp_path), terminal_size=SIZE, run_before=steps("end", "enter", "down")
    )
