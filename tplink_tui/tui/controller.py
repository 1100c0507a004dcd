"""What the dashboard does, without Textual: device views, batching, toggles, config writes.

The App owns the widgets and the keys; this owns the state behind them. Poll
results land in ``DeviceView`` objects at once and the keys that changed are
collected here until the App's flush timer takes them as one batch. Every config
write runs in a thread (``asyncio.to_thread``), one at a time and in order: the
file lock can wait up to 10 s for another process, and the UI must not.

Background work (relay writes, day statistics, renames) runs through ``spawn``,
which the App maps onto its workers, so quitting cancels it like any worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Any

from ..errors import TplinkError
from ..monitor import Monitor, Snapshot, Status
from ..recorder import HistoryRecorder, start_recording
from ..store.config import ConfigStore, SavedDevice
from ..store.credentials import CredentialStore
from ..store.history import HistoryStore, HistoryUnavailable
from ..tariff import Tariff
from .chart_data import RANGES, ChartSeries, extend_with_live, history_series, live_series
from .countdowns import Countdowns
from .logins import Logins, credentials_beside
from .state import REBOOT_GRACE, WHOLE_DEVICE, DeviceView, Pending

REFILL_SECONDS = 3600.0  # how much history refills the live chart at start
TODAY_REFRESH = 600.0
SORTS = ("name", "room", "power", "status")

Notify = Callable[..., None]  # (message, *, severity=..., timeout=...) like App.notify
Spawn = Callable[[Coroutine[Any, Any, None], str], None]  # (coroutine, worker group)
RefillFound = dict[tuple[str, int | None], list[tuple[float, float]]]  # (ts, W) per series


class DashboardController:
    """Owns the device views; the App calls its methods and redraws what ``take_dirty`` gives."""

    def __init__(
        self,
        store: ConfigStore,
        monitor: Monitor,
        devices: Iterable[SavedDevice] = (),
        credentials: CredentialStore | None = None,
    ) -> None:
        self.store = store
        self.monitor = monitor
        self.logins = Logins(monitor, credentials or credentials_beside(store))
        self.logins.wanted = lambda key: key in self.views
        self.views: dict[str, DeviceView] = {}
        self.filter = ""
        self.sort = "name"
        self.tariff: Tariff | None = None
        self.selected: str | None = None  # the highlighted device (timers are read oftener)
        self.chart_range = 0  # index into chart_data.RANGES
        self._chart: ChartSeries | None = None  # the longer range, read from history
        self._chart_key: tuple[str, int] | None = None
        self._chart_read = 0.0
        self.countdowns = Countdowns(
            monitor, self.views, self.mark, lambda c: self.spawn(c, "countdown")
        )
        self.recorder: HistoryRecorder | None = None
        self.history: HistoryStore | None = None
        self._dirty: dict[str, None] = {}  # ordered: new rows appear in the order added
        self._saved = list(devices)
        self._write_lock: asyncio.Lock | None = None
        self.notify: Notify = lambda message, **_: None
        self.spawn: Spawn = _run_soon

    def start(
        self, notify: Notify, spawn: Spawn, ask_login: Callable[[str], None] | None = None
    ) -> None:
        """Subscribe and watch the saved devices; ``ask_login(key)`` opens the login dialog."""
        self.notify, self.spawn = notify, spawn
        if ask_login is not None:
            self.logins.ask = ask_login
        self.logins.start(spawn, notify)
        self.monitor.subscribe(self.on_snapshot)
        spawn(self.countdowns.sweep(), "countdown")
        for saved in self._saved:
            self.watch(saved)

    # -- the batch the App redraws -----------------------------------------------------

    def mark(self, key: str) -> None:
        self._dirty[key] = None

    def take_dirty(self) -> tuple[str, ...]:
        """The keys changed since the last call (a removed device's key too), in order."""
        if not self._dirty:
            return ()
        keys, self._dirty = tuple(self._dirty), {}
        for key in keys:
            view = self.views.get(key)
            if view is not None:
                self._maybe_read_today(view)
                if key == self.selected:
                    self.countdowns.maybe_read(view)
        return keys

    def tick(self) -> None:
        """Once a second: ages ('offline 42 s', 'last seen') move on."""
        now = time.time()
        for view in self.views.values():
            snap = view.snapshot
            if snap and (snap.status is Status.OFFLINE or now - (snap.last_seen or now) >= 5):
                self.mark(view.key)
            self.countdowns.tick(view, now)  # "off in 12 min" counts down

    def matches(self, view: DeviceView) -> bool:
        if not self.filter:
            return True
        model = view.sysinfo.model if view.sysinfo else ""
        return any(self.filter in s.casefold() for s in (view.name, view.room, model))

    def visible(self) -> list[DeviceView]:
        """The devices the list shows, in the current order."""
        ordered = sorted(self.views.values(), key=lambda v: v.sort_key(self.sort))
        return [view for view in ordered if self.matches(view)]

    def next_sort(self) -> str:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        return self.sort

    # -- devices -------------------------------------------------------------------------

    def watch(self, saved: SavedDevice) -> DeviceView:
        """Poll a saved device (once) and show it in the next batch."""
        key = saved.address
        view = self.views.get(key)
        if view is not None and saved.name.casefold() not in view.name.casefold().split(" = "):
            # Two saved names for one address are one device: one row that names both.
            self.notify(
                f"{saved.name} and {view.name} are saved with the same address {key};"
                " one row shows both (remove or fix one with `tplink-tui devices`)",
                severity="warning",
                timeout=10,
            )
            view.name = f"{view.name} = {saved.name}"
        if view is None:
            view = DeviceView(key, saved.name, saved.host, saved.port, saved.room)
            view.transport = "" if saved.transport == "auto" else saved.transport
            self.views[key] = view
            self.logins.watch(saved)  # polled once its saved login (if any) is read
        self.mark(key)
        return view

    def on_snapshot(self, snapshot: Snapshot) -> None:
        view = self.views.get(snapshot.key)
        if view is None:
            return
        view.apply(snapshot)
        self.logins.learn_protocol(view)
        self.mark(snapshot.key)
        if self.logins.on_snapshot(snapshot):
            return  # "needs login" and the dialog say it; no "offline" toast
        if snapshot.identity_changed and snapshot.identity_change is not None:
            self.notify(
                f"{view.name} ({view.key}) {snapshot.identity_change.describe()}."
                " Check it; ctrl+p → 'Accept the device now at …' takes it as this one.",
                severity="warning",
                timeout=15,
            )
        if snapshot.status_changed and snapshot.polls > 1:
            if snapshot.status is Status.OFFLINE:
                view.said_offline = True
                self.notify(f"{view.name} went offline: {snapshot.error}", severity="warning")
            elif snapshot.status is Status.ONLINE and view.said_offline:
                view.said_offline = False  # a first poll that failed at start was never news
                self.notify(f"{view.name} is back online")
        elif snapshot.status_changed and snapshot.status is Status.OFFLINE:
            self.notify(f"{view.name} is offline: {snapshot.error}", severity="warning")

    def unique_name(self, name: str) -> str:
        taken = {v.name.casefold() for v in self.views.values()}
        candidate, n = name, 2
        while candidate.casefold() in taken:
            candidate, n = f"{name} ({n})", n + 1
        return candidate

    # -- switching -------------------------------------------------------------------------

    def set_switch(self, key: str, outlet: int, on: bool) -> None:
        """Show the wish at once (pending) and send it; the next poll confirms it."""
        view = self.views.get(key)
        if view is None or not view.online:
            return
        view.pending[outlet] = Pending(on, time.monotonic())
        self.mark(key)
        # Held now, at the key press: a poll of this device that has not started
        # yet goes after the switch, not before it.
        release = self.monitor.hold(key)
        self.spawn(self._send_relay(view, outlet, on, release), "actions")

    async def _send_relay(
        self, view: DeviceView, outlet: int, on: bool, release: Callable[[], None]
    ) -> None:
        try:
            await self.monitor.client(view.key).set_relay(
                on, None if outlet == WHOLE_DEVICE else outlet
            )
        except TplinkError as exc:
            view.pending.pop(outlet, None)
            self.notify(f"{view.name}: switching failed: {exc}", severity="error")
        finally:
            release()
        self.mark(view.key)
        self.monitor.refresh(view.key)

    def run_action(
        self, view: DeviceView, label: str, coro_factory: Callable[[], Awaitable[object]]
    ) -> None:
        """A device command in the background (before the device's next poll); a toast."""
        release = self.monitor.hold(view.key)

        async def run() -> None:
            try:
                await coro_factory()
            except TplinkError as exc:
                self.notify(f"{view.name}: {label} failed: {exc}", severity="error")
            else:
                if label == "rebooting":  # DeviceDialogs.reboot's label
                    view.rebooting_until = time.time() + REBOOT_GRACE
                self.notify(f"{view.name}: {label}")
            finally:
                release()
            view.countdown_checked = -1e9  # a timer may have been set or cleared
            self.mark(view.key)
            self.monitor.refresh(view.key)

        self.spawn(run(), "actions")

    # -- day statistics ----------------------------------------------------------------

    def _maybe_read_today(self, view: DeviceView) -> None:
        info = view.sysinfo
        if not (view.online and info and info.has_emeter):
            return
        if time.monotonic() - view.today_checked < TODAY_REFRESH:
            return
        view.today_checked = time.monotonic()
        self.spawn(self._read_today(view), "today")

    async def _read_today(self, view: DeviceView) -> None:
        client = self.monitor.client(view.key)
        today = date.today()
        outlets: Iterable[int | None] = [None]
        if view.sysinfo and view.sysinfo.is_strip:
            outlets = [o.index for o in view.sysinfo.children]
        total = 0.0
        try:
            for outlet in outlets:
                stats = await client.day_stats(today.year, today.month, outlet)
                total += sum(s.energy_kwh for s in stats if s.day == today.day)
        except TplinkError:
            return
        view.today_kwh = total
        view.today_cost = await self._today_cost(view, total)
        self.mark(view.key)

    async def _today_cost(self, view: DeviceView, kwh: float) -> float | None:
        """Today's cost: a night rate is priced from our history piece by piece."""
        tariff, history = self.tariff, self.history
        if tariff is None:
            return None
        if tariff.night_price is None or history is None:
            return tariff.cost(kwh)
        midnight = datetime.combine(date.today(), datetime.min.time())

        def priced() -> float:
            return tariff.cost_between(
                lambda a, b: history.energy_kwh(view.key, None, a, b), midnight, datetime.now()
            )

        try:
            return await asyncio.to_thread(priced)
        except HistoryUnavailable:
            return tariff.cost(kwh)

    def set_tariff(self, tariff: Tariff | None) -> None:
        """Use this tariff (None: no cost shown); today's costs are worked out again."""
        self.tariff = tariff
        for view in self.views.values():
            view.today_cost = None
            if tariff is not None and view.today_kwh is not None:
                view.today_cost = tariff.cost(view.today_kwh)
                view.today_checked = 0.0  # re-read: the night rate needs our history
            self.mark(view.key)

    # -- the power chart -------------------------------------------------------------------

    def set_chart_range(self, index: int) -> str:
        self.chart_range = max(0, min(len(RANGES) - 1, index))
        self._chart, self._chart_key = None, None
        if self.selected:
            self.mark(self.selected)
        return RANGES[self.chart_range][0]

    def chart_for(self, view: DeviceView) -> tuple[ChartSeries, str]:
        """What the chart of this device shows now, and a note while history is read."""
        label, span = RANGES[self.chart_range]
        if self.chart_range == 0 or self.history is None:
            note = "" if self.chart_range == 0 else "no history recorded (history is off)"
            return live_series(view, span), note
        wanted = (view.key, self.chart_range)
        stale = time.monotonic() - self._chart_read > max(30.0, span / 240)
        if self._chart_key != wanted or stale:
            self._chart_key, self._chart_read = wanted, time.monotonic()
            self.spawn(self._read_chart(view, span, wanted), "chart")
        if self._chart is None or self._chart_key != wanted:
            return live_series(view, span), f"reading {label} of history…"
        return extend_with_live(self._chart, view), ""

    async def _read_chart(self, view: DeviceView, span: float, wanted: tuple[str, int]) -> None:
        history = self.history
        if history is None:
            return
        chart = await asyncio.to_thread(history_series, history, view, span)
        if chart is not None and self._chart_key == wanted:
            self._chart = chart
            self.mark(view.key)

    # -- config writes: in a thread, one at a time -------------------------------------

    async def _write(self, change: Callable[[], Any]) -> Any:
        """Run one store call in a thread, after the ones before it (their order is kept)."""
        if self._write_lock is None:
            self._write_lock = asyncio.Lock()
        async with self._write_lock:
            return await asyncio.to_thread(change)

    async def save_settings(self, **changes: object) -> None:
        try:
            await self._write(lambda: self.store.update_settings(**changes))
        except TplinkError as exc:
            self.notify(f"Settings not saved: {exc}", severity="warning")

    def _find(self, view: DeviceView) -> SavedDevice | None:
        return self.store.find(view.key) or self.store.find(view.name)

    async def rename(self, view: DeviceView, name: str, outlet: int | None) -> None:
        """The device's alias (if it answers), then for a device the saved name."""
        try:
            if view.online:
                await self.monitor.client(view.key).set_alias(name, outlet)
            if outlet is None:

                def save() -> None:
                    saved = self._find(view)
                    if saved is not None:
                        self.store.rename_device(saved.name, name)

                await self._write(save)
                view.name = name
        except TplinkError as exc:
            self.notify(f"Renaming {view.name} failed: {exc}", severity="error")
            return
        self.notify(f"Renamed to {name}")
        self.mark(view.key)
        self.monitor.refresh(view.key)

    def _is_new(self, device: SavedDevice) -> bool:
        if known := device.address in self.views:
            self.notify(f"{device.address} is already in the list")
        return not known

    def _added(self, saved: SavedDevice) -> None:
        self.watch(saved)
        self.notify(f"Added {saved.name}")

    async def add_devices(self, devices: list[SavedDevice]) -> None:
        """Save each device (in a thread) and start polling it; a failure is a toast."""
        for device in devices:
            if not self._is_new(device):
                continue
            try:
                saved = await self._write(partial(self.store.add_device, device))
            except TplinkError as exc:
                self.notify(str(exc), severity="error")
                continue
            self._added(saved)

    def add_devices_now(self, devices: list[SavedDevice]) -> None:
        """``add_devices`` for scripts and tests: returns once saved (may wait on the lock)."""
        for device in devices:
            if not self._is_new(device):
                continue
            try:
                saved = self.store.add_device(device)
            except TplinkError as exc:
                self.notify(str(exc), severity="error")
                continue
            self._added(saved)

    async def remove(self, view: DeviceView) -> None:
        def forget() -> None:
            saved = self._find(view)
            if saved is not None:
                self.store.remove_device(saved.name)

        try:
            await self._write(forget)
        except TplinkError as exc:
            self.notify(str(exc), severity="error")
            return
        await self.monitor.remove(view.key)
        self.views.pop(view.key, None)
        self.mark(view.key)  # the batch drops its row

    async def accept_identity(self, key: str) -> None:
        """Take the device now answering at ``key`` as the saved one (and save its MAC)."""
        view = self.views.get(key)
        self.monitor.accept_identity(key)
        if view is None or view.sysinfo is None:
            return
        mac = view.sysinfo.mac

        def save() -> None:
            saved = self.store.find(key)
            if saved is not None:
                self.store.update_device(saved.name, mac=mac)

        try:
            await self._write(save)
        except TplinkError as exc:
            self.notify(f"Not saved: {exc}", severity="warning")
            return
        self.mark(key)
        self.notify(f"{view.name} is now the device with MAC {mac}")

    # -- history ---------------------------------------------------------------------------

    def start_history(self, path: Path | None) -> str | None:
        """Record every reading; the problem (history then off) as text, if any.

        A later problem (the writer process died, the disk filled) is told once as
        a toast: the writer's threads hand it to the event loop."""
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None

        def told(text: str) -> None:  # called on a writer thread
            if loop is not None:
                with contextlib.suppress(RuntimeError):  # the app has closed its loop
                    loop.call_soon_threadsafe(lambda: self.notify(text, severity="warning"))

        self.recorder, problem = start_recording(self.monitor, path=path, on_problem=told)
        if self.recorder is not None:
            try:
                # A database locked by another process opens in the background:
                # the dashboard starts at once and the refill waits for it.
                self.history = HistoryStore(self.recorder.writer.path, background=True)
            except HistoryUnavailable as exc:
                problem = f"history is off: {exc}"
        return problem

    def read_refill(self, keys: set[str]) -> RefillFound | None:
        """The last hour per series, for the sparklines. Blocking: call it on a thread."""
        history = self.history
        if history is None:
            return None
        try:
            if not history.wait_open(None):
                return None
            since = time.time() - REFILL_SECONDS
            return {
                (key, outlet): history.recent(key, outlet, since)
                for key, outlet in history.series()
                if key in keys
            }
        except HistoryUnavailable:
            return None

    def apply_refill(self, found: RefillFound) -> None:
        """On the event loop: fill empty sparklines; polls that came first are newer."""
        for (key, outlet), points in found.items():
            view = self.views.get(key)
            if view is None or not points:
                continue
            target = view.power if outlet is None else view.outlet_power_series(outlet)
            if not target:
                kept = points[-target.maxlen :] if target.maxlen else points
                target.extend(w for _, w in kept)
                if not view.times or len(view.times) < len(kept):
                    view.times.clear()
                    view.times.extend(ts for ts, _ in kept)
            self.mark(key)

    def prune_history(self) -> None:
        """Blocking: call it on a thread."""
        if self.history is not None:
            self.history.prune()

    async def shutdown(self) -> None:
        """Stop polling and drop sockets at once; the history writer flushes its last batch."""
        await self.monitor.stop()
        if self.recorder is not None:
            self.recorder.writer.close(timeout=0.5)
        if self.history is not None:
            self.history.close()


_tasks: set[asyncio.Task[None]] = set()


def _run_soon(coroutine: Coroutine[Any, Any, None], group: str) -> None:
    """Without an App (``start`` not called): plain tasks, kept until they finish."""
    task = asyncio.get_running_loop().create_task(coroutine)
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
