"""The newer simulator itself: discovery packets, the smart dispatcher, loopback only."""

from __future__ import annotations

import json
import struct
import zlib

import pytest

from tplink_tui.simulator.newer import (
    NEWER_PROFILES,
    TEST_PASSWORD,
    TEST_USERNAME,
    NewerSimulator,
    SmartDevice,
    build_packet,
    discovery_answer,
    parse_packet,
)
from tplink_tui.transports import Credentials
from tplink_tui.transports.klap import KlapTransport


def test_packet_header_and_crc() -> None:
    payload = b'{"params":{}}'
    packet = build_packet(payload, serial=0x01020304)
    version, kind, op, length, flags, zero, serial, crc = struct.unpack(">BBHHBBII", packet[:16])
    assert (version, kind, op, length, flags, zero, serial) == (
        2,
        0,
        1,
        len(payload),
        0x11,
        0,
        0x01020304,
    )
    blank = packet[:12] + struct.pack(">I", 0x5A6B7C8D) + payload
    assert crc == zlib.crc32(blank)
    assert parse_packet(packet) == (0x01020304, payload)
    with pytest.raises(ValueError, match="CRC"):
        parse_packet(packet[:-1] + b"]")


async def test_discovery_answer_describes_the_scheme() -> None:
    async with NewerSimulator() as sim:
        klap = await sim.add("kp125m")
        v1 = await sim.add("hs100v41")
        aes = await sim.add("ep25")
    answers = {
        d.profile.key: json.loads(parse_packet(discovery_answer(d, 7))[1]) for d in (klap, v1, aes)
    }
    res = answers["kp125m"]["result"]
    assert res["device_type"] == "SMART.KASAPLUG" and res["model"] == "KP125M"
    assert res["mgt_encrypt_schm"] == {
        "is_support_https": False,
        "encrypt_type": "KLAP",
        "http_port": klap.port,
        "lv": 2,
    }
    assert "-" in res["mac"] and res["ip"] == "127.0.0.1"
    assert "lv" not in answers["hs100v41"]["result"]["mgt_encrypt_schm"]  # missing lv = 1
    assert answers["hs100v41"]["result"]["device_type"] == "IOT.SMARTPLUGSWITCH"
    assert answers["ep25"]["result"]["mgt_encrypt_schm"]["encrypt_type"] == "AES"


def test_batch_stops_at_the_first_error() -> None:
    dev = SmartDevice(NEWER_PROFILES["p110"], seed=1)
    reply = dev.call(
        {
            "method": "multipleRequest",
            "params": {
                "requests": [
                    {"method": "get_device_info"},
                    {"method": "get_nonsense"},
                    {"method": "get_emeter_data"},
                ]
            },
        },
        None,
    )
    responses = reply["result"]["responses"]
    assert [r["method"] for r in responses] == ["get_device_info", "get_nonsense"]
    assert responses[1]["error_code"] == -1002


def test_meterless_strip_refuses_energy_and_plug_refuses_children() -> None:
    strip = SmartDevice(NEWER_PROFILES["p300"], seed=1)
    child = strip.outlets[0].device_id
    inner = {"method": "get_energy_usage"}
    reply = strip.call(
        {"method": "control_child", "params": {"device_id": child, "requestData": inner}}, None
    )
    assert reply["result"]["responseData"]["error_code"] != 0
    plug = SmartDevice(NEWER_PROFILES["kp125m"], seed=1)
    assert plug.call({"method": "get_child_device_list"}, None)["error_code"] != 0


def test_children_are_not_listed_in_position_order() -> None:
    strip = SmartDevice(NEWER_PROFILES["p316m"], seed=2, night_light=True)
    listed = strip.call({"method": "get_child_device_list"}, None)["result"]["child_device_list"]
    positions = [c["position"] for c in listed if c["category"].endswith("sub-plug")]
    assert sorted(positions) == [1, 2, 3, 4, 5, 6] and positions != sorted(positions)
    assert any(c["category"].endswith("sub-bulb") for c in listed)


def test_binds_loopback_only() -> None:
    with pytest.raises(ValueError, match="loopback"):
        NewerSimulator("0.0.0.0")


async def test_per_device_credentials_and_old_dialect_writes() -> None:
    async with NewerSimulator() as sim:
        dev = await sim.add("hs100v41", username="me@example.com", password="s3cret")
        t = KlapTransport(dev.host, dev.port, credentials=Credentials("me@example.com", "s3cret"))
        off = b'{"system":{"set_relay_state":{"state":0}}}'
        assert json.loads(await t.request(off))["system"]["set_relay_state"]["err_code"] == 0
        assert dev.state.relay_on is False  # type: ignore[union-attr]
        await t.close()
    assert (TEST_USERNAME, TEST_PASSWORD) == ("test@example.com", "test-password")
