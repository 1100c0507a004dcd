"""The dashboard: device list on the left, the highlighted device on the right.

The UI never waits on a device. Polling runs in the shared ``Monitor`` (asyncio
tasks); its snapshots update plain ``DeviceView`` objects at once and the widgets
are redrawn in coalesced batches a few times a second. Actions go through the
monitor's per-device clients in workers, so a slow plug blocks nothing.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import date
from functools import partial
from pathlib import Path

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Switch

from ..devices.models import normalize_mac
from ..discovery import DEFAULT_TARGET
from ..errors import TplinkError
from ..monitor import Identity, Monitor, Snapshot, Status
from ..recorder import HistoryRecorder, start_recording
from ..store.config import ConfigStore, SavedDevice
from ..store.history import HistoryStore, HistoryUnavailable
from ..transport import DEFAULT_PORT
from .actions import DeviceActions
from .commands import DeviceCommands
from .safe import TOAST_LIMIT, plain
from .screens.confirm import ConfirmScreen
from .screens.help import HelpScreen
from .state import WHOLE_DEVICE, DeviceView, Pending
from .widgets.detail import DetailPane, OutletRow
from .widgets.device_table import DeviceTable

FLUSH_SECONDS = 0.2
PRUNE_SECONDS = 3600.0
REFILL_SECONDS = 3600.0  # how much history refills the sparklines at start
WIDE = 150  # columns from which the detail pane stands beside the list
TODAY_REFRESH = 600.0
SORTS = ("name", "room", "power", "status")


GC_SETTLE_SECONDS = 2.0
GC_FULL_EVERY = 100  # young collections between full ones (Python's default is 10)
_gc_tuned = False


def _tune_gc() -> None:
    """Keep the garbage collector's full passes rare and short (once per process).

    Every poll result lives about one interval, long enough to be promoted to the
    oldest generation, so with 200 devices the default thresholds walk the whole heap
    every ~5 s: a 120-150 ms stall each time, felt as key press latency. Objects
    alive once the app has settled (widgets, styles, Textual itself) are frozen out
    of those walks, and full passes happen a tenth as often.
    """
    global _gc_tuned
    if _gc_tuned:
        return
    _gc_tuned = True
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, GC_FULL_EVERY)


class HistoryRefilled(Message):
    """The last hour of history, read on a thread, for the sparklines."""

    def __init__(self, found: dict[tuple[str, int | None], list[float]]) -> None:
        super().__init__()
        self.found = found


class TplinkApp(DeviceActions):
    TITLE = "tplink-tui"
    CSS_PATH = "app.tcss"
    COMMANDS = App.COMMANDS | {DeviceCommands}
    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("question_mark", "help", "Help", id="help", key_display="?"),
        Binding("slash", "filter", "Filter", id="filter", key_display="/"),
        Binding("s", "sort", "Sort", id="sort"),
        Binding("l", "led", "LED", id="led"),
        Binding("n", "rename", "Rename", id="rename"),
        Binding("a", "add", "Add", id="add"),
        Binding("d", "discover", "Discover", id="discover"),
        Binding("x", "remove", "Remove device", id="remove", show=False),
        Binding("b", "reboot", "Reboot device", id="reboot", show=False),
        Binding("t", "timer", "Timer", id="timer"),
        Binding("e", "energy", "Energy", id="energy"),
        Binding("i", "traffic", "Traffic", id="traffic"),
        Binding("o", "all_outlets(True)", "All outlets on", id="all_on", show=False),
        Binding("f", "all_outlets(False)", "All outlets off", id="all_off", show=False),
        Binding(
            "plus,equals_sign",
            "interval(0.5)",
            "Poll faster",
            id="faster",
            show=False,
            key_display="+",
        ),
        Binding("minus", "interval(2.0)", "Poll slower", id="slower", show=False, key_display="-"),
        Binding("p", "pause", "Pause polling", id="pause", show=False),
        Binding("r", "refresh", "Refresh now", id="refresh", show=False),
        Binding("escape", "back", "Back to list", id="back", show=False),
    ]

    def __init__(
        self,
        store: ConfigStore,
        *,
        monitor: Monitor | None = None,
        discovery_target: str = DEFAULT_TARGET,
        discovery_port: int = DEFAULT_PORT,
        history: bool = True,
        history_path: Path | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self.config, self.config_warning = store.load_or_recover()
        settings = self.config.settings
        self.monitor = monitor or Monitor(interval=settings.poll_interval)
        self.discovery_target = discovery_target
        self.discovery_port = discovery_port
        self.history_wanted = history and self.config.settings.history_enabled
        self.history_path = history_path
        self.recorder: HistoryRecorder | None = None
        self.history: HistoryStore | None = None
        self.views: dict[str, DeviceView] = {}
        self._dirty: set[str] = set()
        self._filter = ""
        self._sort = "name"
        self._fast_key: str | None = None
        if settings.theme and settings.theme in self.available_themes:
            self.theme = settings.theme

    # -- layout -------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield Input(placeholder="filter by name, room or model", id="filter")
                yield DeviceTable(id="devices")
            yield DetailPane(id="detail")
        yield Footer()

    # The main widgets live on the default screen. App.query_one would search the
    # active one (a modal, perhaps), so they are looked up once, at mount.
    table: DeviceTable
    detail: DetailPane
    filter_box: Input

    def on_resize(self) -> None:
        self.set_class(self.size.width >= WIDE, "-wide")

    def on_mount(self) -> None:
        self.table = self.query_one(DeviceTable)
        self.detail = self.query_one(DetailPane)
        self.filter_box = self.query_one("#filter", Input)
        self.set_class(self.size.width >= WIDE, "-wide")
        self.filter_box.display = False
        self.monitor.subscribe(self._on_snapshot)
        for saved in self.config.devices:
            self._watch(saved)
        self.start_history()
        self.monitor.start()
        self.set_interval(FLUSH_SECONDS, self._redraw_dirty)
        self.set_interval(1.0, self._tick)
        self.theme_changed_signal.subscribe(self, self._remember_theme)
        self.table.focus()
        if self.config_warning:
            self.notify(self.config_warning, severity="warning", timeout=10)
        self._update_subtitle()
        self.set_timer(GC_SETTLE_SECONDS, _tune_gc)
        self.prepare()

    def prepare(self) -> None:
        """Hook for subclasses (the demo starts its simulated home here)."""

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every toast is plain, safe text: device text in it is data, never markup.

        So an alias holding ``[/]`` cannot crash the app and ``[@click=…]`` cannot
        make a toast switch a plug. Widgets' ``notify`` ends up here too.
        """
        super().notify(
            plain(message, limit=TOAST_LIMIT),
            title=plain(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    # -- history -------------------------------------------------------------------------

    def start_history(self) -> None:
        """Record every reading, refill the sparklines; history off (with a note) if broken."""
        if not self.history_wanted:
            return
        self.recorder, problem = start_recording(self.monitor, path=self.history_path)
        if self.recorder is not None:
            try:
                # A database locked by another process opens in the background:
                # the dashboard starts at once and the refill waits for it.
                self.history = HistoryStore(self.recorder.writer.path, background=True)
            except HistoryUnavailable as exc:
                problem = f"history is off: {exc}"
        if problem:
            self.notify(problem, severity="warning", timeout=10)
            return
        self._refill_sparklines(list(self.views.values()))
        self.set_interval(PRUNE_SECONDS, self._prune_history)

    @work(thread=True, group="history")
    def _refill_sparklines(self, views: list[DeviceView]) -> None:
        """Read the last hour on a thread; the event loop applies it (no shared state)."""
        history = self.history
        if history is None:
            return
        try:
            if not history.wait_open(None):
                return
            since = time.time() - REFILL_SECONDS
            keys = {view.key for view in views}
            found = {
                (key, outlet): [w for _, w in history.recent(key, outlet, since)]
                for key, outlet in history.series()
                if key in keys
            }
        except HistoryUnavailable:
            return
        self.post_message(HistoryRefilled(found))  # thread-safe, never waits

    def on_history_refilled(self, message: HistoryRefilled) -> None:
        for (key, outlet), points in message.found.items():
            view = self.views.get(key)
            if view is None or not points:
                continue
            target = view.power if outlet is None else view.outlet_power_series(outlet)
            if not target:  # polls that arrived meanwhile are newer: keep them
                target.extend(points[-target.maxlen :] if target.maxlen else points)
            self._dirty.add(key)

    @work(thread=True, group="history", exclusive=True)
    def _prune_history(self) -> None:
        if self.history is not None:
            self.history.prune()

    def _watch(self, saved: SavedDevice) -> DeviceView:
        key = saved.address
        view = self.views.get(key)
        if view is None:
            view = DeviceView(key, saved.name, saved.host, saved.port, saved.room)
            self.views[key] = view
            # The saved MAC, if any: another device answering there is flagged at once.
            expected = Identity(mac=normalize_mac(saved.mac)) if saved.mac else None
            self.monitor.add(key, saved.host, saved.port, identity=expected)
        if self._matches(view):
            self.table.upsert(view)
        return view

    # -- polling → screen ----------------------------------------------------------------

    def _on_snapshot(self, snapshot: Snapshot) -> None:
        view = self.views.get(snapshot.key)
        if view is None:
            return
        view.apply(snapshot)
        self._dirty.add(snapshot.key)
        if snapshot.identity_changed and snapshot.identity_change is not None:
            self.notify(
                f"{view.name} ({view.key}) {snapshot.identity_change.describe()}."
                " Check it; ctrl+p → 'Accept the device now at …' takes it as this one.",
                severity="warning",
                timeout=15,
            )
        if snapshot.status_changed and snapshot.polls > 1:
            if snapshot.status is Status.OFFLINE:
                self.notify(f"{view.name} went offline: {snapshot.error}", severity="warning")
            elif snapshot.status is Status.ONLINE:
                self.notify(f"{view.name} is back online")
        elif snapshot.status_changed and snapshot.status is Status.OFFLINE:
            self.notify(f"{view.name} is offline: {snapshot.error}", severity="warning")

    def _redraw_dirty(self) -> None:
        """Apply the coalesced poll results to the widgets."""
        if not self._dirty or not self.table.is_attached:
            return  # nothing new, or the app is closing
        dirty, self._dirty = self._dirty, set()
        selected = self.detail.device_key or self.table.selected_key()
        for key in dirty:
            view = self.views.get(key)
            if view is None:
                continue
            if self._matches(view):
                self.table.upsert(view)
            if key == selected:
                self.detail.show(view)
            self._maybe_read_today(view)

    def _tick(self) -> None:
        """Once a second: ages ('offline 42 s', 'last seen') move on."""
        now = time.time()
        for view in self.views.values():
            snap = view.snapshot
            if snap and (snap.status is Status.OFFLINE or now - (snap.last_seen or now) >= 5):
                self._dirty.add(view.key)

    def _maybe_read_today(self, view: DeviceView) -> None:
        info = view.sysinfo
        if not (view.online and info and info.has_emeter):
            return
        if time.monotonic() - view.today_checked < TODAY_REFRESH:
            return
        view.today_checked = time.monotonic()
        self._read_today(view)

    @work(group="today")
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
        self._dirty.add(view.key)

    # -- selection -------------------------------------------------------------------

    @on(DataTable.RowHighlighted, "#devices")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = str(event.row_key.value) if event.row_key.value is not None else None
        view = self.views.get(key) if key else None
        self.detail.show(view)
        if self._fast_key and self._fast_key != key:
            self.monitor.set_device_interval(self._fast_key, None)
        self._fast_key = key
        if key and self.monitor.interval > 1.0:
            self.monitor.set_device_interval(key, 1.0)

    @on(DataTable.RowSelected, "#devices")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        view = self.selected_view()
        if view and view.sysinfo and view.sysinfo.is_strip:
            rows = list(self.detail.query(OutletRow))
            if rows:
                rows[0].query_one(Switch).focus()
        else:
            self.action_toggle_selected()

    # -- switching -----------------------------------------------------------------------

    @on(Switch.Changed)
    def _switch_flipped(self, event: Switch.Changed) -> None:
        row = next((a for a in event.switch.ancestors if isinstance(a, OutletRow)), None)
        if row is not None:
            self.set_switch(row.device_key, row.outlet, event.value)

    def set_switch(self, key: str, outlet: int, on: bool) -> None:
        view = self.views.get(key)
        if view is None or not view.online:
            return
        view.pending[outlet] = Pending(on, time.monotonic())
        self._dirty.add(key)
        self._send_relay(view, outlet, on)

    @work(group="actions")
    async def _send_relay(self, view: DeviceView, outlet: int, on: bool) -> None:
        client = self.monitor.client(view.key)
        try:
            await client.set_relay(on, None if outlet == WHOLE_DEVICE else outlet)
        except TplinkError as exc:
            view.pending.pop(outlet, None)
            self.notify(f"{view.name}: switching failed: {exc}", severity="error")
        self._dirty.add(view.key)
        self.monitor.refresh(view.key)

    def action_toggle_selected(self) -> None:
        view = self.selected_view()
        if view is None or not view.online or view.sysinfo is None:
            return
        if view.sysinfo.is_strip:
            self.action_all_outlets(not view.sysinfo.is_on)
            return
        self.set_switch(view.key, WHOLE_DEVICE, not view.shown_state())

    def action_all_outlets(self, on: bool) -> None:
        view = self.selected_view()
        if view is None or not view.online or view.sysinfo is None:
            return
        count = len(view.sysinfo.children) or 1
        what = f"all {count} outlets of {view.name}" if view.sysinfo.is_strip else view.name

        def answered(yes: bool | None) -> None:
            if yes:
                self.set_switch(view.key, WHOLE_DEVICE, on)

        self.push_screen(ConfirmScreen(f"Turn {'on' if on else 'off'} {what}?"), answered)

    def action_help(self) -> None:
        rows = []
        for key, binding in self._visible_bindings():
            rows.append((key, binding.description, "dashboard"))
        rows += [
            ("space", "toggle the plug (strip: all outlets, with confirmation)", "device list"),
            ("enter", "toggle the plug / move into a strip's outlets", "device list"),
            ("tab", "move between the list and the outlet switches", "everywhere"),
            ("space/enter", "flip the focused switch", "outlet switch"),
            ("ctrl+p", "command palette", "everywhere"),
        ]
        self.push_screen(HelpScreen(rows))

    def _visible_bindings(self) -> list[tuple[str, Binding]]:
        result = []
        for binding in self.BINDINGS:
            assert isinstance(binding, Binding)
            key = binding.key_display or self.get_key_display(binding)
            result.append((key, binding))
        return result

    # -- list management ----------------------------------------------------------------

    def action_filter(self) -> None:
        box = self.filter_box
        box.display = True
        box.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._filter = event.value.strip().casefold()
        self._rebuild_table()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.table.focus()

    def _matches(self, view: DeviceView) -> bool:
        if not self._filter:
            return True
        model = view.sysinfo.model if view.sysinfo else ""
        return any(self._filter in s.casefold() for s in (view.name, view.room, model))

    def action_sort(self) -> None:
        self._sort = SORTS[(SORTS.index(self._sort) + 1) % len(SORTS)]
        self._rebuild_table()
        self.notify(f"Sorted by {self._sort}", timeout=2)

    def _rebuild_table(self) -> None:
        """Only on sort or filter changes; polls update rows in place."""
        table = self.table
        selected = table.selected_key()
        table.clear()
        views = sorted(self.views.values(), key=lambda v: v.sort_key(self._sort))
        for view in views:
            if self._matches(view):
                table.upsert(view)
        if selected and selected in table.rows:
            table.move_cursor(row=table.get_row_index(selected))

    async def action_back(self) -> None:
        box = self.filter_box
        if box.has_focus and not box.value:
            box.display = False
        self.table.focus()

    def action_interval(self, factor: float) -> None:
        interval = round(min(60.0, max(0.5, self.monitor.interval * factor)), 1)
        self.monitor.set_interval(interval)
        self.notify(f"Polling every {interval:g} s", timeout=2)
        self._update_subtitle()
        self._save_settings(poll_interval=interval)

    def action_pause(self) -> None:
        if self.monitor.paused:
            self.monitor.resume()
        else:
            self.monitor.pause()
        self._update_subtitle()

    def action_refresh(self) -> None:
        self.monitor.refresh()

    def select_device(self, key: str) -> None:
        if key in self.table.rows:
            self.table.move_cursor(row=self.table.get_row_index(key))
            self.table.focus()

    def _update_subtitle(self) -> None:
        state = "paused" if self.monitor.paused else f"every {self.monitor.interval:g} s"
        self.sub_title = f"{self.label}{len(self.views)} devices · polling {state}"

    label = ""
    fixed_today: date | None = None  # the sample pins the calendar for snapshots

    # -- settings, palette and quitting ---------------------------------------------

    def _remember_theme(self, theme: object) -> None:
        self._save_settings(theme=self.theme)

    def _save_settings(self, **changes: object) -> None:
        try:
            self.store.update_settings(**changes)
        except TplinkError as exc:
            self.notify(f"Settings not saved: {exc}", severity="warning")

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for view in self.views.values():
            if view.snapshot is not None and view.snapshot.identity_change is not None:
                yield SystemCommand(
                    f"Accept the device now at {view.key}",
                    plain(f"{view.name}: {view.snapshot.identity_change.describe()}"),
                    partial(self.accept_identity, view.key),
                )
        for _, binding in self._visible_bindings():
            if binding.action in ("help", "quit", "back"):
                continue
            yield SystemCommand(
                binding.description, f"press {binding.key}", self._action_caller(binding.action)
            )

    @work(group="actions")
    async def accept_identity(self, key: str) -> None:
        """Take the device now answering at ``key`` as the saved one (and save its MAC)."""
        view = self.views.get(key)
        self.monitor.accept_identity(key)
        if view is None or view.sysinfo is None:
            return
        saved = self.store.find(key)
        try:
            if saved is not None:
                await asyncio.to_thread(self.store.update_device, saved.name, mac=view.sysinfo.mac)
        except TplinkError as exc:
            self.notify(f"Not saved: {exc}", severity="warning")
            return
        self._dirty.add(key)
        self.notify(f"{view.name} is now the device with MAC {view.sysinfo.mac}")

    def _action_caller(self, action: str) -> Callable[[], Awaitable[None]]:
        async def call() -> None:
            await self.run_action(action)

        return call

    async def action_quit(self) -> None:
        await self.shutdown()
        self.exit()

    async def on_unmount(self) -> None:
        # However the app ends (q, ctrl+c, an error, a test harness), polling stops:
        # poll tasks left running would keep the event loop from closing.
        await self.shutdown()

    async def shutdown(self) -> None:
        """Stop polling and drop sockets at once; the history writer flushes its last batch.

        Safe to call more than once."""
        await self.monitor.stop()
        if self.recorder is not None:
            self.recorder.writer.close(timeout=0.5)
        if self.history is not None:
            self.history.close()
