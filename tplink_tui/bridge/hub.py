"""The bridge's one view of the house: the shared monitor, the history, the lookups.

Every front end of ``tplink-tui bridge`` (legacy API, REST, page, metrics, MQTT)
reads the monitor's latest snapshots through this hub and switches through the
monitor's own clients, so a house is polled once however many consumers watch it.
Disk work (credentials, history) runs on threads: the event loop never waits on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from ..devices.models import normalize_mac
from ..errors import DeviceTimeout, TplinkError, UsageError
from ..monitor import Identity, Monitor, Snapshot
from ..recorder import HistoryRecorder, start_recording
from ..store.config import SavedDevice
from ..store.credentials import CredentialStore
from ..store.history import HistoryStore, HistoryUnavailable
from ..transports.errors import Credentials

log = logging.getLogger("tplink_tui.bridge")

TODAY_REFRESH = 60.0  # seconds between today's-kWh reads from the history
Action = Literal["on", "off", "toggle"]


class UnknownDevice(UsageError):
    """No saved device (among the bridged ones) has that name or address."""


def slug(text: str) -> str:
    """A name as an MQTT topic level / id: lower case, ``[a-z0-9_-]``, never empty."""
    cleaned = re.sub(r"[^a-z0-9_-]+", "_", text.casefold()).strip("_-")
    return cleaned or "device"


@dataclass(slots=True)
class Device:
    """One bridged device: its saved entry, topic name, and the cached JSON view."""

    key: str  # the monitor key (host:port), as the dashboard and the history use
    saved: SavedDevice
    slug: str
    today_kwh: float | None = None
    view: dict[str, Any] | None = field(default=None, repr=False)
    view_of: tuple[object, float | None] | None = field(default=None, repr=False)
    view_text: str | None = field(default=None, repr=False)


class Hub:
    """The monitor over the bridged devices, with name lookups and switching."""

    def __init__(
        self,
        devices: Iterable[SavedDevice],
        *,
        interval: float = 2.0,
        timeout: float = 5.0,
        history: bool = True,
    ) -> None:
        self.monitor = Monitor(interval=interval, timeout=timeout)
        self.timeout = timeout
        self.devices: dict[str, Device] = {}
        self._names: dict[str, list[str]] = {}
        self._history_wanted = history
        self.recorder: HistoryRecorder | None = None
        self.history: HistoryStore | None = None
        self._today_task: asyncio.Task[None] | None = None
        taken: set[str] = set()
        for saved in devices:
            if saved.address in self.devices:
                continue
            name = base = slug(saved.name)
            n = 2
            while name in taken:
                name, n = f"{base}_{n}", n + 1
            taken.add(name)
            device = Device(saved.address, saved, name)
            self.devices[device.key] = device
            for alias in {saved.name.casefold(), name, saved.address, saved.host}:
                self._names.setdefault(alias, []).append(device.key)

    # -- lifecycle ----------------------------------------------------------------

    async def start(self) -> str | None:
        """Start polling (saved logins read first, on a thread); a history problem as text."""
        found = await asyncio.to_thread(self._read_credentials)
        for device in self.devices.values():
            saved = device.saved
            expected = Identity(mac=normalize_mac(saved.mac)) if saved.mac else None
            self.monitor.add(
                device.key,
                saved.host,
                saved.port,
                identity=expected,
                transport=saved.transport,
                credentials=found.get(device.key),
            )
        problem = None
        if self._history_wanted:
            self.recorder, problem = await asyncio.to_thread(start_recording, self.monitor)
            if self.recorder is not None:
                try:
                    path = self.recorder.writer.path
                    self.history = await asyncio.to_thread(HistoryStore, path, background=True)
                except HistoryUnavailable as exc:
                    problem = f"history is off: {exc}"
        self.monitor.start()
        if self.history is not None:
            self._today_task = asyncio.create_task(self._keep_today(), name="today kWh")
        return problem

    def _read_credentials(self) -> dict[str, Credentials]:
        try:
            store = CredentialStore()
            return {k: c for k in self.devices if (c := store.get(k)) is not None}
        except (TplinkError, OSError) as exc:
            log.warning("saved logins not read: %s", exc)
            return {}

    async def stop(self) -> None:
        """Stop polling at once; the history writer flushes its last batch."""
        if self._today_task is not None:
            self._today_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._today_task
        await self.monitor.stop()
        if self.recorder is not None:
            await asyncio.to_thread(self.recorder.writer.close, timeout=1.0)
        if self.history is not None:
            await asyncio.to_thread(self.history.close)

    # -- lookups --------------------------------------------------------------------

    def find(self, text: str) -> Device:
        """A bridged device by saved name, topic name, ``host:port`` or host.

        Only bridged devices: the HTTP API never becomes a way to reach other hosts."""
        keys = self._names.get(text.strip().casefold()) or self._names.get(text.strip(), [])
        if len(keys) > 1:
            names = ", ".join(sorted(self.devices[k].saved.name for k in keys))
            raise UsageError(f"{text!r} names several devices ({names}): use the name")
        if not keys:
            raise UnknownDevice(f"no bridged device named {text!r}")
        return self.devices[keys[0]]

    def snapshot(self, device: Device) -> Snapshot:
        return self.monitor.snapshot(device.key)

    # -- actions --------------------------------------------------------------------

    async def switch(self, device: Device, action: Action, outlet: str | None = None) -> bool:
        """Switch through the monitor's client; the new state once the device confirmed."""
        client = self.monitor.client(device.key)
        spec = None if outlet is None or outlet == "" else outlet
        release = self.monitor.hold(device.key)  # sent before the polls not started yet
        try:
            async with asyncio.timeout(self.timeout * 2 + 1):
                if action == "toggle":
                    new = await client.toggle(spec)
                else:
                    new = action == "on"
                    await client.set_relay(new, spec)
        except TimeoutError:
            raise DeviceTimeout(f"{device.key}: no reply within {self.timeout:g} s") from None
        finally:
            release()
            self.monitor.refresh(device.key)
        where = f" outlet {spec}" if spec else ""
        log.info("%s%s: %s, now %s", device.saved.name, where, action, "on" if new else "off")
        return new

    # -- history ----------------------------------------------------------------------

    def _history_or_raise(self) -> HistoryStore:
        if self.history is None:
            raise HistoryUnavailable("history is off for this bridge (--no-history or broken)")
        return self.history

    async def power_history(
        self, device: Device, outlet: int | None, since: float, step: float
    ) -> list[tuple[float, float]]:
        """Mean power per ``step`` seconds from ``since`` on (read on a thread)."""
        history = self._history_or_raise()
        points = await asyncio.to_thread(history.recent, device.key, outlet, since)
        buckets: dict[float, list[float]] = {}
        for ts, watts in points:
            buckets.setdefault(ts - ts % step, []).append(watts)
        return [(start, sum(v) / len(v)) for start, v in sorted(buckets.items())]

    async def _keep_today(self) -> None:
        while True:
            await asyncio.to_thread(self._read_today)
            await asyncio.sleep(TODAY_REFRESH)

    def _read_today(self) -> None:
        """Today's kWh per device from the device's own counter as recorded (a thread)."""
        history = self.history
        if history is None:
            return
        now = time.time()
        midnight = (
            datetime.fromtimestamp(now)
            .replace(hour=0, minute=0, second=0, microsecond=0)
            .timestamp()
        )
        for device in list(self.devices.values()):
            try:
                device.today_kwh = history.counter_energy_kwh(device.key, None, midnight, now)
            except HistoryUnavailable as exc:
                log.warning("today's energy not read: %s", exc)
                return
