"""``tplink-tui bridge`` over HTTP, as a real process against the simulator: the old web
app's API, the REST API (every route, outlets by index/id/name, every error status),
OpenAPI, Prometheus metrics (parsed with prometheus_client.parser), and the process
life: start, log lines, signals, a device going away."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from bridge_helpers import BridgeProcess, call, eventually, save_devices
from prometheus_client.parser import text_string_to_metric_families

from tplink_tui.simulator import ThreadedSimulator


class House:
    def __init__(self, sim: ThreadedSimulator, folder: Path) -> None:
        self.sim = sim
        self.folder = folder
        self.fridge = sim.add("hs110", "Fridge")
        self.desk = sim.add("hs300", "Desk")
        self.lamp = sim.add("hs100", "Lamp")
        self.spare = sim.add("hs100", "Spare")
        save_devices(
            folder / "devices.json",
            [
                ("Fridge", self.fridge, "Kitchen"),
                ("Desk", self.desk, "Office"),
                ("Lamp", self.lamp, ""),
                ("Spare", self.spare, ""),
            ],
        )
        self.bridge = BridgeProcess(folder, "--interval", "0.3").wait_ready()

    def get(self, path: str, **kw: Any) -> tuple[int, dict[str, str], Any]:
        return call(self.bridge.url, "GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> tuple[int, dict[str, str], Any]:
        return call(self.bridge.url, "POST", path, body, **kw)

    def online(self) -> None:
        eventually(
            lambda: all(d["online"] for d in self.get("/api/devices")[2]["devices"]),
            what="every device online",
        )


@pytest.fixture(scope="module")
def house(tmp_path_factory: pytest.TempPathFactory) -> Iterator[House]:
    with ThreadedSimulator(seed=1234) as sim:
        home = House(sim, tmp_path_factory.mktemp("bridge"))
        try:
            home.online()
            yield home
        finally:
            home.bridge.stop()


# -- the old web app's API --------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/api/legacy"])
def test_legacy_every_request(house: House, path: str) -> None:
    lamp = house.lamp
    addr = f"{lamp.host}:{lamp.port}"
    house.sim.call(lamp.set_relay, True)
    status, headers, reply = house.post(path, {"request": "get_info", "ip": addr})
    assert status == 200 and headers["access-control-allow-origin"] == "*"
    assert reply["system"]["get_sysinfo"]["alias"] == "Lamp"
    assert reply["system"]["get_sysinfo"]["err_code"] == 0

    assert house.post(path, {"request": "get_relay_state", "ip": "Lamp"})[2] == {"relay_state": 1}
    reply = house.post(path, {"request": "set_relay_off", "ip": "lamp"})[2]
    assert reply == {"system": {"set_relay_state": {"err_code": 0}}}
    assert not lamp.relay_on
    assert house.post(path, {"request": "get_relay_state", "ip": addr})[2] == {"relay_state": 0}
    house.post(path, {"request": "set_relay_on", "ip": "Lamp"})
    assert lamp.relay_on
    assert house.post(path, {"request": "toggle_relay", "ip": "Lamp"})[0] == 200
    assert not lamp.relay_on
    house.post(path, {"request": "toggle_relay", "ip": "Lamp"})
    assert lamp.relay_on

    reply = house.post(path, {"request": "set_led_off", "ip": "Lamp"})[2]
    assert reply == {"system": {"set_led_off": {"err_code": 0}}}
    assert lamp.led_on is False
    assert house.post(path, {"request": "get_led_state", "ip": "Lamp"})[2] == {"led_off": 1}
    house.post(path, {"request": "set_led_on", "ip": "Lamp"})
    assert lamp.led_on is True
    assert house.post(path, {"request": "get_led_state", "ip": "Lamp"})[2] == {"led_off": 0}


def test_legacy_takes_a_form_and_curl_style_json(house: House) -> None:
    house.sim.call(house.lamp.set_relay, True)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    status, _, reply = house.post("/", "request=set_relay_off&ip=Lamp", headers=form)
    assert status == 200 and not house.lamp.relay_on
    status, _, reply = house.post("/", '{"request":"get_relay_state","ip":"Lamp"}', headers=form)
    assert reply == {"relay_state": 0}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ("not json", 400, "bad_request"),
        ([1, 2], 400, "bad_request"),
        ({"request": "reboot", "ip": "Lamp"}, 400, "bad_request"),
        ({"request": "get_info"}, 400, "bad_request"),
        ({"request": "get_info", "ip": "192.168.1.20"}, 404, "unknown_device"),
        ({"request": "get_info", "ip": "127.0.0.1"}, 400, "bad_request"),  # several there
    ],
)
def test_legacy_errors(house: House, body: Any, status: int, code: str) -> None:
    got, headers, reply = house.post("/", body)
    assert (got, reply["code"]) == (status, code), reply
    assert reply["error"] and headers["access-control-allow-origin"] == "*"


def test_cors_preflight(house: House) -> None:
    status, headers, _ = call(house.bridge.url, "OPTIONS", "/api/devices/Lamp/on")
    assert status == 204
    assert "POST" in headers["access-control-allow-methods"]
    assert headers["access-control-allow-origin"] == "*"


# -- REST ------------------------------------------------------------------------------------


def test_devices_list_from_the_snapshots(house: House) -> None:
    house.online()
    status, _, data = house.get("/api/devices")
    assert status == 200
    by_name = {d["name"]: d for d in data["devices"]}
    assert set(by_name) == {"Fridge", "Desk", "Lamp", "Spare"}
    fridge = by_name["Fridge"]
    assert fridge["room"] == "Kitchen" and fridge["model"].startswith("HS110")
    assert fridge["online"] and fridge["last_seen"] > time.time() - 30
    assert fridge["power_w"] > 0 and fridge["total_kwh"] is not None
    assert "today_kwh" in fridge
    desk = by_name["Desk"]
    assert [o["index"] for o in desk["outlets"]] == list(range(6))
    assert all("power_w" in o and "is_on" in o for o in desk["outlets"])
    assert by_name["Lamp"]["power_w"] is None  # no meter


def test_one_device_by_name_topic_or_address(house: House) -> None:
    fridge = house.fridge
    for ref in ("Fridge", "fridge", f"127.0.0.1:{fridge.port}"):
        status, _, data = house.get(f"/api/devices/{ref}")
        assert status == 200 and data["name"] == "Fridge"
    status, _, data = house.get("/api/devices/Nobody")
    assert (status, data["code"]) == (404, "unknown_device")


def test_switch_plug_on_off_toggle(house: House) -> None:
    lamp = house.lamp
    house.sim.call(lamp.set_relay, True)
    status, _, data = house.post("/api/devices/Lamp/off")
    assert status == 200 and data == {"name": "Lamp", "outlet": None, "is_on": False}
    assert not lamp.relay_on
    assert house.post("/api/devices/Lamp/on")[2]["is_on"] is True and lamp.relay_on
    assert house.post("/api/devices/Lamp/toggle")[2]["is_on"] is False and not lamp.relay_on
    eventually(lambda: house.get("/api/devices/Lamp")[2]["is_on"] is False, what="poll shows off")


def test_switch_strip_outlets_by_index_id_short_id_and_name(house: House) -> None:
    desk = house.desk
    outlets = desk.outlets
    house.sim.call(desk.set_relay, True)
    refs = [("1", 1), (outlets[2].id, 2), (outlets[3].id[-2:], 3), (outlets[4].alias, 4)]
    for ref, index in refs:
        status, _, data = house.post(f"/api/devices/Desk/off?outlet={quote(ref)}")
        assert status == 200, data
        assert data["outlet"]["index"] == index and data["is_on"] is False
        assert not outlets[index].is_on
    assert outlets[0].is_on and outlets[5].is_on
    status, _, data = house.post("/api/devices/Desk/toggle?outlet=1")
    assert data["is_on"] is True and outlets[1].is_on


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/api/devices/Desk/on?outlet=9", 404, "unknown_outlet"),
        ("/api/devices/Desk/on?outlet=Nothing", 404, "unknown_outlet"),
        ("/api/devices/Lamp/on?outlet=0", 404, "unknown_outlet"),
        ("/api/devices/Desk/on?outlet=", 400, "bad_request"),
        ("/api/devices/Ghost/on", 404, "unknown_device"),
        ("/api/devices/Lamp/explode", 404, "not_found"),
    ],
)
def test_switch_errors(house: House, path: str, status: int, code: str) -> None:
    got, _, data = house.post(path)
    assert (got, data["code"]) == (status, code), data


def test_device_failing_is_502_and_timing_out_is_504(house: House) -> None:
    spare = house.spare
    house.sim.set_offline(spare)
    try:
        status, _, data = house.post("/api/devices/Spare/on")
        assert (status, data["code"]) == (502, "device_unreachable"), data
        eventually(lambda: not house.get("/api/devices/Spare")[2]["online"], what="Spare offline")
        assert house.get("/api/devices/Fridge")[2]["online"]  # the others go on
    finally:
        house.sim.set_offline(spare, False)
    house.sim.call(setattr, spare.faults, "no_reply", True)
    try:
        status, _, data = house.post("/api/devices/Spare/off")
        assert (status, data["code"]) == (504, "device_timeout"), data
    finally:
        house.sim.call(setattr, spare.faults, "no_reply", False)
    house.sim.call(setattr, spare.faults, "garbage", True)
    try:
        status, _, data = house.post("/", {"request": "get_info", "ip": "Spare"})
        assert status == 502 and data["code"] in ("device_error", "device_unreachable"), data
    finally:
        house.sim.call(setattr, spare.faults, "garbage", False)
    eventually(lambda: house.get("/api/devices/Spare")[2]["online"], what="Spare back")


def test_history(house: House) -> None:
    def points() -> list[dict[str, float]]:
        status, _, data = house.get("/api/devices/Fridge/history?since=1h&step=1s")
        assert status == 200, data
        return list(data["points"])

    found = eventually(lambda: len(points()) >= 2, what="recorded history") and points()
    assert all(p["power_w"] > 0 for p in found)
    assert found == sorted(found, key=lambda p: p["ts"])
    status, _, data = house.get("/api/devices/Desk/history?since=10m&step=1m&outlet=0")
    assert status == 200 and data["outlet"] == 0 and data["step"] == 60
    for query, code in (("since=yesterday", 400), ("step=0s", 400), ("since=30d&step=1s", 400)):
        status, _, data = house.get(f"/api/devices/Fridge/history?{query}")
        assert (status, data["code"]) == (code, "bad_request"), query
    assert house.get("/api/devices/Ghost/history")[0] == 404
    assert house.get("/api/devices/Desk/history?outlet=7")[0] == 404


def test_openapi_documents_every_route(house: House) -> None:
    status, _, doc = house.get("/api/openapi.json")
    assert status == 200 and doc["openapi"].startswith("3.")
    paths = doc["paths"]
    for path in (
        "/",
        "/api/legacy",
        "/api/devices",
        "/api/devices/{name}",
        "/api/devices/{name}/{action}",
        "/api/devices/{name}/history",
        "/metrics",
    ):
        assert path in paths, path
    action = next(
        p
        for p in paths["/api/devices/{name}/{action}"]["post"]["parameters"]
        if p["name"] == "action"
    )
    assert action["schema"]["enum"] == ["on", "off", "toggle"]
    assert {"404", "502", "504"} <= set(paths["/api/devices/{name}/{action}"]["post"]["responses"])


# -- Prometheus --------------------------------------------------------------------------------


def _metrics(house: House) -> dict[str, Any]:
    status, headers, text = house.get("/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain")
    return {family.name: family for family in text_string_to_metric_families(text)}


def _value(family: Any, **labels: str) -> float:
    for sample in family.samples:
        if all(sample.labels.get(k) == v for k, v in labels.items()):
            return float(sample.value)
    raise AssertionError(f"no {family.name} sample with {labels}")


def test_metrics_parse_and_match_the_devices(house: House) -> None:
    house.sim.call(house.desk.set_relay, True)
    house.sim.call(house.desk.set_relay, False, [house.desk.outlets[5]])
    eventually(lambda: _value(_metrics(house)["tplink_relay_on"], device="Desk", outlet="5") == 0)
    families = _metrics(house)
    expected = {
        "tplink_power_watts": "gauge",
        "tplink_voltage_volts": "gauge",
        "tplink_current_amperes": "gauge",
        "tplink_energy_kilowatt_hours": "counter",
        "tplink_relay_on": "gauge",
        "tplink_device_up": "gauge",
        "tplink_rssi_dbm": "gauge",
        "tplink_on_seconds": "gauge",
        "tplink_device_info": "gauge",  # the text format writes an info metric as a gauge
        "tplink_outlet_info": "gauge",
    }
    for name, kind in expected.items():
        assert families[name].type == kind, name
    energy = families["tplink_energy_kilowatt_hours"]
    assert all(s.name == "tplink_energy_kilowatt_hours_total" for s in energy.samples)
    fridge = {"device": "Fridge", "outlet": ""}
    power = _value(families["tplink_power_watts"], **fridge)
    assert 0 < power < 3000
    assert families["tplink_power_watts"].samples[0].labels.keys() >= {
        "device",
        "outlet",
        "room",
        "model",
    }
    assert _value(families["tplink_power_watts"], device="Fridge", room="Kitchen") == power
    assert _value(families["tplink_device_up"], device="Fridge") == 1
    assert _value(families["tplink_relay_on"], device="Desk", outlet="5") == 0
    assert _value(families["tplink_relay_on"], device="Desk", outlet="0") == 1
    assert _value(families["tplink_power_watts"], device="Desk", outlet="5") == 0
    assert -100 < _value(families["tplink_rssi_dbm"], device="Lamp") < 0
    info = next(s for s in families["tplink_device_info"].samples if s.labels["device"] == "Fridge")
    assert info.labels["mac"] == house.fridge.mac and info.labels["firmware"]
    assert info.labels["model"].startswith("HS110") and info.value == 1
    outlet = next(s for s in families["tplink_outlet_info"].samples if s.labels["outlet"] == "4")
    assert outlet.labels["alias"] == house.desk.outlets[4].alias


def test_metrics_offline_device_is_down_without_stale_readings(house: House) -> None:
    house.sim.set_offline(house.fridge)
    try:
        eventually(lambda: _value(_metrics(house)["tplink_device_up"], device="Fridge") == 0)
        families = _metrics(house)
        assert not [
            s for s in families["tplink_power_watts"].samples if s.labels["device"] == "Fridge"
        ]
        assert _value(families["tplink_device_up"], device="Desk") == 1
    finally:
        house.sim.set_offline(house.fridge, False)
    eventually(lambda: _value(_metrics(house)["tplink_device_up"], device="Fridge") == 1)


def test_reads_cost_no_device_round_trip(house: House) -> None:
    before = house.lamp.requests
    for _ in range(20):
        house.get("/api/devices")
        house.get("/metrics")
    # polls go on at 0.3 s; 40 reads served from snapshots add no request each
    assert house.lamp.requests - before < 20


# -- the process ---------------------------------------------------------------------------------


def test_page_is_served_self_contained(house: House) -> None:
    status, headers, text = house.get("/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert "<script>" in text and "http" not in text.split("<script>")[1].split("fetch(")[0]
    policy = headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'sha256-" in policy


def test_wrong_host_header_is_refused(house: House) -> None:
    status, _, data = house.get("/api/devices", headers={"Host": "attacker.example"})
    assert (status, data["code"]) == (421, "wrong_host")


def test_log_lines_and_clean_exit_on_sigint(house: House, tmp_path: Path) -> None:
    save_devices(tmp_path / "devices.json", [("Lamp", house.lamp, "")])
    bridge = BridgeProcess(tmp_path).wait_ready()
    assert bridge.ready_after is not None
    assert call(bridge.url, "GET", "/api/devices/Lamp")[0] == 200
    assert bridge.stop(signal.SIGINT) == 0
    lines = bridge.stderr().strip().splitlines()
    assert "Traceback" not in bridge.stderr()
    assert any("HTTP on http://127.0.0.1:" in line for line in lines)
    assert lines[-1].endswith("tplink-tui bridge: stopped")
    assert len(lines) <= 5, lines


def test_token_guards_every_route_but_open_metrics(house: House, tmp_path: Path) -> None:
    save_devices(tmp_path / "devices.json", [("Lamp", house.lamp, "")])
    env = {"TPLINK_TUI_TOKEN": "s3cret-token"}
    bridge = BridgeProcess(tmp_path, "--metrics-open", env=env).wait_ready()
    try:
        url, good = bridge.url, {"Authorization": "Bearer s3cret-token"}
        for method, path in (
            ("GET", "/api/devices"),
            ("GET", "/"),
            ("POST", "/api/devices/Lamp/on"),
            ("POST", "/"),
            ("GET", "/api/openapi.json"),
        ):
            status, _, data = call(url, method, path)
            assert (status, data["code"]) == (401, "unauthorized"), path
            wrong = {"Authorization": "Bearer s3cret-tokem"}
            assert call(url, method, path, headers=wrong)[0] == 401, path
        assert call(url, "GET", "/api/devices", headers=good)[0] == 200
        assert call(url, "GET", "/?token=s3cret-token")[0] == 200  # the page's own address
        house.sim.call(house.lamp.set_relay, False)
        assert call(url, "POST", "/api/devices/Lamp/on", headers=good)[0] == 200
        assert house.lamp.relay_on
        assert call(url, "GET", "/metrics")[0] == 200  # --metrics-open
    finally:
        assert bridge.stop() == 0
    assert "s3cret" not in bridge.stderr()
    closed = BridgeProcess(tmp_path, "--token", "t0k", "--no-history").wait_ready()
    try:
        assert call(closed.url, "GET", "/metrics")[0] == 401
        assert call(closed.url, "GET", "/metrics?token=t0k")[0] == 200
        status, _, data = call(
            closed.url, "GET", "/api/devices/Lamp/history", headers={"Authorization": "Bearer t0k"}
        )
        assert (status, data["code"]) == (503, "history_unavailable")
    finally:
        closed.stop()


def test_devices_subset_and_usage_errors(house: House, tmp_path: Path) -> None:
    save_devices(
        tmp_path / "devices.json", [("Lamp", house.lamp, ""), ("Fridge", house.fridge, "")]
    )
    bridge = BridgeProcess(tmp_path, "--devices", "lamp").wait_ready()
    try:
        names = [d["name"] for d in call(bridge.url, "GET", "/api/devices")[2]["devices"]]
        assert names == ["Lamp"]
    finally:
        bridge.stop()
    for args in (("--devices", "Nope"), ("--http", "0.0.0.0:8321"), ("--interval", "0")):
        failed = BridgeProcess(tmp_path, *args, http="--http" not in args)
        assert failed.process.wait(15) == 2, failed.stderr()
        lines = failed.stderr().strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("tplink-tui: error: "), lines
    empty = tmp_path / "empty"
    empty.mkdir()
    failed = BridgeProcess(empty)
    assert failed.process.wait(15) == 2 and "no saved devices" in failed.stderr()


def test_busy_port_is_one_line_exit_2(house: House, tmp_path: Path) -> None:
    save_devices(tmp_path / "devices.json", [("Lamp", house.lamp, "")])
    port = house.bridge.port
    failed = BridgeProcess(tmp_path, "--http", f"127.0.0.1:{port}", http=False)
    assert failed.process.wait(15) == 2
    err = failed.stderr()
    assert "tplink-tui: error: cannot listen on http://127.0.0.1:" in err and "Traceback" not in err
