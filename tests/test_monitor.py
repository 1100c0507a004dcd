"""The polling engine: status changes once per transition, back-off, a fast stop()."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from wire_fakes import (
    FakeDevice,
    FakeState,
    hang_mid_body,
    hs110_v1,
    hs300,
    no_reply,
    refusing_port,
)

import tplink_tui.monitor as monitor_module
from tplink_tui import transport
from tplink_tui.monitor import Monitor, Snapshot, Status
from tplink_tui.simulator import Simulator


async def wait_until(condition: Callable[[], bool], timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def test_offline_once_then_online_again() -> None:
    dev = await FakeDevice(FakeState(hs110_v1())).start()
    port = dev.port
    monitor = Monitor(interval=0.05, timeout=0.3)
    monitor.add("washer", "127.0.0.1", port)
    seen: list[Snapshot] = []
    monitor.subscribe(seen.append)
    try:
        first = await monitor.poll_once("washer")
        assert first.status is Status.ONLINE and first.status_changed and first.fresh
        assert first.state is not None and first.state.energy is not None
        second = await monitor.poll_once("washer")
        assert second.status_changed is False

        await dev.stop()  # the device goes away: its connection drops, connects are refused
        failures = [await monitor.poll_once("washer") for _ in range(4)]
        assert [s.status for s in failures] == [Status.OFFLINE] * 4
        assert [s.status_changed for s in failures] == [True, False, False, False]
        assert all(s.state is second.state and not s.fresh for s in failures)  # last good kept
        assert all(s.error and "127.0.0.1" in s.error for s in failures)
        assert len({s.offline_since for s in failures}) == 1
        assert all(s.last_seen == second.last_seen for s in failures)

        dev = await FakeDevice(FakeState(hs110_v1())).start(port)  # back on the same port
        back = await monitor.poll_once("washer")
        assert back.status is Status.ONLINE and back.status_changed and back.fresh
        assert back.offline_since is None and back.error is None
        assert (await monitor.poll_once("washer")).status_changed is False
    finally:
        await monitor.stop()
        await dev.stop()
    assert [s.status_changed for s in seen].count(True) == 3
    assert [s.polls for s in seen] == list(range(1, 9))


async def test_running_monitor_reports_each_change_once() -> None:
    dev = await FakeDevice().start()
    port = dev.port
    monitor = Monitor(interval=0.03, timeout=0.2)
    changes: list[Status] = []
    polls: list[Snapshot] = []
    monitor.subscribe(polls.append)
    monitor.subscribe(lambda s: changes.append(s.status) if s.status_changed else None)
    monitor.add("plug", "127.0.0.1", port)
    monitor.start()
    try:
        await wait_until(lambda: len(polls) >= 3)
        await dev.stop()
        await wait_until(lambda: Status.OFFLINE in changes)
        dev = await FakeDevice().start(port)
        monitor.refresh("plug")  # a person presses refresh: no waiting out the back-off
        await wait_until(lambda: changes[-1] is Status.ONLINE)
        count = len(polls)
        await wait_until(lambda: len(polls) >= count + 3)
    finally:
        await monitor.stop()
        await dev.stop()
    assert changes == [Status.ONLINE, Status.OFFLINE, Status.ONLINE]


def test_backoff_grows_and_is_capped() -> None:
    monitor = Monitor(interval=2.0, max_backoff=30.0)
    monitor.add("x", "127.0.0.1", 9)
    device = monitor._devices["x"]
    delays = []
    for failures in range(8):
        device.failures = failures
        delays.append(monitor._delay(device))
    assert delays == [2.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    monitor.set_device_interval("x", 0.5)
    device.failures = 0
    assert monitor._delay(device) == 0.5
    device.failures = 3
    assert monitor._delay(device) == 4.0  # a fast per-device rate does not hammer when offline


async def test_offline_device_is_not_hammered() -> None:
    monitor = Monitor(interval=0.02, timeout=0.2)
    polls: list[Snapshot] = []
    monitor.subscribe(polls.append)
    with refusing_port() as port:
        monitor.add("gone", "127.0.0.1", port)
        monitor.start()
        await asyncio.sleep(0.5)
        await monitor.stop()
    assert 1 <= len(polls) <= 2  # not 25: after a failure the next poll waits >= 1 s
    assert polls[0].status is Status.OFFLINE and polls[0].status_changed


@pytest.mark.parametrize("plan", [hang_mid_body, no_reply], ids=["mid-reply", "no-reply"])
async def test_stop_is_fast_when_a_server_hangs(plan: object) -> None:
    dev = await FakeDevice().start()
    dev.plans = [plan]  # type: ignore[list-item]
    monitor = Monitor(interval=0.05, timeout=5.0)
    monitor.add("stuck", "127.0.0.1", dev.port)
    monitor.start()
    try:
        await wait_until(lambda: len(dev.requests) == 1)
        await asyncio.sleep(0.05)
        start = time.monotonic()
        await monitor.stop()
        assert time.monotonic() - start < 1.0
        await asyncio.wait_for(dev.client_closed.wait(), 1.0)  # the socket was dropped
    finally:
        await dev.stop()


async def test_a_hanging_device_does_not_hold_up_the_others() -> None:
    slow = await FakeDevice().start()
    slow.plans = [no_reply] * 10
    fast = await FakeDevice(FakeState(hs300())).start()
    monitor = Monitor(interval=0.03, timeout=2.0)
    monitor.add("slow", "127.0.0.1", slow.port)
    monitor.add("strip", "127.0.0.1", fast.port)
    monitor.start()
    try:
        await wait_until(lambda: monitor.snapshot("strip").polls >= 3, timeout=1.0)
        snap = monitor.snapshot("strip")
        assert snap.status is Status.ONLINE
        assert snap.state is not None and len(snap.state.outlet_energy) == 6
        assert monitor.snapshot("slow").status is Status.CONNECTING
    finally:
        await monitor.stop()
        await slow.stop()
        await fast.stop()


async def test_pause_resume_and_remove() -> None:
    dev = await FakeDevice().start()
    monitor = Monitor(interval=0.02, timeout=0.3)
    monitor.add("p", "127.0.0.1", dev.port)
    monitor.start()
    try:
        await wait_until(lambda: monitor.snapshot("p").polls >= 2)
        monitor.pause()
        assert monitor.paused
        await asyncio.sleep(0.06)
        count = len(dev.requests)
        await asyncio.sleep(0.15)
        assert len(dev.requests) == count
        monitor.resume()
        await wait_until(lambda: len(dev.requests) > count)
        client = monitor.client("p")
        assert monitor.add("p", "127.0.0.1", dev.port) is client  # idempotent, shared client
        await monitor.remove("p")
        assert monitor.keys() == []
    finally:
        await monitor.stop()
        await dev.stop()


async def test_a_held_command_is_written_before_the_polls_not_started_yet(
    simulator: Simulator,
) -> None:
    """Heavy polling (50 plugs flat out): a command held at the key press is the next
    request written to its device (a poll already on the wire was written before)."""
    plugs = [await simulator.add("hs110", f"Plug {i}") for i in range(50)]
    monitor = Monitor(interval=0.0, timeout=1.0)
    for plug in plugs:
        monitor.add(plug.address, plug.host, plug.port)
    target = plugs[7]
    written: list[str] = []  # the requests written to it, in order

    def listener(direction: str, host: str, port: int, text: str) -> None:
        if direction == "->" and port == target.port:
            written.append("relay" if "set_relay_state" in text else "poll")

    transport.add_traffic_listener(listener)
    monitor.start()
    try:
        await wait_until(lambda: monitor.snapshot(target.address).polls >= 3, timeout=5)
        client = monitor.client(target.address)
        for i in range(30):
            before = len(written)
            release = monitor.hold(target.address)

            async def switch(on: bool, release: Callable[[], None] = release) -> None:
                try:
                    await client.set_relay(on)
                finally:
                    release()

            await asyncio.create_task(switch(i % 2 == 0))
            after = written[before:]
            assert after.index("relay") == 0, after
            polls = monitor.snapshot(target.address).polls
            await wait_until(lambda p=polls: monitor.snapshot(target.address).polls > p)
    finally:
        transport.remove_traffic_listener(listener)
        await monitor.stop()


async def test_a_hold_never_stops_polling_for_good(
    simulator: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    plug = await simulator.add("hs110", "Lamp")
    monkeypatch.setattr(monitor_module, "HOLD_LIMIT", 0.3)
    monitor = Monitor(interval=0.02, timeout=1.0)
    monitor.add("lamp", plug.host, plug.port)
    monitor.start()
    try:
        await wait_until(lambda: monitor.snapshot("lamp").polls >= 2)
        release = monitor.hold("lamp")
        await asyncio.sleep(0.1)  # a poll on the wire at the hold may still land
        held = monitor.snapshot("lamp").polls
        await asyncio.sleep(0.15)
        assert monitor.snapshot("lamp").polls == held  # held: no poll starts
        await wait_until(lambda: monitor.snapshot("lamp").polls > held, timeout=2)  # limit
        release()
        release()  # twice is harmless: the next command's hold still holds
        second = monitor.hold("lamp")
        await asyncio.sleep(0.1)
        now = monitor.snapshot("lamp").polls
        await asyncio.sleep(0.1)
        assert monitor.snapshot("lamp").polls == now
        second()
        await wait_until(lambda: monitor.snapshot("lamp").polls > now)
        assert monitor.hold("unknown")() is None  # a key it does not watch: a no-op
    finally:
        await monitor.stop()
