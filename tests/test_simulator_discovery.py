"""UDP discovery on 127.255.255.255: one datagram reaches every simulated device."""

from __future__ import annotations

import asyncio
import json

from tplink_tui import codec
from tplink_tui.discovery import discover
from tplink_tui.simulator import LOOPBACK_BROADCAST, Simulator
from tplink_tui.simulator.wire import udp_collect

SYSINFO = {"system": {"get_sysinfo": {}}}


async def test_shared_port_on_distinct_addresses_finds_100_of_100(simulator: Simulator) -> None:
    devices = await simulator.start_many(
        ["hs110", "hs300", "kp303", "hs105"], 100, addr_base="127.0.0.2"
    )
    port = devices[0].port
    assert {d.port for d in devices} == {port}
    assert devices[-1].host == "127.0.0.101"
    replies = await asyncio.to_thread(udp_collect, LOOPBACK_BROADCAST, port, SYSINFO, 3.0, 100)
    assert set(replies) == {(d.host, port) for d in devices}
    for (host, _), data in replies.items():
        info = json.loads(codec.decrypt(data))["system"]["get_sysinfo"]
        assert info["deviceId"] == simulator.device(f"{host}:{port}").device_id


async def test_distinct_ports_answer_the_discovery_port(simulator: Simulator) -> None:
    devices = await simulator.start_many("hs103", 100)
    assert len({d.port for d in devices}) == 100
    port = simulator.discovery_port
    assert port is not None
    replies = await asyncio.to_thread(udp_collect, LOOPBACK_BROADCAST, port, SYSINFO, 3.0, 100)
    assert set(replies) == {("127.0.0.1", d.port) for d in devices}
    # A broadcast to one device's own port reaches that device only.
    one = await asyncio.to_thread(udp_collect, LOOPBACK_BROADCAST, devices[7].port, SYSINFO, 0.3)
    assert set(one) == {("127.0.0.1", devices[7].port)}


async def test_unicast_reaches_one_device_of_a_shared_port(simulator: Simulator) -> None:
    devices = await simulator.start_many("hs105", 3, addr_base="127.0.0.2")
    replies = await asyncio.to_thread(udp_collect, "127.0.0.3", devices[0].port, SYSINFO, 0.3)
    assert set(replies) == {("127.0.0.3", devices[0].port)}


async def test_project_discovery_finds_100_devices(simulator: Simulator) -> None:
    devices = await simulator.start_many("hs300", 100, addr_base="127.0.0.2")
    devices[3].set_offline(True)
    result = await discover(LOOPBACK_BROADCAST, devices[0].port, 1.0, new_protocol_port=None)
    # Judge our own address block only: another process on this machine may hold a
    # simulator on the same port number (as other plugs would answer on a real LAN).
    ours = {d.host for d in devices}
    found = {(d.host, d.port) for d in result.devices if d.host in ours}
    assert found == {(d.host, d.port) for d in devices if d is not devices[3]}
    assert not [bad for bad in result.invalid if bad[0].split(":")[0] in ours]
    assert result.devices[0].sysinfo.children


async def test_klap_only_device_answers_on_its_own_port(simulator: Simulator) -> None:
    await simulator.add("hs110", host="127.0.0.2")
    klap = await simulator.add("kp125m", host="127.0.0.3")
    assert klap.port == simulator.klap_port
    assert simulator.discovery_port is not None and simulator.klap_port is not None
    legacy = await asyncio.to_thread(
        udp_collect, LOOPBACK_BROADCAST, simulator.discovery_port, SYSINFO, 0.3
    )
    assert {host for host, _ in legacy} == {"127.0.0.2"}
    replies = await asyncio.to_thread(
        udp_collect, LOOPBACK_BROADCAST, simulator.klap_port, b"\x02\x00\x00\x01", 1.0, 1
    )
    ((host, port), data), *_ = replies.items()
    assert (host, port) == ("127.0.0.3", simulator.klap_port)
    assert json.loads(data[16:])["result"]["mgt_encrypt_schm"]["encrypt_type"] == "KLAP"
    result = await discover(
        LOOPBACK_BROADCAST,
        simulator.discovery_port,
        0.5,
        new_protocol_port=simulator.klap_port,
    )
    assert [d.host for d in result.devices] == ["127.0.0.2"]
    assert result.new_protocol_hosts == ["127.0.0.3"]
