"""The polling engine shared by the dashboard and ``tplink-tui watch``.

One asyncio task per device. The next poll is scheduled when the last one has
finished (never overlapping), at the device's own interval; offline devices back
off exponentially. Every poll produces a ``Snapshot`` for the subscribers; the
``status_changed`` flag lets front ends notify once per change, not per failure.
Front ends act on devices through ``monitor.client(key)``: the same connection
and lock as the poller, so a command waits for at most one request in flight.
A command held with ``hold(key)`` (at the key press) goes before the polls that
have not started yet: that device's next poll waits until it is released.

Subscribers are isolated: one that raises is logged (and told through its
``on_error``), and the poll task, later polls and the other subscribers go on.
An address that starts answering as another device (another MAC or model than
the one seen there before) is flagged in its snapshots (``identity_change``)
until a front end calls ``accept_identity``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from . import codec
from .devices.client import DeviceClient
from .devices.models import DeviceState, SysInfo
from .errors import AuthenticationError, TplinkError
from .transports.errors import Credentials

log = logging.getLogger(__name__)


class Status(StrEnum):
    CONNECTING = "connecting"
    ONLINE = "online"
    OFFLINE = "offline"


@dataclass(slots=True, frozen=True)
class Identity:
    """What tells one device from another at an address; "" means not known."""

    mac: str = ""
    model: str = ""

    @classmethod
    def of(cls, sysinfo: SysInfo) -> Identity:
        return cls(sysinfo.mac, sysinfo.model)

    def differs(self, other: Identity) -> bool:
        """True when a field both sides know is different."""
        return bool(
            (self.mac and other.mac and self.mac != other.mac)
            or (self.model and other.model and self.model != other.model)
        )

    def learn(self, other: Identity) -> Identity:
        """Fill the fields not known yet from ``other``."""
        return Identity(self.mac or other.mac, self.model or other.model)


@dataclass(slots=True, frozen=True)
class IdentityChange:
    """The address answers as another device than before (``since``: wall time)."""

    before: Identity
    after: Identity
    since: float

    def describe(self) -> str:
        """Plain text (device text inside: front ends still pass it through display)."""
        parts = []
        if self.before.mac and self.after.mac and self.before.mac != self.after.mac:
            parts.append(f"MAC {self.before.mac} → {self.after.mac}")
        if self.before.model and self.after.model and self.before.model != self.after.model:
            parts.append(f"model {self.before.model} → {self.after.model}")
        return "answers as another device: " + ", ".join(parts)


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
    # Set while the device answers as another one than before (sticky until
    # Monitor.accept_identity); identity_changed is True only on the poll that saw it.
    identity_change: IdentityChange | None = None
    identity_changed: bool = False
    # True while the last poll failed for want of (right) credentials: the front end
    # asks for them and hands them over with Monitor.set_credentials.
    needs_credentials: bool = False


Subscriber = Callable[[Snapshot], None]
SubscriberErrorHandler = Callable[[Exception], None]


@dataclass(slots=True)
class _Device:
    key: str
    client: DeviceClient
    snapshot: Snapshot
    interval: float | None = None  # per-device override (the highlighted device)
    failures: int = 0
    woken: bool = False  # a refresh came while polling: poll again at once
    waiter: asyncio.Future[None] | None = None  # the wait between polls
    timer: asyncio.TimerHandle | None = None  # ends that wait
    task: asyncio.Task[None] | None = None
    identity: Identity = field(default_factory=Identity)  # expected at this address
    holds: int = 0  # front-end commands under way (``Monitor.hold``): polls wait
    unheld: asyncio.Future[None] | None = None  # a poll waiting for the holds to end

    def release(self) -> None:
        self.holds = max(0, self.holds - 1)
        if not self.holds and self.unheld is not None:
            _finish(self.unheld)

    def wake(self) -> None:
        """End the wait between polls now (or skip the next one)."""
        self.woken = True
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
            if self.timer is not None:
                self.timer.cancel()


@dataclass(slots=True)
class _Subscription:
    callback: Subscriber
    on_error: SubscriberErrorHandler | None
    failures: int = 0


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
        self._subscribers: list[_Subscription] = []
        self.subscriber_errors = 0
        self._running = asyncio.Event()
        self._running.set()
        self._started = False
        self.open_files_note: str | None = None
        """Set when the open-files limit could not be raised to fit every device."""

    # -- configuration ------------------------------------------------------

    def subscribe(
        self, subscriber: Subscriber, *, on_error: SubscriberErrorHandler | None = None
    ) -> None:
        """Call ``subscriber`` with every snapshot, on the event loop.

        Should it raise, the exception is logged and passed to ``on_error`` (e.g.
        ``watch`` ends with a clear error); polling and other subscribers go on.
        """
        self._subscribers.append(_Subscription(subscriber, on_error))

    def add(
        self,
        key: str,
        host: str,
        port: int | None,
        *,
        identity: Identity | None = None,
        transport: str = "auto",
        credentials: Credentials | None = None,
    ) -> DeviceClient:
        """Start watching a device (idempotent); returns its shared client.

        ``identity``: what the address is known to be (a saved MAC or model), so a
        different device answering there is flagged from the first poll on.
        ``transport``/``credentials`` as for ``DeviceClient`` (port None: its default).
        """
        if key in self._devices:
            return self._devices[key].client
        client = DeviceClient(
            host, port, self.timeout, transport=transport, credentials=credentials
        )
        device = _Device(key, client, Snapshot(key, host, client.port, Status.CONNECTING))
        device.identity = identity or Identity()
        self._devices[key] = device
        if self._started:
            self._fit_open_files()
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

    def accept_identity(self, key: str) -> None:
        """Take the device now answering at ``key`` as the expected one (clears the flag)."""
        device = self._devices.get(key)
        if device is None:
            return
        change = device.snapshot.identity_change
        if change is not None:
            device.identity = change.after
            device.snapshot.identity_change = None
            device.snapshot.identity_changed = False

    def set_credentials(self, key: str, credentials: Credentials | None) -> None:
        """Replace a device's credentials and poll it at once (after a refusal)."""
        device = self._devices.get(key)
        if device is None:
            return
        device.client.set_credentials(credentials)
        self.refresh(key)

    def hold(self, key: str) -> Callable[[], None]:
        """A command for ``key`` is on its way: its polls not started yet wait for it.

        Call it when the command is asked for (the key press), before the command
        runs, and the function it returns once the command is done (any outcome;
        calling it twice is harmless). A poll already on the wire finishes first;
        a poll held longer than ``HOLD_LIMIT`` runs anyway.
        """
        device = self._devices.get(key)
        if device is None:
            return lambda: None
        device.holds += 1
        done = False

        def release() -> None:
            nonlocal done
            if not done:
                done = True
                device.release()

        return release

    def set_interval(self, seconds: float) -> None:
        self.interval = max(0.1, seconds)
        self.refresh()

    def set_device_interval(self, key: str, seconds: float | None) -> None:
        """Poll one device at its own rate (None: back to the shared interval)."""
        device = self._devices.get(key)
        if device is not None and device.interval != seconds:
            device.interval = seconds
            device.wake()

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
            device.wake()

    # -- lifecycle ------------------------------------------------------------

    def start(self) -> None:
        """Start polling; call from inside the running event loop."""
        self._started = True
        codec.prefer_fast_json()
        self._fit_open_files()
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

    def _fit_open_files(self) -> None:
        """One socket per device: lift the soft open-files limit to fit them all."""
        note = raise_open_files_limit(len(self._devices))
        if note is not None and note != self.open_files_note:
            log.warning("%s", note)
        self.open_files_note = note

    async def _poll_forever(self, device: _Device) -> None:
        # Not ``while True``: should a cancellation ever be swallowed below, a stopped
        # or removed device (its task cleared or replaced) still ends its loop.
        loop = asyncio.get_running_loop()
        while device.task is asyncio.current_task() and self._devices.get(device.key) is device:
            if not self._running.is_set():
                await self._running.wait()
            device.woken = False
            if device.holds:
                await self._wait_unheld(device, loop)
            await self._poll(device)
            if device.woken:
                continue
            # A future ended by a timer: no timeout context, no Event, and no
            # cancellation at the end of every wait (they cost more than the poll).
            waiter = device.waiter = loop.create_future()
            device.timer = loop.call_later(self._delay(device), _finish, waiter)
            try:
                await waiter
            except BaseException:  # stopped or removed: no timer left behind either
                device.timer.cancel()
                raise
            finally:
                device.waiter = device.timer = None

    async def _wait_unheld(self, device: _Device, loop: asyncio.AbstractEventLoop) -> None:
        """Until the front end's commands for this device are done (``hold``)."""
        waiter = device.unheld = loop.create_future()
        timer = loop.call_later(HOLD_LIMIT, _finish, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            device.unheld = None

    async def _poll(self, device: _Device) -> Snapshot:
        previous = device.snapshot
        try:
            state = await device.client.update()
        except AuthenticationError as exc:
            snapshot = self._offline(device, str(exc), needs_credentials=True)
        except TplinkError as exc:
            snapshot = self._offline(device, str(exc))
        except Exception as exc:  # a bug below must not end this device's polling
            log.exception("%s: poll failed unexpectedly", device.key)
            snapshot = self._offline(device, f"internal error: {type(exc).__name__}: {exc}")
        else:
            device.failures = 0
            change, changed = self._identity(device, state)
            snapshot = Snapshot(
                device.key,
                previous.host,
                device.client.port,
                Status.ONLINE,
                state=state,
                last_seen=state.timestamp,
                status_changed=previous.status is not Status.ONLINE,
                polls=previous.polls + 1,
                fresh=True,
                identity_change=change,
                identity_changed=changed,
            )
        device.snapshot = snapshot
        self._publish(snapshot)
        return snapshot

    def _offline(self, device: _Device, error: str, needs_credentials: bool = False) -> Snapshot:
        previous = device.snapshot
        device.failures += 1
        return Snapshot(
            device.key,
            previous.host,
            previous.port,
            Status.OFFLINE,
            state=previous.state,
            error=error,
            last_seen=previous.last_seen,
            offline_since=previous.offline_since or time.time(),
            status_changed=previous.status is not Status.OFFLINE,
            polls=previous.polls + 1,
            identity_change=previous.identity_change,
            needs_credentials=needs_credentials,
        )

    def _identity(self, device: _Device, state: DeviceState) -> tuple[IdentityChange | None, bool]:
        """(the change in force, whether this poll saw it first) for a fresh state."""
        info, known = state.sysinfo, device.identity
        if info.mac == known.mac and info.model == known.model:
            return None, False  # every poll but the first: nothing to learn or flag
        seen = Identity.of(info)
        if not device.identity.differs(seen):
            device.identity = device.identity.learn(seen)
            return None, False
        before = device.snapshot.identity_change
        if before is not None and before.after == seen:
            return before, False
        return IdentityChange(device.identity, seen, state.timestamp), True

    def _publish(self, snapshot: Snapshot) -> None:
        """Give ``snapshot`` to every subscriber; one that raises never stops the rest."""
        for subscription in list(self._subscribers):
            try:
                subscription.callback(snapshot)
            except Exception as exc:
                self._subscriber_failed(subscription, exc)

    def _subscriber_failed(self, subscription: _Subscription, exc: Exception) -> None:
        self.subscriber_errors += 1
        subscription.failures += 1
        if subscription.failures == 1:  # once with the traceback; then quietly
            log.error(
                "monitor subscriber %r failed; polling goes on",
                subscription.callback,
                exc_info=exc,
            )
        else:
            log.debug("monitor subscriber %r failed again: %r", subscription.callback, exc)
        if subscription.on_error is not None:
            try:
                subscription.on_error(exc)
            except Exception:
                log.exception("on_error of monitor subscriber %r failed", subscription.callback)


def _finish(waiter: asyncio.Future[Any]) -> None:
    if not waiter.done():
        waiter.set_result(None)


HOLD_LIMIT = 15.0
"""Seconds a poll waits for held commands at most (a command has its own timeouts)."""

OPEN_FILES_HEADROOM = 256
"""Descriptors kept for everything but device sockets (history, logs, the terminal)."""


def raise_open_files_limit(devices: int) -> str | None:
    """Lift the soft RLIMIT_NOFILE (within the hard one) to fit one socket per device.

    A soft limit of 1024 (or 512) is common and fails half of 1,000 devices with
    "too many open files". Returns a one-line note when the limit cannot be
    raised far enough, else None."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Windows; its limit is not per process
        return None
    want = devices + OPEN_FILES_HEADROOM
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= want:
        return None
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    if soft >= want:
        return None
    return (
        f"the open-files limit is {soft} (hard limit {hard}): {devices} devices need about"
        f" {want}; some will fail with 'too many open files' (raise it with ulimit -n)"
    )
