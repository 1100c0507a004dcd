"""Device actions of the dashboard: LED, rename, add, discover, remove, reboot, timer, energy.

A mixin of ``TplinkApp`` (kept apart so each file stays readable). Every action
goes through the monitor's client for the device, in a worker: the UI never
waits on a plug, and a failure becomes a notification.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from textual import work
from textual.app import App

from ..address import parse_address
from ..devices.client import DeviceClient
from ..discovery import DiscoveredDevice
from ..errors import TplinkError
from ..store.config import SavedDevice
from .screens.confirm import ConfirmScreen
from .screens.countdown import CountdownScreen
from .screens.discover import DiscoverScreen
from .screens.energy import EnergyScreen, StatsLoader, device_stats
from .screens.prompt import PromptScreen
from .screens.traffic import TrafficScreen
from .state import WHOLE_DEVICE, DeviceView
from .widgets.detail import OutletRow

if TYPE_CHECKING:
    from datetime import date

    from ..monitor import Monitor
    from ..store.config import ConfigStore
    from ..store.history import HistoryStore
    from .widgets.detail import DetailPane
    from .widgets.device_table import DeviceTable


class DeviceActions(App[None]):
    """Bound to keys in ``TplinkApp.BINDINGS``; also offered in the command palette."""

    # Provided by TplinkApp.
    views: dict[str, DeviceView]
    monitor: Monitor
    store: ConfigStore
    history: HistoryStore | None
    table: DeviceTable
    detail: DetailPane
    discovery_target: str
    discovery_port: int
    fixed_today: date | None
    _dirty: set[str]

    def _watch(self, saved: SavedDevice) -> DeviceView:
        raise NotImplementedError

    def _update_subtitle(self) -> None:
        raise NotImplementedError

    def selected_view(self) -> DeviceView | None:
        key = self.table.selected_key()
        return self.views.get(key) if key else None

    def focused_outlet(self) -> int | None:
        """The outlet whose switch has focus, if any."""
        node = self.focused
        while node is not None:
            if isinstance(node, OutletRow):
                return node.outlet
            node = node.parent  # type: ignore[assignment]
        return None

    def _client(self, view: DeviceView) -> DeviceClient:
        return self.monitor.client(view.key)

    @work(group="actions")
    async def _run_action(
        self, view: DeviceView, label: str, coro_factory: Callable[[], Awaitable[object]]
    ) -> None:
        try:
            await coro_factory()
        except TplinkError as exc:
            self.notify(f"{view.name}: {label} failed: {exc}", severity="error")
        else:
            self.notify(f"{view.name}: {label}")
        self.monitor.refresh(view.key)

    def action_led(self) -> None:
        view = self.selected_view()
        if view is None or view.sysinfo is None:
            return
        on = not view.sysinfo.led_on
        client = self._client(view)
        self._run_action(view, f"LED {'on' if on else 'off'}", lambda: client.set_led(on))

    def action_rename(self) -> None:
        view = self.selected_view()
        if view is None:
            return
        outlet = self.focused_outlet()
        if outlet is not None and outlet != WHOLE_DEVICE and view.sysinfo:
            current = view.sysinfo.children[outlet].alias
            question = f"New name for outlet {outlet} of {view.name}"
        else:
            outlet, current, question = None, view.name, f"New name for {view.name}"

        def answered(name: str | None) -> None:
            if name and name != current:
                self._rename(view, name, outlet)

        self.push_screen(PromptScreen(question, current), answered)

    @work(group="actions")
    async def _rename(self, view: DeviceView, name: str, outlet: int | None) -> None:
        try:
            if view.online:
                await self._client(view).set_alias(name, outlet)
            if outlet is None:
                saved = self.store.find(view.key) or self.store.find(view.name)
                if saved is not None:
                    self.store.rename_device(saved.name, name)
                view.name = name
        except TplinkError as exc:
            self.notify(f"Renaming {view.name} failed: {exc}", severity="error")
            return
        self.notify(f"Renamed to {name}")
        self._dirty.add(view.key)
        self.monitor.refresh(view.key)

    def action_add(self) -> None:
        def check(text: str) -> str | None:
            try:
                parse_address(text)
            except ValueError as exc:
                return str(exc)
            return None

        def answered(text: str | None) -> None:
            if text:
                host, port = parse_address(text)
                self.add_devices([SavedDevice(name=text, host=host, port=port)])

        self.push_screen(
            PromptScreen(
                "Add a device by host[:port]", placeholder="127.0.0.1:9999", validate=check
            ),
            answered,
        )

    def add_devices(self, devices: list[SavedDevice]) -> None:
        for device in devices:
            if device.address in self.views:
                self.notify(f"{device.address} is already in the list")
                continue
            try:
                saved = self.store.add_device(device)
            except TplinkError as exc:
                self.notify(str(exc), severity="error")
                continue
            self._watch(saved)
            self.notify(f"Added {saved.name}")
        self._update_subtitle()

    def action_discover(self) -> None:
        known = {(v.host, v.port) for v in self.views.values()}

        def answered(found: list[DiscoveredDevice] | None) -> None:
            if found:
                self.add_devices(
                    [
                        SavedDevice(
                            name=self._unique_name(d.sysinfo.alias or d.host),
                            host=d.host,
                            port=d.port,
                            mac=d.sysinfo.mac,
                        )
                        for d in found
                    ]
                )

        self.push_screen(self.make_discover_screen(known), answered)

    def make_discover_screen(self, known: set[tuple[str, int]]) -> DiscoverScreen:
        return DiscoverScreen(self.discovery_target, self.discovery_port, known)

    def _unique_name(self, name: str) -> str:
        taken = {v.name.casefold() for v in self.views.values()}
        candidate, n = name, 2
        while candidate.casefold() in taken:
            candidate, n = f"{name} ({n})", n + 1
        return candidate

    def action_remove(self) -> None:
        view = self.selected_view()
        if view is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._remove(view)

        self.push_screen(
            ConfirmScreen(f"Remove {view.name} from the saved devices?", "Remove"), answered
        )

    @work(group="actions")
    async def _remove(self, view: DeviceView) -> None:
        saved = self.store.find(view.key) or self.store.find(view.name)
        try:
            if saved is not None:
                self.store.remove_device(saved.name)
        except TplinkError as exc:
            self.notify(str(exc), severity="error")
            return
        await self.monitor.remove(view.key)
        self.views.pop(view.key, None)
        if view.key in self.table.rows:
            self.table.remove_row(view.key)
        self.detail.show(self.selected_view())
        self._update_subtitle()

    def action_reboot(self) -> None:
        view = self.selected_view()
        if view is None or not view.online:
            return
        client = self._client(view)

        def answered(yes: bool | None) -> None:
            if yes:
                self._run_action(view, "rebooting", lambda: client.reboot(1))

        self.push_screen(ConfirmScreen(f"Reboot {view.name}?", "Reboot"), answered)

    def action_timer(self) -> None:
        view = self.selected_view()
        if view is None or not view.online:
            return
        outlet = self.focused_outlet()
        outlet = None if outlet in (None, WHOLE_DEVICE) else outlet
        client = self._client(view)
        target = view.name if outlet is None else f"outlet {outlet} of {view.name}"
        on_now = view.is_on(WHOLE_DEVICE if outlet is None else outlet)

        def answered(result: tuple[float, bool] | None) -> None:
            if result is None:
                return
            minutes, on = result
            if minutes == 0:
                self._run_action(view, "timer cleared", lambda: client.clear_countdown(outlet))
            else:
                label = f"{'on' if on else 'off'} in {minutes:g} min"
                self._run_action(view, label, lambda: client.set_countdown(minutes, on, outlet))

        self.push_screen(CountdownScreen(target, bool(on_now)), answered)

    def action_energy(self) -> None:
        view = self.selected_view()
        if view is None or view.sysinfo is None:
            return
        if not view.sysinfo.has_emeter:
            self.notify(f"{view.name} ({view.sysinfo.model_family}) has no energy meter")
            return
        outlet = self.focused_outlet()
        if outlet is None or outlet == WHOLE_DEVICE:
            outlet = 0 if view.sysinfo.is_strip else None
        name = view.name if outlet is None else f"{view.name} · outlet {outlet}"
        self.push_screen(EnergyScreen(name, self.stats_loader(view, outlet), self.fixed_today))

    def stats_loader(self, view: DeviceView, outlet: int | None) -> StatsLoader:
        return device_stats(self._client(view), outlet, self.history, view.key)

    def action_traffic(self) -> None:
        view = self.selected_view()
        self.push_screen(TrafficScreen((view.host, view.port) if view else None))
