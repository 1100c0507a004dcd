"""Device model, async client, command catalog and the synchronous SmartPlug facade.

The names load on first use (PEP 562): ``import tplink_tui.devices.models`` (the
command line's presenters) does not start asyncio and the client with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

if TYPE_CHECKING:
    from .client import DeviceClient
    from .link import TRANSPORTS
    from .models import DeviceState, EnergyReading, EnergyStat, OutletInfo, SysInfo
    from .smartplug import SmartPlug

_LAZY = {
    "DeviceClient": "client",
    "TRANSPORTS": "link",
    "DeviceState": "models",
    "EnergyReading": "models",
    "EnergyStat": "models",
    "OutletInfo": "models",
    "SysInfo": "models",
    "SmartPlug": "smartplug",
}


__getattr__ = lazy_exports(__name__, _LAZY, globals())


__all__ = [
    "TRANSPORTS",
    "DeviceClient",
    "DeviceState",
    "EnergyReading",
    "EnergyStat",
    "OutletInfo",
    "SmartPlug",
    "SysInfo",
]
