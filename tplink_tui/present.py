"""How numbers and states are worded, for the CLI and the dashboard alike.

Plain strings, no markup and no Textual: front ends add their own styling. Text
from devices is not formatted here; it goes through ``untrusted.display``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .address import DEFAULT_PORT, format_address

if TYPE_CHECKING:
    from .devices.models import SysInfo

__all__ = [
    "DEFAULT_PORT",
    "MISSING",
    "duration",
    "format_address",
    "number",
    "outlets_on",
    "power",
    "short_duration",
]

MISSING = "—"


def number(value: float | None, digits: int = 1, unit: str = "") -> str:
    """``12.3 W``; ``—`` when unknown or not finite."""
    if value is None or not math.isfinite(value):
        return MISSING
    return f"{value:.{digits}f}{' ' + unit if unit else ''}"


def power(watts: float | None) -> str:
    """``12.3 W``, ``1.23 kW``; an absurd reading stays one short cell."""
    if watts is None or not math.isfinite(watts):
        return MISSING
    if abs(watts) >= 1e6:
        return f"{watts:.2g} W"
    if watts >= 1000:
        return f"{watts / 1000:.2f} kW"
    return f"{watts:.1f} W"


def duration(seconds: float) -> str:
    """``42 s``, ``12 min``, ``3 h 5 min``, ``2 d 4 h``."""
    seconds = int(max(0, seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} d {seconds % 86400 // 3600} h"


def short_duration(seconds: float) -> str:
    """``42s``, ``12m``, ``3h``, ``2d``: for table cells."""
    seconds = int(max(0, seconds))
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def outlets_on(info: SysInfo) -> str:
    """A strip's state in a cell: ``5/6 on``."""
    return f"{info.outlets_on}/{len(info.children)} on"
