"""Every fault mode, seen on the raw socket and by the project's client."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from tplink_tui import codec
from tplink_tui.devices.client import DeviceClient
from tplink_tui.errors import (
    DeviceError,
    DeviceTimeout,
    DeviceUnreachable,
    FrameTooLarge,
    ProtocolError,
)
from tplink_tui.simulator import HUGE_LENGTH, Faults, InjectedError, Simulator
from tplink_tui.simulator.wire import RawConnection, tcp_query, udp_collect

SYSINFO = {"system": {"get_sysinfo": {}}}


async def raw_reply(host: str, port: int, wait: float = 0.1) -> bytes:
    """Everything the device sends in answer to one sysinfo request, until EOF or quiet."""
    conn = await RawConnection.open(host, port)
    conn.send(SYSINFO)
    data = b""
    try:
        while chunk := await asyncio.wait_for(conn.reader.read(65536), wait):
            data += chunk
    except TimeoutError:
        pass
    finally:
        await conn.close()
    return data


async def client_error(host: str, port: int, timeout: float = 0.3) -> BaseException:
    async with DeviceClient(host, port, timeout=timeout) as client:
        try:
            await client.get_sysinfo()
        except Exception as exc:
            return exc
    raise AssertionError("no error")


async def test_delay(simulator: Simulator) -> None:
    dev = await simulator.add("hs105", faults=["delay=0.2"])
    start = time.perf_counter()
    await tcp_query(dev.host, dev.port, SYSINFO)
    assert time.perf_counter() - start >= 0.2
    assert isinstance(await client_error(dev.host, dev.port, timeout=0.1), DeviceTimeout)
    dev.faults.delay = 0
    async with DeviceClient(dev.host, dev.port, timeout=1) as client:
        assert (await client.get_sysinfo()).model == dev.model


async def test_delay_keeps_order_on_one_connection(simulator: Simulator) -> None:
    dev = await simulator.add("hs105", faults=Faults(delay=0.05))
    async with await RawConnection.open(dev.host, dev.port) as conn:
        conn.send({"system": {"set_dev_alias": {"alias": "one"}}})
        conn.send(SYSINFO)
        assert "set_dev_alias" in (await conn.read_json())["system"]
        assert (await conn.read_json())["system"]["get_sysinfo"]["alias"] == "one"


async def test_no_reply(simulator: Simulator) -> None:
    dev = await simulator.add("hs100")
    dev.faults.no_reply = True
    assert await raw_reply(dev.host, dev.port) == b""
    assert isinstance(await client_error(dev.host, dev.port), DeviceTimeout)
    assert await asyncio.to_thread(udp_collect, dev.host, dev.port, SYSINFO, 0.2) == {}


async def test_hang_mid_frame(simulator: Simulator) -> None:
    dev = await simulator.add("hs100", faults=["hang_mid_frame"])
    data = await raw_reply(dev.host, dev.port)
    length = codec.parse_header(data[:4])
    assert 0 < len(data) - 4 < length
    assert isinstance(await client_error(dev.host, dev.port), DeviceTimeout)


async def test_close_mid_frame(simulator: Simulator) -> None:
    dev = await simulator.add("hs100", faults=["close_mid_frame"])
    data = await raw_reply(dev.host, dev.port)
    assert len(data) == 4 and codec.parse_header(data) > 0
    assert isinstance(await client_error(dev.host, dev.port), (ProtocolError, DeviceUnreachable))


async def test_garbage(simulator: Simulator) -> None:
    dev = await simulator.add("hs110", faults=["garbage"])
    data = await raw_reply(dev.host, dev.port)
    assert codec.parse_header(data[:4]) == len(data) - 4
    with pytest.raises(ProtocolError):
        codec.decode_json(codec.decrypt(data[4:]))
    assert isinstance(await client_error(dev.host, dev.port), ProtocolError)


async def test_bad_length_huge(simulator: Simulator) -> None:
    dev = await simulator.add("hs110", faults=["bad_length"])
    data = await raw_reply(dev.host, dev.port)
    assert codec.parse_header(data[:4]) == HUGE_LENGTH > 1 << 20
    assert isinstance(await client_error(dev.host, dev.port), FrameTooLarge)


async def test_bad_length_lies(simulator: Simulator) -> None:
    dev = await simulator.add("hs110", faults=["bad_length=10"])
    data = await raw_reply(dev.host, dev.port)
    assert codec.parse_header(data[:4]) == 10 and len(data) > 14
    assert isinstance(await client_error(dev.host, dev.port), ProtocolError)
    dev.faults.bad_length = 5000  # more than is sent: the reader waits forever
    assert isinstance(await client_error(dev.host, dev.port), DeviceTimeout)


@pytest.mark.parametrize("fault", ["non_utf8", "non_json", "not_object"])
async def test_undecodable_bodies(simulator: Simulator, fault: str) -> None:
    dev = await simulator.add("kp115", faults=[fault])
    data = await raw_reply(dev.host, dev.port)
    plain = codec.unframe(data)
    if fault == "non_utf8":
        with pytest.raises(UnicodeDecodeError):
            plain.decode()
    elif fault == "non_json":
        with pytest.raises(json.JSONDecodeError):
            json.loads(plain)
    else:
        assert isinstance(json.loads(plain), list)
    assert isinstance(await client_error(dev.host, dev.port), ProtocolError)


async def test_err_code_on_a_method(simulator: Simulator) -> None:
    dev = await simulator.add("hs110")
    dev.faults.error = InjectedError("emeter", "get_realtime", -10, "busy")
    reply = await tcp_query(dev.host, dev.port, {**SYSINFO, "emeter": {"get_realtime": {}}})
    assert reply["emeter"]["get_realtime"] == {"err_code": -10, "err_msg": "busy"}
    assert reply["system"]["get_sysinfo"]["err_code"] == 0
    async with DeviceClient(dev.host, dev.port, timeout=1) as client:
        with pytest.raises(DeviceError) as info:
            await client.energy()
        assert info.value.err_code == -10
    dev.faults.set("err_code=system:-1")
    reply = await tcp_query(dev.host, dev.port, SYSINFO)
    assert reply["system"]["err_code"] == -1
    assert isinstance(await client_error(dev.host, dev.port), DeviceError)


async def test_offline_refuses_and_comes_back(simulator: Simulator) -> None:
    dev = await simulator.add("hs103")
    async with await RawConnection.open(dev.host, dev.port) as conn:
        await conn.request(SYSINFO)
        dev.set_offline(True)
        assert await conn.reader.read() == b""  # open connections are dropped
    with pytest.raises(ConnectionRefusedError):
        await tcp_query(dev.host, dev.port, SYSINFO)
    assert isinstance(await client_error(dev.host, dev.port), DeviceUnreachable)
    assert await asyncio.to_thread(udp_collect, dev.host, dev.port, SYSINFO, 0.2) == {}
    dev.set_offline(False)
    assert (await tcp_query(dev.host, dev.port, SYSINFO))["system"]["get_sysinfo"]["err_code"] == 0


async def test_offline_from_the_start(simulator: Simulator) -> None:
    dev = await simulator.add("hs103", faults=Faults(offline=True))
    with pytest.raises(ConnectionRefusedError):
        await tcp_query(dev.host, dev.port, SYSINFO)
    dev.faults.offline = False
    await tcp_query(dev.host, dev.port, SYSINFO)


async def test_flap(simulator: Simulator) -> None:
    dev = await simulator.add("hs103", faults=["flap=0.25"])
    states = []
    for _ in range(6):
        try:
            await tcp_query(dev.host, dev.port, SYSINFO, timeout=0.2)
            states.append("up")
        except ConnectionRefusedError:
            states.append("down")
        await asyncio.sleep(0.125)
    assert "up" in states and "down" in states
    dev.faults.flap = None
    await asyncio.sleep(0.01)
    assert dev.online
    await tcp_query(dev.host, dev.port, SYSINFO)


async def test_udp_sees_body_faults(simulator: Simulator) -> None:
    dev = await simulator.add("hs110", faults=["non_json"])
    replies = await asyncio.to_thread(udp_collect, dev.host, dev.port, SYSINFO, 1.0, 1)
    assert codec.decrypt(next(iter(replies.values()))) == b"<html><body>not json</body></html>"


def test_fault_specs() -> None:
    faults = Faults.from_specs(["delay=0.5", "no_reply", "flap=30/5", "err_code=emeter"])
    assert (
        faults.delay == 0.5 and faults.no_reply and faults.flap == 30 and faults.flap_offline == 5
    )
    assert faults.error == InjectedError("emeter", None, -3)
    faults.clear()
    assert faults == Faults()
    for bad in ("nosuch", "delay=x", "delay=-1", "no_reply=maybe", "err_code=.x", "flap=0"):
        with pytest.raises(ValueError):
            Faults().set(bad)
