"""The async DeviceClient against tiny servers: batching, outlets, energy, errors."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from wire_fakes import (
    NOT_SUPPORTED,
    STRIP_ID,
    FakeDevice,
    FakeState,
    hs100,
    hs110_v1,
    hs300,
    kp115,
    kp303,
    new_meter,
    reply_with,
)

from tplink_tui.address import parse_address as parse_host
from tplink_tui.devices.client import DeviceClient, find_error
from tplink_tui.errors import DeviceError, NotSupported, OutletNotFound


async def serve(sysinfo: dict[str, Any], realtime: dict[str, Any] | None = None) -> FakeDevice:
    return await FakeDevice(FakeState(sysinfo, realtime)).start()


@pytest.fixture
async def strip() -> Any:
    dev = await serve(hs300())
    client = DeviceClient("127.0.0.1", dev.port, timeout=1.0)
    yield dev, client
    await client.close()
    await dev.stop()


# -- update(): how many requests ---------------------------------------------------------


async def test_update_metered_plug_is_one_batched_request_after_the_first() -> None:
    dev = await serve(hs110_v1())
    async with DeviceClient("127.0.0.1", dev.port, timeout=1.0) as client:
        state = await client.update()
        assert len(dev.requests) == 2  # first: sysinfo, then the meter it turned out to have
        assert state.energy is not None and state.energy.power_w == 12.5
        for n in range(3):
            state = await client.update()
            assert len(dev.requests) == 3 + n
            assert set(dev.requests[-1]) == {"system", "emeter"}
        assert state.energy is not None
        assert state.energy.total_kwh == 1.234
        assert state.power_w == 12.5
        assert state.sysinfo.alias == "Washing machine"
        assert state.timestamp > 0
    await dev.stop()
    assert dev.accepts == 1


async def test_update_new_meter_format() -> None:
    dev = await serve(kp115(), new_meter(power_mw=45600))
    async with DeviceClient("127.0.0.1", dev.port, timeout=1.0) as client:
        await client.update()
        state = await client.update()
    await dev.stop()
    assert state.energy is not None
    assert state.energy.power_w == pytest.approx(45.6)
    assert state.energy.voltage_v == pytest.approx(231.5)


async def test_update_plug_without_meter_is_one_request() -> None:
    dev = await serve(hs100())
    async with DeviceClient("127.0.0.1", dev.port, timeout=1.0) as client:
        for n in range(3):
            state = await client.update()
            assert len(dev.requests) == n + 1
            assert dev.requests[-1] == {"system": {"get_sysinfo": {}}}
    await dev.stop()
    assert state.energy is None and state.outlet_energy == {} and state.power_w is None


async def test_update_metered_plug_whose_meter_says_not_supported() -> None:
    dev = await serve(hs110_v1())
    async with DeviceClient("127.0.0.1", dev.port, timeout=1.0) as client:
        await client.update()
        dev.plans = [reply_with({"system": {"get_sysinfo": hs110_v1()}, "emeter": NOT_SUPPORTED})]
        state = await client.update()
    await dev.stop()
    assert state.energy is None
    assert state.sysinfo.model == "HS110(EU)"


async def test_update_metered_strip_is_one_plus_n_requests(strip: Any) -> None:
    dev, client = strip
    for cycle in range(1, 3):
        state = await client.update()
        assert len(dev.requests) == 7 * cycle
    per_outlet = dev.requests[-6:]
    assert [r["context"]["child_ids"] for r in per_outlet] == [
        [f"{STRIP_ID}{i:02d}"] for i in range(6)
    ]
    assert all(set(r) == {"emeter", "context"} for r in per_outlet)
    assert sorted(state.outlet_energy) == list(range(6))
    assert state.outlet_energy[2].power_w == pytest.approx(3.0)
    assert state.power_w == pytest.approx(21.0)
    assert state.energy is None
    assert dev.accepts == 1


async def test_update_unmetered_strip_is_one_request() -> None:
    dev = await serve(kp303())
    async with DeviceClient("127.0.0.1", dev.port, timeout=1.0) as client:
        await client.update()
        state = await client.update()
    await dev.stop()
    assert len(dev.requests) == 2
    assert len(state.sysinfo.children) == 3 and state.outlet_energy == {}


# -- outlets ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "index"),
    [
        (0, 0),
        (5, 5),
        ("3", 3),
        (f"{STRIP_ID}04", 4),
        ("04", 4),
        ("01", 1),
        ("Socket 3", 2),
        ("socket 6", 5),
        ("  SOCKET 2 ", 1),
    ],
)
async def test_resolve_outlet(strip: Any, spec: Any, index: int) -> None:
    _, client = strip
    outlet = await client.resolve_outlet(spec)
    assert outlet.index == index


async def test_resolve_outlet_with_ids_that_are_not_hex() -> None:
    dev = await serve(hs300(["kitchen-A", "kitchen-B", "zz", "q7", "7", "Ω"]))
    async with DeviceClient("127.0.0.1", dev.port, timeout=1.0) as client:
        assert (await client.resolve_outlet("kitchen-B")).index == 1
        assert (await client.resolve_outlet("-A")).index == 0
        assert (await client.resolve_outlet("zz")).index == 2
        assert (await client.resolve_outlet("Ω")).index == 5
        assert (await client.resolve_outlet("7")).index == 4  # an exact id wins over index 7
        await client.turn_on("q7")
    await dev.stop()
    assert dev.requests[-1]["context"] == {"child_ids": ["q7"]}
    assert dev.state.children[3]["state"] == 1


@pytest.mark.parametrize("spec", [6, -1, "6", "99", "nope", "0a", "", f"{STRIP_ID}06"])
async def test_unknown_outlet(strip: Any, spec: Any) -> None:
    dev, client = strip
    await client.update()
    with pytest.raises(OutletNotFound, match="6 outlets"):
        await client.turn_on(spec)
    assert dev.count("set_relay_state") == 0
    assert dev.count("get_sysinfo") == 2  # the cached sysinfo was re-read once


async def test_outlet_on_a_plug_is_not_found() -> None:
    dev = await serve(hs100())
    async with DeviceClient("127.0.0.1", dev.port, timeout=1.0) as client:
        with pytest.raises(OutletNotFound, match="no outlets"):
            await client.turn_on(0)
    await dev.stop()


async def test_switch_one_outlet_and_the_whole_strip(strip: Any) -> None:
    dev, client = strip
    await client.turn_on("Socket 1")
    assert dev.requests[-1] == {
        "system": {"set_relay_state": {"state": 1}},
        "context": {"child_ids": [f"{STRIP_ID}00"]},
    }
    assert dev.state.children[0]["state"] == 1
    await client.turn_off()
    assert "context" not in dev.requests[-1]
    assert [c["state"] for c in dev.state.children] == [0] * 6
    assert await client.toggle(2) is True
    assert dev.state.children[2]["state"] == 1
    await client.set_alias("Router", outlet="03")
    assert dev.state.children[3]["alias"] == "Router"
    # The cached sysinfo still has the old name: a miss re-reads it once.
    before = len(dev.requests)
    assert (await client.resolve_outlet("router")).index == 3
    assert len(dev.requests) == before + 1
    assert (await client.resolve_outlet("Router")).index == 3
    assert len(dev.requests) == before + 1


async def test_plug_actions() -> None:
    dev = await serve(hs100())
    async with DeviceClient("127.0.0.1", dev.port, timeout=1.0) as client:
        await client.turn_on()
        assert dev.state.sysinfo["relay_state"] == 1
        assert await client.toggle() is False
        assert dev.state.sysinfo["relay_state"] == 0
        await client.set_led(False)
        assert dev.state.sysinfo["led_off"] == 1
        await client.set_alias("Ünïcode ☕")
        assert (await client.get_sysinfo()).alias == "Ünïcode ☕"
        assert await client.get_time() == datetime(2024, 5, 17, 13, 45, 9)
    await dev.stop()
    assert dev.accepts == 1


# -- energy -------------------------------------------------------------------------------


async def test_energy_on_plug_without_meter_is_not_supported() -> None:
    dev = await serve(hs100())
    async with DeviceClient("127.0.0.1", dev.port, timeout=1.0) as client:
        for call in (client.energy(), client.day_stats(2024, 5), client.month_stats(2024)):
            with pytest.raises(NotSupported, match="no energy meter"):
                await call
        with pytest.raises(NotSupported):
            await client.erase_energy()
    await dev.stop()
    assert dev.count("get_realtime") == 0


async def test_energy_on_unmetered_strip_is_not_supported() -> None:
    dev = await serve(kp303())
    async with DeviceClient("127.0.0.1", dev.port, timeout=1.0) as client:
        with pytest.raises(NotSupported):
            await client.energy(outlet=1)
    await dev.stop()


async def test_energy_of_one_outlet(strip: Any) -> None:
    dev, client = strip
    reading = await client.energy(outlet="Socket 3")
    assert reading.power_w == pytest.approx(3.0)
    assert dev.requests[-1]["context"] == {"child_ids": [f"{STRIP_ID}02"]}


async def test_day_stats() -> None:
    dev = await serve(hs110_v1())
    async with DeviceClient("127.0.0.1", dev.port, timeout=1.0) as client:
        stats = await client.day_stats(2024, 5)
    await dev.stop()
    assert [(s.day, s.energy_kwh) for s in stats] == [(1, 0.25), (2, 0.5)]
    assert dev.requests[-1] == {"emeter": {"get_daystat": {"year": 2024, "month": 5}}}


async def test_device_error_from_a_method() -> None:
    dev = await serve(hs110_v1())
    async with DeviceClient("127.0.0.1", dev.port, timeout=1.0) as client:
        with pytest.raises(DeviceError) as info:
            await client.month_stats(2024)  # the fake does not know get_monthstat
    await dev.stop()
    assert (info.value.module, info.value.method, info.value.err_code) == (
        "emeter",
        "get_monthstat",
        -2,
    )


# -- helpers ------------------------------------------------------------------------------


def test_find_error() -> None:
    assert find_error({"system": {"get_sysinfo": {"err_code": 0}}}) is None
    error = find_error({"emeter": {"err_code": -1, "err_msg": "module not support"}}, "h:1")
    assert error is not None
    assert (error.err_code, error.module, error.method, error.host) == (-1, "emeter", None, "h:1")
    error = find_error({"system": {"set_x": {"err_code": -3}}})
    assert error is not None and (error.module, error.method) == ("system", "set_x")
    assert find_error({"system": "odd", "x": {"y": 1}}) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1", ("127.0.0.1", 9999)),
        ("127.0.0.1:10001", ("127.0.0.1", 10001)),
        ("plug.local", ("plug.local", 9999)),
        ("[::1]:9998", ("::1", 9998)),
        ("::1", ("::1", 9999)),
    ],
)
def test_parse_host(text: str, expected: tuple[str, int]) -> None:
    assert parse_host(text) == expected


@pytest.mark.parametrize("text", ["", "h:0", "h:70000", "h:x", "[::1", "a b", "h/x", "[::1]x"])
def test_parse_host_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_host(text)
