"""Device model, async client, command catalog and the synchronous SmartPlug facade.

The names load on first use (PEP 562): ``import tplink_tui.devices.models`` (the
command line's presenters) does not start asyncio and the client with it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


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
