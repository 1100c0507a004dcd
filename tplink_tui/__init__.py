"""tplink-tui: a terminal dashboard, command line and Python API for TP-Link Kasa plugs."""

from .devices import DeviceClient, DeviceState, EnergyReading, OutletInfo, SmartPlug, SysInfo
from .errors import (
    DeviceError,
    DeviceTimeout,
    DeviceUnreachable,
    ProtocolError,
    TplinkError,
)

__version__ = "0.1.0"

__all__ = [
    "DeviceClient",
    "DeviceError",
    "DeviceState",
    "DeviceTimeout",
    "DeviceUnreachable",
    "EnergyReading",
    "OutletInfo",
    "ProtocolError",
    "SmartPlug",
    "SysInfo",
    "TplinkError",
]
