"""Running countdown timers ("off in 12 min"): read from the devices, counted down here.

No Textual. Every device's ``count_down`` rules are read by one background sweep,
a device at a time (never a burst of 200 reads that would queue behind the
polls), and the highlighted device at once and every 30 s. Between reads the
time left is worked out from the due time, so the list counts down each second.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any

from ..errors import TplinkError
from ..monitor import Monitor
from .state import WHOLE_DEVICE, DeviceView

REFRESH = 300.0  # s: a device's timers are read again this often
SELECTED = 30.0  # s: the highlighted device's
PAUSE = 0.5  # s between two devices in the background sweep


class Countdowns:
    """Keeps ``DeviceView.countdowns`` current; ``mark(key)`` redraws a device."""

    def __init__(
        self,
        monitor: Monitor,
        views: dict[str, DeviceView],
        mark: Callable[[str], None],
        spawn: Callable[[Coroutine[Any, Any, None]], None],
    ) -> None:
        self.monitor = monitor
        self.views = views
        self.mark = mark
        self.spawn = spawn

    def maybe_read(self, view: DeviceView) -> None:
        """The highlighted device: read now unless read in the last ``SELECTED`` seconds."""
        if not (view.online and view.sysinfo):
            return
        if time.monotonic() - view.countdown_checked < SELECTED:
            return
        view.countdown_checked = time.monotonic()
        self.spawn(self.read(view))

    async def sweep(self) -> None:
        """Forever: every device not read for ``REFRESH`` (or reset: -1e9), one at a time."""
        while True:
            due = [
                v
                for v in list(self.views.values())
                if v.online
                and v.sysinfo is not None
                and time.monotonic() - v.countdown_checked >= REFRESH
            ]
            for view in due:
                if time.monotonic() - view.countdown_checked < REFRESH:
                    continue  # read meanwhile (it was highlighted)
                view.countdown_checked = time.monotonic()
                await self.read(view)
                await asyncio.sleep(PAUSE)
            await asyncio.sleep(1.0)

    def tick(self, view: DeviceView, now: float) -> None:
        """Once a second: a running timer redraws; one that ran out is read again."""
        if not view.countdowns:
            return
        self.mark(view.key)
        if any(at <= now for at, _ in view.countdowns.values()):
            view.countdowns = {k: v for k, v in view.countdowns.items() if v[0] > now}
            view.countdown_checked = -1e9

    async def read(self, view: DeviceView) -> None:
        """The device's running rules as due times (a plug: its relay; a strip: each outlet)."""
        info = view.sysinfo
        client = self.monitor.client(view.key)
        outlets = [o.index for o in info.children] if info and info.is_strip else [WHOLE_DEVICE]
        found: dict[int, tuple[float, bool]] = {}
        now = time.time()
        try:
            for outlet in outlets:
                rules = await client.rules("count_down", None if outlet == WHOLE_DEVICE else outlet)
                for rule in rules:
                    left = rule.get("remain")
                    if rule.get("enable") and isinstance(left, int | float) and left > 0:
                        found[outlet] = (now + float(left), bool(rule.get("act")))
        except TplinkError:
            return  # no timer module, or not now: nothing to show
        view.countdowns = found
        self.mark(view.key)
