"""The OpenAPI 3.1 document served at ``/api/openapi.json`` (built once, by hand:
the routes are few and their shapes are the ``info --json`` object's)."""

from __future__ import annotations

import functools
from typing import Any

from .. import __version__

_ERROR = {"$ref": "#/components/schemas/Error"}
_NAME = {
    "name": "name",
    "in": "path",
    "required": True,
    "description": "saved device name, topic name or host:port",
    "schema": {"type": "string"},
}
_OUTLET = {
    "name": "outlet",
    "in": "query",
    "required": False,
    "description": "strip outlet: 0-based index, child id, 2-digit short id or name",
    "schema": {"type": "string"},
}


_LEGACY = {"$ref": "#/components/schemas/LegacyRequest"}
_ACTION = {
    "name": "action",
    "in": "path",
    "required": True,
    "schema": {"enum": ["on", "off", "toggle"]},
}


def _array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": schema, "description": description}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    words = {
        400: "bad input",
        401: "token missing or wrong",
        404: "unknown device or outlet",
        502: "the device failed or refused",
        503: "history is off",
        504: "the device timed out",
    }
    return {str(code): _json(_ERROR, words[code]) for code in codes}


def _reading() -> dict[str, Any]:
    number = {"type": ["number", "null"]}
    return {"power_w": number, "voltage_v": number, "current_a": number, "total_kwh": number}


def _schemas() -> dict[str, Any]:
    outlet = {
        "type": "object",
        "properties": {
            "index": {"type": "integer"},
            "id": {"type": "string"},
            "alias": {"type": "string"},
            "is_on": {"type": "boolean"},
            "on_time": {"type": ["integer", "null"]},
            **_reading(),
        },
    }
    device = {
        "type": "object",
        "required": ["name", "status", "online", "outlets"],
        "properties": {
            "name": {"type": "string"},
            "room": {"type": "string"},
            "topic": {"type": "string", "description": "the MQTT topic level"},
            "address": {"type": "string"},
            "status": {"enum": ["connecting", "online", "offline"]},
            "online": {"type": "boolean"},
            "error": {"type": ["string", "null"]},
            "last_seen": {"type": ["number", "null"], "description": "unix time"},
            "offline_since": {"type": ["number", "null"]},
            "alias": {"type": "string"},
            "model": {"type": "string"},
            "mac": {"type": "string"},
            "sw_ver": {"type": "string"},
            "is_on": {"type": ["boolean", "null"], "description": "a strip: any outlet on"},
            "led": {"type": ["boolean", "null"]},
            "rssi": {"type": ["integer", "null"]},
            "today_kwh": {"type": ["number", "null"]},
            **_reading(),
            "outlets": {"type": "array", "items": outlet},
        },
    }
    error = {
        "type": "object",
        "required": ["error", "code"],
        "properties": {"error": {"type": "string"}, "code": {"type": "string"}},
    }
    legacy = {
        "type": "object",
        "required": ["request", "ip"],
        "properties": {
            "request": {
                "enum": [
                    "get_info",
                    "toggle_relay",
                    "set_relay_on",
                    "set_relay_off",
                    "get_relay_state",
                    "set_led_on",
                    "set_led_off",
                    "get_led_state",
                ]
            },
            "ip": {"type": "string", "description": "a bridged device's host[:port] or name"},
        },
    }
    return {"Device": device, "Outlet": outlet, "Error": error, "LegacyRequest": legacy}


def _paths() -> dict[str, Any]:
    device = {"$ref": "#/components/schemas/Device"}
    legacy_post = {
        "summary": "the old web app's API",
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/LegacyRequest"}}
            },
        },
        "responses": {
            "200": _json({"type": "object"}, "the device's reply"),
            **_errors(400, 404, 502, 504),
        },
    }
    switched = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "is_on": {"type": "boolean"},
            "outlet": {"type": ["object", "null"]},
        },
    }
    points = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "outlet": {"type": ["integer", "null"]},
            "since": {"type": "number"},
            "step": {"type": "number"},
            "points": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"ts": {"type": "number"}, "power_w": {"type": "number"}},
                },
            },
        },
    }
    duration = {"type": "string", "pattern": "^[0-9.]+[smhdw]?$"}
    return {
        "/": {"post": legacy_post},
        "/api/legacy": {"post": legacy_post},
        "/api/devices": {
            "get": {
                "summary": "every device with its latest snapshot",
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {"devices": {"type": "array", "items": device}},
                        },
                        "the devices",
                    )
                },
            }
        },
        "/api/devices/{name}": {
            "get": {
                "summary": "one device's latest snapshot",
                "parameters": [_NAME],
                "responses": {"200": _json(device, "the device"), **_errors(400, 404)},
            }
        },
        "/api/devices/{name}/{action}": {
            "post": {
                "summary": "switch a device or one outlet; answers once the device confirmed",
                "parameters": [
                    _NAME,
                    {
                        "name": "action",
                        "in": "path",
                        "required": True,
                        "schema": {"enum": ["on", "off", "toggle"]},
                    },
                    _OUTLET,
                ],
                "responses": {
                    "200": _json(switched, "the new state"),
                    **_errors(400, 401, 404, 502, 504),
                },
            }
        },
        "/api/devices/{name}/history": {
            "get": {
                "summary": "mean power per step from the recorded history",
                "parameters": [
                    _NAME,
                    {
                        "name": "since",
                        "in": "query",
                        "schema": duration,
                        "description": "default 24h",
                    },
                    {
                        "name": "step",
                        "in": "query",
                        "schema": duration,
                        "description": "default 1m",
                    },
                    _OUTLET,
                ],
                "responses": {"200": _json(points, "the points"), **_errors(400, 404, 503)},
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics (text format)",
                "responses": {"200": {"description": "metrics", "content": {"text/plain": {}}}},
            }
        },
    }


@functools.cache
def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "tplink-tui bridge", "version": __version__},
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{}, {"token": []}],
        "paths": _paths(),
    }
