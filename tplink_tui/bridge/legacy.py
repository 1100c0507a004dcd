"""The old web app's API, kept working: ``POST /`` (and ``/api/legacy``) with
``{"request": "...", "ip": "..."}``, answered with the device's reply as JSON.

``ip`` is a bridged device's address (``host`` or ``host:port``) or its saved name;
other hosts are refused (the bridge is no relay to the LAN). Each request goes
through the monitor's client (the same lock as the poller), in either dialect, and
answers in the old protocol's shape: ``{"system": {"set_relay_state": {"err_code": 0}}}``
after a write the device confirmed, ``{"system": {"get_sysinfo": {...}}}`` for
``get_info``, ``{"relay_state": 0|1}`` and ``{"led_off": 0|1}`` for the two state reads.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ..devices.client import DeviceClient
from ..errors import UsageError
from .app import HUB, json_response
from .hub import log

Reply = dict[str, Any]


def _ok(method: str) -> Reply:
    return {"system": {method: {"err_code": 0}}}


async def get_info(client: DeviceClient) -> Reply:
    info = await client.get_sysinfo()
    return {"system": {"get_sysinfo": {**info.raw, "err_code": 0}}}


async def toggle_relay(client: DeviceClient) -> Reply:
    await client.toggle()
    return _ok("set_relay_state")


async def set_relay_on(client: DeviceClient) -> Reply:
    await client.set_relay(True)
    return _ok("set_relay_state")


async def set_relay_off(client: DeviceClient) -> Reply:
    await client.set_relay(False)
    return _ok("set_relay_state")


async def get_relay_state(client: DeviceClient) -> Reply:
    return {"relay_state": int((await client.get_sysinfo()).is_on)}


async def set_led_on(client: DeviceClient) -> Reply:
    await client.set_led(True)
    return _ok("set_led_off")


async def set_led_off(client: DeviceClient) -> Reply:
    await client.set_led(False)
    return _ok("set_led_off")


async def get_led_state(client: DeviceClient) -> Reply:
    led = (await client.get_sysinfo()).led_on
    return {"led_off": None if led is None else int(not led)}


REQUESTS: dict[str, Callable[[DeviceClient], Awaitable[Reply]]] = {
    fn.__name__: fn
    for fn in (
        get_info,
        toggle_relay,
        set_relay_on,
        set_relay_off,
        get_relay_state,
        set_led_on,
        set_led_off,
        get_led_state,
    )
}
WRITES = frozenset(name for name in REQUESTS if name.startswith(("set_", "toggle_")))


async def _body(request: web.Request) -> dict[str, Any]:
    """The JSON body (whatever its Content-Type: ``curl -d`` says form), else a form."""
    raw = await request.read()
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        body = None
        if request.content_type == "application/x-www-form-urlencoded":
            form = urllib.parse.parse_qs(raw.decode("utf-8", "replace"))
            body = {key: values[-1] for key, values in form.items()}
    if not isinstance(body, dict):
        raise UsageError('the body should be a JSON object: {"request": "...", "ip": "..."}')
    return body


async def handle(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    body = await _body(request)
    name, target = body.get("request"), body.get("ip")
    if not isinstance(name, str) or name not in REQUESTS:
        known = ", ".join(REQUESTS)
        raise UsageError(f"'request' should be one of {known}")
    if not isinstance(target, str) or not target.strip():
        raise UsageError("'ip' should be a bridged device's address or saved name")
    device = hub.find(target)
    release = hub.monitor.hold(device.key) if name in WRITES else None  # before polls
    try:
        reply = await REQUESTS[name](hub.monitor.client(device.key))
    finally:
        if release is not None:
            release()
            hub.monitor.refresh(device.key)
    if name in WRITES:
        log.info("%s: %s (legacy API)", device.saved.name, name)
    return json_response(reply)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/", handle)
    app.router.add_post("/api/legacy", handle)
