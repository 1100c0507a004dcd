"""Every profile driven through the project's own client, state checked in the simulator."""

from __future__ import annotations

import asyncio
import datetime

import pytest

from tplink_tui.devices.client import DeviceClient
from tplink_tui.errors import DeviceUnreachable, NotSupported
from tplink_tui.simulator import PROFILES, Simulator

IOT_MODELS = [key for key, p in PROFILES.items() if not p.klap_only]


@pytest.mark.parametrize("model", IOT_MODELS)
async def test_profile_through_the_client(simulator: Simulator, model: str) -> None:
    profile = PROFILES[model]
    dev = await simulator.add(model, "Before")
    async with DeviceClient(dev.host, dev.port, timeout=2) as client:
        state = await client.update()
        info = state.sysinfo
        assert (info.model, info.alias, info.device_id) == (dev.model, "Before", dev.device_id)
        assert info.mac == dev.mac and info.has_emeter == bool(profile.meter)
        assert info.latitude is not None and info.led_on is True
        assert len(info.children) == profile.outlets
        if profile.is_strip:
            assert len(state.outlet_energy) == (profile.outlets if profile.meter else 0)
            await client.turn_off(outlet=1)
            assert [o.is_on for o in dev.outlets][:2] == [True, False]
            await client.set_alias("Renamed", outlet=0)
            assert dev.outlets[0].alias == "Renamed"
            await client.turn_off()
            assert not dev.relay_on
        else:
            assert (state.energy is not None) == bool(profile.meter)
            await client.turn_off()
            assert dev.relay_on is False
            assert (await client.update()).sysinfo.relay_on is False
        await client.set_led(False)
        await client.set_alias("After")
        assert dev.led_on is False and dev.alias == "After"
        if profile.meter:
            reading = await client.energy(outlet=0 if profile.is_strip else None)
            assert reading.voltage_v is not None
            assert abs(reading.voltage_v - profile.nominal_voltage) < 10
            today = datetime.date.today()
            days = await client.day_stats(today.year, today.month)
            assert days and days[-1].day == today.day
            assert await client.month_stats(today.year)
        else:
            with pytest.raises(NotSupported):
                await client.energy()
        assert isinstance(await client.cloud_info(), dict)
        assert await client.wlan_scan()
        assert await client.rules("schedule") == []
        assert (await client.get_time()).year >= 2024


async def test_count_down_through_the_client(simulator: Simulator) -> None:
    strip = await simulator.add("hs300")
    async with DeviceClient(strip.host, strip.port, timeout=2) as client:
        await client.set_countdown(1 / 60, on=False, outlet=3)  # one second
        rules = await client.rules("count_down", outlet=3)
        assert rules[0]["act"] == 0 and rules[0]["delay"] == 1
        await asyncio.sleep(1.2)
        state = await client.update()
    assert [o.is_on for o in state.sysinfo.children] == [True, True, True, False, True, True]


async def test_reboot_through_the_client(simulator: Simulator) -> None:
    dev = await simulator.add("kp115")
    async with DeviceClient(dev.host, dev.port, timeout=1) as client:
        await client.reboot(delay=0)
        await asyncio.sleep(0.01)
        with pytest.raises(DeviceUnreachable):
            await client.get_sysinfo()
        await asyncio.sleep(0.1)
        assert (await client.update()).sysinfo.alias == dev.alias
