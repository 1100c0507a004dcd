"""tplink-tui: a terminal dashboard, command line and Python API for TP-Link Kasa plugs.

The names below are loaded on first use (PEP 562), so ``import tplink_tui.x`` and
the command line do not pay for the device client when they do not need it.
"""

from __future__ import annotations

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
from .lazy import TYPE_CHECKING, lazy_exports

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


__getattr__ = lazy_exports(__name__, _LAZY, globals())


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
