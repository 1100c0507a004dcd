"""Simulated newer plugs and strips (KLAP v1/v2, AES) over real HTTP on loopback.

Not wired into ``simulate`` yet: ``NewerSimulator.add(model, ...)`` starts one
device and returns it with its ``host``/``port``. Default credentials are the
documented test pair ``TEST_USERNAME`` / ``TEST_PASSWORD``.
"""

from __future__ import annotations

from .discovery import build_packet, discovery_answer, discovery_result, parse_packet
from .faults import NewerFaults
from .profiles import NEWER_PROFILES, NewerProfile, get_newer_profile
from .server import TEST_PASSWORD, TEST_USERNAME, NewerDevice
from .simulator import NewerSimulator
from .smart_device import SmartDevice, SmartOutlet

__all__ = [
    "NEWER_PROFILES",
    "TEST_PASSWORD",
    "TEST_USERNAME",
    "NewerDevice",
    "NewerFaults",
    "NewerProfile",
    "NewerSimulator",
    "SmartDevice",
    "SmartOutlet",
    "build_packet",
    "discovery_answer",
    "discovery_result",
    "get_newer_profile",
    "parse_packet",
]
