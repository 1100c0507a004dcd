"""The device verbs, run in-process against simulated devices.

Every verb that changes something is checked against the simulator's real state,
and every ``--json`` output is parsed.
"""

from __future__ import annotations

import io
import json
import sys
import time
from datetime import date
from typing import Any

import pytest
from cli_helpers import addr, cli, cli_json, error_line

from tplink_tui.store.config import ConfigStore, SavedDevice

INFO_KEYS = {
    "host",
    "port",
    "alias",
    "model",
    "mac",
    "device_id",
    "hw_ver",
    "sw_ver",
    "is_on",
    "led",
    "rssi",
    "on_time",
    "power_w",
    "voltage_v",
    "current_a",
    "total_kwh",
    "outlets",
}


@pytest.fixture
def home(sim_thread: Any) -> dict[str, Any]:
    return {
        "hs110": sim_thread.add("hs110", alias="Kettle"),
        "hs110v4": sim_thread.add("hs110v4", alias="Fridge"),
        "hs300": sim_thread.add("hs300", alias="Desk", outlets=["TV", "Lamp", "Fan"]),
        "kp303": sim_thread.add("kp303", alias="Porch"),
    }


# -- info ----------------------------------------------------------------------------


def test_info_json_every_model(home: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    for model, device in home.items():
        data = cli_json(capsys, "info", addr(device))
        assert data.keys() >= INFO_KEYS, model
        assert data["host"] == "127.0.0.1"
        assert data["port"] == device.port
        assert data["alias"] == device.alias
        assert data["device_id"] == device.device_id
        assert data["mac"] == device.mac.replace("-", ":").upper()

    plug = cli_json(capsys, "info", addr(home["hs110"]))
    assert plug["outlets"] == []
    assert plug["is_on"] is True and plug["led"] is True
    assert 100 < plug["voltage_v"] < 140  # a US plug, old float format
    assert plug["power_w"] >= 0 and plug["total_kwh"] >= 0

    eu = cli_json(capsys, "info", addr(home["hs110v4"]))
    assert 200 < eu["voltage_v"] < 260  # integer mV format, normalised to V

    strip = cli_json(capsys, "info", addr(home["hs300"]))
    assert [o["index"] for o in strip["outlets"]] == list(range(6))
    assert [o["alias"] for o in strip["outlets"][:3]] == ["TV", "Lamp", "Fan"]
    assert {"index", "id", "alias", "is_on", "power_w"} <= strip["outlets"][0].keys()
    outlet_sum = sum(o["power_w"] for o in strip["outlets"])
    assert strip["power_w"] == pytest.approx(outlet_sum, abs=1e-3)

    no_meter = cli_json(capsys, "info", addr(home["kp303"]))
    assert len(no_meter["outlets"]) == 3
    for key in ("power_w", "voltage_v", "current_a", "total_kwh"):
        assert no_meter[key] is None
    assert no_meter["outlets"][0]["power_w"] is None


def test_info_human(home: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "info", addr(home["hs300"]))
    assert code == 0 and err == ""
    assert "Desk" in out and "HS300(US)" in out and "Lamp" in out
    assert "\x1b[" not in out  # plain text when stdout is not a terminal
    code, out, _ = cli(capsys, "info", addr(home["kp303"]))
    assert code == 0 and "no energy meter" in out


def test_saved_device_name(home: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    device = home["hs110"]
    ConfigStore().add_device(SavedDevice("kitchen kettle", device.host, device.port))
    data = cli_json(capsys, "info", "kitchen kettle")
    assert data["port"] == device.port and data["name"] == "kitchen kettle"
    assert cli(capsys, "off", "Kitchen Kettle")[0] == 0
    assert device.relay_on is False


# -- switching -------------------------------------------------------------------------


def test_on_off_toggle_plug(home: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    plug = home["hs110"]
    code, out, _ = cli(capsys, "off", addr(plug))
    assert code == 0 and "off" in out
    assert plug.relay_on is False
    assert cli_json(capsys, "on", addr(plug)) == {
        "host": "127.0.0.1",
        "port": plug.port,
        "outlet": None,
        "is_on": True,
    }
    assert plug.relay_on is True
    assert cli_json(capsys, "toggle", addr(plug))["is_on"] is False
    assert plug.relay_on is False


def test_strip_outlets(home: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    strip = home["hs300"]
    assert all(o.is_on for o in strip.outlets)
    data = cli_json(capsys, "off", addr(strip), "--outlet", "2")
    assert data["outlet"]["index"] == 2 and data["outlet"]["alias"] == "Fan"
    assert [o.is_on for o in strip.outlets] == [True, True, False, True, True, True]
    # by name, by full id, by short id
    assert cli(capsys, "off", addr(strip), "-o", "lamp")[0] == 0
    assert strip.outlets[1].is_on is False
    assert cli(capsys, "on", addr(strip), "-o", strip.outlets[1].id)[0] == 0
    assert strip.outlets[1].is_on is True
    assert cli(capsys, "toggle", addr(strip), "-o", "05")[0] == 0
    assert strip.outlets[5].is_on is False
    # no outlet: the whole strip
    assert cli(capsys, "off", addr(strip))[0] == 0
    assert not any(o.is_on for o in strip.outlets)
    kp = home["kp303"]
    assert cli(capsys, "toggle", addr(kp), "--outlet", "0")[0] == 0
    assert [o.is_on for o in kp.outlets] == [False, True, True]


def test_outlet_out_of_range(home: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    strip = home["hs300"]
    code, out, err = cli(capsys, "off", addr(strip), "--outlet", "9")
    assert code == 2 and out == ""
    line = error_line(err)
    assert addr(strip) in line and "6 outlets" in line
    assert all(o.is_on for o in strip.outlets)
    # --outlet on a plain plug is a usage error too
    code, _, err = cli(capsys, "on", addr(home["hs110"]), "--outlet", "1")
    assert code == 2 and "no outlets" in error_line(err)


# -- LED, alias, time ----------------------------------------------------------------------


def test_led(home: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    plug = home["hs110v4"]
    assert cli_json(capsys, "led", addr(plug), "off")["led"] is False
    assert plug.led_on is False
    code, out, _ = cli(capsys, "led", addr(plug), "on")
    assert code == 0 and "LED" in out
    assert plug.led_on is True
    assert cli(capsys, "led", addr(plug), "dim")[0] == 2


def test_alias_device_and_outlet(home: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    plug, strip = home["hs110"], home["hs300"]
    code, out, _ = cli(capsys, "alias", addr(plug), "Tea maker")
    assert code == 0 and "Tea maker" in out
    assert plug.alias == "Tea maker"
    data = cli_json(capsys, "alias", addr(strip), "--outlet", "TV", "Television")
    assert data["alias"] == "Television" and data["outlet"]["index"] == 0
    assert strip.outlets[0].alias == "Television"
    assert strip.alias == "Desk"
    code, _, err = cli(capsys, "alias", addr(plug), "  ")
    assert code == 2 and error_line(err)


def test_time_and_sync(
    home: dict[str, Any], sim_thread: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    plug = home["hs110"]
    sim_thread.call(setattr, plug, "clock_offset", 3600.0)
    data = cli_json(capsys, "time", addr(plug))
    assert abs(data["offset_s"] - 3600) <= 2
    code, out, _ = cli(capsys, "time", addr(plug))
    assert code == 0 and "from this computer" in out
    data = cli_json(capsys, "time", addr(plug), "sync")
    assert data["synced"] is True
    assert abs(plug.clock_offset) < 2
    assert abs(cli_json(capsys, "time", addr(plug))["offset_s"]) <= 2


# -- energy ------------------------------------------------------------------------------


def test_energy_realtime(home: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    for model in ("hs110", "hs110v4"):
        data = cli_json(capsys, "energy", addr(home[model]))
        assert {"power_w", "voltage_v", "current_a", "total_kwh"} <= data.keys()
        assert data["voltage_v"] > 100 and data["outlet"] is None
    strip = cli_json(capsys, "energy", addr(home["hs300"]))
    assert len(strip["outlets"]) == 6
    assert strip["power_w"] == pytest.approx(sum(o["power_w"] for o in strip["outlets"]), abs=1e-3)
    one = cli_json(capsys, "energy", addr(home["hs300"]), "--outlet", "1")
    assert one["outlet"]["alias"] == "Lamp" and one["power_w"] is not None
    code, out, _ = cli(capsys, "energy", addr(home["hs300"]))
    assert code == 0 and "total" in out and "Fan" in out
    # no meter: exit 1, one line naming the device
    code, out, err = cli(capsys, "energy", addr(home["kp303"]))
    assert code == 1 and out == ""
    assert "no energy meter" in error_line(err) and addr(home["kp303"]) in err


def test_energy_statistics(home: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    today = date.today()
    plug = addr(home["hs110v4"])
    days = cli_json(capsys, "energy", plug, "--month", f"{today.year}-{today.month:02d}")
    assert days["year"] == today.year and days["month"] == today.month
    assert all(d["day"] is not None for d in days["days"])
    assert days["total_kwh"] == pytest.approx(sum(d["energy_kwh"] for d in days["days"]))
    months = cli_json(capsys, "energy", plug, "--year", str(today.year))
    assert months["months"] and all(m["day"] is None for m in months["months"])
    code, out, _ = cli(capsys, "energy", plug, "--year", str(today.year))
    assert code == 0 and "kWh" in out
    assert cli(capsys, "energy", plug, "--month", "2024-13")[0] == 2
    assert cli(capsys, "energy", plug, "--year", "24")[0] == 2
    assert cli(capsys, "energy", plug, "--year", "2024", "--month", "2024-01")[0] == 2


def test_energy_erase(home: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    plug = addr(home["hs110"])
    year = str(date.today().year)
    before = cli_json(capsys, "energy", plug, "--year", year)["total_kwh"]
    assert before > 0
    code, out, err = cli(capsys, "energy", plug, "--erase")  # stdin is not a terminal
    assert code == 2 and out == "" and "--yes" in error_line(err)
    assert cli_json(capsys, "energy", plug, "--year", year)["total_kwh"] == before
    assert cli_json(capsys, "energy", plug, "--erase", "--yes")["erased"] is True
    assert cli_json(capsys, "energy", plug, "--year", year)["total_kwh"] < 0.001
    # one outlet of a strip
    strip = home["hs300"]
    assert cli(capsys, "energy", addr(strip), "-o", "2", "--erase", "-y")[0] == 0
    erased = cli_json(capsys, "energy", addr(strip), "-o", "2", "--year", year)
    kept = cli_json(capsys, "energy", addr(strip), "-o", "3", "--year", year)
    assert erased["total_kwh"] < 0.001 and kept["total_kwh"] > 0


# -- rules ----------------------------------------------------------------------------------


def test_countdown_set_and_clear(home: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    plug = home["hs110"]
    table = plug.relays[0].rules["count_down"]
    data = cli_json(capsys, "countdown", addr(plug), "--set", "5", "--action", "off")
    assert len(data["rules"]) == 1
    assert [(r["delay"], r["act"], r["enable"]) for r in table.rules] == [(300, 0, 1)]
    code, out, _ = cli(capsys, "countdown", addr(plug))
    assert code == 0 and "switches off in" in out
    assert cli_json(capsys, "countdown", addr(plug), "--clear")["rules"] == []
    assert table.rules == []
    code, out, _ = cli(capsys, "countdown", addr(plug))
    assert code == 0 and "no countdown" in out
    # one strip outlet
    strip = home["hs300"]
    assert (
        cli(capsys, "countdown", addr(strip), "-o", "Fan", "--set", "1.5", "--action", "on")[0] == 0
    )
    assert [r["delay"] for r in strip.outlets[2].rules["count_down"].rules] == [90]
    assert strip.outlets[1].rules["count_down"].rules == []
    # --set without --action, --action without --set
    assert cli(capsys, "countdown", addr(plug), "--set", "5")[0] == 2
    assert cli(capsys, "countdown", addr(plug), "--action", "on")[0] == 2


def test_schedule_and_antitheft(home: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    plug = addr(home["hs110"])
    assert cli_json(capsys, "schedule", plug)["rules"] == []
    rule = {
        "name": "morning",
        "enable": 1,
        "wday": [0, 1, 1, 1, 1, 1, 0],
        "stime_opt": 0,
        "smin": 450,
        "sact": 1,
        "etime_opt": -1,
        "emin": 0,
        "eact": -1,
        "repeat": 1,
    }
    request = json.dumps({"schedule": {"add_rule": rule}})
    assert cli(capsys, "send", "-t", plug, "-j", request)[0] == 0
    rules = cli_json(capsys, "schedule", plug)["rules"]
    assert [r["name"] for r in rules] == ["morning"]
    code, out, _ = cli(capsys, "schedule", plug)
    assert code == 0 and "morning" in out and "weekdays 07:30 → on" in out
    assert cli_json(capsys, "antitheft", addr(home["hs300"]))["rules"] == []
    assert cli_json(capsys, "schedule", addr(home["hs300"]), "-o", "1")["rules"] == []


# -- cloud, wlan, reboot, reset ----------------------------------------------------------------


def test_cloudinfo_and_wlanscan(home: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    plug = addr(home["kp303"])
    cloud = cli_json(capsys, "cloudinfo", plug)["cloud"]
    assert "server" in cloud
    networks = cli_json(capsys, "wlanscan", plug)["networks"]
    assert networks and all("ssid" in n for n in networks)
    code, out, _ = cli(capsys, "wlanscan", plug)
    assert code == 0 and networks[0]["ssid"] in out
    code, out, _ = cli(capsys, "cloudinfo", plug)
    assert code == 0 and "server" in out


def test_reboot_needs_yes(
    home: dict[str, Any], sim_thread: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    plug = home["hs110v4"]
    code, out, err = cli(capsys, "reboot", addr(plug))
    assert code == 2 and out == ""
    assert "--yes" in error_line(err) and addr(plug) in err
    assert plug.booting is False
    code, out, _ = cli(capsys, "reboot", addr(plug), "--yes", "--delay", "1")
    assert code == 0 and "reboot" in out
    deadline = time.monotonic() + 2
    while not plug.booting and time.monotonic() < deadline:
        time.sleep(0.01)
    assert plug.booting is True
    # while it is down, it is unreachable: exit 3
    code, _, err = cli(capsys, "--timeout", "0.5", "info", addr(plug))
    assert code == 3 and addr(plug) in error_line(err)


class _Terminal(io.StringIO):
    """A stdin that claims to be a terminal, with the person's answers in it."""

    def isatty(self) -> bool:
        return True


def test_interactive_confirmation(
    home: dict[str, Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    plug = home["hs110"]
    monkeypatch.setattr(sys, "stdin", _Terminal("n\n"))
    code, out, err = cli(capsys, "reboot", addr(plug))
    assert code == 2 and out == ""  # a refused confirmation is a usage error (issue 11)
    assert "Reboot" in err and "cancelled" in err.strip().splitlines()[-1]
    assert plug.booting is False
    monkeypatch.setattr(sys, "stdin", _Terminal("y\n"))
    code, out, _ = cli(capsys, "reboot", addr(plug), "--delay", "1")
    assert code == 0 and "reboot in 1 s" in out


def test_reset(home: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    plug = home["hs110"]
    assert cli(capsys, "alias", addr(plug), "Renamed")[0] == 0
    assert cli(capsys, "reset", addr(plug))[0] == 2
    assert plug.alias == "Renamed"
    data = cli_json(capsys, "reset", addr(plug), "--yes", "--delay", "0")
    assert data["resetting"] is True
    deadline = time.monotonic() + 3
    while plug.alias == "Renamed" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert plug.alias != "Renamed"
