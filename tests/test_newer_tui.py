"""The dashboard on newer devices (KLAP/AES, the smart dialect) over real HTTP on 127.0.0.1.

A P316M and a P300 switched outlet by outlet with the keyboard, and a KP125M with
no saved login: the dialog opens by itself, a wrong password is "authentication
failed" in the dialog, the right one brings the device online and is saved (0600).
The password is never on screen nor in a toast.
"""

from __future__ import annotations

import html
import json
import socket
import stat
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, Label

from tplink_tui.monitor import Monitor
from tplink_tui.simulator.newer import TEST_PASSWORD, TEST_USERNAME, NewerSimulator
from tplink_tui.store.config import ConfigStore, SavedDevice
from tplink_tui.store.credentials import CredentialStore
from tplink_tui.transports import Credentials
from tplink_tui.tui.app import TplinkApp
from tplink_tui.tui.commands import device_system_commands
from tplink_tui.tui.screens.credentials import CredentialsScreen
from tplink_tui.tui.state import status_text
from tplink_tui.tui.widgets.detail import OutletRow

SIZE = (120, 36)
WRONG = "not-the-Password-42"


@pytest.fixture
async def newer() -> AsyncIterator[NewerSimulator]:
    async with NewerSimulator() as simulator:
        yield simulator


async def wait_for(pilot: Any, condition: Callable[[], bool], timeout: float = 8.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.05)


class Toasts:
    """Every toast the app shows (after its own sanitising)."""

    def __init__(self, app: TplinkApp) -> None:
        self.seen: list[str] = []
        real = app.notify

        def notify(message: str, **kw: Any) -> None:
            self.seen.append(message)
            real(message, **kw)

        app.notify = notify  # type: ignore[method-assign]


def make_app(tmp_path: Path, devices: list[SavedDevice]) -> TplinkApp:
    store = ConfigStore(tmp_path / "config.json")
    for device in devices:
        store.add_device(device)
    return TplinkApp(
        store, monitor=Monitor(interval=0.3, timeout=2.0, max_backoff=0.6), history=False
    )


def screen_text(app: TplinkApp) -> str:
    """What the terminal shows, as text (the SVG's characters, entities decoded)."""
    return html.unescape(app.export_screenshot()).replace("\xa0", " ")


@pytest.mark.parametrize(("model", "outlets"), [("p316m", 6), ("p300", 3)])
async def test_newer_strip_toggled_outlet_by_outlet(
    newer: NewerSimulator, tmp_path: Path, model: str, outlets: int
) -> None:
    strip = await newer.add(model, alias="Office strip")
    saved = SavedDevice("Office strip", strip.host, strip.port, transport="klap")
    CredentialStore(tmp_path / "credentials.json").set(
        saved.address, Credentials(TEST_USERNAME, TEST_PASSWORD)
    )
    app = make_app(tmp_path, [saved])
    state = strip.state
    async with app.run_test(size=SIZE) as pilot:
        key = saved.address
        await wait_for(pilot, lambda: app.views[key].online)
        assert not isinstance(app.screen, CredentialsScreen)  # the saved login was used
        app.select_device(key)
        await wait_for(pilot, lambda: len(app.query(OutletRow)) == outlets)
        view = app.views[key]
        assert "KLAP · smart" in str(app.detail.query_one("#detail-info").render())
        before = [o.on for o in state.outlets]  # type: ignore[union-attr]
        await pilot.press("enter")  # into the outlets: outlet 0 has focus
        for index in range(outlets):
            if index:
                await pilot.press("tab")
            assert app.focused_outlet() == index
            await pilot.press("space")
            await wait_for(pilot, lambda i=index: state.outlets[i].on != before[i])  # type: ignore[union-attr,misc]
            await wait_for(pilot, lambda: not view.pending)
            now = [o.on for o in state.outlets]  # type: ignore[union-attr]
            flipped = [not b for b in before[: index + 1]]
            assert now == flipped + before[index + 1 :]  # only this outlet changed
        if model == "p316m":  # six metered outlets: a reading per outlet, sparklines fill
            await wait_for(pilot, lambda: len(view.outlet_power) == outlets)
            await wait_for(pilot, lambda: all(len(s) >= 2 for s in view.outlet_power.values()))
            await pilot.press("shift+tab")  # back on an outlet switch, then the energy view
            await pilot.press("e")
            await wait_for(pilot, lambda: type(app.screen).__name__ == "EnergyScreen")


async def test_login_dialog_wrong_then_right_password(
    newer: NewerSimulator, tmp_path: Path
) -> None:
    plug = await newer.add("kp125m", alias="Kettle")
    saved = SavedDevice("Kettle", plug.host, plug.port)  # transport auto: found on its own
    app = make_app(tmp_path, [saved])
    toasts = Toasts(app)
    async with app.run_test(size=SIZE) as pilot:
        key = saved.address
        # Pushed is not composed yet: wait for the dialog's fields (a busy machine shows it).
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, CredentialsScreen) and bool(app.screen.query("#login-user"))
            ),
            timeout=12,
        )
        view = app.views[key]
        assert view.needs_login and status_text(view) == "needs login"
        assert any("Log in to Kettle" in str(c.title) for c in device_system_commands(app))
        dialog = app.screen
        user = dialog.query_one("#login-user", Input)
        password = dialog.query_one("#login-password", Input)
        await wait_for(pilot, lambda: user.has_focus)
        assert password.password
        user.value = TEST_USERNAME
        await pilot.press("enter")  # on to the password
        assert password.has_focus
        password.value = WRONG
        await pilot.press("enter")
        error = dialog.query_one("#login-error", Label)
        await wait_for(pilot, lambda: "authentication failed" in str(error.render()))
        assert app.screen is dialog and not password.value  # still open, field cleared
        assert not view.online
        password.value = TEST_PASSWORD
        shown = screen_text(app)
        assert TEST_PASSWORD not in shown and "•" in shown  # masked while typed
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, CredentialsScreen))
        await wait_for(pilot, lambda: view.online)
        assert status_text(view) == "online" and view.transport == "klap"
        await wait_for(pilot, lambda: (tmp_path / "credentials.json").exists())
        path = tmp_path / "credentials.json"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        saved_pair = json.loads(path.read_text())["credentials"][key]
        assert saved_pair == {"username": TEST_USERNAME, "password": TEST_PASSWORD}
        assert CredentialStore(path).get(key) == Credentials(TEST_USERNAME, TEST_PASSWORD)
        app.select_device(key)
        await wait_for(pilot, lambda: app.detail.device_key == key)
        shown = screen_text(app)
        for secret in (TEST_PASSWORD, WRONG):
            assert secret not in shown
            assert not any(secret in t for t in toasts.seen)
        assert any("Logged in to Kettle" in t for t in toasts.seen)


async def test_login_dialog_opens_once_and_again_on_enter(
    newer: NewerSimulator, tmp_path: Path
) -> None:
    plug = await newer.add("ep25", alias="Lamp")  # AES
    saved = SavedDevice("Lamp", plug.host, plug.port, transport="aes")
    app = make_app(tmp_path, [saved])
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, CredentialsScreen), timeout=12)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, CredentialsScreen))
        await pilot.pause(1.2)  # more failed polls: no second dialog on its own
        assert not isinstance(app.screen, CredentialsScreen)
        assert "needs login" in screen_text(app)
        app.select_device(saved.address)
        await pilot.press("enter")  # the row of a device that needs a login: the dialog
        await wait_for(pilot, lambda: isinstance(app.screen, CredentialsScreen))


def unused_udp_port() -> int:
    """A port nothing answers on: the old-protocol query goes there, unheard."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_discover_screen_adds_a_newer_plug(newer: NewerSimulator, tmp_path: Path) -> None:
    plug = await newer.add("kp125m", alias="Kettle")
    port = await newer.listen_discovery()
    assert port is not None
    app = make_app(tmp_path, [])
    app.discovery_target = newer.broadcast
    app.discovery_port = unused_udp_port()
    app.dialogs.new_protocol_port = port
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("d")
        await wait_for(pilot, lambda: bool(getattr(app.screen, "found", None)))
        found = app.screen.found  # type: ignore[attr-defined]
        assert len(found) == 1 and found[0].model.startswith("KP125M")
        # the results table is drawn after the scan's answer is kept: wait for the frame
        await wait_for(pilot, lambda: "KLAP · needs login" in screen_text(app))
        shown = screen_text(app)
        assert "KLAP · needs login" in shown and "not supported" not in shown
        mac = plug.state.identity.mac_as(":")
        row = [str(c) for c in app.screen.query_one("#discover-results").get_row_at(0)]  # type: ignore[attr-defined]
        assert row == [
            plug.host,
            str(plug.port),
            found[0].model,
            found[0].model,
            mac,
            "KLAP · needs login",
            "",
        ]
        await pilot.press("enter")
        key = f"{plug.host}:{plug.port}"
        await wait_for(pilot, lambda: key in app.views)
        await wait_for(pilot, lambda: isinstance(app.screen, CredentialsScreen), timeout=12)
        assert app.screen.device_key == key  # type: ignore[attr-defined]
        assert status_text(app.views[key]) == "needs login"
    saved = ConfigStore(tmp_path / "config.json").load().find(key)
    assert saved is not None
    assert (saved.transport, saved.port, saved.host) == ("klap", plug.port, plug.host)
    assert saved.mac == mac
