"""The dialogs behind the device keys: LED, rename, add, discover, remove, reboot, timer,
energy, rules (schedule and away mode).

Each asks what it needs in a modal screen and hands the answer to the controller,
which talks to the device and the config in the background: the UI never waits
on a plug or on the config lock, and a failure becomes a notification.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..address import parse_address
from ..devices.rules import supports_sun
from ..discovery import NEW_PROTOCOL_PORT, NewDevice
from ..store.config import SavedDevice
from ..transports import Credentials
from .screens.confirm import ConfirmScreen
from .screens.countdown import CountdownScreen
from .screens.credentials import CredentialsScreen
from .screens.discover import DiscoverScreen, Found
from .screens.energy import EnergyScreen, device_stats
from .screens.prompt import PromptScreen
from .screens.rules import RulesScreen
from .screens.traffic import TrafficScreen
from .state import WHOLE_DEVICE

if TYPE_CHECKING:
    from .app import TplinkApp


class DeviceDialogs:
    """The App's device actions (bound in ``TplinkApp.BINDINGS``, offered in the palette)."""

    # What ``TplinkApp.action_device`` may call, by name.
    ACTIONS = frozenset(
        (
            "led",
            "rename",
            "add",
            "discover",
            "remove",
            "reboot",
            "timer",
            "energy",
            "traffic",
            "login",
            "rules",
        )
    )

    def __init__(self, app: TplinkApp) -> None:
        self.app = app
        self.controller = app.controller
        self._logins_waiting: list[str] = []  # devices whose dialog opens after this one
        # Where the discovery dialog hears newer (KLAP/AES) devices; tests point it
        # at a simulator's discovery port.
        self.new_protocol_port: int | None = NEW_PROTOCOL_PORT

    def login(self, key: str | None = None) -> None:
        """Ask for the device's username and password (one dialog at a time)."""
        view = self.controller.views.get(key) if key else self.app.selected_view()
        if view is None:
            return
        open_for = [s.device_key for s in self.app.screen_stack if isinstance(s, CredentialsScreen)]
        if open_for:
            if view.key not in open_for and view.key not in self._logins_waiting:
                self._logins_waiting.append(view.key)
            return
        logins = self.controller.logins

        async def submit(credentials: Credentials) -> str | None:
            return await logins.log_in(view.key, credentials)

        def closed(logged_in: bool | None) -> None:
            if logged_in:
                self.app.notify(f"Logged in to {view.name}")
            while self._logins_waiting:  # asked for on their own: only if still needed
                waiting = self.controller.views.get(self._logins_waiting.pop(0))
                if waiting is not None and waiting.needs_login:
                    self.login(waiting.key)
                    break

        screen = CredentialsScreen(
            view.key,
            f"Log in to {view.name} ({view.key})",
            submit,
            logins.usernames.get(view.key, ""),
        )
        self.app.push_screen(screen, closed)

    def toggle_selected(self) -> None:
        """A plug flips at once; a strip asks first (all its outlets); no login: ask for one."""
        view = self.app.selected_view()
        if view is not None and view.needs_login:
            self.login(view.key)
            return
        if view is None or not view.online or view.sysinfo is None:
            return
        if view.sysinfo.is_strip:
            self.all_outlets(not view.sysinfo.is_on)
        else:
            self.controller.set_switch(view.key, WHOLE_DEVICE, not view.shown_state())

    def all_outlets(self, on: bool) -> None:
        view = self.app.selected_view()
        if view is None or not view.online or view.sysinfo is None:
            return
        count = len(view.sysinfo.children) or 1
        what = f"all {count} outlets of {view.name}" if view.sysinfo.is_strip else view.name

        def answered(yes: bool | None) -> None:
            if yes:
                self.controller.set_switch(view.key, WHOLE_DEVICE, on)

        self.app.push_screen(ConfirmScreen(f"Turn {'on' if on else 'off'} {what}?"), answered)

    def led(self) -> None:
        view = self.app.selected_view()
        if view is None or view.sysinfo is None:
            return
        on = not view.sysinfo.led_on
        client = self.controller.monitor.client(view.key)
        self.controller.run_action(view, f"LED {'on' if on else 'off'}", lambda: client.set_led(on))

    def rename(self) -> None:
        view = self.app.selected_view()
        if view is None:
            return
        outlet = self.app.focused_outlet()
        if outlet is not None and outlet != WHOLE_DEVICE and view.sysinfo:
            current = view.sysinfo.children[outlet].alias
            question = f"New name for outlet {outlet} of {view.name}"
        else:
            outlet, current, question = None, view.name, f"New name for {view.name}"

        def answered(name: str | None) -> None:
            if name and name != current:
                self.controller.spawn(self.controller.rename(view, name, outlet), "actions")

        self.app.push_screen(PromptScreen(question, current), answered)

    def add(self) -> None:
        def check(text: str) -> str | None:
            try:
                parse_address(text)
            except ValueError as exc:
                return str(exc)
            return None

        def answered(text: str | None) -> None:
            if text:
                host, port = parse_address(text)
                self.add_in_background([SavedDevice(name=text, host=host, port=port)])

        self.app.push_screen(
            PromptScreen(
                "Add a device by host[:port]", placeholder="127.0.0.1:9999", validate=check
            ),
            answered,
        )

    def add_in_background(self, devices: list[SavedDevice]) -> None:
        self.controller.spawn(self.controller.add_devices(devices), "actions")

    def discover(self) -> None:
        app = self.app
        known = {(v.host, v.port) for v in self.controller.views.values()}

        def answered(found: list[Found] | None) -> None:
            if not found:
                return
            batch: list[SavedDevice] = []
            for device in found:
                saved = self._to_save(device)
                name, n = saved.name, 2  # two KP125Ms in one ctrl+a get two names
                while any(name.casefold() == b.name.casefold() for b in batch):
                    name, n = f"{saved.name} ({n})", n + 1
                batch.append(replace(saved, name=name))
            self.add_in_background(batch)

        if app.options.discover_screen is not None:
            screen = app.options.discover_screen(app.discovery_target, app.discovery_port, known)
        else:
            screen = DiscoverScreen(
                app.discovery_target,
                app.discovery_port,
                known,
                new_protocol_port=self.new_protocol_port,
            )
        app.push_screen(screen, answered)

    def _to_save(self, found: Found) -> SavedDevice:
        """A discovered device as saved: a newer one keeps its transport and HTTP port.

        Saved without a login, a newer device polls as "needs login" and the login
        dialog opens by itself (``Logins.on_snapshot``).
        """
        if isinstance(found, NewDevice):
            return SavedDevice(
                name=self.controller.unique_name(found.model or found.host),
                host=found.host,
                port=found.http_port,
                mac=found.mac,
                transport=found.transport,
            )
        return SavedDevice(
            name=self.controller.unique_name(found.sysinfo.alias or found.host),
            host=found.host,
            port=found.port,
            mac=found.sysinfo.mac,
        )

    def remove(self) -> None:
        view = self.app.selected_view()
        if view is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.controller.spawn(self.controller.remove(view), "actions")

        self.app.push_screen(
            ConfirmScreen(f"Remove {view.name} from the saved devices?", "Remove"), answered
        )

    def reboot(self) -> None:
        view = self.app.selected_view()
        if view is None or not view.online:
            return
        client = self.controller.monitor.client(view.key)

        def answered(yes: bool | None) -> None:
            if yes:
                self.controller.run_action(view, "rebooting", lambda: client.reboot(1))

        self.app.push_screen(ConfirmScreen(f"Reboot {view.name}?", "Reboot"), answered)

    def timer(self) -> None:
        view = self.app.selected_view()
        if view is None or not view.online:
            return
        outlet = self.app.focused_outlet()
        outlet = None if outlet in (None, WHOLE_DEVICE) else outlet
        client = self.controller.monitor.client(view.key)
        target = view.name if outlet is None else f"outlet {outlet} of {view.name}"
        on_now = view.is_on(WHOLE_DEVICE if outlet is None else outlet)

        def answered(result: tuple[float, bool] | None) -> None:
            if result is None:
                return
            minutes, on = result
            run = self.controller.run_action
            if minutes == 0:
                run(view, "timer cleared", lambda: client.clear_countdown(outlet))
            else:
                label = f"{'on' if on else 'off'} in {minutes:g} min"
                run(view, label, lambda: client.set_countdown(minutes, on, outlet))

        def running() -> Awaitable[list[dict[str, Any]]]:
            return client.rules("count_down", outlet)

        self.app.push_screen(CountdownScreen(target, bool(on_now), running), answered)

    def rules(self) -> None:
        """The schedule and away-mode rules of the device, or of the focused outlet."""
        view = self.app.selected_view()
        if view is None:
            return
        info = view.sysinfo
        if info is None:
            self.app.notify(f"{view.name} has not been reached yet: its rules cannot be read")
            return
        outlet = self.app.focused_outlet()
        outlet = None if outlet in (None, WHOLE_DEVICE) or not info.children else outlet
        if outlet is not None and outlet < len(info.children):
            target = f"{view.name} · outlet {outlet} {info.children[outlet].alias}"
        else:
            every = f" · all {len(info.children)} outlets" if info.is_strip else ""
            target = f"{view.name}{every}"
        client = self.controller.monitor.client(view.key)
        self.app.push_screen(RulesScreen(target, client, outlet, sun=supports_sun(info)))

    def energy(self) -> None:
        view = self.app.selected_view()
        if view is None or view.sysinfo is None:
            return
        if not view.sysinfo.has_emeter:
            self.app.notify(f"{view.name} ({view.sysinfo.model_family}) has no energy meter")
            return
        outlet = self.app.focused_outlet()  # a focused outlet opens on it; else the whole
        if outlet == WHOLE_DEVICE:
            outlet = None
        options = self.app.options
        if options.stats_loader is not None:
            load = options.stats_loader(view, outlet)
        else:
            client = self.controller.monitor.client(view.key)
            load = device_stats(client, outlet, self.controller.history, view.key)
        self.app.push_screen(EnergyScreen(view.name, load, options.fixed_today, scope=outlet))

    def traffic(self) -> None:
        view = self.app.selected_view()
        self.app.push_screen(TrafficScreen((view.host, view.port) if view else None))
