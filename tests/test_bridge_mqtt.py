"""The MQTT bridge against a real broker (Debian's mosquitto on a loopback port): retained
state, ``set`` commands switching simulated outlets, availability and the last will,
Home Assistant discovery, reconnecting, credentials kept out of logs and topics."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from bridge_helpers import BridgeProcess, eventually, save_devices
from mosquitto import Broker, mosquitto_fixture  # noqa: F401  (the fixture)

from tplink_tui.simulator import ThreadedSimulator

PREFIX = "tplink"
Topics = dict[str, str]


class Home:
    def __init__(self, sim: ThreadedSimulator, folder: Path) -> None:
        self.sim = sim
        self.folder = folder
        self.fridge = sim.add("hs110", "Fridge")
        self.desk = sim.add("hs300", "Desk")
        self.lamp = sim.add("hs100", "Lamp")
        save_devices(
            folder / "devices.json",
            [("Fridge", self.fridge, "Kitchen"), ("Desk", self.desk, ""), ("Lamp", self.lamp, "")],
        )


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Home]:
    with ThreadedSimulator(seed=1234) as sim:
        yield Home(sim, tmp_path)


def start_bridge(
    home: Home, url: str, *more: str, env: dict[str, str] | None = None
) -> BridgeProcess:
    return BridgeProcess(
        home.folder, "--mqtt", url, "--interval", "0.3", *more, http=False, env=env
    ).wait_ready()


async def collect(
    broker: Broker,
    until: Callable[[Topics], bool],
    topics: str = "#",
    timeout: float = 15.0,
    **login: Any,
) -> Topics:
    """Subscribe and gather the latest payload per topic until ``until`` holds."""
    seen: Topics = {}
    async with aiomqtt.Client(broker.host, broker.port, **login) as client:
        await client.subscribe(topics, qos=1)
        try:
            async with asyncio.timeout(timeout):
                async for message in client.messages:
                    payload = message.payload
                    seen[str(message.topic)] = (
                        payload.decode() if isinstance(payload, bytes) else str(payload)
                    )
                    if until(seen):
                        return seen
        except TimeoutError:
            pass
    raise AssertionError(f"not seen within {timeout} s; got {sorted(seen)[:40]}")


async def publish(broker: Broker, topic: str, payload: str) -> None:
    async with aiomqtt.Client(broker.host, broker.port) as client:
        await client.publish(topic, payload, qos=1)


def has(topic: str, payload: str | None = None) -> Callable[[Topics], bool]:
    return lambda seen: topic in seen and (payload is None or seen[topic] == payload)


async def test_state_is_published_retained(home: Home, mosquitto: Broker) -> None:
    bridge = start_bridge(home, mosquitto.url())
    try:
        leaves = ["_bridge/availability", "lamp/state", "lamp/attributes"]
        leaves += [f"fridge/{leaf}" for leaf in ("availability", "state", "power", "energy")]
        leaves += ["fridge/attributes", "desk/state"]
        leaves += [f"desk/{i}/{leaf}" for i in range(6) for leaf in ("state", "power")]
        leaves += ["desk/4/attributes"]

        def every(seen: Topics) -> bool:
            return all(f"{PREFIX}/{leaf}" in seen for leaf in leaves)

        await collect(mosquitto, every)
        # A new subscriber gets everything at once: it is retained.
        seen = await collect(mosquitto, every, timeout=5)
    finally:
        assert bridge.stop() == 0
    assert seen[f"{PREFIX}/_bridge/availability"] == "online"
    assert seen[f"{PREFIX}/fridge/availability"] == "online"
    assert seen[f"{PREFIX}/fridge/state"] == "ON"
    assert float(seen[f"{PREFIX}/fridge/power"]) > 0
    assert float(seen[f"{PREFIX}/fridge/energy"]) >= 0
    attributes = json.loads(seen[f"{PREFIX}/fridge/attributes"])
    assert attributes["power_w"] > 0 and attributes["model"].startswith("HS110")
    assert 100 < attributes["voltage_v"] < 260 and attributes["current_a"] > 0
    assert f"{PREFIX}/fridge/voltage" not in seen  # volts and amperes ride in attributes
    assert attributes["state"] == "ON"
    assert seen[f"{PREFIX}/lamp/state"] == "ON" and f"{PREFIX}/lamp/power" not in seen
    for index in range(6):
        assert seen[f"{PREFIX}/desk/{index}/state"] in ("ON", "OFF")
        assert float(seen[f"{PREFIX}/desk/{index}/power"]) >= 0
    outlet = json.loads(seen[f"{PREFIX}/desk/4/attributes"])
    assert outlet["outlet"] == home.desk.outlets[4].alias


async def test_set_switches_the_simulated_outlet(home: Home, mosquitto: Broker) -> None:
    home.sim.call(home.desk.set_relay, True)
    home.sim.call(home.lamp.set_relay, True)
    bridge = start_bridge(home, mosquitto.url())
    try:
        await collect(mosquitto, has(f"{PREFIX}/desk/2/state", "ON"))
        await publish(mosquitto, f"{PREFIX}/desk/2/set", "OFF")
        await collect(mosquitto, has(f"{PREFIX}/desk/2/state", "OFF"))
        assert not home.desk.outlets[2].is_on and home.desk.outlets[1].is_on
        await publish(mosquitto, f"{PREFIX}/lamp/set", "toggle")
        await collect(mosquitto, has(f"{PREFIX}/lamp/state", "OFF"))
        assert not home.lamp.relay_on
        await publish(mosquitto, f"{PREFIX}/lamp/set", "ON")
        await collect(mosquitto, has(f"{PREFIX}/lamp/state", "ON"))
        await publish(mosquitto, f"{PREFIX}/lamp/set", "EXPLODE")
        await publish(mosquitto, f"{PREFIX}/nobody/set", "ON")
        await asyncio.sleep(0.5)
        assert home.lamp.relay_on
    finally:
        assert bridge.stop() == 0
    err = bridge.stderr()
    assert "expected ON, OFF or TOGGLE" in err and "no such device" in err
    assert "Traceback" not in err


async def test_availability_flips_when_a_device_goes_offline(home: Home, mosquitto: Broker) -> None:
    bridge = start_bridge(home, mosquitto.url())
    try:
        await collect(mosquitto, has(f"{PREFIX}/desk/0/availability", "online"))
        home.sim.set_offline(home.desk)
        seen = await collect(mosquitto, has(f"{PREFIX}/desk/availability", "offline"))
        seen = await collect(
            mosquitto,
            lambda s: (
                has(f"{PREFIX}/desk/0/availability", "offline")(s)
                and f"{PREFIX}/fridge/availability" in s
            ),
        )
        assert seen[f"{PREFIX}/fridge/availability"] == "online"
        home.sim.set_offline(home.desk, False)
        await collect(mosquitto, has(f"{PREFIX}/desk/availability", "online"))
    finally:
        assert bridge.stop(signal.SIGINT) == 0
    # A clean stop says offline itself.
    seen = await collect(mosquitto, has(f"{PREFIX}/_bridge/availability"), timeout=5)
    assert seen[f"{PREFIX}/_bridge/availability"] == "offline"


async def test_last_will_when_the_bridge_dies(home: Home, mosquitto: Broker) -> None:
    bridge = start_bridge(home, mosquitto.url())
    await collect(mosquitto, has(f"{PREFIX}/_bridge/availability", "online"))
    bridge.stop(signal.SIGKILL)
    # keepalive 30 s, but a killed process's socket closes at once: the will goes out
    await collect(mosquitto, has(f"{PREFIX}/_bridge/availability", "offline"), timeout=10)


def _configs(seen: Topics) -> dict[str, dict[str, Any]]:
    return {t: json.loads(p) for t, p in seen.items() if t.startswith("homeassistant/")}


async def test_home_assistant_discovery(home: Home, mosquitto: Broker) -> None:
    bridge = start_bridge(home, mosquitto.url())
    node = "tplink_" + home.desk.mac.replace(":", "").lower()
    try:
        seen = await collect(
            mosquitto, has(f"homeassistant/sensor/{node}/total_energy/config"), timeout=15
        )

        def complete(seen: Topics) -> bool:
            configs = _configs(seen)
            states = {c["state_topic"] for c in configs.values()}
            return len(configs) >= 2 + 4 + 6 + 24 + 4 and states <= set(seen)

        seen = await collect(mosquitto, complete, timeout=10)
    finally:
        bridge.stop()
    configs = _configs(seen)
    for topic, config in configs.items():
        component, node_id, obj, last = topic.split("/")[1:]
        assert last == "config" and component in ("switch", "sensor")
        assert config["unique_id"] == f"{node_id}_{obj}"
        assert config["state_topic"].startswith(f"{PREFIX}/")
        assert config["device"]["identifiers"] == [node_id]
        assert config["device"]["manufacturer"] == "TP-Link"
        assert config["availability_mode"] == "all"
        assert {a["topic"] for a in config["availability"]} >= {f"{PREFIX}/_bridge/availability"}
        assert config["state_topic"] in seen, config["state_topic"]  # its state exists
        if component == "switch":
            assert config["command_topic"].endswith("/set")
            assert (config["payload_on"], config["payload_off"]) == ("ON", "OFF")
        else:
            assert config["state_class"] in ("measurement", "total_increasing")
    fridge = "tplink_" + home.fridge.mac.replace(":", "").lower()
    power = configs[f"homeassistant/sensor/{fridge}/relay_power/config"]
    assert (power["device_class"], power["unit_of_measurement"]) == ("power", "W")
    volts = configs[f"homeassistant/sensor/{fridge}/relay_voltage/config"]
    assert volts["state_topic"] == f"{PREFIX}/fridge/attributes"
    assert volts["value_template"] == "{{ value_json.voltage_v }}"
    assert json.loads(seen[volts["state_topic"]])["voltage_v"] > 100
    energy = configs[f"homeassistant/sensor/{fridge}/relay_energy/config"]
    assert (energy["device_class"], energy["state_class"]) == ("energy", "total_increasing")
    assert energy["unit_of_measurement"] == "kWh"
    assert (
        configs[f"homeassistant/switch/{fridge}/relay/config"]["device"]["suggested_area"]
        == "Kitchen"
    )
    outlet = configs[f"homeassistant/switch/{node}/outlet3/config"]
    assert outlet["command_topic"] == f"{PREFIX}/desk/3/set"
    assert outlet["name"] == home.desk.outlets[3].alias
    lamp = "tplink_" + home.lamp.mac.replace(":", "").lower()
    assert f"homeassistant/switch/{lamp}/relay/config" in configs
    assert not [t for t in configs if t.startswith(f"homeassistant/sensor/{lamp}/")]  # no meter


async def test_reconnects_and_loses_no_command(home: Home, mosquitto: Broker) -> None:
    home.sim.call(home.lamp.set_relay, True)
    bridge = start_bridge(home, mosquitto.url())
    try:
        await collect(mosquitto, has(f"{PREFIX}/lamp/state", "ON"))
        mosquitto.stop()
        eventually(lambda: "retrying in" in bridge.stderr(), what="the bridge notices")
        mosquitto.start()  # same port, same saved sessions
        # Sent at once: the bridge may not be back yet; its session keeps the command.
        await publish(mosquitto, f"{PREFIX}/lamp/set", "OFF")
        eventually(lambda: not home.lamp.relay_on, timeout=20, what="the command carried out")
        await collect(  # the state follows, and the bridge is back online
            mosquitto,
            lambda s: (
                has(f"{PREFIX}/lamp/state", "OFF")(s)
                and has(f"{PREFIX}/_bridge/availability", "online")(s)
            ),
            timeout=20,
        )
    finally:
        assert bridge.stop() == 0
    assert bridge.stderr().count("MQTT connected") >= 2


async def test_credentials_stay_out_of_logs_and_topics(home: Home, tmp_path: Path) -> None:
    folder = tmp_path / "secure-broker"
    folder.mkdir()
    broker = Broker(folder, users={"bridge": "s3cret-pass"})
    broker.start()
    try:
        url = f"mqtt://bridge@{broker.host}:{broker.port}/{PREFIX}"
        bridge = start_bridge(home, url, env={"TPLINK_TUI_MQTT_PASSWORD": "s3cret-pass"})
        login: dict[str, Any] = {"username": "bridge", "password": "s3cret-pass"}
        try:
            seen = await collect(broker, has(f"{PREFIX}/desk/5/attributes"), **login)
        finally:
            bridge.stop()
        assert "MQTT connected to mqtt://bridge@127.0.0.1" in bridge.stderr()
        assert "s3cret" not in bridge.stderr()
        assert not [t for t, p in seen.items() if "s3cret" in t + p]
        # A wrong password: an error line per attempt, the password in none of them.
        bad = start_bridge(home, url.replace("bridge@", "bridge:wr0ng-pass@"))
        eventually(lambda: "retrying in" in bad.stderr(), what="refused")
        bad.stop()
        assert "wr0ng" not in bad.stderr() and "Traceback" not in bad.stderr()
    finally:
        broker.stop()


async def test_the_socket_guard_stops_a_non_loopback_broker() -> None:
    """The test process's guard (tests/conftest.py) covers aiomqtt/paho too."""
    with pytest.raises(BaseException) as caught:
        async with aiomqtt.Client("192.0.2.1", 1883, timeout=2):  # TEST-NET-1, never reached
            pass
    assert "network guard" in repr(caught.value) or "network guard" in str(
        caught.value.__cause__ or caught.value.__context__
    )


def test_bad_mqtt_url_is_one_line_exit_2(home: Home) -> None:
    for url in ("http://127.0.0.1/", "mqtt://127.0.0.1:99999/x", "mqtt://127.0.0.1/a/+/b"):
        bridge = BridgeProcess(home.folder, "--mqtt", url, http=False)
        assert bridge.process.wait(15) == 2
        lines = bridge.stderr().strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("tplink-tui: error: --mqtt"), lines


async def test_renamed_outlet_gets_a_new_discovery_name(home: Home, mosquitto: Broker) -> None:
    bridge = start_bridge(home, mosquitto.url())
    node = "tplink_" + home.desk.mac.replace(":", "").lower()
    topic = f"homeassistant/switch/{node}/outlet1/config"
    try:
        await collect(mosquitto, has(topic))
        home.sim.call(setattr, home.desk.outlets[1], "alias", "Kettle")

        def renamed(seen: Topics) -> bool:
            return topic in seen and json.loads(seen[topic])["name"] == "Kettle"

        await collect(mosquitto, renamed)
    finally:
        bridge.stop()
