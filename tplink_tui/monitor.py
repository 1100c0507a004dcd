"""The polling engine shared by the dashboard and ``tplink-tui watch``.

One asyncio task per device. The next poll is scheduled when the last one has
finished (never overlapping), at the device's own interval; offline devices back
off exponentially. Every poll produces a ``Snapshot`` for the subscribers; the
``status_changed`` flag lets front ends notify once per change, not per failure.
Front ends act on devices through ``monitor.client(key)``: the same connection
and lock as the poller, so a command waits for at most one request in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from .devices.client import DeviceClient
from .devices.models import DeviceState
from .errors import TplinkError


class Status(StrEnum):
    CONNECTING = "connecting"
    ONLINE = "online"
    OFFLINE = "offline"


@dataclass(slots=True)
class Snapshot:
    """The monitor's view of one device after a poll."""

    key: str
    host: str
    port: int
    status: Status
    state: DeviceState | None = None  # the last good state, kept while offline
    error: str | None = None
    last_seen: float | None = None  # wall time of the last good poll
    offline_since: float | None = None
    status_changed: bool = False
    polls: int = 0
    fresh: bool = False  # True when ``state`` came from this poll


Subscriber = Callable[[Snapshot], None]


@dataclass(slots=True)
class _Device:
    key: str
    client: DeviceClient
    snapshot: Snapshot
    interval: float | None = None  # per-device override (the highlighted device)
    failures: int = 0
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


class Monitor:
    """Poll many devices concurrently; publish snapshots to subscribers."""

    def __init__(
        self,
        *,
        interval: float = 2.0,
        timeout: float = 3.0,
        max_backoff: float = 60.0,
    ) -> None:
        self.interval = interval
        self.timeout = timeout
        self.max_backoff = max_backoff
        self._devices: dict[str, _Device] = {}
        self._subscribers: list[Subscriber] = []
        self._running = asyncio.Event()
        self._running.set()
        self._started = False

    # -- configuration ------------------------------------------------------

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        with contextlib.suppress(ValueError):
            self._subscribers.remove(subscriber)

    def add(self, key: str, host: str, port: int) -> DeviceClient:
        """Start watching a device (idempotent); returns its shared client."""
        if key in self._devices:
            return self._devices[key].client
        client = DeviceClient(host, port, self.timeout)
        device = _Device(key, client, Snapshot(key, host, port, Status.CONNECTING))
        self._devices[key] = device
        if self._started:
            device.task = asyncio.create_task(self._poll_forever(device), name=f"poll {key}")
        return client

    async def remove(self, key: str) -> None:
        device = self._devices.pop(key, None)
        if device is None:
            return
        if device.task is not None:
            device.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await device.task
        device.client.connection.abort()

    def keys(self) -> list[str]:
        return list(self._devices)

    def client(self, key: str) -> DeviceClient:
        return self._devices[key].client

    def snapshot(self, key: str) -> Snapshot:
        return self._devices[key].snapshot

    def set_interval(self, seconds: float) -> None:
        self.interval = max(0.1, seconds)
        self.refresh()

    def set_device_interval(self, key: str, seconds: float | None) -> None:
        """Poll one device at its own rate (None: back to the shared interval)."""
        device = self._devices.get(key)
        if device is not None and device.interval != seconds:
            device.interval = seconds
            device.wake.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def refresh(self, key: str | None = None) -> None:
        """Poll now (one device, or all), without waiting for the interval."""
        targets = [self._devices[key]] if key in self._devices else []
        for device in targets if key is not None else self._devices.values():
            device.failures = 0
            device.wake.set()

    # -- lifecycle ------------------------------------------------------------

    def start(self) -> None:
        """Start polling; call from inside the running event loop."""
        self._started = True
        for device in self._devices.values():
            if device.task is None:
                device.task = asyncio.create_task(
                    self._poll_forever(device), name=f"poll {device.key}"
                )

    async def stop(self) -> None:
        """Cancel every poll and drop every socket at once (quitting must be fast)."""
        self._started = False
        tasks = [d.task for d in self._devices.values() if d.task is not None]
        for task in tasks:
            task.cancel()
        for device in self._devices.values():
            device.client.connection.abort()
            device.task = None
        if tasks:
            await asyncio.wait(tasks, timeout=0.5)

    async def poll_once(self, key: str) -> Snapshot:
        """Poll one device now and publish the result (also used by tests and watch)."""
        return await self._poll(self._devices[key])

    # -- the loop -------------------------------------------------------------

    def _delay(self, device: _Device) -> float:
        base = device.interval if device.interval is not None else self.interval
        if device.failures == 0:
            return base
        return min(self.max_backoff, max(base, 1.0) * 2 ** (device.failures - 1))

    async def _poll_forever(self, device: _Device) -> None:
        # Not ``while True``: should a cancellation ever be swallowed below, a stopped
        # or removed device (its task cleared or replaced) still ends its loop.
        while device.task is asyncio.current_task() and self._devices.get(device.key) is device:
            await self._running.wait()
            device.wake.clear()
            await self._poll(device)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._delay(device)):  # no task, unlike wait_for
                    await device.wake.wait()

    async def _poll(self, device: _Device) -> Snapshot:
        previous = device.snapshot
        try:
            state = await device.client.update()
        except TplinkError as exc:
            device.failures += 1
            now = time.time()
            snapshot = Snapshot(
                device.key,
                previous.host,
                previous.port,
                Status.OFFLINE,
                state=previous.state,
                error=str(exc),
                last_seen=previous.last_seen,
                offline_since=previous.offline_since or now,
                status_changed=previous.status is not Status.OFFLINE,
                polls=previous.polls + 1,
            )
        else:
            device.failures = 0
            snapshot = Snapshot(
                device.key,
                previous.host,
                previous.port,
                Status.ONLINE,
                state=state,
                last_seen=state.timestamp,
                status_changed=previous.status is not Status.ONLINE,
                polls=previous.polls + 1,
                fresh=True,
            )
        device.snapshot = snapshot
        for subscriber in list(self._subscribers):
            subscriber(snapshot)
        return snapshot
