"""SVG snapshots of the rules screen at 80x24, 120x36 and 200x50 (plain ``def`` tests).

The rules come from a simulated strip over real TCP; the screen is pushed over the
fixed sample home, so nothing on it depends on the clock or on the ports.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

from tplink_tui.devices.client import DeviceClient
from tplink_tui.simulator import SimulatedDevice, ThreadedSimulator
from tplink_tui.store.config import ConfigStore
from tplink_tui.tui.sample import SampleApp
from tplink_tui.tui.screens.rules import RulesScreen

SCHEDULE = [
    {"name": "morning", "wday": [0, 1, 1, 1, 1, 1, 0], "smin": 450, "sact": 1},
    {"name": "lamp at dusk", "stime_opt": 2, "smin": 0, "soffset": -15, "sact": 1,
     "etime_opt": 0, "emin": 1380, "eact": 0},
    {"name": "", "enable": 0, "wday": [1, 0, 0, 0, 0, 0, 1], "smin": 600, "sact": 0},
    {"name": "xmas", "smin": 1080, "sact": 1, "repeat": 0, "year": 2026, "month": 12, "day": 24},
]  # fmt: skip
AWAY = [{"name": "holiday", "wday": [1] * 7, "smin": 1110, "emin": 1380}]


@pytest.fixture
def strip(sim_thread: ThreadedSimulator) -> Iterator[SimulatedDevice]:
    device = sim_thread.add("hs300", alias="Office strip")
    lamp = {"context": {"child_ids": [device.outlets[2].id]}}
    for rule in SCHEDULE:
        full = {"enable": 1, "wday": [1] * 7, "repeat": 1, "etime_opt": -1, "eact": -1, **rule}
        sim_thread.call(device.handle_json, {"schedule": {"add_rule": full}, **lamp})
    for rule in AWAY:
        sim_thread.call(device.handle_json, {"anti_theft": {"add_rule": rule}, **lamp})
    yield device


def app(tmp_path: Path) -> SampleApp:
    return SampleApp(ConfigStore(tmp_path / "config.json"))


def opener(device: SimulatedDevice, *press: str) -> Any:
    async def run_before(pilot: Any) -> None:
        await pilot.pause(0.2)
        client = DeviceClient(device.host, device.port)
        screen = RulesScreen("Office strip · outlet 2 Lamp", client, 2, sun=True)
        await pilot.app.push_screen(screen)
        for key in ("", *press):
            if key:
                await pilot.press(key)
            for _ in range(100):
                if screen.loaded:
                    break
                await pilot.pause(0.05)
        for box in pilot.app.screen.query(Input):
            box.cursor_blink = False  # a blinking cursor would make the picture random
        await pilot.pause(0.3)

    return run_before


@pytest.mark.parametrize("size", [(80, 24), (120, 36), (200, 50)])
def test_rules_screen(snap_compare: Any, tmp_path: Path, strip: Any, size: tuple[int, int]) -> None:
    assert snap_compare(app(tmp_path), terminal_size=size, run_before=opener(strip))


def test_rule_dialog_narrow(snap_compare: Any, tmp_path: Path, strip: Any) -> None:
    assert snap_compare(app(tmp_path), terminal_size=(80, 24), run_before=opener(strip, "e"))


def test_away_mode_tab(snap_compare: Any, tmp_path: Path, strip: Any) -> None:
    assert snap_compare(app(tmp_path), terminal_size=(120, 36), run_before=opener(strip, "w"))
