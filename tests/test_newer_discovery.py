"""20002 discovery against the newer simulator: answers decoded into NewDevice."""

from __future__ import annotations

import pytest

from tplink_tui import DeviceClient
from tplink_tui.discovery import NewDevice, discover
from tplink_tui.simulator import Simulator
from tplink_tui.simulator.newer import TEST_PASSWORD, TEST_USERNAME, NewerSimulator
from tplink_tui.transports import Credentials
from tplink_tui.transports.discovery_packet import build_packet, parse_packet, probe

BROADCAST = "127.255.255.255"


def test_probe_is_a_valid_packet() -> None:
    assert parse_packet(probe(7)) == (7, b"{}")
    assert parse_packet(build_packet(b"x", 1)) == (1, b"x")


@pytest.mark.parametrize("target", ["127.0.0.1", BROADCAST])
async def test_answers_decoded_fully(target: str) -> None:
    async with NewerSimulator() as sim:
        klap = await sim.add("kp125m")
        aes = await sim.add("ep25")
        v1 = await sim.add("hs100v41")
        port = await sim.listen_discovery()
        assert port is not None and sim.discovery_port == port
        result = await discover(target, port=9, timeout=0.4, new_protocol_port=port)
    assert result.devices == [] and result.invalid == []
    assert result.new_protocol_hosts == ["127.0.0.1"]
    by_port = {n.http_port: n for n in result.newer}
    assert set(by_port) == {klap.port, aes.port, v1.port}
    assert by_port[klap.port] == NewDevice(
        host="127.0.0.1",
        port=port,
        device_type="SMART.KASAPLUG",
        model="KP125M",
        mac=klap.state.identity.mac,
        device_id=klap.device_id,
        encrypt_type="KLAP",
        http_port=klap.port,
        https=False,
        login_version=2,
    )
    assert by_port[aes.port].encrypt_type == "AES" and by_port[aes.port].transport == "aes"
    assert by_port[v1.port].login_version == 1 and by_port[v1.port].model == "HS100(UK)"
    assert by_port[v1.port].device_type == "IOT.SMARTPLUGSWITCH"


async def test_a_discovered_device_can_be_reached() -> None:
    async with NewerSimulator() as sim:
        await sim.add("ep25", alias="Found")
        port = await sim.listen_discovery()
        result = await discover("127.0.0.1", port=9, timeout=0.3, new_protocol_port=port)
        (found,) = result.newer
        creds = Credentials(TEST_USERNAME, TEST_PASSWORD)
        async with DeviceClient(
            found.host, found.http_port, 2.0, transport=found.transport, credentials=creds
        ) as client:
            assert (await client.get_sysinfo()).alias == "Found"


async def test_old_and_newer_devices_on_one_address_are_both_listed(simulator: Simulator) -> None:
    """On loopback every simulated device shares 127.0.0.1: a newer device must not be
    hidden because an old one answered from the same address (only the same MAC is)."""
    old = await simulator.add("hs110", "Fridge")
    assert simulator.discovery_port is not None
    async with NewerSimulator() as sim:
        strip = await sim.add("p316m")
        port = await sim.listen_discovery()
        result = await discover(
            BROADCAST, port=simulator.discovery_port, timeout=0.4, new_protocol_port=port
        )
    assert [d.port for d in result.devices] == [old.port]
    assert [n.http_port for n in result.newer] == [strip.port]
