"""SVG snapshots of the main views, on the fixed sample home (plain ``def`` tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tplink_tui.store.config import ConfigStore
from tplink_tui.tui.sample import SampleApp

SIZE = (120, 36)


def sample(tmp_path: Path) -> SampleApp:
    return SampleApp(ConfigStore(tmp_path / "config.json"))


async def settle(pilot: Any) -> None:
    await pilot.pause(0.3)


def test_home(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(sample(tmp_path), terminal_size=SIZE, run_before=settle)


def test_strip_detail(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(
        sample(tmp_path), terminal_size=SIZE, press=["down", "down"], run_before=settle
    )


def test_offline_device(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(sample(tmp_path), terminal_size=SIZE, press=["end"], run_before=settle)


def test_energy_view(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(sample(tmp_path), terminal_size=SIZE, press=["e"], run_before=settle)


def test_help(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(
        sample(tmp_path), terminal_size=SIZE, press=["question_mark"], run_before=settle
    )


def test_discovery(snap_compare: Any, tmp_path: Path) -> None:
    async def scan(pilot: Any) -> None:
        await pilot.press("d")
        await pilot.pause(0.8)

    assert snap_compare(sample(tmp_path), terminal_size=SIZE, run_before=scan)


def test_narrow_terminal(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(sample(tmp_path), terminal_size=(80, 24), run_before=settle)


def test_wide_terminal(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(
        sample(tmp_path), terminal_size=(160, 48), press=["down", "down"], run_before=settle
    )
