"""The detail pane of the highlighted device: identity, live power, one row per outlet."""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Label, Static, Switch

from ...monitor import Status
from ...present import duration as format_duration
from ...present import format_address
from ...present import power as format_power
from ..safe import plain
from ..safe import text as safe_text
from ..state import WHOLE_DEVICE, DeviceView, protocol_text
from .sparkline import PowerSparkline


def _shape(content: object) -> tuple[int, int] | None:
    """(lines, widest line) of plain content; None for anything else."""
    if isinstance(content, Text):
        content = content.plain
    if not isinstance(content, str):
        return None
    lines = content.split("\n")
    return len(lines), max(cell_len(line) for line in lines)


def _same(old: object, new: Text | str) -> bool:
    if isinstance(old, Text) and isinstance(new, Text):
        return old.plain == new.plain and old.style == new.style and old.spans == new.spans
    return type(old) is type(new) and old == new


def set_content(widget: Static, content: Text | str) -> None:
    """Update a Static only when its content changed, re-laying out only when needed.

    A layout pass reflows and repaints the whole screen (tens of ms with a long
    device list); a poll that only moves a number cannot change the widget's size:
    same line count, no line wider than the widget, and a width not set by content.
    """
    old = widget.content
    if _same(old, content):
        return
    before, after = _shape(old), _shape(content)
    room = widget.content_size.width
    auto_width = widget.styles.width is not None and widget.styles.width.is_auto
    same_size = (
        before is not None
        and after is not None
        and before[0] == after[0]
        and max(before[1], after[1]) <= room
        and (before[1] == after[1] or not auto_width)
    )
    widget.update(content, layout=not same_size)


class OutletRow(Horizontal):
    """Name, switch, watts and a mini sparkline for one outlet (or a plug's relay).

    Flipping its switch posts ``SwitchRequested``: the row knows which device and
    outlet it shows, so nobody has to walk up from the switch to find out.
    """

    class SwitchRequested(Message):
        """The person flipped this outlet's switch (not a repaint from a poll)."""

        def __init__(self, device_key: str, outlet: int, on: bool) -> None:
            super().__init__()
            self.device_key = device_key
            self.outlet = outlet
            self.on = on

    DEFAULT_CSS = """
    OutletRow { height: 1; }
    OutletRow > .outlet-name { width: 16; padding: 0 1 0 0; }
    OutletRow > Switch { width: 6; height: 1; border: none; padding: 0; }
    OutletRow > Switch:focus { border: none; background: $boost; text-style: reverse; }
    OutletRow > Switch.-pending > .switch--slider { color: $warning; }
    OutletRow > Switch.-pending { background: $warning 30%; }
    OutletRow > .outlet-state { width: 4; padding: 0 0 0 1; }
    OutletRow > .outlet-power { width: 10; text-align: right; }
    OutletRow > PowerSparkline { width: 1fr; margin: 0 0 0 1; }
    """

    def __init__(self, device_key: str, outlet: int, view: DeviceView | None = None) -> None:
        super().__init__(classes="outlet-row")
        self.device_key = device_key
        self.outlet = outlet
        self._view = view

    def on_mount(self) -> None:
        if self._view is not None:
            self._paint(self._view)

    def compose(self) -> ComposeResult:
        yield Label("", classes="outlet-name")
        yield Switch(animate=False, id=f"switch-{self.outlet_id}")
        yield Label("", classes="outlet-state")
        yield Label("", classes="outlet-power")
        yield PowerSparkline([])

    def on_switch_changed(self, event: Switch.Changed) -> None:
        event.stop()
        self.post_message(self.SwitchRequested(self.device_key, self.outlet, event.value))

    @property
    def outlet_id(self) -> str:
        return "relay" if self.outlet == WHOLE_DEVICE else f"outlet-{self.outlet}"

    def show(self, view: DeviceView) -> None:
        self._view = view
        if self.children:  # else on_mount paints it
            self._paint(view)

    def _paint(self, view: DeviceView) -> None:
        info = view.sysinfo
        if self.outlet == WHOLE_DEVICE:
            name = "Relay"
            series = list(view.power)
            power = view.state.power_w if view.state else None
        else:
            name = info.children[self.outlet].alias if info else f"Outlet {self.outlet}"
            series = list(view.outlet_power.get(self.outlet, ()))
            reading = view.state.outlet_energy.get(self.outlet) if view.state else None
            power = reading.power_w if reading else None
        set_content(self.query_one(".outlet-name", Label), safe_text(name, overflow="ellipsis"))
        set_content(
            self.query_one(".outlet-power", Label), format_power(power) if view.online else "—"
        )
        switch = self.query_one(Switch)
        shown = view.shown_state(self.outlet)
        word = "…" if self.outlet in view.pending else ("on" if shown else "off")
        set_content(
            self.query_one(".outlet-state", Label),
            Text(word, style="green" if word == "on" else "dim"),
        )
        with switch.prevent(Switch.Changed):
            switch.value = bool(shown)
        switch.disabled = not view.online
        switch.set_class(self.outlet in view.pending, "-pending")
        self.query_one(PowerSparkline).data = series


class DetailPane(VerticalScroll):
    """Rebuilt only when another device (or outlet count) is shown; else updated in place.

    Two columns (identity | live power and outlets) below the list on ordinary
    terminals; one column beside the list on wide ones (the app sets ``-wide``).
    """

    DEFAULT_CSS = """
    DetailPane { padding: 0 1; }
    DetailPane #detail-title { text-style: bold; color: $accent; }
    DetailPane #detail-body { height: auto; }
    DetailPane #detail-info { width: 34; height: auto; }
    DetailPane #detail-live { width: 1fr; height: auto; }
    DetailPane #power-spark { height: 3; }
    DetailPane #outlets { height: auto; }
    DetailPane.-offline #power-spark { opacity: 50%; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.device_key: str | None = None
        self._layout: tuple[str, int] | None = None

    def compose(self) -> ComposeResult:
        yield Static("No device selected. Press a to add one, d to discover.", id="detail-title")
        with Horizontal(id="detail-body"):
            yield Static("", id="detail-info")
            with Vertical(id="detail-live"):
                yield Static("", id="power-label")
                yield PowerSparkline([], id="power-spark")
                yield Vertical(id="outlets")

    def show(self, view: DeviceView | None) -> None:
        title = self.query_one("#detail-title", Static)
        if view is None:
            self.device_key = None
            title.update("No device selected. Press a to add one, d to discover.")
            self.query_one("#outlets").remove_children()
            self._layout = None
            return
        self.device_key = view.key
        info = view.sysinfo
        self.set_class(view.status is Status.OFFLINE, "-offline")
        model = f"  {info.model}" if info else ""
        set_content(title, Text.assemble((plain(view.name), "bold"), (plain(model), "dim")))
        set_content(self.query_one("#detail-info", Static), self._info_text(view))
        set_content(self.query_one("#power-label", Static), self._power_text(view))
        self.query_one("#power-spark", PowerSparkline).data = list(view.power)
        outlets = [o.index for o in info.children] if info and info.is_strip else [WHOLE_DEVICE]
        layout = (view.key, len(outlets))
        container = self.query_one("#outlets", Vertical)
        if layout != self._layout:
            self._layout = layout
            container.remove_children()
            container.mount_all(OutletRow(view.key, index, view) for index in outlets)
        else:
            for row in container.query(OutletRow):
                row.show(view)

    def _info_text(self, view: DeviceView) -> Text:
        info = view.sysinfo
        text = Text()
        rows: list[tuple[str, str]] = [
            ("Host", format_address(view.host, view.port)),
            ("Protocol", protocol_text(view)),
        ]
        if view.room:
            rows.append(("Room", view.room))
        if info:
            led = "—" if info.led_on is None else ("on" if info.led_on else "off")
            on_time = "—" if info.on_time is None else format_duration(info.on_time)
            rows += [
                ("MAC", info.mac or "—"),
                ("Firmware", info.sw_ver.split(" Rel")[0] or "—"),
                ("Hardware", info.hw_ver or "—"),
                ("RSSI", "—" if info.rssi is None else f"{info.rssi} dBm"),
                ("On for", on_time if not info.is_strip else "—"),
                ("LED", led),
            ]
        snapshot = view.snapshot
        if snapshot and snapshot.identity_change is not None:
            rows.append(("Warning", snapshot.identity_change.describe()))
        if snapshot and snapshot.status is Status.OFFLINE and snapshot.error:
            rows.append(("Error", snapshot.error))
        if view.needs_login:
            rows.append(("Login", "enter, or ctrl+p → Log in to …"))
        for label, value in rows:
            text.append(f"{label:<9}", style="dim")
            text.append(f"{plain(value, limit=120)}\n")
        return text

    def _power_text(self, view: DeviceView) -> Text:
        """One line: now, ↓min ↑max of the sparkline, then V and A."""
        state = view.state
        if not state or (state.energy is None and not state.outlet_energy):
            return Text("No energy meter", style="dim")
        series = list(view.power)
        text = Text()
        text.append(format_power(state.power_w if view.online else None), style="bold")
        if series:
            text.append(f"  ↓{format_power(min(series))} ↑{format_power(max(series))}", "dim")
        readings = [state.energy] if state.energy else list(state.outlet_energy.values())
        volts = next((r.voltage_v for r in readings if r.voltage_v), None)
        if volts:
            text.append(f"  {volts:.1f} V")
        if state.energy is not None and state.energy.current_a is not None:
            text.append(f"  {state.energy.current_a:.2f} A")
        return text
