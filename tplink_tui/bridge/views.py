"""One device as JSON for the REST API, the page and MQTT: the ``info --json`` object
plus what the bridge knows (status, room, last seen, today's kWh).

Built from the monitor's latest snapshot (no device round trip) and cached until
the next snapshot (rendered as the poll lands), so a page refreshing 200 devices
costs one string join.
"""

from __future__ import annotations

from typing import Any

from .. import untrusted
from ..cli.common import Target, state_dict
from ..monitor import Snapshot, Status
from .hub import Device, Hub


def device_view(hub: Hub, device: Device) -> dict[str, Any]:
    """The device's JSON object (cached per snapshot)."""
    snap = hub.snapshot(device)
    seen = device.view_of
    if device.view is not None and seen and seen[0] is snap and seen[1] == device.today_kwh:
        return device.view
    view = _build(hub, device, snap)
    device.view, device.view_of, device.view_text = view, (snap, device.today_kwh), None
    return view


def device_text(hub: Hub, device: Device) -> str:
    """``device_view`` as strict JSON text (also cached: a list is a join of these)."""
    view = device_view(hub, device)
    if device.view_text is None:
        device.view_text = untrusted.dumps(view, compact=True)
    return device.view_text


def _build(hub: Hub, device: Device, snap: Snapshot) -> dict[str, Any]:
    saved = device.saved
    transport = hub.monitor.client(device.key).transport_name or saved.transport
    data: dict[str, Any] = {
        "name": saved.name,
        "room": saved.room,
        "topic": device.slug,
        "address": device.key,
        "status": str(snap.status),
        "online": snap.status is Status.ONLINE,
        "error": snap.error,
        "needs_credentials": snap.needs_credentials,
        "last_seen": snap.last_seen,
        "offline_since": snap.offline_since,
    }
    state = snap.state
    if state is None:
        data.update(is_on=None, power_w=None, today_kwh=None, outlets=[])
        return data
    target = Target(saved.host, saved.port, saved.name, transport)
    info = state_dict(target, state)
    info.pop("name", None)
    data.update(info)
    data["today_kwh"] = device.today_kwh if state.sysinfo.has_emeter else None
    return data


def keep_rendered(hub: Hub) -> None:
    """Render each device's JSON as its poll lands: a list request then only joins them."""

    def on_snapshot(snap: Snapshot) -> None:
        device = hub.devices.get(snap.key)
        if device is not None:
            device_text(hub, device)

    hub.monitor.subscribe(on_snapshot)
