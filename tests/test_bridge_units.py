"""The bridge's pure parts, in process: the fast metrics text against the library's own,
topic and URL parsing, the command line's safety rules, the published numbers."""

from __future__ import annotations

import argparse
import time

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from tplink_tui.bridge.hub import Hub, slug
from tplink_tui.bridge.metrics import MetricsText, registry_for
from tplink_tui.bridge.options import parse_http, parse_mqtt_url
from tplink_tui.bridge.rest import parse_duration
from tplink_tui.bridge.topics import _number, device_messages, parse_command, parse_set
from tplink_tui.cli.bridge import _options
from tplink_tui.devices.models import DeviceState, EnergyReading, parse_sysinfo
from tplink_tui.errors import UsageError
from tplink_tui.monitor import Snapshot, Status
from tplink_tui.store.config import SavedDevice

HOSTILE = 'Q"uo\\te\nline\x1b[31m'


def _hub() -> Hub:
    devices = [
        SavedDevice("Fridge", "127.0.0.1", 10001, room="Kitchen"),
        SavedDevice(HOSTILE, "127.0.0.1", 10002, room='R"oom'),
        SavedDevice("Strip", "127.0.0.1", 10003),
        SavedDevice("Gone", "127.0.0.1", 10004),
    ]
    hub = Hub(devices, history=False)
    for device in hub.devices.values():
        hub.monitor.add(device.key, device.saved.host, device.saved.port)
    plug = parse_sysinfo(
        {
            "model": 'HS110"\\x',
            "alias": HOSTILE,
            "mac": "50:C7:BF:56:09:B4",
            "sw_ver": "1.2.6",
            "hw_ver": "1.0",
            "feature": "TIM:ENE",
            "relay_state": 1,
            "on_time": 5,
            "rssi": -50,
        }
    )
    strip = parse_sysinfo(
        {
            "model": "HS300(US)",
            "alias": "Strip",
            "mac": "68:FF:7B:2A:3D:47",
            "feature": "TIM:ENE",
            "rssi": -60,
            "children": [
                {"id": "X00", "alias": "Lamp", "state": 1, "on_time": 3},
                {"id": "X01", "alias": HOSTILE, "state": 0, "on_time": 0},
            ],
        }
    )
    now = time.time()
    states = {
        "127.0.0.1:10001": DeviceState(plug, EnergyReading(61.5, 230.1, 0.27, 12.5), {}, now),
        "127.0.0.1:10002": DeviceState(plug, EnergyReading(0.1 + 0.2, None, None, 1e-9), {}, now),
        "127.0.0.1:10003": DeviceState(
            strip,
            None,
            {0: EnergyReading(10.0, 120.0, 0.1, 1.0), 1: EnergyReading(0, 120, 0, 2)},
            now,
        ),
    }
    for key, state in states.items():
        hub.monitor._devices[key].snapshot = Snapshot(
            key, "127.0.0.1", 1, Status.ONLINE, state=state
        )
    hub.monitor._devices["127.0.0.1:10004"].snapshot = Snapshot(
        "127.0.0.1:10004", "127.0.0.1", 1, Status.OFFLINE, state=states["127.0.0.1:10001"]
    )
    return hub


def test_fast_metrics_text_is_byte_for_byte_the_librarys() -> None:
    hub = _hub()
    text = MetricsText(hub)
    ours = text.render()
    assert ours == generate_latest(registry_for(hub))
    assert text.render() == ours  # from the per-device cache
    families = {f.name: f for f in text_string_to_metric_families(ours.decode())}
    up = {s.labels["device"]: s.value for s in families["tplink_device_up"].samples}
    assert up == {"Fridge": 1, HOSTILE: 1, "Strip": 1, "Gone": 0}
    info = [s for s in families["tplink_device_info"].samples if s.labels["device"] == "Fridge"]
    assert "\x1b" not in info[0].labels["alias"]  # device text: no terminal control
    strip = [s for s in families["tplink_relay_on"].samples if s.labels["device"] == "Strip"]
    assert {s.labels["outlet"]: s.value for s in strip} == {"": 1, "0": 1, "1": 0}


def test_state_messages_and_numbers() -> None:
    hub = _hub()
    fridge = hub.find("fridge")
    out = device_messages("tplink", fridge, hub.snapshot(fridge))
    assert out["tplink/fridge/state"] == "ON" and out["tplink/fridge/power"] == "61.5"
    strip = hub.find("Strip")
    out = device_messages("tplink", strip, hub.snapshot(strip))
    assert out["tplink/strip/1/state"] == "OFF" and out["tplink/strip/power"] == "10"
    gone = hub.find("Gone")
    out = device_messages("tplink", gone, hub.snapshot(gone))
    assert out == {"tplink/gone/availability": "offline"}
    assert [_number(v) for v in (0.1 + 0.2, 1e-9, -1e-9, 1234.5, 100.0)] == [
        "0.3",
        "0",
        "0",
        "1234.5",
        "100",
    ]


def test_topic_levels_and_commands() -> None:
    assert slug("Living Room #1") == "living_room_1" and slug("__") == "device"
    assert slug(HOSTILE).startswith("q_uo")
    assert parse_set("home/plugs", "home/plugs/desk/set") == ("desk", None)
    assert parse_set("home/plugs", "home/plugs/desk/3/set") == ("desk", "3")
    for topic in ("home/plugs/set", "home/plugs//set", "other/desk/set", "home/plugs/a/b/c/set"):
        assert parse_set("home/plugs", topic) is None
    assert [parse_command(p) for p in (b"ON", b" off ", b"Toggle", b"1", b"\xff")] == [
        "on",
        "off",
        "toggle",
        None,
        None,
    ]


def test_mqtt_url() -> None:
    options = parse_mqtt_url("mqtt://us%40er:p%3Ass@127.0.0.1:1884/home/plugs")
    assert (options.username, options.password) == ("us@er", "p:ss")
    assert (options.port, options.prefix) == (1884, "home/plugs")
    assert "p:ss" not in options.safe_url and "p:ss" not in repr(options)
    assert parse_mqtt_url("mqtts://127.0.0.1").port == 8883
    for bad in ("http://x", "mqtt://", "mqtt://h/a/#", "mqtt://h/a//b", "mqtt://h:0x/"):
        with pytest.raises(UsageError):
            parse_mqtt_url(bad)


def test_http_address_and_durations() -> None:
    assert parse_http("999") == ("127.0.0.1", 999)
    assert parse_http(":8080") == ("127.0.0.1", 8080)
    assert parse_http("0.0.0.0:80") == ("0.0.0.0", 80)
    with pytest.raises(UsageError):
        parse_http("127.0.0.1:70000")
    assert [parse_duration(t, "x") for t in ("90", "30s", "15m", "24h", "7d", "1w")] == [
        90,
        30,
        900,
        86400,
        604800,
        604800,
    ]
    for bad in ("0", "-1h", "h", "1y", "yesterday"):
        with pytest.raises(UsageError):
            parse_duration(bad, "x")


def _args(**values: object) -> argparse.Namespace:
    base = {"http": None, "mqtt": None, "token": None, "metrics_open": False}
    return argparse.Namespace(**{**base, "discovery_prefix": "homeassistant", **values})


def test_beyond_loopback_needs_a_token_and_warns(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TPLINK_TUI_TOKEN", raising=False)
    http, mqtt = _options(_args())
    assert http is not None and (http.host, http.port, http.token) == ("127.0.0.1", 8321, None)
    assert mqtt is None
    with pytest.raises(UsageError, match="needs a token"):
        _options(_args(http="0.0.0.0:8321"))
    http, _ = _options(_args(http="0.0.0.0:8321", token="t0ken"))
    assert http is not None and http.token == "t0ken"
    assert "WARNING" in capsys.readouterr().err
    monkeypatch.setenv("TPLINK_TUI_TOKEN", "from-env")
    http, _ = _options(_args(http="192.0.2.1:80"))
    assert http is not None and http.token == "from-env" and "t0ken" not in repr(http)
    http, mqtt = _options(_args(mqtt="mqtt://127.0.0.1/x"))
    assert http is None and mqtt is not None  # only MQTT: no HTTP unless asked
