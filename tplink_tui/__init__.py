"""tplink-tui: a terminal dashboard, command line and Python API for TP-Link Kasa plugs."""

from .devices import DeviceClient, DeviceState, EnergyReading, OutletInfo, SmartPlug, SysInfo
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

__version__ = "0.1.0"

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
