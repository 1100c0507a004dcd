"""The rules screen and the timer dialog, driven with Pilot against the simulator over TCP.

Every check reads the simulator's stored rules (or its relays), not the screen alone.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from test_tui_app import SIZE, make_app, select, wait_for
from textual.widgets import DataTable, Input, RadioButton, RadioSet

from tplink_tui.monitor import Monitor
from tplink_tui.simulator import Simulator
from tplink_tui.simulator.clock import TestClock
from tplink_tui.simulator.newer import TEST_PASSWORD, TEST_USERNAME, NewerSimulator
from tplink_tui.store.config import ConfigStore, SavedDevice
from tplink_tui.store.credentials import CredentialStore
from tplink_tui.transports import Credentials
from tplink_tui.tui.app import TplinkApp
from tplink_tui.tui.screens.confirm import ConfirmScreen
from tplink_tui.tui.screens.countdown import CountdownScreen, MinutesInput
from tplink_tui.tui.screens.rules import RulesScreen
from tplink_tui.tui.screens.rules_edit import RuleEditScreen
from tplink_tui.tui.widgets.detail import OutletRow

MONDAY = datetime(2026, 12, 7)


async def open_rules(app: TplinkApp, pilot: Any) -> RulesScreen:
    await app.run_action("device('rules')")
    await wait_for(pilot, lambda: isinstance(app.screen, RulesScreen))
    screen = app.screen
    assert isinstance(screen, RulesScreen)
    await wait_for(pilot, lambda: screen.loaded)
    return screen


async def fill(pilot: Any, app: TplinkApp, **fields: str) -> None:
    """Type into the rule dialog's fields (each replaces what was there)."""
    for name, value in fields.items():
        box = app.screen.query_one(f"#rule-{name}", Input)
        box.focus()
        await pilot.pause()
        box.value = ""
        if value:
            await pilot.press(*value)


async def save(pilot: Any, app: TplinkApp, screen: RulesScreen) -> None:
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: app.screen is screen)
    await wait_for(pilot, lambda: screen.loaded)


def rows(screen: RulesScreen) -> list[str]:
    table = screen.query_one(DataTable)
    return [str(table.get_row_at(i)[1]) for i in range(table.row_count)]


async def test_add_edit_pause_delete_a_schedule_rule(simulator: Simulator, tmp_path: Path) -> None:
    plug = await simulator.add("hs110", "Kettle", on=False)
    table = plug.relays[0].rules["schedule"]
    app = make_app(tmp_path, [("Kettle", plug.host, plug.port, "")])
    async with app.run_test(size=SIZE) as pilot:
        key = f"{plug.host}:{plug.port}"
        await wait_for(pilot, lambda: app.views[key].online)
        await select(app, pilot, key)
        screen = await open_rules(app, pilot)
        assert rows(screen) == []
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, RuleEditScreen))
        await fill(pilot, app, at="07:30", days="mon-fri", name="morning")
        await save(pilot, app, screen)
        assert [(r["smin"], r["sact"], r["wday"], r["name"]) for r in table.rules] == [
            (450, 1, [0, 1, 1, 1, 1, 1, 0], "morning")
        ]
        assert rows(screen) == ["weekdays 07:30 \u2192 on"]
        # edit: the dialog opens on the rule; change the time and the action
        await pilot.press("e")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, RuleEditScreen) and bool(app.screen.query("#rule-at")),
        )  # pushed, and composed
        assert app.screen.query_one("#rule-at", Input).value == "07:30"
        assert app.screen.query_one("#rule-days", Input).value == "weekdays"
        await fill(pilot, app, at="22:15", until="")
        app.screen.query_one("#act-off", RadioButton).value = True
        await pilot.pause()
        await save(pilot, app, screen)
        assert [(r["smin"], r["sact"], r["name"]) for r in table.rules] == [(1335, 0, "morning")]
        assert rows(screen) == ["weekdays 22:15 \u2192 off"]
        # pause and resume
        await pilot.press("space")
        await wait_for(pilot, lambda: screen.loaded and table.rules[0]["enable"] == 0)
        await pilot.press("space")
        await wait_for(pilot, lambda: screen.loaded and table.rules[0]["enable"] == 1)
        # delete, after a confirmation
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: screen.loaded and table.rules == [])
        assert rows(screen) == []
        # leaving the screen at once does not lose a change on its way
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, RuleEditScreen))
        await fill(pilot, app, at="06:00")
        await pilot.press("ctrl+s", "escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, RulesScreen))
        await wait_for(pilot, lambda: [r["smin"] for r in table.rules] == [360])


async def test_a_bad_rule_is_refused_in_the_dialog(simulator: Simulator, tmp_path: Path) -> None:
    plug = await simulator.add("hs105", "Lamp")
    app = make_app(tmp_path, [("Lamp", plug.host, plug.port, "")])
    async with app.run_test(size=SIZE) as pilot:
        key = f"{plug.host}:{plug.port}"
        await wait_for(pilot, lambda: app.views[key].online)
        await select(app, pilot, key)
        screen = await open_rules(app, pilot)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, RuleEditScreen))
        for field, value, message in (
            ("at", "25:00", "hours go 0-23"),
            ("days", "someday", "not a day"),
        ):
            await fill(pilot, app, **{field: value})
            await pilot.press("ctrl+s")
            await pilot.pause()
            error = str(app.screen.query_one("#rule-error").render())
            assert isinstance(app.screen, RuleEditScreen) and message in error
            await fill(pilot, app, **{field: "07:00" if field == "at" else "daily"})
        assert plug.relays[0].rules["schedule"].rules == []
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)


async def test_rule_added_in_the_dashboard_fires_at_its_time(
    simulator: Simulator, tmp_path: Path
) -> None:
    strip = await simulator.add("hs300", "Desk", on=False)
    clock = TestClock(strip)
    clock.set(MONDAY.replace(hour=6))
    app = make_app(tmp_path, [("Desk", strip.host, strip.port, "")])
    async with app.run_test(size=SIZE) as pilot:
        key = f"{strip.host}:{strip.port}"
        await wait_for(pilot, lambda: app.views[key].online)
        await select(app, pilot, key)
        await wait_for(pilot, lambda: len(app.query(OutletRow)) == 6)
        await pilot.press("enter", "tab", "tab")  # outlet 2's switch
        assert app.focused_outlet() == 2
        screen = await open_rules(app, pilot)
        assert "outlet 2" in str(screen.query_one("#rules-title").render())
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, RuleEditScreen))
        await fill(pilot, app, at="07:30", days="weekdays")
        await save(pilot, app, screen)
        assert [r["smin"] for r in strip.outlets[2].rules["schedule"].rules] == [450]
        assert strip.parent_rules["schedule"].rules == []
        clock.set(MONDAY.replace(hour=7, minute=29, second=59))
        await wait_for(pilot, lambda: strip.outlets[2].is_on, timeout=5)
        assert [o.is_on for o in strip.outlets] == [False, False, True, False, False, False]
        await pilot.press("escape")
        view = app.views[key]
        await wait_for(pilot, lambda: view.sysinfo is not None and view.sysinfo.children[2].is_on)


async def test_away_mode_tab_adds_a_window(simulator: Simulator, tmp_path: Path) -> None:
    plug = await simulator.add("hs103", "Hall")
    app = make_app(tmp_path, [("Hall", plug.host, plug.port, "")])
    async with app.run_test(size=SIZE) as pilot:
        key = f"{plug.host}:{plug.port}"
        await wait_for(pilot, lambda: app.views[key].online)
        await select(app, pilot, key)
        screen = await open_rules(app, pilot)
        await pilot.press("w")
        await wait_for(pilot, lambda: screen.kind == "anti_theft" and screen.loaded)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, RuleEditScreen))
        await fill(pilot, app, at="19:00", until="23:30", days="sat,sun")
        await save(pilot, app, screen)
        stored = plug.relays[0].rules["anti_theft"].rules
        assert [(r["smin"], r["emin"], r["wday"]) for r in stored] == [
            (1140, 1410, [1, 0, 0, 0, 0, 0, 1])
        ]
        assert rows(screen) == ["weekends 19:00\u201323:30 away (random on/off)"]
        await pilot.press("D")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: screen.loaded and not stored)


# -- the timer dialog -------------------------------------------------------------------


async def test_timer_dialog_opens_on_the_running_timer(
    simulator: Simulator, tmp_path: Path
) -> None:
    plug = await simulator.add("hs110", "Heater", on=True)
    plug.handle_json({"count_down": {"add_rule": {"enable": 1, "delay": 750, "act": 1}}})
    app = make_app(tmp_path, [("Heater", plug.host, plug.port, "")])
    async with app.run_test(size=SIZE) as pilot:
        key = f"{plug.host}:{plug.port}"
        await wait_for(pilot, lambda: app.views[key].online)
        await select(app, pilot, key)
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, CountdownScreen))
        dialog = app.screen
        assert isinstance(dialog, CountdownScreen)
        await wait_for(pilot, lambda: dialog.running is not None)
        await pilot.pause()
        minutes = dialog.query_one(MinutesInput)
        assert minutes.value in ("12.5", "12.4")  # 750 s left, counting down
        radio = dialog.query_one(RadioSet)
        assert radio.pressed_button is not None and radio.pressed_button.id == "act-on"
        assert radio.pressed_button.has_class("-selected")  # highlighted = chosen
        assert "on in 12 min" in str(dialog.query_one("#countdown-running").render())  # 12 min 2x s
        await pilot.press("5")  # replaces the value
        assert minutes.value == "5"
        await pilot.press("enter")
        await wait_for(pilot, lambda: plug.relays[0].rules["count_down"].rules[0]["delay"] == 300)
        assert plug.relays[0].rules["count_down"].rules[0]["act"] == 1


async def test_timer_dialog_highlight_and_typing(simulator: Simulator, tmp_path: Path) -> None:
    plug = await simulator.add("hs105", "Lamp", on=False)
    app = make_app(tmp_path, [("Lamp", plug.host, plug.port, "")])
    async with app.run_test(size=SIZE) as pilot:
        key = f"{plug.host}:{plug.port}"
        await wait_for(pilot, lambda: app.views[key].online)
        await select(app, pilot, key)
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, CountdownScreen))
        dialog = app.screen
        await pilot.pause(0.3)
        radio = dialog.query_one(RadioSet)
        pressed = radio.pressed_button
        assert pressed is not None and pressed.id == "act-on"  # an off plug: turn on
        highlighted = [b.id for b in dialog.query(RadioButton) if b.has_class("-selected")]
        assert highlighted == ["act-on"]
        minutes = dialog.query_one(MinutesInput)
        assert minutes.has_focus and minutes.value == "30"
        await pilot.press("4", "5")
        assert minutes.value == "45"  # not "3045"
        await pilot.press("backspace", "0")
        assert minutes.value == "40"  # once typed, keys edit as usual
        await pilot.press("enter")
        table = plug.relays[0].rules["count_down"]
        await wait_for(pilot, lambda: [(r["delay"], r["act"]) for r in table.rules] == [(2400, 1)])


async def test_device_text_in_rules_is_shown_as_data(simulator: Simulator, tmp_path: Path) -> None:
    plug = await simulator.add("hs105", "Lamp")
    hostile = "[@click=app.quit]x[/]\x1b]2;PWNED\x07"
    rule = {"name": hostile, "enable": 1, "wday": [1] * 7, "smin": 60, "sact": 1}
    plug.handle_json({"schedule": {"add_rule": rule}})
    app = make_app(tmp_path, [("Lamp", plug.host, plug.port, "")])
    async with app.run_test(size=SIZE) as pilot:
        key = f"{plug.host}:{plug.port}"
        await wait_for(pilot, lambda: app.views[key].online)
        await select(app, pilot, key)
        screen = await open_rules(app, pilot)
        name = str(screen.query_one(DataTable).get_row_at(0)[3])
        assert "[@click=app.quit]x[/]" in name and "\x1b" not in name and "\x07" not in name


async def test_newer_device_says_not_supported(tmp_path: Path) -> None:
    async with NewerSimulator() as newer:
        plug = await newer.add("kp125m", alias="Kettle")
        saved = SavedDevice("Kettle", plug.host, plug.port, transport="klap")
        CredentialStore(tmp_path / "credentials.json").set(
            saved.address, Credentials(TEST_USERNAME, TEST_PASSWORD)
        )
        store = ConfigStore(tmp_path / "config.json")
        store.add_device(saved)
        app = TplinkApp(store, monitor=Monitor(interval=0.3, timeout=2.0), history=False)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.views[saved.address].online, timeout=8)
            await select(app, pilot, saved.address)
            screen = await open_rules(app, pilot)
            status = str(screen.query_one("#rules-status").render())
            assert "not available for the newer" in status and rows(screen) == []
            await pilot.press("a", "escape")  # the dialog still opens; nothing breaks
            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, RulesScreen))
