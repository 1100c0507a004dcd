"""The detail pane of the highlighted device: identity, a power chart, one row per outlet."""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Label, Static, Switch

from ...monitor import Status
from ...present import duration as format_duration
from ...present import format_address
from ...present import power as format_power
from ..chart_data import RANGES, ChartSeries
from ..safe import plain
from ..safe import text as safe_text
from ..state import WHOLE_DEVICE, DeviceView, countdown_text, protocol_text
from .cached_plot import rich_color
from .power_chart import PowerChart, series_color


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


class OutletSwitch(Switch):
    """An outlet's switch: up/down move to the next outlet (as in the list), never stop.

    Space and enter flip it, as any switch; the row it is on is highlighted, so
    the keyboard focus is always visible.
    """

    BINDINGS = [
        Binding("up", "step(-1)", "Previous outlet", show=False),
        Binding("down", "step(1)", "Next outlet", show=False),
    ]

    def action_step(self, step: int) -> None:
        """The next or previous outlet's switch; up from the first: back to the list."""
        switches = list(self.screen.query(OutletSwitch))
        index = switches.index(self) + step if self in switches else 0
        if 0 <= index < len(switches):
            switches[index].focus()
        elif index < 0:
            self.screen.query_one("#devices").focus()


class OutletRow(Horizontal):
    """Name (in its chart colour), switch, state, watts and a running countdown.

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
    OutletRow:focus-within { background: $accent 35%; }
    OutletRow > .outlet-key { width: 2; }
    OutletRow > .outlet-name { width: 15; padding: 0 1 0 0; }
    OutletRow > Switch { width: 6; height: 1; border: none; padding: 0; }
    OutletRow > Switch:focus { border: none; background: $accent; text-style: reverse bold; }
    OutletRow > Switch.-pending > .switch--slider { color: $warning; }
    OutletRow > Switch.-pending { background: $warning 30%; }
    OutletRow > .outlet-state { width: 4; padding: 0 0 0 1; }
    OutletRow > .outlet-power { width: 9; text-align: right; }
    OutletRow > .outlet-timer { width: 1fr; padding: 0 0 0 2; color: $warning; }
    """

    def __init__(self, device_key: str, outlet: int, view: DeviceView | None = None) -> None:
        super().__init__(classes="outlet-row")
        self.device_key = device_key
        self.outlet = outlet
        self._view = view

    def on_mount(self) -> None:
        # A row removed before it mounted (another device shown at once) has no children.
        if self._view is not None and self.children:
            self._paint(self._view)

    def compose(self) -> ComposeResult:
        yield Label(Text("━ ", style=rich_color(series_color(self.outlet))), classes="outlet-key")
        yield Label("", classes="outlet-name")
        yield OutletSwitch(animate=False, id=f"switch-{self.outlet_id}")
        yield Label("", classes="outlet-state")
        yield Label("", classes="outlet-power")
        yield Label("", classes="outlet-timer")

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
            power = view.state.power_w if view.state else None
        else:
            name = info.children[self.outlet].alias if info else f"Outlet {self.outlet}"
            reading = view.state.outlet_energy.get(self.outlet) if view.state else None
            power = reading.power_w if reading else None
        set_content(self.query_one(".outlet-name", Label), safe_text(name, overflow="ellipsis"))
        set_content(
            self.query_one(".outlet-power", Label), format_power(power) if view.online else "—"
        )
        switch = self.query_one(OutletSwitch)
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
        set_content(self.query_one(".outlet-timer", Label), countdown_text(view, self.outlet))


class DetailPane(VerticalScroll):
    """Rebuilt only when another device (or outlet count) is shown; else updated in place.

    Two columns (identity | power chart and outlets) below the list; one column
    beside the list on wide terminals with a long list (the app sets ``-wide``).
    The chart takes the height the outlet rows leave.
    """

    DEFAULT_CSS = """
    DetailPane { padding: 0 1; }
    DetailPane #detail-title { text-style: bold; color: $accent; }
    DetailPane #detail-body { height: 1fr; }
    DetailPane #detail-info { width: 28; height: auto; }
    DetailPane #detail-live { width: 1fr; height: 1fr; }
    DetailPane #power-chart { height: 1fr; min-height: 5; }
    DetailPane #outlets { height: auto; }
    DetailPane.-offline #power-chart { opacity: 50%; }
    DetailPane.-unmetered #power-chart { display: none; }
    """

    EMPTY = "No device selected. Press a to add one, d to discover."

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.device_key: str | None = None
        self.empty_text = self.EMPTY  # what it says with no device (the demo: "starting…")
        self._layout: tuple[str, int] | None = None

    def compose(self) -> ComposeResult:
        yield Static(self.empty_text, id="detail-title")
        with Horizontal(id="detail-body"):
            yield Static("", id="detail-info")
            with Vertical(id="detail-live"):
                yield Static("", id="power-label")
                yield PowerChart(id="power-chart")
                yield Vertical(id="outlets")

    def show(
        self,
        view: DeviceView | None,
        chart: ChartSeries | None = None,
        range_index: int = 0,
        note: str = "",
    ) -> None:
        if not self.children:  # not composed yet, or being taken down as the app closes
            return
        title = self.query_one("#detail-title", Static)
        if view is None:
            self.device_key = None
            title.update(self.empty_text)
            self.query_one("#outlets").remove_children()
            set_content(self.query_one("#detail-info", Static), "")
            set_content(self.query_one("#power-label", Static), "")
            self.query_one(PowerChart).show(None)
            self._layout = None
            return
        self.device_key = view.key
        info = view.sysinfo
        self.set_class(view.status is Status.OFFLINE, "-offline")
        metered = bool(info and info.has_emeter)
        self.set_class(not metered, "-unmetered")
        model = f"  {info.model}" if info else ""
        set_content(title, Text.assemble((plain(view.name), "bold"), (plain(model), "dim")))
        set_content(self.query_one("#detail-info", Static), self._info_text(view))
        set_content(self.query_one("#power-label", Static), self._power_text(view, range_index))
        if metered:
            self.query_one(PowerChart).show(chart, note)
        outlets = [o.index for o in info.children] if info and info.is_strip else [WHOLE_DEVICE]
        if not view.reached:
            outlets = []  # no switch for a device never reached: its state is unknown
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
            rows += [
                ("MAC", info.mac or "—"),
                ("Firmware", info.sw_ver.split(" Rel")[0] or "—"),
                ("Hardware", info.hw_ver or "—"),
                ("RSSI", "—" if info.rssi is None else f"{info.rssi} dBm"),
            ]
            if not info.is_strip:
                rows.append(("On for", _on_for(view)))
            rows.append(("LED", led))
            if timer := countdown_text(view):
                rows.append(("Timer", timer))
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

    def _power_text(self, view: DeviceView, range_index: int) -> Text:
        """One line: now, ↓min ↑max of the recent readings, V and A, and the chart's range."""
        state = view.state
        if not view.reached:
            word = "needs login" if view.needs_login else "not reached yet"
            return Text(f"{word}: its state and meter show once it answers", style="dim")
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
        text.append("  ")
        for i, (label, _) in enumerate(RANGES):
            current = i == range_index
            short = label.replace(" ", "")
            text.append(f" {i + 1}:{short}", style="bold reverse" if current else "dim")
        return text


def _on_for(view: DeviceView) -> str:
    """How long the relay has been on; an off plug says so (not "0 s")."""
    info = view.sysinfo
    if info is None or info.on_time is None:
        return "—"
    if not view.shown_state():
        return "off"
    return format_duration(info.on_time)
