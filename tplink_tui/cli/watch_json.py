"""``watch --json``'s lines: one JSON object per reading, hundreds a second.

``snapshot_dict`` is the reference (the ``info --json`` fields with the time and
the status); ``snapshot_json`` writes the same text, byte for byte, with as few
Python calls as it takes: the object is built in one go, the meter values come
from ``common.meter_values`` (rounded through its cache, as ``info --json``'s), and
the text comes from orjson directly. Anything unusual (offline, a value orjson
refuses, no orjson) takes the reference path.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from .. import untrusted
from ..monitor import Snapshot, Status
from ..untrusted import dumps
from .common import Target, meter_values, state_dict

__all__ = ["snapshot_dict", "snapshot_json"]


class _Clock:
    """``datetime.now().astimezone().isoformat(timespec="milliseconds")``, fast.

    Hundreds of readings a second share their second: its text (and the UTC
    offset) is made once per second, the milliseconds appended per reading."""

    def __init__(self) -> None:
        self._second = -1
        self._head = self._offset = ""

    def now(self) -> str:
        now = time.time()
        second = int(now)
        if second != self._second:
            stamp = datetime.fromtimestamp(second).astimezone()
            text = stamp.isoformat(timespec="seconds")
            self._head, self._offset = text[:19], text[19:]
            self._second = second
        return self._head + _MILLIS[int((now - second) * 1000)] + self._offset


_MILLIS = tuple(f".{ms:03d}" for ms in range(1000))


_clock = _Clock()


def snapshot_dict(target: Target, snap: Snapshot) -> dict[str, Any]:
    """One JSON line: the time, the status and (when online) the info --json fields."""
    data: dict[str, Any] = {
        "time": _clock.now(),
        "key": snap.key,
        "status": str(snap.status),
        "error": snap.error,
    }
    if snap.status is Status.ONLINE and snap.state is not None:
        data.update(state_dict(target, snap.state))
    else:
        data.update({"host": target.host, "port": target.port, "name": target.name})
    return data


def snapshot_json(target: Target, snap: Snapshot) -> str:
    """``dumps(snapshot_dict(target, snap), compact=True)``, the same text, fast."""
    state = snap.state
    fast = untrusted.fast_json()
    if snap.status is not Status.ONLINE or state is None or not fast:
        return dumps(snapshot_dict(target, snap), compact=True)
    info = state.sysinfo
    readings = state.outlet_energy
    outlets = []
    for o in info.children:
        p, v, c, t = meter_values(readings.get(o.index))
        outlets.append(
            {
                "index": o.index,
                "id": o.id,
                "alias": o.alias,
                "is_on": o.is_on,
                "on_time": o.on_time,
                "power_w": p,
                "voltage_v": v,
                "current_a": c,
                "total_kwh": t,
            }
        )
    p, v, c, t = meter_values(state.outlets_total() if outlets else state.energy)
    line = {
        "time": _clock.now(),
        "key": snap.key,
        "status": "online",
        "error": snap.error,
        "host": target.host,
        "port": target.port,
        "name": target.name,
        "transport": target.transport,
        "alias": info.alias,
        "model": info.model,
        "type": info.device_type,
        "mac": info.mac,
        "device_id": info.device_id,
        "hw_ver": info.hw_ver,
        "sw_ver": info.sw_ver,
        "is_on": info.is_on,
        "led": info.led_on,
        "rssi": info.rssi,
        "on_time": info.on_time,
        "has_meter": info.has_emeter,
        "power_w": p,
        "voltage_v": v,
        "current_a": c,
        "total_kwh": t,
        "outlets": outlets,
    }
    try:
        text: str = fast.dumps(line).decode()
    except TypeError:  # e.g. an integer over 64 bits: json writes it
        return dumps(line, compact=True)
    if text.isascii() and "\x7f" not in text:
        return text
    return dumps(line, compact=True)  # escapes what a terminal could act on
