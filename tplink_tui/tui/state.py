"""What the dashboard knows about each device, and how its cells are worded. No Textual here.

Kept apart from the widgets so the bookkeeping (histories, pending toggles,
offline timers) is plain code that tests can check directly. Numbers and
durations are worded by ``tplink_tui.present``, as in the CLI.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from ..devices.models import DeviceState, SysInfo
from ..monitor import Snapshot, Status
from ..present import outlets_on, short_duration

HISTORY_POINTS = 150  # 5 min at the default 2 s poll
PENDING_TIMEOUT = 6.0
REBOOT_GRACE = 120.0  # after "reboot", offline reads "rebooting" this long

WHOLE_DEVICE = -1  # the outlet key used for a plug's single relay


@dataclass(slots=True)
class Pending:
    """A switch the user flipped that the device has not confirmed yet."""

    desired: bool
    since: float


@dataclass
class DeviceView:
    key: str
    name: str
    host: str
    port: int
    room: str = ""
    snapshot: Snapshot | None = None
    power: deque[float] = field(default_factory=lambda: deque(maxlen=HISTORY_POINTS))
    # When each fresh reading came (unix s): the newest ``len(series)`` belong to a series.
    times: deque[float] = field(default_factory=lambda: deque(maxlen=HISTORY_POINTS))
    outlet_power: dict[int, deque[float]] = field(default_factory=dict)
    pending: dict[int, Pending] = field(default_factory=dict)
    today_kwh: float | None = None  # from the device's own day statistics
    today_checked: float = 0.0
    transport: str = ""  # "xor" | "klap" | "aes" once known (the client learns it)
    dialect: str = ""  # "iot" (old JSON) | "smart"
    today_cost: float | None = None  # with a tariff: today's energy priced
    # Running countdowns, outlet (WHOLE_DEVICE for a plug) -> (unix s when due, turns on?)
    countdowns: dict[int, tuple[float, bool]] = field(default_factory=dict)
    countdown_checked: float = -1e9
    rebooting_until: float = 0.0  # unix s; set when a reboot was sent from here
    said_offline: bool = False  # "went offline" was shown: "back online" may follow

    def outlet_power_series(self, outlet: int) -> deque[float]:
        return self.outlet_power.setdefault(outlet, deque(maxlen=HISTORY_POINTS))

    @property
    def status(self) -> Status:
        return self.snapshot.status if self.snapshot else Status.CONNECTING

    @property
    def state(self) -> DeviceState | None:
        return self.snapshot.state if self.snapshot else None

    @property
    def sysinfo(self) -> SysInfo | None:
        state = self.state
        return state.sysinfo if state else None

    @property
    def online(self) -> bool:
        return self.status is Status.ONLINE

    @property
    def rebooting(self) -> bool:
        return self.status is Status.OFFLINE and time.time() < self.rebooting_until

    @property
    def reached(self) -> bool:
        """Answered at least once (so its state, meter and switches are known)."""
        return self.sysinfo is not None

    def countdown(self, outlet: int = WHOLE_DEVICE) -> tuple[float, bool] | None:
        """(seconds left, turns on?) of a running countdown; for a strip any outlet's."""
        now = time.time()
        due = [
            (at - now, on)
            for index, (at, on) in self.countdowns.items()
            if at > now and (outlet == WHOLE_DEVICE or index == outlet)
        ]
        return min(due) if due else None

    @property
    def needs_login(self) -> bool:
        """The last poll was refused for want of (right) credentials."""
        return bool(self.snapshot and self.snapshot.needs_credentials)

    def apply(self, snapshot: Snapshot) -> None:
        """Take a new poll result: extend histories, settle confirmed toggles."""
        self.snapshot = snapshot
        state = snapshot.state
        if not snapshot.fresh or state is None:
            return
        power = state.power_w
        if power is not None:
            self.power.append(power)
        for index, reading in state.outlet_energy.items():
            self.outlet_power_series(index).append(reading.power_w or 0.0)
        if power is not None or state.outlet_energy:
            self.times.append(state.timestamp or time.time())
        if snapshot.status is Status.ONLINE:
            self.rebooting_until = 0.0
        now = time.monotonic()
        for outlet, pending in list(self.pending.items()):
            if self.is_on(outlet) == pending.desired or now - pending.since > PENDING_TIMEOUT:
                del self.pending[outlet]

    def is_on(self, outlet: int = WHOLE_DEVICE) -> bool | None:
        info = self.sysinfo
        if info is None:
            return None
        if outlet == WHOLE_DEVICE:
            return info.is_on
        if 0 <= outlet < len(info.children):
            return info.children[outlet].is_on
        return None

    def shown_state(self, outlet: int = WHOLE_DEVICE) -> bool | None:
        """The state a switch should show: the pending wish, else the polled state."""
        pending = self.pending.get(outlet)
        return pending.desired if pending else self.is_on(outlet)

    def sort_key(self, column: str) -> tuple[object, ...]:
        if column == "room":
            return (self.room.casefold() or "~", self.name.casefold())
        if column == "power":
            power = self.state.power_w if self.state else None
            return (-(power or 0.0), self.name.casefold())
        if column == "status":
            return (self.status.value, self.name.casefold())
        return (self.name.casefold(),)


# -- wording ---------------------------------------------------------------------


def status_text(view: DeviceView, now: float | None = None) -> str:
    snapshot = view.snapshot
    if snapshot is None or snapshot.status is Status.CONNECTING:
        return "connecting"
    if snapshot.needs_credentials:
        return "needs login"
    if snapshot.status is Status.OFFLINE:
        if view.rebooting:
            return "rebooting"
        since = snapshot.offline_since or time.time()
        return f"offline {short_duration((now or time.time()) - since)}"
    return "online"


def state_text(view: DeviceView) -> str:
    info = view.sysinfo
    if info is None:
        return "—"
    if info.is_strip:
        return outlets_on(info)
    shown = view.shown_state()
    return "on" if shown else "off"


def last_seen_text(view: DeviceView, now: float | None = None) -> str:
    snapshot = view.snapshot
    if snapshot is None or snapshot.last_seen is None:
        return "never"
    age = (now or time.time()) - snapshot.last_seen
    # "now" only while it answers: an offline device was seen some seconds ago.
    return "now" if age < 5 and view.online else f"{short_duration(age)} ago"


def protocol_text(view: DeviceView) -> str:
    """The transport and, over HTTP, the JSON dialect: "XOR", "KLAP · smart", "—"."""
    if not view.transport or view.transport == "auto":
        return "—"
    name = view.transport.upper()
    if view.transport == "xor" or not view.dialect:
        return name
    return f"{name} · {'smart' if view.dialect == 'smart' else 'old JSON'}"


def today_kwh_text(view: DeviceView) -> str:
    return "—" if view.today_kwh is None else f"{view.today_kwh:.2f}"


def countdown_text(view: DeviceView, outlet: int = WHOLE_DEVICE) -> str:
    """``off in 12 min`` (a running countdown, to the minute; seconds in the last one)."""
    running = view.countdown(outlet)
    if running is None:
        return ""
    left, on = running
    return f"{'on' if on else 'off'} in {countdown_left(left)}"


def countdown_left(seconds: float) -> str:
    seconds = max(0, int(seconds + 0.999))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{(seconds + 59) // 60} min"
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d} h"
