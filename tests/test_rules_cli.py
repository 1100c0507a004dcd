"""``schedule`` and ``antitheft`` verbs end to end: the real CLI against the simulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from cli_helpers import addr, cli, cli_json, error_line
from test_newer_cli import LOGIN, NewerThread, transport


def test_schedule_add_list_edit_disable_delete(
    sim_thread: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    plug = sim_thread.add("hs110", alias="Kettle")
    table = plug.relays[0].rules["schedule"]
    host = addr(plug)
    added = cli_json(capsys, "schedule", host, "add", "--at", "07:30", "--days", "mon-fri",
                     "--action", "on", "--name", "morning")  # fmt: skip
    assert added["added"]["summary"] == "weekdays 07:30 \u2192 on"
    assert [(r["smin"], r["sact"], r["wday"], r["name"]) for r in table.rules] == [
        (450, 1, [0, 1, 1, 1, 1, 1, 0], "morning")
    ]
    code, out, _ = cli(capsys, "schedule", host)
    assert code == 0 and "weekdays 07:30 \u2192 on" in out and "morning" in out
    rule_id = table.rules[0]["id"]
    assert (
        cli(capsys, "schedule", host, "edit", "1", "--at", "sunset-20", "--until", "23:00")[0] == 0
    )
    assert (table.rules[0]["stime_opt"], table.rules[0]["soffset"]) == (2, -20)
    assert (table.rules[0]["emin"], table.rules[0]["eact"]) == (1380, 0)
    assert table.rules[0]["name"] == "morning"  # edit keeps what was not given
    data = cli_json(capsys, "schedule", host, "disable", rule_id[:6])
    assert data["disabled"]["enabled"] is False and table.rules[0]["enable"] == 0
    assert cli_json(capsys, "schedule", host, "enable", rule_id)["rules"][0]["enabled"] is True
    assert cli_json(capsys, "schedule", host, "delete", "1")["deleted"] == rule_id
    assert table.rules == []


def test_rules_on_one_outlet_and_delete_all(
    sim_thread: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    strip = sim_thread.add("hs300", alias="Desk", outlets=["TV", "Lamp", "Fan"])
    host = addr(strip)
    for at in ("07:00", "08:00"):
        assert (
            cli(capsys, "schedule", host, "add", "--at", at, "--action", "off", "-o", "Lamp")[0]
            == 0
        )
    assert len(strip.outlets[1].rules["schedule"].rules) == 2
    assert strip.outlets[0].rules["schedule"].rules == []
    assert strip.parent_rules["schedule"].rules == []
    listed = cli_json(capsys, "schedule", host, "-o", "1")["rules"]
    wanted = [f"every day {t} \u2192 off" for t in ("07:00", "08:00")]
    assert [r["summary"] for r in listed] == wanted
    code, _, err = cli(capsys, "schedule", host, "delete-all", "-o", "1")
    assert code == 2 and "--yes" in error_line(err)  # no terminal to ask: nothing deleted
    assert len(strip.outlets[1].rules["schedule"].rules) == 2
    assert cli_json(capsys, "schedule", host, "delete-all", "-o", "1", "--yes")["deleted_all"]
    assert strip.outlets[1].rules["schedule"].rules == []


def test_antitheft_window(sim_thread: Any, capsys: pytest.CaptureFixture[str]) -> None:
    plug = sim_thread.add("hs105")
    host = addr(plug)
    data = cli_json(capsys, "antitheft", host, "add", "--at", "18:00", "--until", "23:00",
                    "--days", "weekends")  # fmt: skip
    assert data["added"]["summary"] == "weekends 18:00\u201323:00 away (random on/off)"
    rule = plug.relays[0].rules["anti_theft"].rules[0]
    assert (rule["smin"], rule["emin"], rule["wday"]) == (1080, 1380, [1, 0, 0, 0, 0, 0, 1])
    assert cli(capsys, "antitheft", host, "edit", "1", "--until", "23:30")[0] == 0
    assert rule["emin"] == 1410
    code, out, _ = cli(capsys, "antitheft", host)
    assert code == 0 and "18:00\u201323:30" in out
    assert cli(capsys, "antitheft", host, "delete", "1")[0] == 0
    assert plug.relays[0].rules["anti_theft"].rules == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["add", "--at", "25:00", "--action", "on"], "hours go 0-23"),
        (["add", "--at", "07:00", "--action", "on", "--days", "funday"], "not a day"),
        (["add", "--at", "7:00", "--action", "on", "--days", "mon", "--date", "2026-01-02"], "or"),
        (["add", "--at", "07:00", "--action", "on", "--date", "2026-02-30"], "YYYY-MM-DD"),
        (["add", "--at", "07:00", "--action", "on", "--name", "n" * 40], "at most 32"),
        (["edit", "7", "--at", "07:00"], "no rule '7'"),
    ],
)
def test_bad_rules_are_refused_before_sending(
    sim_thread: Any, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    plug = sim_thread.add("hs110")
    before = plug.requests
    code, out, err = cli(capsys, "schedule", addr(plug), *argv)
    assert code == 2 and out == ""
    assert message in error_line(err)
    assert plug.relays[0].rules["schedule"].rules == []
    if argv[0] == "add":
        assert plug.requests == before  # refused before any request


def test_sunrise_needs_a_location(sim_thread: Any, capsys: pytest.CaptureFixture[str]) -> None:
    plug = sim_thread.add("hs103")
    plug._static.update(latitude_i=0, longitude_i=0, latitude=0.0, longitude=0.0)
    code, _, err = cli(capsys, "schedule", addr(plug), "add", "--at", "sunrise", "--action", "on")
    assert code == 2 and "no location" in error_line(err)
    assert plug.relays[0].rules["schedule"].rules == []


def test_missing_options_are_usage_errors(
    sim_thread: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    plug = addr(sim_thread.add("hs105"))
    assert cli(capsys, "schedule", plug, "add", "--at", "07:00")[0] == 2  # no --action
    assert cli(capsys, "antitheft", plug, "add", "--at", "18:00")[0] == 2  # no --until
    assert cli(capsys, "schedule", plug, "frobnicate")[0] == 2


@pytest.fixture
def newer() -> Iterator[NewerThread]:
    sim = NewerThread()
    try:
        yield sim
    finally:
        sim.close()


def test_newer_devices_say_not_supported(
    newer: NewerThread, capsys: pytest.CaptureFixture[str]
) -> None:
    device = newer.add("kp125m")
    args = (*transport(device), *LOGIN)
    for argv in (
        ["schedule", addr(device)],
        ["schedule", addr(device), "add", "--at", "07:00", "--action", "on"],
        ["antitheft", addr(device), "delete-all", "--yes"],
    ):
        code, out, err = cli(capsys, *argv, *args)
        assert code == 1 and out == ""
        assert "not available for the newer" in error_line(err)
