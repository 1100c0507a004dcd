"""The simulator on the wire: profiles, framing, modules, errors, strips, rules."""

from __future__ import annotations

import asyncio
import datetime
import json
import re

import pytest

from tplink_tui import codec
from tplink_tui.simulator import PROFILES, Simulator
from tplink_tui.simulator.wire import RawConnection, tcp_query, udp_collect

SYSINFO = {"system": {"get_sysinfo": {}}}
REALTIME = {"emeter": {"get_realtime": {}}}
IOT_MODELS = [key for key, p in PROFILES.items() if not p.klap_only]


def ctx(*ids: str) -> dict:
    return {"context": {"child_ids": list(ids)}}


@pytest.mark.parametrize("model", IOT_MODELS)
async def test_every_profile_answers_sysinfo_and_meter(simulator: Simulator, model: str) -> None:
    dev = await simulator.add(model, "Thing")
    reply = await tcp_query(dev.host, dev.port, {**SYSINFO, **REALTIME})
    info = reply["system"]["get_sysinfo"]
    profile = PROFILES[model]
    assert info["err_code"] == 0
    assert info["model"] == profile.model and info["alias"] == "Thing"
    assert re.fullmatch(r"[0-9A-F]{40}", info["deviceId"])
    assert re.fullmatch(r"[0-9A-F]{32}", info["hwId"]) and re.fullmatch(
        r"[0-9A-F]{32}", info["oemId"]
    )
    assert info[profile.type_key] == "IOT.SMARTPLUGSWITCH"
    mac = info[profile.mac_key]
    assert re.fullmatch(r"([0-9A-F]{2}[:-]){5}[0-9A-F]{2}", mac) and profile.mac_sep in mac
    assert ("latitude_i" in info) == (profile.location == "int")
    assert info["feature"] == ("TIM:ENE" if profile.meter else "TIM")
    if profile.is_strip:
        assert "relay_state" not in info
        assert info["child_num"] == profile.outlets == len(info["children"])
        ids = [c["id"] for c in info["children"]]
        assert ids == [f"{info['deviceId']}{i:02d}" for i in range(profile.outlets)]
    else:
        assert info["relay_state"] == 1 and info["on_time"] > 0
    meter = reply["emeter"]
    if profile.meter is None:
        assert meter == {"err_code": -1, "err_msg": "module not support"}
        return
    reading = meter["get_realtime"]
    volts = reading["voltage"] if profile.meter == "old" else reading["voltage_mv"] / 1000
    assert abs(volts - profile.nominal_voltage) < profile.nominal_voltage * 0.03
    if profile.meter == "old":
        assert all(isinstance(reading[k], float) for k in ("current", "voltage", "power", "total"))
    else:
        assert all(
            type(reading[k]) is int for k in ("current_ma", "voltage_mv", "power_mw", "total_wh")
        )


async def test_identities_are_deterministic_and_distinct() -> None:
    async with Simulator(seed=7) as a, Simulator(seed=7) as b:
        first = [await a.add(m) for m in ("hs110", "hs110", "hs300")]
        second = [await b.add(m) for m in ("hs110", "hs110", "hs300")]
    assert [d.device_id for d in first] == [d.device_id for d in second]
    assert [d.mac for d in first] == [d.mac for d in second]
    assert len({d.device_id for d in first}) == 3 and len({d.mac for d in first}) == 3


async def test_us_and_eu_voltages(simulator: Simulator) -> None:
    us, eu = await simulator.add("hs110"), await simulator.add("hs110v4")
    assert (
        115
        < (await tcp_query(us.host, us.port, REALTIME))["emeter"]["get_realtime"]["voltage"]
        < 125
    )
    mv = (await tcp_query(eu.host, eu.port, REALTIME))["emeter"]["get_realtime"]["voltage_mv"]
    assert 223_000 < mv < 237_000


async def test_persistent_connection_pipelined_and_split_frames(simulator: Simulator) -> None:
    dev = await simulator.add("hs105")
    async with await RawConnection.open(dev.host, dev.port) as conn:
        for _ in range(3):
            assert (await conn.request(SYSINFO))["system"]["get_sysinfo"]["err_code"] == 0
        # Two requests in one write, answered in order.
        off = {"system": {"set_relay_state": {"state": 0}}}
        conn.writer.write(codec.frame(json.dumps(off)) + codec.frame(json.dumps(SYSINFO)))
        assert (await conn.read_json())["system"]["set_relay_state"]["err_code"] == 0
        assert (await conn.read_json())["system"]["get_sysinfo"]["relay_state"] == 0
        # One request dribbled byte by byte.
        for byte in codec.frame(json.dumps(SYSINFO)):
            conn.writer.write(bytes([byte]))
            await conn.writer.drain()
        assert (await conn.read_json())["system"]["get_sysinfo"]["alias"] == dev.alias
    assert dev.relay_on is False


async def test_udp_unicast_answers_unframed(simulator: Simulator) -> None:
    dev = await simulator.add("hs110", "Kettle")
    replies = await asyncio.to_thread(udp_collect, dev.host, dev.port, SYSINFO, 1.0, 1)
    (addr, data), *_ = replies.items()
    assert addr == (dev.host, dev.port)
    assert json.loads(codec.decrypt(data))["system"]["get_sysinfo"]["alias"] == "Kettle"


async def test_error_codes_and_null_args(simulator: Simulator) -> None:
    dev = await simulator.add("hs100")
    reply = await tcp_query(
        dev.host,
        dev.port,
        {
            "nosuch": {"x": {}},
            "system": {"get_sysinfo": None, "frobnicate": {}, "set_relay_state": {"state": 7}},
            "time": {"get_time": {}, "get_timezone": None},
            "count_down": "bogus",
        },
    )
    assert reply["nosuch"] == {"err_code": -1, "err_msg": "module not support"}
    system = reply["system"]
    assert system["get_sysinfo"]["err_code"] == 0
    assert system["frobnicate"] == {"err_code": -2, "err_msg": "member not support"}
    assert system["set_relay_state"] == {"err_code": -3, "err_msg": "invalid argument"}
    assert reply["time"]["get_timezone"]["err_code"] == 0
    assert reply["count_down"]["err_code"] == -3
    assert "context" not in reply


async def test_led_alias_time_cloud_wlan(simulator: Simulator) -> None:
    dev = await simulator.add("kp115")
    reply = await tcp_query(
        dev.host,
        dev.port,
        {
            "system": {"set_led_off": {"off": 1}, "set_dev_alias": {"alias": "Desk"}},
            "time": {
                "set_timezone": {
                    "year": 2030, "month": 1, "mday": 2, "hour": 3, "min": 4, "sec": 5, "index": 18
                }
            },
            "cnCloud": {"get_info": {}},
            "netif": {"get_scaninfo": {"refresh": 1}},
        },
    )  # fmt: skip
    assert dev.led_on is False and dev.alias == "Desk"
    assert reply["cnCloud"]["get_info"]["binded"] == 0
    ap_list = reply["netif"]["get_scaninfo"]["ap_list"]
    assert ap_list and all({"ssid", "key_type"} <= set(ap) for ap in ap_list)
    now = await tcp_query(dev.host, dev.port, {"time": {"get_time": {}, "get_timezone": {}}})
    assert now["time"]["get_timezone"]["index"] == 18
    assert (now["time"]["get_time"]["year"], now["time"]["get_time"]["mday"]) == (2030, 2)
    info = (await tcp_query(dev.host, dev.port, SYSINFO))["system"]["get_sysinfo"]
    assert info["led_off"] == 1 and info["alias"] == "Desk"
    too_long = {"system": {"set_dev_alias": {"alias": "x" * 40}}}
    assert (await tcp_query(dev.host, dev.port, too_long))["system"]["set_dev_alias"][
        "err_code"
    ] == -3


async def test_strip_child_ids(simulator: Simulator) -> None:
    strip = await simulator.add("hs300", outlets=["A", "B", "C", "D", "E", "F"])
    ids = [o.id for o in strip.outlets]
    off = {"system": {"set_relay_state": {"state": 0}}}
    await tcp_query(strip.host, strip.port, {**off, **ctx(ids[1], ids[3])})
    assert [o.is_on for o in strip.outlets] == [True, False, True, False, True, True]
    await tcp_query(
        strip.host, strip.port, {"system": {"set_dev_alias": {"alias": "Lamp"}}, **ctx(ids[5])}
    )
    assert strip.outlets[5].alias == "Lamp" and strip.alias != "Lamp"
    # Several ids: only one reading, of the first id, with its slot.
    reply = await tcp_query(strip.host, strip.port, {**REALTIME, **ctx(ids[4], ids[0])})
    assert reply["emeter"]["get_realtime"]["slot_id"] == 4
    reply = await tcp_query(strip.host, strip.port, {**REALTIME, **ctx(ids[1])})
    assert reply["emeter"]["get_realtime"]["power_mw"] == 0  # off draws nothing
    # No context: the parent switches every outlet.
    await tcp_query(strip.host, strip.port, off)
    assert not any(o.is_on for o in strip.outlets)
    on = {"system": {"set_relay_state": {"state": 1}}}
    await tcp_query(strip.host, strip.port, on)
    assert all(o.is_on for o in strip.outlets)
    # Unknown ids are refused, ids are not parsed.
    bad = await tcp_query(strip.host, strip.port, {**off, **ctx(ids[0][:-2] + "09")})
    assert bad["system"]["set_relay_state"]["err_code"] == -3
    bad = await tcp_query(strip.host, strip.port, {**off, **ctx("0")})
    assert bad["system"]["set_relay_state"]["err_code"] == -3
    assert all(o.is_on for o in strip.outlets)
    info = (await tcp_query(strip.host, strip.port, SYSINFO))["system"]["get_sysinfo"]
    assert [c["alias"] for c in info["children"]] == ["A", "B", "C", "D", "E", "Lamp"]


async def test_meter_moves_total_accumulates_and_off_is_zero(simulator: Simulator) -> None:
    dev = await simulator.add("hs110", loads=["heater"])
    reading = dev.handle_json(REALTIME)["emeter"]["get_realtime"]
    first_total = dev.relays[0].meter.total_wh
    await asyncio.sleep(0.3)
    dev.handle_json(REALTIME)
    assert dev.relays[0].meter.total_wh > first_total
    dev.set_relay(False)
    reading = dev.handle_json(REALTIME)["emeter"]["get_realtime"]
    assert reading["power"] == 0 and reading["current"] == 0


async def test_day_and_month_stats_and_erase(simulator: Simulator) -> None:
    dev, old = await simulator.add("kp115"), await simulator.add("hs110")
    today = datetime.date.today()
    request = {
        "emeter": {
            "get_daystat": {"year": today.year, "month": today.month},
            "get_monthstat": {"year": today.year},
        }
    }
    stats = dev.handle_json(request)["emeter"]
    days = stats["get_daystat"]["day_list"]
    assert days[-1]["day"] == today.day and all("energy_wh" in d for d in days)
    assert len(days) == min(today.day, 31)
    assert stats["get_monthstat"]["month_list"][-1]["month"] == today.month
    assert "energy" in old.handle_json(request)["emeter"]["get_daystat"]["day_list"][0]
    last_month = today.replace(day=1) - datetime.timedelta(days=1)
    back = {"emeter": {"get_daystat": {"year": last_month.year, "month": last_month.month}}}
    history = len(days) + len(dev.handle_json(back)["emeter"]["get_daystat"]["day_list"])
    assert 29 <= history <= 32  # about a month of daily data
    bad = dev.handle_json({"emeter": {"get_daystat": {"year": today.year, "month": 13}}})
    assert bad["emeter"]["get_daystat"]["err_code"] == -3
    dev.handle_json({"emeter": {"erase_emeter_stat": None}})
    stats = dev.handle_json(request)["emeter"]
    assert sum(d["energy_wh"] for d in stats["get_daystat"]["day_list"]) <= 1
    runtime = dev.handle_json(
        {"schedule": {"get_daystat": {"year": today.year, "month": today.month}}}
    )
    assert all(0 <= d["time"] <= 1440 for d in runtime["schedule"]["get_daystat"]["day_list"])


async def test_schedule_and_anti_theft_rules(simulator: Simulator) -> None:
    dev = await simulator.add("hs105")
    rule = {"name": "on", "enable": 1, "wday": [1] * 7, "smin": 600, "sact": 1, "repeat": 1}
    added = dev.handle_json({"schedule": {"add_rule": rule}})["schedule"]["add_rule"]
    assert added["err_code"] == 0 and re.fullmatch(r"[0-9A-F]{32}", added["id"])
    rules = dev.handle_json({"schedule": {"get_rules": {}}})["schedule"]["get_rules"]["rule_list"]
    assert rules[0]["smin"] == 600
    edited = {"schedule": {"edit_rule": {"id": added["id"], "smin": 700}}}
    assert dev.handle_json(edited)["schedule"]["edit_rule"]["err_code"] == 0
    nxt = dev.handle_json({"schedule": {"get_next_action": {}}})["schedule"]["get_next_action"]
    assert nxt["type"] == 1 and nxt["schd_sec"] == 700 * 60 and nxt["id"] == added["id"]
    assert dev.sysinfo()["next_action"]["type"] == 1
    gone = {"schedule": {"delete_rule": {"id": "nope"}}}
    assert dev.handle_json(gone)["schedule"]["delete_rule"]["err_code"] != 0
    dev.handle_json({"schedule": {"delete_rule": {"id": added["id"]}}})
    assert (
        dev.handle_json({"schedule": {"get_next_action": {}}})["schedule"]["get_next_action"][
            "type"
        ]
        == -1
    )
    away = {"name": "away", "enable": 1, "smin": 1000, "emin": 1200, "wday": [1] * 7}
    assert (
        dev.handle_json({"anti_theft": {"add_rule": away}})["anti_theft"]["add_rule"]["err_code"]
        == 0
    )
    assert (
        dev.handle_json({"anti_theft": {"add_rule": {"smin": 5}}})["anti_theft"]["add_rule"][
            "err_code"
        ]
        == -3
    )
    dev.handle_json({"anti_theft": {"delete_all_rules": {}}})
    listed = dev.handle_json({"anti_theft": {"get_rules": None}})["anti_theft"]["get_rules"]
    assert listed["rule_list"] == []


async def test_count_down_fires_and_switches_the_relay(simulator: Simulator) -> None:
    dev = await simulator.add("hs110")
    async with await RawConnection.open(dev.host, dev.port) as conn:
        rule = {"enable": 1, "delay": 0.2, "act": 0, "name": "off soon"}
        reply = await conn.request({"count_down": {"delete_all_rules": {}, "add_rule": rule}})
        assert reply["count_down"]["add_rule"]["err_code"] == 0
        listed = await conn.request({"count_down": {"get_rules": {}}})
        assert listed["count_down"]["get_rules"]["rule_list"][0]["remain"] in (0, 1)
        full = await conn.request({"count_down": {"add_rule": rule}})
        assert full["count_down"]["add_rule"]["err_code"] != 0  # one count_down rule at a time
        assert dev.relay_on and dev.sysinfo()["active_mode"] == "count_down"
        await asyncio.sleep(0.35)
        assert not dev.relay_on and dev.sysinfo()["active_mode"] == "none"
        info = await conn.request(SYSINFO)
        assert info["system"]["get_sysinfo"]["relay_state"] == 0


async def test_count_down_short_delay_on_one_outlet(simulator: Simulator) -> None:
    strip = await simulator.add("kp303", on=False)
    third = strip.outlets[2].id
    rule = {"enable": 1, "delay": 0.2, "act": 1, "name": "soon"}
    reply = await tcp_query(
        strip.host, strip.port, {"count_down": {"add_rule": rule}, **ctx(third)}
    )
    assert reply["count_down"]["add_rule"]["err_code"] == 0
    await asyncio.sleep(0.35)
    assert [o.is_on for o in strip.outlets] == [False, False, True]
    rules = strip.handle_json({"count_down": {"get_rules": {}}, **ctx(third)})
    assert rules["count_down"]["get_rules"]["rule_list"][0]["enable"] == 0  # spent
    for bad in (0, -1, "5", True):
        wrong = {"count_down": {"delete_all_rules": {}, "add_rule": {**rule, "delay": bad}}}
        assert strip.handle_json(wrong)["count_down"]["add_rule"]["err_code"] == -3


async def test_count_down_cancelled_by_delete(simulator: Simulator) -> None:
    dev = await simulator.add("hs105")
    rule = {"enable": 1, "delay": 0.15, "act": 0, "name": "x"}
    dev.handle_json({"count_down": {"add_rule": rule}})
    dev.handle_json({"count_down": {"delete_all_rules": None}})
    await asyncio.sleep(0.25)
    assert dev.relay_on


async def test_reboot_drops_connections_and_comes_back(simulator: Simulator) -> None:
    dev = await simulator.add("hs110")
    dev.relays[0].meter.total_wh = 5000.0
    async with await RawConnection.open(dev.host, dev.port) as conn:
        reply = await conn.request({"system": {"reboot": {"delay": 0.4}}})
        assert reply["system"]["reboot"]["err_code"] == 0
        assert await conn.reader.read() == b""  # the device closed the connection
    with pytest.raises(ConnectionRefusedError):
        await tcp_query(dev.host, dev.port, SYSINFO)
    assert not dev.online
    await asyncio.sleep(0.5)
    reply = await tcp_query(dev.host, dev.port, {**SYSINFO, **REALTIME})
    assert reply["system"]["get_sysinfo"]["relay_state"] == 1
    assert reply["emeter"]["get_realtime"]["total"] < 1  # counted since the reboot


async def test_reset_restores_factory_settings(simulator: Simulator) -> None:
    dev = await simulator.add("hs107", "Mine", outlets=["X", "Y"])
    dev.led_on = False
    await tcp_query(dev.host, dev.port, {"system": {"reset": {"delay": 0}}})
    await asyncio.sleep(0.15)
    info = (await tcp_query(dev.host, dev.port, SYSINFO))["system"]["get_sysinfo"]
    assert info["alias"].startswith("TP-LINK_Power Strip_")
    assert [c["alias"] for c in info["children"]] == ["Plug 1", "Plug 2"]
    assert info["led_off"] == 0


async def test_oversized_request_drops_the_connection(simulator: Simulator) -> None:
    dev = await simulator.add("hs100")
    async with await RawConnection.open(dev.host, dev.port) as conn:
        conn.writer.write((2 << 20).to_bytes(4, "big") + b"x" * 100)
        assert await asyncio.wait_for(conn.reader.read(), 2) == b""
    assert (await tcp_query(dev.host, dev.port, SYSINFO))["system"]["get_sysinfo"]["err_code"] == 0


async def test_klap_only_flag_refuses_the_legacy_port(simulator: Simulator) -> None:
    dev = await simulator.add("hs110", klap_only=True, host="127.0.0.9")
    assert dev.port == simulator.klap_port
    with pytest.raises(ConnectionRefusedError):
        await tcp_query(dev.host, dev.port, SYSINFO)


def test_binding_outside_loopback_warns() -> None:
    from tplink_tui.simulator.simulator import _check_host

    with pytest.warns(UserWarning, match="outside loopback"):
        _check_host("192.0.2.10")  # only the check: nothing is bound here
    _check_host("127.0.0.5")


def test_simulator_uses_the_codec_cipher() -> None:
    from tplink_tui.simulator.server import encrypt

    assert encrypt is codec.encrypt  # one fast cipher, checked in test_codec
