"""The dashboard: the device list on top, the highlighted device (and its chart) below.

The UI never waits on a device or on the config file. The ``DashboardController``
(no Textual) owns the state: polling results update its ``DeviceView`` objects at
once, and a flush timer posts the keys that changed as one ``DevicesChanged``
message a few times a second. This App composes the widgets, binds the keys and
handles messages; actions and config writes run in the background.
"""

from __future__ import annotations

from collections.abc import Coroutine, Iterable
from pathlib import Path
from typing import Any

from textual import events, on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.geometry import Size
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import DataTable, Header, Input, Switch

from ..discovery import DEFAULT_TARGET
from ..gc_tune import GC_SETTLE_SECONDS, tune_gc
from ..monitor import Monitor
from ..present import DEFAULT_PORT
from ..recorder import HistoryRecorder
from ..store.config import ConfigStore, SavedDevice
from ..store.credentials import CredentialStore
from ..tariff import TariffError, parse_tariff_text
from .actions import DeviceDialogs
from .chart_data import RANGES
from .commands import DASHBOARD_KEYS, DeviceCommands, device_system_commands, help_rows
from .controller import DashboardController
from .messages import DevicesChanged, HistoryRefilled
from .options import DashboardOptions
from .safe import TOAST_LIMIT, plain
from .screens.help import HelpScreen
from .screens.prompt import PromptScreen
from .state import DeviceView
from .widgets.detail import DetailPane, OutletRow
from .widgets.device_table import DeviceTable, fit_columns
from .widgets.footer import DashboardFooter

GLOBAL_ACTIONS = frozenset({"quit", "help", "command_palette"})
LIST_ACTIONS = (
    frozenset(b.action.split("(")[0] for b in DASHBOARD_KEYS if isinstance(b, Binding))
    - GLOBAL_ACTIONS
)
"""Actions of the dashboard's keys that work on the device list behind any screen."""

FLUSH_SECONDS = 0.2
PRUNE_SECONDS = 3600.0
WIDE = 150  # columns from which a long list stands beside the detail pane
DETAIL_WIDTH = 62  # the detail pane beside the list (with its border)
LIST_SHARE = 0.45  # of the height, at most, for the list above the detail pane
POLL_STEPS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)  # what + and - step through


class TplinkApp(App[None]):
    TITLE = "tplink-tui"
    CSS_PATH = "app.tcss"
    COMMANDS = App.COMMANDS | {DeviceCommands}
    BINDINGS = DASHBOARD_KEYS

    def __init__(
        self,
        store: ConfigStore,
        *,
        monitor: Monitor | None = None,
        discovery_target: str = DEFAULT_TARGET,
        discovery_port: int = DEFAULT_PORT,
        history: bool = True,
        history_path: Path | None = None,
        options: DashboardOptions | None = None,
        credentials: CredentialStore | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self.config, self.config_warning = store.load_or_recover()
        settings = self.config.settings
        self.monitor = monitor or Monitor(interval=settings.poll_interval)
        self.options = options or DashboardOptions()
        self.controller = DashboardController(store, self.monitor, self.config.devices, credentials)
        self.dialogs = DeviceDialogs(self)
        self.discovery_target = discovery_target
        self.discovery_port = discovery_port
        self.history_wanted = history and settings.history_enabled
        self.history_path = history_path
        self._fast_key: str | None = None
        self._laid_out: tuple[object, ...] | None = None
        self.loading = self.options.loading  # shown instead of "0 devices" until it is done
        self.controller.tariff = settings.tariff
        if settings.theme and settings.theme in self.available_themes:
            self.theme = settings.theme

    @property
    def views(self) -> dict[str, DeviceView]:
        return self.controller.views

    @property
    def recorder(self) -> HistoryRecorder | None:
        return self.controller.recorder

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield Input(placeholder="filter by name, room or model", id="filter")
                yield DeviceTable(id="devices")
            yield DetailPane(id="detail")
        yield DashboardFooter()

    # The main widgets live on the default screen. App.query_one would search the
    # active one (a modal, perhaps), so they are looked up once, at mount.
    table: DeviceTable
    detail: DetailPane
    filter_box: Input

    def on_resize(self, event: events.Resize) -> None:
        # The event's size is the new one (``self.size`` may still be the old one).
        self.relayout(event.size)

    def relayout(self, size: Size | None = None) -> None:
        """Size the list to its rows (up to a share), pick the columns that fit the width.

        Stacked: the list on top takes the rows it needs, the detail pane the rest.
        On a wide terminal with a list longer than its share, the list takes the
        full height beside the detail pane. Nothing scrolls sideways.
        """
        if not hasattr(self, "table"):
            return
        size = size or self.size
        width, height = size.width, size.height
        filter_rows = 3 if self.filter_box.display else 0
        needed = self.table.row_count + 1 + filter_rows
        share = max(6, int((height - 2) * LIST_SHARE))
        wide = width >= WIDE and needed > share
        list_height = min(max(needed, 3 + filter_rows), share)
        table_width = width - (DETAIL_WIDTH if wide else 0)
        visible_rows = (height - 2 - filter_rows if wide else list_height - filter_rows) - 1
        if self.table.row_count > visible_rows:
            table_width -= 2  # the vertical scrollbar
        has_timer = any(v.countdowns for v in self.views.values())
        columns = fit_columns(table_width, cost=self.controller.tariff is not None, timer=has_timer)
        layout = (wide, list_height, tuple(columns), self.controller.sort)
        if layout == self._laid_out:
            return
        self._laid_out = layout
        self.set_class(wide, "-wide")
        self.query_one("#left").styles.height = "1fr" if wide else list_height
        self.table.tariff = self.controller.tariff
        if self.table.set_columns(columns, self.controller.sort):
            self.table.rebuild(self.controller.visible())

    def on_mount(self) -> None:
        self.table = self.query_one(DeviceTable)
        self.table.source = self.views.get
        self.detail = self.query_one(DetailPane)
        self.filter_box = self.query_one("#filter", Input)
        self.filter_box.display = False
        self.detail.empty_text = self.loading or DetailPane.EMPTY
        self.detail.show(None)
        self.relayout()
        # Looked up at each call, so a wrapped ``notify`` (tests do) sees every toast.
        self.controller.start(
            lambda *args, **kw: self.notify(*args, **kw), self._spawn, self.dialogs.login
        )
        self.start_history()
        self.monitor.start()
        if self.monitor.open_files_note:  # too few file descriptors for every device
            self.notify(self.monitor.open_files_note, severity="warning", timeout=10)
        self.set_interval(FLUSH_SECONDS, self.flush)
        self.set_interval(1.0, self.controller.tick)
        self.theme_changed_signal.subscribe(self, self._remember_theme)
        self.table.focus()
        if self.config_warning:
            self.notify(self.config_warning, severity="warning", timeout=10)
        self.show_changes(self.controller.take_dirty())
        self.set_timer(GC_SETTLE_SECONDS, tune_gc)
        if self.options.on_start is not None:
            self.options.on_start(self)

    def _spawn(self, coroutine: Coroutine[Any, Any, None], group: str) -> None:
        self.run_worker(coroutine, group=group)

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

    # -- state → widgets -----------------------------------------------------------------

    def flush(self) -> None:
        """The flush timer: whatever changed since the last one, as one message."""
        keys = self.controller.take_dirty()
        if keys:
            self.post_message(DevicesChanged(keys))
        elif self.table.stale:
            self.table.catch_up()  # quiet now: the rows off screen catch up

    def on_devices_changed(self, message: DevicesChanged) -> None:
        self.show_changes(message.keys)

    def show_changes(self, keys: Iterable[str]) -> None:
        """Apply one batch to the list and the detail pane (views are read now: newest).

        Rows on screen are redrawn now; the table brings rows off screen up to
        date a few at a time, and as they scroll into view.
        """
        if not self.table.is_attached:
            return  # the app is closing
        selected = self.detail.device_key or self.table.selected_key()
        rows = self.table.row_count
        changed: list[DeviceView] = []
        for key in keys:
            view = self.views.get(key)
            if view is None:  # removed
                if key in self.table.rows:
                    self.table.remove_row(key)
                    self.table.stale.pop(key, None)
                self.show_detail(self.selected_view())
            elif self.controller.matches(view):
                changed.append(view)
            if view is not None and key == selected:
                self.show_detail(view)
        self.table.show_rows(changed)
        if self.table.row_count > rows:
            # New rows were appended: put them in the order the header shows (▲/▼).
            self.table.rebuild(self.controller.visible())
        if rows != self.table.row_count or keys:
            self.relayout()
        self._update_subtitle()

    def show_detail(self, view: DeviceView | None) -> None:
        """The detail pane for this device, with its chart in the chosen range."""
        if view is None:
            self.detail.show(None)
            return
        chart, note = self.controller.chart_for(view)
        self.detail.show(view, chart, self.controller.chart_range, note)

    def start_history(self) -> None:
        """Record every reading, refill the live charts; history off (with a note) if broken."""
        if not self.history_wanted:
            return
        problem = self.controller.start_history(self.history_path)
        if problem:
            self.notify(problem, severity="warning", timeout=10)
            return
        self._refill_charts(set(self.views))
        self.set_interval(PRUNE_SECONDS, self._prune_history)

    @work(thread=True, group="history")
    def _refill_charts(self, keys: set[str]) -> None:
        """Read the last hour on a thread; the event loop applies it (no shared state)."""
        found = self.controller.read_refill(keys)
        if found is not None:
            self.post_message(HistoryRefilled(found))  # thread-safe, never waits

    def on_history_refilled(self, message: HistoryRefilled) -> None:
        self.controller.apply_refill(message.found)

    @work(thread=True, group="history", exclusive=True)
    def _prune_history(self) -> None:
        self.controller.prune_history()

    # -- selection and switching ---------------------------------------------------------

    @on(DataTable.RowHighlighted, "#devices")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = str(event.row_key.value) if event.row_key.value is not None else None
        self.controller.selected = key
        self.show_detail(self.views.get(key) if key else None)
        if self._fast_key and self._fast_key != key:
            self.monitor.set_device_interval(self._fast_key, None)
        self._fast_key = key
        if key and self.monitor.interval > 1.0:
            self.monitor.set_device_interval(key, 1.0)

    @on(DataTable.RowSelected, "#devices")
    def _row_selected(self) -> None:
        view = self.selected_view()
        if view and view.needs_login:
            self.dialogs.login(view.key)
        elif not (view and view.sysinfo and view.sysinfo.is_strip):
            self.action_toggle_selected()
        elif rows := list(self.detail.query(OutletRow)):
            rows[0].query_one(Switch).focus()

    def on_outlet_row_switch_requested(self, message: OutletRow.SwitchRequested) -> None:
        self.controller.set_switch(message.device_key, message.outlet, message.on)

    def selected_view(self) -> DeviceView | None:
        key = self.table.selected_key()
        return self.views.get(key) if key else None

    def focused_outlet(self) -> int | None:
        """The outlet whose switch has focus, if any."""
        node = self.focused
        rows = [a for a in node.ancestors_with_self if isinstance(a, OutletRow)] if node else []
        return rows[0].outlet if rows else None

    def select_device(self, key: str) -> None:
        if key in self.table.rows:
            self.table.move_cursor(row=self.table.get_row_index(key))
            self.table.focus()

    def loaded(self) -> None:
        """The mode's devices are in (``options.loading`` ends): the usual texts return."""
        self.loading = ""
        self.detail.empty_text = DetailPane.EMPTY
        self.show_changes(self.controller.take_dirty())
        if self.table.row_count:
            self.table.move_cursor(row=0)
        self.show_detail(self.selected_view())

    def add_devices(self, devices: list[SavedDevice]) -> None:
        """Save and watch devices, returning once saved (scripts and tests; keys don't wait)."""
        self.controller.add_devices_now(devices)
        self.show_changes(self.controller.take_dirty())

    # -- key actions -----------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The list's keys act on the list only: not behind a screen in front of it."""
        return not (len(self.screen_stack) > 1 and action in LIST_ACTIONS)

    def action_toggle_selected(self) -> None:
        self.dialogs.toggle_selected()

    def action_all_outlets(self, on: bool) -> None:
        self.dialogs.all_outlets(on)

    def action_help(self) -> None:
        self.push_screen(HelpScreen(help_rows(self)))

    def action_filter(self) -> None:
        self.filter_box.display = True
        self.relayout()
        self.filter_box.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.controller.filter = event.value.strip().casefold()
        self.table.rebuild(self.controller.visible())

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.table.focus()

    def action_sort(self) -> None:
        """The next sort order; the sorted column's header shows it (▲ A→Z, ▼ high→low)."""
        self.controller.next_sort()
        self.relayout()
        self.table.rebuild(self.controller.visible())

    async def action_back(self) -> None:
        """Esc: clear the filter (a first Esc while typing keeps it), then back to the list."""
        box = self.filter_box
        if box.display and ((box.value and not box.has_focus) or not box.value):
            box.value = ""
            box.display = False
            self.controller.filter = ""
            self.table.rebuild(self.controller.visible())
            self.relayout()
        self.table.focus()

    def action_chart_range(self, index: int) -> None:
        """1-4 pick the chart's range; [ and ] step through them (index -1 / -2)."""
        if index == -1:
            index = self.controller.chart_range - 1
        elif index == -2:
            index = self.controller.chart_range + 1
        self.controller.set_chart_range(index % len(RANGES) if index >= 0 else 0)
        self.show_detail(self.selected_view())

    def action_tariff(self) -> None:
        """Ask for the price per kWh (and a night rate); saved in the settings."""
        tariff = self.controller.tariff

        def check(text: str) -> str | None:
            try:
                parse_tariff_text(text)
            except TariffError as exc:
                return str(exc)
            return None

        def answered(text: str | None) -> None:
            if text is None:
                return
            new = parse_tariff_text(text)
            self.controller.set_tariff(new)
            self._laid_out = None
            self.relayout()
            self.table.rebuild(self.controller.visible())
            self.notify(f"Tariff: {new.describe()}" if new else "No tariff: costs hidden")
            saved = new.to_dict() if new else None
            self._spawn(self.controller.save_settings(tariff=saved), "settings")

        current = ""
        if tariff is not None:
            current = f"{tariff.price:g} {tariff.currency}".strip()
            if tariff.night_price is not None:
                current += f" night {tariff.night_price:g} {tariff.night_start}-{tariff.night_end}"
        prompt = PromptScreen(
            "Electricity price per kWh (empty: no tariff)",
            current,
            placeholder="0.30 EUR",
            hint="e.g. 0.30 EUR, or 0.30 EUR night 0.20 22:00-06:00",
            validate=check,
        )
        self.push_screen(prompt, answered)

    def action_interval(self, factor: float) -> None:
        """+ and - step through ``POLL_STEPS`` (so 2 s is always reachable again)."""
        current = self.monitor.interval
        if factor < 1:
            interval = max([s for s in POLL_STEPS if s < current - 1e-9], default=POLL_STEPS[0])
        else:
            interval = min([s for s in POLL_STEPS if s > current + 1e-9], default=POLL_STEPS[-1])
        self.monitor.set_interval(interval)
        self.notify(f"Polling every {interval:g} s", timeout=2)
        self._update_subtitle()
        self._spawn(self.controller.save_settings(poll_interval=interval), "settings")

    def action_pause(self) -> None:
        if self.monitor.paused:
            self.monitor.resume()
        else:
            self.monitor.pause()
        self._update_subtitle()

    def action_refresh(self) -> None:
        self.monitor.refresh()

    def action_device(self, name: str) -> None:
        """The device dialogs (LED, rename, add, discover, …), bound as ``device('led')``."""
        if name in DeviceDialogs.ACTIONS:
            getattr(self.dialogs, name)()

    def _update_subtitle(self) -> None:
        if self.loading:
            self.sub_title = f"{self.options.label}{self.loading}"
            return
        state = "paused" if self.monitor.paused else f"every {self.monitor.interval:g} s"
        self.sub_title = f"{self.options.label}{len(self.views)} devices · polling {state}"

    # -- settings, palette and quitting ---------------------------------------------

    def _remember_theme(self, theme: object) -> None:
        self._spawn(self.controller.save_settings(theme=self.theme), "settings")

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield from device_system_commands(self)

    def accept_identity(self, key: str) -> None:
        self._spawn(self.controller.accept_identity(key), "actions")

    async def action_quit(self) -> None:
        await self.shutdown()
        self.exit()

    async def on_unmount(self) -> None:
        # However the app ends (q, ctrl+c, an error, a test harness), polling stops:
        # poll tasks left running would keep the event loop from closing.
        await self.shutdown()

    async def shutdown(self) -> None:
        """Stop polling, close history, then the mode's own cleanup. Safe to call twice."""
        await self.controller.shutdown()
        if self.options.on_shutdown is not None:
            await self.options.on_shutdown()
