"""Hostile devices and saved names against the dashboard (Pilot, and a real pty).

A plug on the LAN is anyone's to rename: its alias, model, MAC, firmware and outlet
names can hold Textual markup, click actions and terminal escapes. They must show
as visible data, crash nothing and never reach the terminal as control bytes.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from pty_run import open_terminal, read_for
from rich.text import Text
from test_tui_app import SIZE, make_app, wait_for
from test_tui_app import select as select_device

from tplink_tui.monitor import Monitor
from tplink_tui.simulator import Simulator
from tplink_tui.simulator.threaded import ThreadedSimulator
from tplink_tui.store.config import ConfigStore, SavedDevice
from tplink_tui.store.history import HistoryStore
from tplink_tui.tui.app import TplinkApp
from tplink_tui.tui.screens.confirm import ConfirmScreen
from tplink_tui.tui.screens.countdown import CountdownScreen
from tplink_tui.tui.screens.prompt import PromptScreen
from tplink_tui.tui.widgets.detail import OutletRow

OSC_TITLE = "\x1b]2;PWNED-TITLE\x07"
OSC_CLIPBOARD = "\x1b]52;c;UFdORUQ=\x07"
OSC_LINK = "\x1b]8;;http://evil.example/\x1b\\link\x1b]8;;\x1b\\"
CSI_CLEAR = "\x1b[2J"
HOSTILE = f"[/]Ev[b]il{OSC_TITLE}\n[@click=app.toggle_selected]x[/]\u202e\x9b2J\x00"
HOSTILE_FIELDS = {
    "model": f"HS300[/]{OSC_CLIPBOARD}(US)",
    "mac": f"50:C7:BF{CSI_CLEAR}:00:00:01",
    "sw_ver": f"1.0.3 {OSC_LINK} Build 1",
    "hw_ver": "1.0[red]\x1b[31m",
}
CONTROL = {chr(c) for c in (*range(0x20), *range(0x7F, 0xA0))} | set(
    "\u202a\u202b\u202c\u202d\u202e"
)


def hostile_strip(device: Any) -> None:
    """Every text field the firmware controls, made hostile (the simulator serves them)."""
    device._static.update(HOSTILE_FIELDS)


def assert_plain(text: str) -> None:
    """No control character in any line (the lines themselves are joined by newlines)."""
    bad = sorted({f"U+{ord(c):04X}" for line in text.split("\n") for c in line if c in CONTROL})
    assert not bad, f"control characters reached the screen: {bad}"


def screen_text(app: Any) -> str:
    """Every line the app would paint now, as plain text."""
    lines = app.screen._compositor.render_update(full=True)
    return "\n".join(
        "".join(segment.text for segment in strip) for strip in getattr(lines, "strips", [])
    )


async def test_hostile_strip_is_shown_as_data(simulator: Simulator, tmp_path: Path) -> None:
    strip = await simulator.add("hs300", HOSTILE, outlets=[f"{HOSTILE}{i}" for i in range(6)])
    hostile_strip(strip)
    victim = await simulator.add("hs110", "Victim", on=True)
    app = make_app(
        tmp_path,
        [
            (f"saved[/]{OSC_TITLE}", strip.host, strip.port, "[bold]room\x1b[5m"),
            ("Victim", victim.host, victim.port, ""),
        ],
    )
    async with app.run_test(size=SIZE) as pilot:
        key = f"{strip.host}:{strip.port}"
        await wait_for(pilot, lambda: app.views[key].online)
        await select_device(app, pilot, key)
        await wait_for(pilot, lambda: len(app.query(OutletRow)) == 6)
        await pilot.pause(1.5)  # the markup crash came about a second after start
        assert app.is_running
        shown = screen_text(app)
        assert_plain(shown)
        assert "␛]2;PWNED-TITLE␇" in shown  # visible, not acted on
        assert "[/]Ev[b]il" in shown  # markup shown literally, not parsed
        assert "␛[2J" in shown  # the MAC's CSI, visible
        # A toast with a click action in device text is plain: clicking it does nothing.
        app.notify(f"{HOSTILE} [@click=app.toggle_selected]switch[/]")
        await pilot.pause(0.2)
        assert app.is_running
        last = list(app._notifications)[-1]
        assert last.markup is False
        assert_plain(last.message)
        assert victim.relay_on  # nothing switched the other plug


async def test_dialogs_open_and_remove_work_with_hostile_saved_name(
    simulator: Simulator, tmp_path: Path
) -> None:
    plug = await simulator.add("hs110", HOSTILE)
    name = f"[/]bad [@click=app.quit]name[/]{OSC_TITLE}"
    app = make_app(tmp_path, [(name, plug.host, plug.port, "")])
    async with app.run_test(size=SIZE) as pilot:
        key = f"{plug.host}:{plug.port}"
        await wait_for(pilot, lambda: app.views[key].online)
        await select_device(app, pilot, key)
        for press, screen_type in (
            ("n", PromptScreen),
            ("b", ConfirmScreen),
            ("t", CountdownScreen),
            ("x", ConfirmScreen),
        ):
            await pilot.press(press)
            await wait_for(pilot, lambda t=screen_type: isinstance(app.screen, t))
            await pilot.pause(0.1)
            assert_plain(screen_text(app))
            await pilot.press("escape")
            await wait_for(pilot, lambda t=screen_type: not isinstance(app.screen, t))
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: key not in app.views)
        assert ConfigStore(tmp_path / "config.json").load().find(key) is None


async def test_hostile_discovery_answer_is_plain_and_can_be_added(
    simulator: Simulator, tmp_path: Path
) -> None:
    evil = await simulator.add("hs300", HOSTILE)
    hostile_strip(evil)
    app = make_app(tmp_path, [])
    app.discovery_target = "127.255.255.255"
    assert simulator.discovery_port is not None
    app.discovery_port = simulator.discovery_port
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("d")
        await wait_for(pilot, lambda: app.screen.query("#discover-results").first().row_count == 1)
        table = app.screen.query_one("#discover-results")
        cells = table.get_row_at(0)  # type: ignore[attr-defined]
        for cell in cells:
            plain = cell.plain if isinstance(cell, Text) else str(cell)
            assert_plain(plain)
            if isinstance(cell, Text):
                assert not cell.spans  # a styled alias is not rendered as style
        assert any("[/]Ev[b]il" in (c.plain if isinstance(c, Text) else c) for c in cells)
        assert_plain(screen_text(app))
        await pilot.press("enter")
        key = f"{evil.host}:{evil.port}"
        await wait_for(pilot, lambda: key in app.views and app.views[key].online)
        saved = ConfigStore(tmp_path / "config.json").load().find(key)
        assert saved is not None and saved.name == HOSTILE  # stored exactly: it is data


def test_dashboard_under_a_pty_writes_no_device_controls(
    sim_thread: ThreadedSimulator, tmp_path: Path
) -> None:
    """The real process on a real terminal: the raw bytes it writes hold no device escape."""
    strip = sim_thread.add("hs300", HOSTILE)
    sim_thread.call(hostile_strip, strip)
    config = tmp_path / "config.json"
    ConfigStore(config).add_device(SavedDevice(f"saved{OSC_TITLE}", strip.host, strip.port))
    env = {
        **os.environ,
        "TPLINK_TUI_CONFIG": str(config),
        "TPLINK_TUI_DATA_DIR": str(tmp_path / "data"),
        "TERM": "xterm-256color",
        "COLUMNS": "120",
        "LINES": "36",
    }
    main, child = open_terminal(36, 120)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tplink_tui"],
        stdin=child,
        stdout=child,
        stderr=child,
        env=env,
        close_fds=True,
        start_new_session=True,
    )
    os.close(child)
    try:
        raw = read_for(main, 6.0)
        os.write(main, b"q")
        raw += read_for(main, 3.0)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(main)
    assert b"PWNED" in raw, f"the hostile strip was never drawn: {raw[-3000:]!r}"
    for needle in (b"\x1b]2;PWNED", b"\x1b]52;c;UFdORUQ", b"\x1b]8;;http://evil", b"\xc2\x9b"):
        assert needle not in raw, needle
    assert "\u202e".encode() not in raw
    assert "␛]2;PWNED".encode() in raw  # the saved name, visible
    assert "␛]52;c;UFdORUQ".encode() in raw  # the model, visible


async def test_a_different_device_at_a_saved_address_is_flagged(
    simulator: Simulator, tmp_path: Path
) -> None:
    plug = await simulator.add("hs110", "Impostor")
    store = ConfigStore(tmp_path / "config.json")
    store.add_device(SavedDevice("Fridge", plug.host, plug.port, mac="aa-bb-cc-00-00-01"))
    app = make_app(tmp_path, [])
    async with app.run_test(size=SIZE) as pilot:
        key = f"{plug.host}:{plug.port}"
        await wait_for(pilot, lambda: key in app.views and app.views[key].online)
        await select_device(app, pilot, key)
        await wait_for(pilot, lambda: app.views[key].snapshot.identity_change is not None)  # type: ignore[union-attr]
        await wait_for(  # the toast is a message of its own: it may land a moment later
            pilot, lambda: any("answers as another" in n.message for n in app._notifications)
        )
        messages = [n.message for n in app._notifications]
        assert any("answers as another device" in m and "AA:BB:CC:00:00:01" in m for m in messages)
        await pilot.pause(0.3)
        assert "Warning  answers as" in screen_text(app)
        accept = next(
            c for c in app.get_system_commands(app.screen) if c.title.startswith("Accept")
        )
        accept.callback()
        await wait_for(pilot, lambda: app.views[key].snapshot.identity_change is None)  # type: ignore[union-attr]
        mac = app.views[key].sysinfo.mac  # type: ignore[union-attr]
        await wait_for(pilot, lambda: store.load().find(key).mac == mac)  # type: ignore[union-attr]


async def test_a_locked_history_does_not_freeze_the_dashboard_start(
    simulator: Simulator, tmp_path: Path
) -> None:
    plug = await simulator.add("hs110", "Fridge")
    path = tmp_path / "history.sqlite3"
    HistoryStore(path).close()
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # another process holds the database
    store = ConfigStore(tmp_path / "config.json")
    store.add_device(SavedDevice("Fridge", plug.host, plug.port))
    app = TplinkApp(store, monitor=Monitor(interval=0.2, timeout=0.5), history_path=path)
    try:
        started = time.perf_counter()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("s")  # a key is handled while the database is still locked
            elapsed = time.perf_counter() - started
            assert elapsed < 2.0, f"the dashboard waited {elapsed:.1f} s for the database"
            assert app.recorder is not None and not app.recorder.writer.opened.is_set()
            key = f"{plug.host}:{plug.port}"
            await wait_for(pilot, lambda: app.views[key].online)
            blocker.execute("ROLLBACK")
            await wait_for(pilot, app.recorder.writer.opened.is_set, timeout=10)
    finally:
        blocker.close()
