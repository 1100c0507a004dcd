"""Device model, async client, command catalog and the synchronous SmartPlug facade."""

from .client import DeviceClient
from .link import TRANSPORTS
from .models import DeviceState, EnergyReading, EnergyStat, OutletInfo, SysInfo
from .smartplug import SmartPlug

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
