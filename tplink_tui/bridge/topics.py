"""MQTT topics and payloads: what one snapshot publishes, and what a ``set`` asks.

Every message costs the bridge about 0.3 ms of CPU, so volts and amperes (which move
on every poll) ride in ``attributes`` rather than in topics of their own.

Under ``PREFIX/DEVICE`` (DEVICE: the saved name as a topic level) and, for each strip
outlet, ``PREFIX/DEVICE/OUTLET`` (OUTLET: the 0-based index), all retained:
``state`` ``ON``/``OFF``; ``power`` (W) and ``energy`` (kWh since the device's last
reset) as plain numbers; ``attributes``, all of it (volts and amperes too) as JSON;
``availability`` ``online``/``offline``. The bridge itself: ``PREFIX/_bridge/availability``
(``offline`` also as its last will). Commands: ``PREFIX/DEVICE[/OUTLET]/set`` with
``ON``, ``OFF`` or ``TOGGLE``.
"""

from __future__ import annotations

from typing import Any

from .. import untrusted
from ..cli.common import reading_dict
from ..devices.models import DeviceState, EnergyReading
from ..monitor import Snapshot, Status
from .hub import Action, Device

ONLINE, OFFLINE = "online", "offline"
COMMANDS: dict[str, Action] = {"ON": "on", "OFF": "off", "TOGGLE": "toggle"}

Messages = dict[str, str]  # topic -> payload


def _number(value: float | None) -> str | None:
    """A plain number: no exponent, no float noise (``0.1 + 0.2`` is ``0.3``)."""
    if value is None:
        return None
    return f"{round(value, 6) + 0.0:.6f}".rstrip("0").rstrip(".")


def _reading(base: str, reading: EnergyReading | None, out: Messages) -> None:
    if reading is None:
        return
    for level, value in (
        ("power", reading.power_w),
        ("energy", reading.total_kwh),
    ):
        text = _number(value)
        if text is not None:
            out[f"{base}/{level}"] = text


def _attributes(current: DeviceState, reading: EnergyReading | None, **more: Any) -> str:
    info = current.sysinfo
    values = {
        **reading_dict(reading),
        "model": info.model,
        "alias": info.alias,
        "rssi": info.rssi,
        "last_seen": current.timestamp,
        **more,
    }
    return untrusted.dumps(values, compact=True)


def device_messages(prefix: str, device: Device, snap: Snapshot) -> Messages:
    """Every retained message one snapshot stands for (availability first)."""
    base = f"{prefix}/{device.slug}"
    up = snap.status is Status.ONLINE
    available = ONLINE if up else OFFLINE
    out: Messages = {f"{base}/availability": available}
    state = snap.state
    if not up or state is None:
        for outlet in state.sysinfo.children if state is not None else ():
            out[f"{base}/{outlet.index}/availability"] = available
        return out
    info = state.sysinfo
    whole = state.energy if not info.is_strip else state.outlets_total()
    out[f"{base}/state"] = "ON" if info.is_on else "OFF"
    _reading(base, whole, out)
    out[f"{base}/attributes"] = _attributes(
        state, whole, state="ON" if info.is_on else "OFF", today_kwh=device.today_kwh
    )
    for outlet in info.children:
        level = f"{base}/{outlet.index}"
        reading = state.outlet_energy.get(outlet.index)
        out[f"{level}/availability"] = ONLINE
        out[f"{level}/state"] = "ON" if outlet.is_on else "OFF"
        _reading(level, reading, out)
        out[f"{level}/attributes"] = _attributes(
            state, reading, state="ON" if outlet.is_on else "OFF", outlet=outlet.alias, id=outlet.id
        )
    return out


def parse_set(prefix: str, topic: str) -> tuple[str, str | None] | None:
    """``PREFIX/DEVICE[/OUTLET]/set`` as (device level, outlet level or None)."""
    head = prefix + "/"
    if not topic.startswith(head) or not topic.endswith("/set"):
        return None
    levels = topic[len(head) : -len("/set")].split("/")
    if len(levels) == 1 and levels[0]:
        return levels[0], None
    if len(levels) == 2 and all(levels):
        return levels[0], levels[1]
    return None


def parse_command(payload: bytes) -> Action | None:
    try:
        text = payload.decode("utf-8").strip().upper()
    except UnicodeDecodeError:
        return None
    return COMMANDS.get(text)
