"""Schedule and away-mode rules: words, parsing, validation, and the simulator running
them by its (test) clock, over real TCP through the DeviceClient."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from tplink_tui.devices import rules as model
from tplink_tui.devices import rules_input as typed
from tplink_tui.devices.client import DeviceClient
from tplink_tui.devices.rules import AWAY, SCHEDULE, SUNRISE, SUNSET, At, Rule
from tplink_tui.errors import UsageError
from tplink_tui.simulator import Simulator
from tplink_tui.simulator.clock import TestClock, away_segments, sun_minute

MONDAY = datetime(2026, 12, 7)


def weekly(at: str, action: bool, days: str = "every day", **extra: object) -> Rule:
    rule = Rule(SCHEDULE, typed.parse_at(at), action, days=typed.parse_days(days))
    return model.validate(replace(rule, **extra), sun=True)  # type: ignore[arg-type]


# -- words and parsing -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("mon-fri", "weekdays"),
        ("weekdays", "weekdays"),
        ("sat,sun", "weekends"),
        ("daily", "every day"),
        ("mon wed fri", "Mon Wed Fri"),
        ("tue-thu", "Tue\u2013Thu"),
        ("fri-mon", "Mon Fri Sat Sun"),
        ("Monday, thursday", "Mon Thu"),
        ("sun", "Sun"),
    ],
)
def test_days_read_and_said(text: str, words: str) -> None:
    assert model.days_words(typed.parse_days(text)) == words


@pytest.mark.parametrize("bad", ["", "mo-xx", "someday", "t"])
def test_bad_days_are_one_clear_error(bad: str) -> None:
    with pytest.raises(UsageError, match="days"):
        typed.parse_days(bad)


def test_times_read_and_said() -> None:
    assert typed.parse_at("7:05") == At(0, 425)
    assert typed.parse_at("sunrise") == At(SUNRISE, 0)
    assert typed.parse_at("sunset-30") == At(SUNSET, -30)
    assert typed.parse_at("Sunrise + 1:15") == At(SUNRISE, 75)
    assert At(SUNSET, -30).words() == "sunset \u221230 min"
    assert At(SUNRISE, 75).words() == "sunrise +1 h 15 min"
    for bad in ("24:00", "7:60", "noon", "sunset+13:00", "7"):
        with pytest.raises(UsageError, match="time"):
            typed.parse_at(bad)


def test_plain_words_of_whole_rules() -> None:
    assert weekly("07:30", True, "mon-fri").words() == "weekdays 07:30 \u2192 on"
    evening = Rule(SCHEDULE, At(SUNSET, -15), True, At(0, 1380), False)
    assert evening.words() == "every day sunset \u221215 min \u2192 on, 23:00 \u2192 off"
    once = Rule(SCHEDULE, At(0, 1080), False, once=date(2026, 12, 24))
    assert once.words() == "once 2026-12-24 18:00 \u2192 off"
    away = Rule(AWAY, At(0, 1080), end=At(0, 1380), days=model.WEEKENDS)
    assert away.words() == "weekends 18:00\u201323:00 away (random on/off)"


def test_validation_before_anything_is_sent() -> None:
    sun = Rule(SCHEDULE, At(SUNRISE, 10), True)
    with pytest.raises(UsageError, match="no location"):
        model.validate(sun, sun=False)
    assert model.validate(sun, sun=True) is sun
    cases = [
        (Rule(SCHEDULE, At(0, 60)), "action"),
        (Rule(SCHEDULE, At(0, 60), True, days=(False,) * 7), "at least one day"),
        (Rule(SCHEDULE, At(0, 60), True, name="x" * 40), "name"),
        (Rule(AWAY, At(0, 60)), "end time"),
        (Rule(AWAY, At(0, 60), end=At(0, 60)), "empty"),
        (Rule(SCHEDULE, At(0, 60), True, once=date(1999, 1, 1)), "2000-2099"),
    ]
    for rule, message in cases:
        with pytest.raises(UsageError, match=message):
            model.validate(rule, sun=True)


def test_device_rows_round_trip_and_keep_unknown_fields() -> None:
    raw = {
        "id": "AB12",
        "name": "lamp",
        "enable": 0,
        "wday": [0, 1, 1, 1, 1, 1, 0],
        "repeat": 1,
        "stime_opt": 2,
        "smin": 0,
        "soffset": -20,
        "sact": 1,
        "etime_opt": -1,
        "emin": 0,
        "eact": -1,
        "force": 0,
        "latitude": 0,
    }
    rule = model.parse_rule(SCHEDULE, raw)
    assert rule.words() == "weekdays sunset \u221220 min \u2192 on" and not rule.enabled
    args = rule.args()
    assert {k: args[k] for k in raw} == raw
    odd = model.parse_rule(SCHEDULE, {"wday": "x", "sact": "1", "name": 5, "smin": 99999})
    assert odd.words() == "every day 23:59 \u2192 ?" and odd.name == ""


def test_find_rule_by_number_id_or_prefix() -> None:
    rules = [
        Rule(SCHEDULE, At(), True, id="ABCD1111"),
        Rule(SCHEDULE, At(), True, id="ABCD2222"),
    ]
    assert typed.find_rule(rules, "2").id == "ABCD2222"
    assert typed.find_rule(rules, "abcd1").id == "ABCD1111"
    assert typed.find_rule(rules, "ABCD2222").id == "ABCD2222"
    for ref, message in (("abcd", "fits 2"), ("3", "no rule"), ("zz", "no rule")):
        with pytest.raises(UsageError, match=message):
            typed.find_rule(rules, ref)


def test_sunrise_and_sunset_minutes() -> None:
    london = (51.5, 0.0)
    rise = sun_minute(date(2026, 6, 21), london, rising=True)
    sets = sun_minute(date(2026, 6, 21), london, rising=False)
    utc = datetime(2026, 6, 21, 12).astimezone().utcoffset()
    shift = round(utc.total_seconds() / 60) if utc is not None else 0
    assert rise is not None and sets is not None
    assert abs(rise - shift - (3 * 60 + 43)) <= 3  # 03:43 UTC
    assert abs(sets - shift - (20 * 60 + 21)) <= 3  # 20:21 UTC
    assert sun_minute(date(2026, 6, 21), (78.0, 15.0), rising=True) is None  # polar day
    assert sun_minute(date(2026, 6, 21), None, rising=True) is None


# -- the simulator runs them -------------------------------------------------------------


async def test_schedule_rule_fires_at_its_test_clock_time(simulator: Simulator) -> None:
    dev = await simulator.add("hs110", on=False)
    clock = TestClock(dev)
    async with DeviceClient(dev.host, dev.port) as client:
        await model.add_rule(client, weekly("07:30", True, "mon-fri"))
        await model.add_rule(client, weekly("07:31", False, "mon-fri"))
        clock.set(MONDAY.replace(hour=7, minute=29, second=59))
        assert not dev.relay_on
        await asyncio.sleep(1.6)  # the clock runs on: 07:30 passes while the device looks
        assert dev.relay_on
        assert (await client.get_sysinfo()).is_on
        clock.advance(60)  # 07:31 passes at once
        assert not dev.relay_on
        clock.set(MONDAY.replace(day=12, hour=7, minute=29, second=59))  # a Saturday
        clock.advance(120)
        assert not dev.relay_on


async def test_set_clock_fires_nothing_advance_replays_in_order(simulator: Simulator) -> None:
    strip = await simulator.add("kp303", on=False)
    clock = TestClock(strip)
    async with DeviceClient(strip.host, strip.port) as client:
        await model.add_rule(client, weekly("08:00", True), outlet=1)
        await model.add_rule(client, weekly("09:00", False), outlet=1)
        await model.add_rule(client, weekly("10:00", True))  # the whole strip
        clock.set(MONDAY.replace(hour=8, minute=30))
        assert [o.is_on for o in strip.outlets] == [False, False, False]
        clock.advance(3600)  # 09:30: the 09:00 off ran
        assert [o.is_on for o in strip.outlets] == [False, False, False]
        clock.set(MONDAY.replace(hour=7))
        clock.advance(3 * 3600)  # 08:00 on, 09:00 off, 10:00 all on
        assert [o.is_on for o in strip.outlets] == [True, True, True]


async def test_sunset_rule_and_one_off_rule(simulator: Simulator) -> None:
    dev = await simulator.add("hs105", on=False)
    clock = TestClock(dev)
    where = (dev.identity.latitude, dev.identity.longitude)
    sunset = sun_minute(MONDAY.date(), where, rising=False)
    assert sunset is not None
    async with DeviceClient(dev.host, dev.port) as client:
        rule = Rule(SCHEDULE, At(SUNSET, -10), True, days=typed.parse_days("mon"))
        await model.add_rule(client, rule)
        once = Rule(SCHEDULE, At(0, 23 * 60), False, once=MONDAY.date())
        added = await model.add_rule(client, once)
        clock.set(MONDAY + timedelta(minutes=sunset - 11))
        clock.advance(90)
        assert dev.relay_on
        clock.set(MONDAY.replace(hour=22, minute=59))
        clock.advance(120)
        assert not dev.relay_on
        listed = {r.id: r for r in await model.list_rules(client, SCHEDULE)}
        assert not listed[added.id].enabled  # spent


async def test_away_window_switches_at_random_and_ends_off(simulator: Simulator) -> None:
    dev = await simulator.add("hs103", on=False)
    clock = TestClock(dev)
    async with DeviceClient(dev.host, dev.port) as client:
        window = Rule(AWAY, At(0, 18 * 60), end=At(0, 23 * 60), days=model.ALL_DAYS)
        added = await model.add_rule(client, window)
        raw = dev.relays[0].rules["anti_theft"].find(added.id)
        spells = away_segments(raw, MONDAY.date())
        assert len(spells) == 5 and spells == away_segments(raw, MONDAY.date())
        assert spells != away_segments(raw, MONDAY.date() + timedelta(days=1))
        first_on, first_off = spells[0]
        clock.set(first_on - timedelta(seconds=1))
        clock.advance(2)
        assert dev.relay_on
        clock.set(first_off - timedelta(seconds=1))
        clock.advance(2)
        assert not dev.relay_on
        clock.set(spells[-1][0] + timedelta(seconds=1))
        clock.advance(1)
        assert dev.relay_on
        clock.set(MONDAY.replace(hour=22, minute=59, second=59))
        clock.advance(2)
        assert not dev.relay_on  # the window closed: off
        await model.set_enabled(client, added, False)
        clock.set(first_on - timedelta(seconds=1))
        clock.advance(2)
        assert not dev.relay_on  # a paused window does nothing


async def test_edit_enable_delete_through_the_client(simulator: Simulator) -> None:
    dev = await simulator.add("hs300")
    table = dev.outlets[2].rules["schedule"]
    async with DeviceClient(dev.host, dev.port) as client:
        added = await model.add_rule(client, weekly("07:30", True, "mon-fri"), outlet=2)
        assert [r["smin"] for r in table.rules] == [450]
        edited = await model.edit_rule(client, weekly("06:15", True, id=added.id), outlet=2)
        assert [r["smin"] for r in table.rules] == [375] and edited.id == added.id
        await model.set_enabled(client, edited, False, outlet=2)
        assert table.rules[0]["enable"] == 0
        with pytest.raises(UsageError):
            await model.add_rule(client, Rule(SCHEDULE, At(0, 5)), outlet=2)  # no action
        assert len(table.rules) == 1  # nothing was sent
        await model.delete_rule(client, edited, outlet=2)
        assert table.rules == []
        await model.add_rule(client, weekly("07:30", True), outlet=2)
        await model.add_rule(client, weekly("08:30", False), outlet=2)
        await model.delete_all(client, SCHEDULE, outlet=2)
        assert table.rules == [] and dev.outlets[1].rules["schedule"].rules == []


def test_change_applies_only_what_was_typed() -> None:
    base = weekly("07:30", True, "mon-fri", name="morning")
    once = typed.change(base, once="2026-12-24")
    assert once.once == date(2026, 12, 24) and once.days == (False,) * 4 + (True,) + (False,) * 2
    assert once.start == base.start and once.name == "morning"
    until = typed.change(base, until="22:00")
    assert until.end == At(0, 1320) and until.end_action is False  # back off by default
    assert typed.change(until, drop_end=True).end is None
    assert typed.change(base, until="22:00", then=True).end_action is True
    with pytest.raises(UsageError, match="weekly or once"):
        typed.change(base, days="mon", once="2026-12-24")
