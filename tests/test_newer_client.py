"""DeviceClient against the newer simulator over real HTTP: every new profile.

KLAP (v1, v2) and AES, the smart dialect and the old JSON over KLAP, one client
API: the same models an HS100/HS300 fills, NotSupported for what a device lacks,
AuthenticationError (exit 6) for refused credentials, sessions renewed unseen.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from datetime import datetime

import pytest

from tplink_tui import AuthenticationError, DeviceClient, NotSupported
from tplink_tui.devices import TRANSPORTS
from tplink_tui.errors import OutletNotFound
from tplink_tui.monitor import Monitor, Status
from tplink_tui.simulator.newer import (
    TEST_PASSWORD,
    TEST_USERNAME,
    NewerDevice,
    NewerSimulator,
    SmartDevice,
)
from tplink_tui.transports import Credentials

GOOD = Credentials(TEST_USERNAME, TEST_PASSWORD)
BAD = Credentials(TEST_USERNAME, "wrong-password")
PLUGS = ["kp125m", "ep25", "p110", "hs100v41"]
STRIPS = ["p300", "p316m"]
TRANSPORT = {"kp125m": "klap", "ep25": "aes", "p110": "klap", "p300": "klap",
             "p316m": "klap", "hs100v41": "klap"}  # fmt: skip
METERED = {"kp125m", "ep25", "p110", "p316m"}


@pytest.fixture
async def sim() -> AsyncIterator[NewerSimulator]:
    async with NewerSimulator() as simulator:
        yield simulator


def client_for(
    dev: NewerDevice, credentials: Credentials | None = GOOD, **kw: object
) -> DeviceClient:
    return DeviceClient(dev.host, dev.port, 2.0, credentials=credentials, **kw)  # type: ignore[arg-type]


def smart_state(dev: NewerDevice) -> SmartDevice:
    assert isinstance(dev.state, SmartDevice)
    return dev.state


def test_transport_names() -> None:
    assert TRANSPORTS == ("auto", "xor", "klap", "aes")


@pytest.mark.parametrize("model", PLUGS + STRIPS)
async def test_update_fields_and_units(sim: NewerSimulator, model: str) -> None:
    dev = await sim.add(model, alias="Desk")
    async with client_for(dev) as client:
        state = await client.update()
        assert client.transport_name == TRANSPORT[model]
        assert client.dialect == ("iot" if model == "hs100v41" else "smart")
        info = state.sysinfo
        assert info.alias == "Desk"
        assert info.mac and ":" in info.mac and info.device_id == dev.device_id
        assert info.has_emeter is (model in METERED)
        if model in STRIPS:
            assert info.is_strip and len(info.children) == (3 if model == "p300" else 6)
            assert [o.index for o in info.children] == list(range(len(info.children)))
            assert [o.alias for o in info.children][:2] == ["Plug 1", "Plug 2"]  # by position
            assert state.energy is None
            if model == "p316m":
                assert sorted(state.outlet_energy) == list(range(6))
                for index, reading in state.outlet_energy.items():
                    truth = smart_state(dev).outlets[index]
                    assert reading.power_w == pytest.approx(smart_state(dev).power(truth), abs=2)
                    assert reading.voltage_v is not None and 100 < reading.voltage_v < 130
            else:
                assert state.outlet_energy == {}
        else:
            assert not info.is_strip and info.is_on
            if model in METERED:
                assert state.energy is not None and state.energy.power_w is not None
                expected = smart_state(dev).power(smart_state(dev).outlets[0])
                assert state.energy.power_w == pytest.approx(expected, abs=2)  # W, not mW
                assert state.energy.voltage_v is not None and 100 < state.energy.voltage_v < 250
                assert state.energy.total_kwh is not None and state.energy.total_kwh < 1000
            else:
                assert state.energy is None


@pytest.mark.parametrize("model", PLUGS)
async def test_plug_on_off_toggle_alias(sim: NewerSimulator, model: str) -> None:
    dev = await sim.add(model)

    def relay() -> bool:
        if isinstance(dev.state, SmartDevice):
            return dev.state.outlets[0].on
        return bool(dev.state.relay_on)

    async with client_for(dev) as client:
        await client.set_relay(False)
        assert relay() is False and not (await client.get_sysinfo()).is_on
        assert await client.toggle() is True and relay() is True
        await client.turn_off()
        assert relay() is False
        await client.set_alias("Kettle ☕")
        assert (await client.get_sysinfo()).alias == "Kettle ☕"
        with pytest.raises(OutletNotFound):
            await client.set_relay(True, 0)


@pytest.mark.parametrize("model", STRIPS)
async def test_strip_outlets_by_index_id_and_name(sim: NewerSimulator, model: str) -> None:
    dev = await sim.add(model)
    outlets = smart_state(dev).outlets
    async with client_for(dev) as client:
        await client.set_relay(False, 0)
        assert [o.on for o in outlets][:3] == [False, True, True]
        await client.set_relay(False, outlets[1].device_id)
        assert outlets[1].on is False
        await client.set_relay(False, "Plug 3")
        assert outlets[2].on is False
        assert await client.toggle(1) is True and outlets[1].on is True
        await client.set_alias("Lamp", 2)
        assert outlets[2].nickname == "Lamp"
        await client.set_relay(True, "Lamp")
        assert outlets[2].on is True
        info = await client.get_sysinfo()
        assert [o.alias for o in info.children][2] == "Lamp"
        await client.set_relay(False)  # no outlet: the whole strip, as an HS300
        assert not any(o.on for o in outlets)
        with pytest.raises(OutletNotFound):
            await client.set_relay(True, "no such outlet")


@pytest.mark.parametrize("model", PLUGS + STRIPS)
async def test_energy_time_reboot_or_not_supported(sim: NewerSimulator, model: str) -> None:
    dev = await sim.add(model)
    async with client_for(dev) as client:
        if model in METERED:
            reading = await client.energy(0 if model == "p316m" else None)
            assert reading.power_w is not None and reading.power_w >= 0
        else:
            with pytest.raises(NotSupported):
                await client.energy()
        if model != "hs100v41":
            if model in METERED:  # get_energy_data: tests/test_newer_energy_stats.py
                assert isinstance(
                    await client.month_stats(2026, 0 if model == "p316m" else None), list
                )
            else:
                with pytest.raises(NotSupported):
                    await client.day_stats(2024, 5)
                with pytest.raises(NotSupported):
                    await client.month_stats(2024)
            with pytest.raises(NotSupported):
                await client.rules("schedule")
            now = await client.get_time()
            assert (
                isinstance(now, datetime)
                and abs(now.timestamp() - datetime.now().timestamp()) < 120
            )
            await client.set_led(False)
            assert smart_state(dev).led_rule == "never"
            await client.reboot(1)
            assert smart_state(dev).reboots == 1
        else:
            await client.set_led(False)
            assert dev.state.led_on is False  # type: ignore[union-attr]


async def test_led_not_supported_without_the_component(sim: NewerSimulator) -> None:
    dev = await sim.add("p110")
    smart_state(dev).has_led = False
    async with client_for(dev) as client:
        with pytest.raises(NotSupported):
            await client.set_led(True)


async def test_p316m_energy_needs_an_outlet(sim: NewerSimulator) -> None:
    dev = await sim.add("p316m")
    async with client_for(dev) as client:
        with pytest.raises(NotSupported):
            await client.energy()
        assert (await client.energy("Plug 2")).voltage_v is not None


async def test_raw_smart_request(sim: NewerSimulator) -> None:
    dev = await sim.add("p110")
    async with client_for(dev) as client:
        reply = await client.raw({"method": "get_device_info"})
        assert reply["error_code"] == 0 and reply["result"]["model"] == "P110"
        assert (await client.raw({"method": "no_such"}))["error_code"] == -1002


@pytest.mark.parametrize("model", ["kp125m", "ep25", "hs100v41"])
async def test_wrong_password_then_right(sim: NewerSimulator, model: str) -> None:
    dev = await sim.add(model)
    async with client_for(dev, BAD) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.update()
        assert caught.value.exit_code == 6
        assert dev.host in str(caught.value) and str(dev.port) in str(caught.value)
        assert "wrong-password" not in str(caught.value)
        client.set_credentials(GOOD)
        assert (await client.update()).sysinfo.model


async def test_no_credentials_says_so(sim: NewerSimulator) -> None:
    dev = await sim.add("p110")
    async with client_for(dev, None, transport="klap") as client:
        with pytest.raises(AuthenticationError, match="no credentials given"):
            await client.get_sysinfo()


@pytest.mark.parametrize("model", ["kp125m", "ep25", "p316m", "hs100v41"])
async def test_expired_session_is_transparent(sim: NewerSimulator, model: str) -> None:
    dev = await sim.add(model)
    async with client_for(dev) as client:
        await client.update()
        dev.forget_sessions()
        await client.set_relay(False, 0 if model == "p316m" else None)
        dev.forget_sessions()
        assert (await client.update()).sysinfo.model


@pytest.mark.parametrize("model", ["kp125m", "ep25"])
async def test_auto_finds_http_where_xor_is_refused(sim: NewerSimulator, model: str) -> None:
    dev = await sim.add(model)
    async with client_for(dev) as client:  # XOR on this port answers HTTP: a newer device
        await client.set_relay(False)  # the first request is a switch, sent once
        assert smart_state(dev).outlets[0].on is False
        assert client.transport_name == TRANSPORT[model] and client.port == dev.port
    # Explicit transports work too, and XOR alone says what it found.
    async with client_for(dev, transport=TRANSPORT[model]) as client:
        assert (await client.get_sysinfo()).model == smart_state(dev).profile.model
    async with client_for(dev, transport="xor") as client:
        with pytest.raises(Exception, match="HTTP"):
            await client.get_sysinfo()


async def test_auto_on_a_refused_port_keeps_the_xor_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with DeviceClient("127.0.0.1", port, 1.0) as client:
        with pytest.raises(Exception, match="cannot connect") as caught:
            await client.get_sysinfo()
        assert caught.value.exit_code == 3  # type: ignore[attr-defined]
        assert client.transport_name == "" and client.port == port


async def test_monitor_needs_credentials_until_given(sim: NewerSimulator) -> None:
    dev = await sim.add("kp125m")
    monitor = Monitor(timeout=2.0)
    monitor.add("plug", dev.host, dev.port, transport="klap", credentials=BAD)
    snap = await monitor.poll_once("plug")
    assert snap.status is Status.OFFLINE and snap.needs_credentials
    monitor.set_credentials("plug", GOOD)
    snap = await monitor.poll_once("plug")
    assert snap.status is Status.ONLINE and not snap.needs_credentials
    assert monitor.client("plug").transport_name == "klap"
    await monitor.stop()
    await asyncio.sleep(0)


async def test_smartplug_facade_takes_credentials(sim: NewerSimulator) -> None:
    from tplink_tui import SmartPlug

    dev = await sim.add("p110", alias="Sync")

    def drive() -> str:
        with SmartPlug(f"127.0.0.1:{dev.port}", credentials=GOOD, transport="klap") as plug:
            plug.turn_off()
            return plug.sysinfo.alias

    assert await asyncio.to_thread(drive) == "Sync"
    assert smart_state(dev).outlets[0].on is False


async def test_firmware_without_emeter_data_falls_back_to_usage(sim: NewerSimulator) -> None:
    dev = await sim.add("kp125m")
    smart_state(dev)._methods.pop("get_emeter_data")  # an older firmware
    async with client_for(dev) as client:
        for _ in range(2):
            state = await client.update()
            assert state.energy is not None and state.energy.power_w is not None
            assert state.energy.voltage_v is None  # get_energy_usage has only the power
        requests = smart_state(dev).requests
        await client.update()
        assert smart_state(dev).requests == requests + 1  # one batched request a poll
