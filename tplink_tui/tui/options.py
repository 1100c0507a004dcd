"""How the sample and the demo differ from the real dashboard: objects passed in, not overrides."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from .screens.discover import DiscoverScreen
from .screens.energy import StatsLoader
from .state import DeviceView

if TYPE_CHECKING:
    from .app import TplinkApp

# (broadcast target, port, saved (host, port) pairs) -> the discovery dialog
DiscoverFactory = Callable[[str, int, set[tuple[str, int]]], DiscoverScreen]
# (device, outlet or None) -> what the energy view loads
StatsFactory = Callable[[DeviceView, int | None], StatsLoader]


@dataclass(frozen=True)
class DashboardOptions:
    """Everything a mode may change; the defaults are the real dashboard."""

    label: str = ""  # before the subtitle: "demo · "
    loading: str = ""  # said until the mode calls ``app.loaded()`` (the demo starting up)
    fixed_today: date | None = None  # the sample pins the calendar for snapshots
    discover_screen: DiscoverFactory | None = None  # default: a real scan
    stats_loader: StatsFactory | None = None  # default: the device and our history
    on_start: Callable[[TplinkApp], None] | None = None  # once mounted and polling
    on_shutdown: Callable[[], Awaitable[None]] | None = None  # after polling stopped
