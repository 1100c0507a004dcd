"""Simulated Kasa plugs and strips on loopback, speaking the real wire protocol.

The demo backend and the test backend: ``Simulator`` runs devices in an event
loop (``ThreadedSimulator`` in a thread of its own), ``Faults`` makes them
misbehave, and ``home.start_demo_home`` builds the dashboard's demo.
"""

from __future__ import annotations

from .device import Outlet, SimulatedDevice
from .faults import FAULT_NAMES, HUGE_LENGTH, Faults, InjectedError
from .home import DEMO_HOME, DemoDevice, start_demo_home
from .profiles import PROFILES, Profile, get_profile
from .simulator import LOOPBACK_BROADCAST, Simulator
from .threaded import ThreadedSimulator

__all__ = [
    "DEMO_HOME",
    "FAULT_NAMES",
    "HUGE_LENGTH",
    "LOOPBACK_BROADCAST",
    "PROFILES",
    "DemoDevice",
    "Faults",
    "InjectedError",
    "Outlet",
    "Profile",
    "SimulatedDevice",
    "Simulator",
    "ThreadedSimulator",
    "get_profile",
    "start_demo_home",
]
