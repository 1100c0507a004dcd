"""tplink-tui: a terminal dashboard, command line and Python API for TP-Link Kasa plugs.

The names below are loaded on first use (PEP 562), so ``import tplink_tui.x`` and
the command line do not pay for the device client when they do not need it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import (
    AuthenticationError,
    ConfigError,
    DeviceError,
    DeviceTimeout,
    DeviceUnreachable,
    FrameTooLarge,
    NotSupported,
    OutletNotFound,
    ProtocolError,
    TplinkError,
    UsageError,
)

if TYPE_CHECKING:
    from .devices import DeviceClient, DeviceState, EnergyReading, OutletInfo, SmartPlug, SysInfo

__version__ = "0.1.0"

_LAZY = {
    "DeviceClient": "devices",
    "DeviceState": "devices",
    "EnergyReading": "devices",
    "OutletInfo": "devices",
    "SmartPlug": "devices",
    "SysInfo": "devices",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "AuthenticationError",
    "ConfigError",
    "DeviceClient",
    "DeviceError",
    "DeviceState",
    "DeviceTimeout",
    "DeviceUnreachable",
    "EnergyReading",
    "FrameTooLarge",
    "NotSupported",
    "OutletInfo",
    "OutletNotFound",
    "ProtocolError",
    "SmartPlug",
    "SysInfo",
    "TplinkError",
    "UsageError",
]
