"""The REST API: reads from the monitor's latest snapshots, writes through the device client.

- ``GET /api/devices``, ``GET /api/devices/{name}``: no device round trip.
- ``POST /api/devices/{name}/on|off|toggle[?outlet=]``: answers once the device confirmed.
- ``GET /api/devices/{name}/history?since=24h&step=1m[&outlet=]``: mean power per step.
- ``GET /api/openapi.json``: the OpenAPI document of all of it.
"""

from __future__ import annotations

import re
import time
from typing import Any, cast

from aiohttp import web

from ..errors import UsageError
from .app import HUB, json_response
from .hub import Action, Device, Hub
from .openapi import document
from .views import device_text, device_view, keep_rendered

MAX_POINTS = 20_000
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str, what: str) -> float:
    """``90``, ``30s``, ``15m``, ``24h``, ``7d``, ``2w`` as seconds (positive)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", text.lower())
    if match is None or float(match[1]) <= 0:
        raise UsageError(f"{what} should be a duration like 30s, 15m, 24h or 7d, got {text!r}")
    return float(match[1]) * _UNITS[match[2]]


def _device(request: web.Request) -> tuple[Hub, Device]:
    hub = request.app[HUB]
    return hub, hub.find(request.match_info["name"])


async def list_devices(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    body = ",".join(device_text(hub, d) for d in hub.devices.values())
    return web.Response(text='{"devices":[' + body + "]}", content_type="application/json")


async def get_device(request: web.Request) -> web.Response:
    hub, device = _device(request)
    return json_response(device_view(hub, device))


async def switch(request: web.Request) -> web.Response:
    hub, device = _device(request)
    action = cast(Action, request.match_info["action"])
    outlet = request.query.get("outlet")
    if outlet is not None and not outlet.strip():
        raise UsageError("outlet= is empty: give an index, id or name")
    is_on = await hub.switch(device, action, outlet)
    answer: dict[str, Any] = {"name": device.saved.name, "outlet": None, "is_on": is_on}
    if outlet is not None:
        found = await hub.monitor.client(device.key).resolve_outlet(outlet)
        answer["outlet"] = {"index": found.index, "id": found.id, "alias": found.alias}
    return json_response(answer)


async def history(request: web.Request) -> web.Response:
    hub, device = _device(request)
    since = parse_duration(request.query.get("since", "24h"), "since")
    step = parse_duration(request.query.get("step", "1m"), "step")
    if since / step > MAX_POINTS:
        raise UsageError(f"since/step asks for over {MAX_POINTS} points: use a larger step")
    outlet_text = request.query.get("outlet")
    outlet = None
    if outlet_text is not None:
        found = await hub.monitor.client(device.key).resolve_outlet(outlet_text)
        outlet = found.index
    start = time.time() - since
    points = await hub.power_history(device, outlet, start, step)
    return json_response(
        {
            "name": device.saved.name,
            "outlet": outlet,
            "since": start,
            "step": step,
            "points": [{"ts": ts, "power_w": round(w, 3)} for ts, w in points],
        }
    )


async def openapi(request: web.Request) -> web.Response:
    return json_response(document())


def add_routes(app: web.Application) -> None:
    keep_rendered(app[HUB])
    app.router.add_get("/api/devices", list_devices)
    app.router.add_get("/api/devices/{name}", get_device)
    app.router.add_post("/api/devices/{name}/{action:on|off|toggle}", switch)
    app.router.add_get("/api/devices/{name}/history", history)
    app.router.add_get("/api/openapi.json", openapi)
