"""The old fault vocabulary on the newer (KLAP/AES over HTTP) simulated devices.

For each fault a real DeviceClient over real HTTP gets the error type the XOR
protocol gives for it, within its timeout, and the next request after the fault
is cleared works; a Monitor over a flapping KP125M sees it go and come back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest

from tplink_tui import DeviceClient
from tplink_tui.errors import DeviceTimeout, DeviceUnreachable, ProtocolError, TplinkError
from tplink_tui.monitor import Monitor, Status
from tplink_tui.simulator.faults import Faults
from tplink_tui.simulator.newer import TEST_PASSWORD, TEST_USERNAME, NewerDevice, NewerSimulator
from tplink_tui.simulator.newer.faults import NewerFaults, is_newer_spec
from tplink_tui.transports import Credentials

GOOD = Credentials(TEST_USERNAME, TEST_PASSWORD)
TIMEOUT = 0.4
MODELS = {"klap": "kp125m", "aes": "ep25"}
EXPECTED: dict[str, type[TplinkError]] = {
    "no_reply": DeviceTimeout,
    "hang_mid_frame": DeviceTimeout,
    "delay=1": DeviceTimeout,
    "offline": DeviceUnreachable,
    "garbage": ProtocolError,
}


@pytest.fixture
async def sim() -> AsyncIterator[NewerSimulator]:
    async with NewerSimulator() as simulator:
        yield simulator


def client_for(dev: NewerDevice, transport: str) -> DeviceClient:
    return DeviceClient(dev.host, dev.port, TIMEOUT, transport=transport, credentials=GOOD)  # type: ignore[arg-type]


async def until(condition: Callable[[], bool], timeout: float = 5.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not met within {timeout} s: {what}")
        await asyncio.sleep(0.02)


def test_same_parser_as_the_old_faults() -> None:
    faults = NewerFaults.from_specs(["delay=0.5", "no_reply", "flap=2/1", "http_500=2"])
    assert isinstance(faults, Faults)
    assert (faults.delay, faults.no_reply, faults.flap, faults.flap_offline) == (0.5, True, 2, 1)
    assert faults.http_500 == 2
    faults.clear()
    assert faults == NewerFaults()
    for spec in ("bad_length", "non_json", "err_code=system:-1", "delay=x", "bogus"):
        assert not is_newer_spec(spec), spec
    with pytest.raises(ValueError, match="needs a number"):
        NewerFaults().set("delay=soon")


@pytest.mark.parametrize("transport", ["klap", "aes"])
@pytest.mark.parametrize("spec", list(EXPECTED))
async def test_fault_gives_the_old_error(sim: NewerSimulator, transport: str, spec: str) -> None:
    dev = await sim.add(MODELS[transport])
    client = client_for(dev, transport)
    try:
        await client.get_sysinfo()  # a live session, so the fault hits a real request
        dev.faults.set(spec)
        started = time.monotonic()
        with pytest.raises(EXPECTED[spec]):
            await client.get_sysinfo()
        # within the timeout (a KLAP client may retry once on a dropped connection)
        assert time.monotonic() - started < 2 * TIMEOUT + 0.5
        dev.faults.clear()
        await asyncio.sleep(0.05)  # the listener reopens on the loop
        info = await client.get_sysinfo()
        assert info.device_id == dev.device_id
    finally:
        await client.close()


@pytest.mark.parametrize("transport", ["klap", "aes"])
async def test_short_delay_is_only_late(sim: NewerSimulator, transport: str) -> None:
    dev = await sim.add(MODELS[transport])
    client = client_for(dev, transport)
    try:
        await client.get_sysinfo()
        dev.faults.set("delay=0.15")
        started = time.monotonic()
        await client.get_sysinfo()
        assert 0.15 <= time.monotonic() - started < TIMEOUT
    finally:
        await client.close()


async def test_offline_refuses_new_connections_and_hides_from_discovery(
    sim: NewerSimulator,
) -> None:
    dev = await sim.add("kp125m")
    port = dev.port
    dev.faults.offline = True
    await asyncio.sleep(0.05)
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection(dev.host, port)
    assert not dev.online()
    dev.faults.offline = False
    assert dev.online()
    await asyncio.sleep(0.05)  # the listener reopens on the loop
    _, writer = await asyncio.open_connection(dev.host, port)
    writer.close()
    assert dev.port == port  # the same port again


async def test_monitor_over_a_flapping_kp125m(sim: NewerSimulator) -> None:
    dev = await sim.add("kp125m")
    dev.faults.set("flap=0.5/0.5")
    monitor = Monitor(interval=0.05, timeout=TIMEOUT, max_backoff=0.1)
    monitor.add("plug", dev.host, dev.port, transport="klap", credentials=GOOD)
    seen: list[Status] = []
    try:
        deadline = time.monotonic() + 4.0
        while time.monotonic() < deadline and not (
            Status.OFFLINE in seen and seen[-1] is Status.ONLINE
        ):
            snap = await monitor.poll_once("plug")
            if not seen or seen[-1] is not snap.status:
                seen.append(snap.status)
            await asyncio.sleep(0.05)
        assert Status.OFFLINE in seen, seen
        assert seen[-1] is Status.ONLINE, seen
        assert seen.index(Status.OFFLINE) < len(seen) - 1
        dev.faults.flap = None
        await until(dev.online, what="flap stopped")
        await asyncio.sleep(0.05)
        for _ in range(3):
            assert (await monitor.poll_once("plug")).status is Status.ONLINE
    finally:
        await monitor.stop()


def test_simulate_fault_reaches_a_newer_model() -> None:
    """``simulate kp125m --fault no_reply@0``: the process's device never answers."""
    from test_simulator_cli import simulate_process

    argv = ("kp125m=Desk", "--klap-port", "0", "--fault", "no_reply@Desk")
    with simulate_process(*argv) as (_, lines):
        (desk,) = lines

        async def probe() -> None:
            client = DeviceClient(
                desk["host"], desk["port"], TIMEOUT, transport="klap", credentials=GOOD
            )
            try:
                with pytest.raises(DeviceTimeout):
                    await client.get_sysinfo()
            finally:
                await client.close()

        asyncio.run(probe())
