"""The "smart" JSON dialect of newer plugs: request builders and reply parsers.

Requests are ``{"method": ..., "params": ...}``; batches go in ``multipleRequest``
and strip outlets through ``control_child``. Replies carry ``error_code`` (0 = ok)
and a ``result``. Parsers fill the same typed models the old protocol fills, so a
P316M is a strip with outlets exactly as an HS300 is, with readings in W/V/A/kWh.
Names and SSIDs are base64 on the wire and plain text in the models.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
import uuid
from typing import Any

from ..errors import ConnectionFailure, DeviceError, ProtocolError
from ..transports.errors import AUTH_CODES, SESSION_CODES, AuthenticationError
from .models import (
    MAX_OUTLETS,
    DeviceState,
    EnergyReading,
    OutletInfo,
    SysInfo,
    meter_number,
    normalize_mac,
)

TERMINAL_UUID = base64.b64encode(uuid.uuid5(uuid.NAMESPACE_DNS, "tplink-tui").bytes).decode()
OUTLET_CATEGORY = "plug.powerstrip.sub-plug"
MESSAGES = {
    -1001: "module not supported",
    -1002: "unknown method",
    -1003: "malformed request",
    -1008: "invalid parameters",
    -1010: "invalid public key",
    -1501: "login failed",
    9999: "session timed out",
}
READ_ONLY = frozenset({"component_nego", "multipleRequest", "control_child"})


class SessionExpired(ConnectionFailure):
    """The device answered ``error_code`` 9999 (or kin): the caller should shake hands again."""


# -- requests -------------------------------------------------------------------


def request(method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """One request object; ``params`` left out when there are none, as the app does."""
    body: dict[str, Any] = {"method": method}
    if params is not None:
        body["params"] = params
    body["request_time_milis"] = int(time.time() * 1000)
    body["terminal_uuid"] = TERMINAL_UUID
    return body


def get_device_info() -> dict[str, Any]:
    return request("get_device_info")


def set_device_info(
    *, device_on: bool | None = None, nickname: str | None = None
) -> dict[str, Any]:
    """Switch the relay and/or rename: the nickname goes out base64-encoded."""
    params: dict[str, Any] = {}
    if device_on is not None:
        params["device_on"] = bool(device_on)
    if nickname is not None:
        params["nickname"] = base64.b64encode(nickname.encode()).decode()
    if not params:
        raise ValueError("set_device_info needs device_on or nickname")
    return request("set_device_info", params)


def component_nego() -> dict[str, Any]:
    return request("component_nego")


def get_energy_usage() -> dict[str, Any]:
    return request("get_energy_usage")


def get_current_power() -> dict[str, Any]:
    return request("get_current_power")


def get_emeter_data() -> dict[str, Any]:
    return request("get_emeter_data")


def get_child_device_list(start_index: int = 0) -> dict[str, Any]:
    return request("get_child_device_list", {"start_index": start_index})


def control_child(device_id: str, inner: dict[str, Any]) -> dict[str, Any]:
    """Address one strip outlet; the answer comes back in ``result.responseData``."""
    wrapped = {k: v for k, v in inner.items() if k in ("method", "params")}
    return request("control_child", {"device_id": device_id, "requestData": wrapped})


def multiple_request(requests: list[dict[str, Any]]) -> dict[str, Any]:
    """Batch requests; the device answers in order and stops at the first error."""
    inner = [{k: v for k, v in r.items() if k in ("method", "params")} for r in requests]
    return request("multipleRequest", {"requests": inner})


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def is_read_only(body: dict[str, Any]) -> bool:
    """True when every method inside (batches and control_child included) only reads."""
    method = body.get("method")
    if not isinstance(method, str):
        return False
    params = body.get("params")
    if method == "multipleRequest":
        reqs = params.get("requests") if isinstance(params, dict) else None
        return isinstance(reqs, list) and all(isinstance(r, dict) and is_read_only(r) for r in reqs)
    if method == "control_child":
        inner = params.get("requestData") if isinstance(params, dict) else None
        return isinstance(inner, dict) and is_read_only(inner)
    return method.startswith("get_") or method in READ_ONLY


# -- replies --------------------------------------------------------------------


def decode(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        raise ProtocolError("smart reply is not JSON") from None
    if not isinstance(value, dict):
        raise ProtocolError("smart reply is not an object")
    return value


def check(reply: Any, method: str | None = None, host: str | None = None) -> Any:
    """The ``result`` of a reply, or the project error for its ``error_code``."""
    if not isinstance(reply, dict):
        raise ProtocolError(f"{method or 'smart'} reply is not an object")
    code = reply.get("error_code", 0)
    if isinstance(code, bool) or not isinstance(code, int):
        raise ProtocolError(f"{method or 'smart'} reply has a non-numeric error_code")
    if code == 0:
        return reply.get("result", {})
    if code in AUTH_CODES:
        raise AuthenticationError(host or "device", f"error {code}")
    if code in SESSION_CODES:
        prefix = f"{host}: " if host else ""
        raise SessionExpired(f"{prefix}session expired (error {code})")
    message = reply.get("msg") or reply.get("message") or MESSAGES.get(code, "")
    raise DeviceError(code, str(message), method=method, host=host)


def multiple_results(reply: Any, host: str | None = None) -> list[Any]:
    """Results of a ``multipleRequest``, in order; the first failed entry raises."""
    result = check(reply, "multipleRequest", host)
    responses = result.get("responses") if isinstance(result, dict) else None
    if not isinstance(responses, list):
        raise ProtocolError("multipleRequest reply has no 'responses' list")
    return [check(r, r.get("method") if isinstance(r, dict) else None, host) for r in responses]


def child_result(reply: Any, host: str | None = None) -> Any:
    """The inner result of a ``control_child`` reply (``result.responseData``)."""
    result = check(reply, "control_child", host)
    inner = result.get("responseData") if isinstance(result, dict) else None
    if inner is None:
        raise ProtocolError("control_child reply has no 'responseData'")
    return check(inner, "control_child", host)


def decode_text(value: Any) -> str:
    """A base64 nickname or SSID as text; a value that is not base64 is kept as is."""
    if not isinstance(value, str):
        return ""
    try:
        return base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return value


def parse_components(result: Any) -> dict[str, int]:
    """``component_nego`` as {component id: version}."""
    items = result.get("component_list") if isinstance(result, dict) else None
    if not isinstance(items, list):
        raise ProtocolError("component_nego reply has no 'component_list'")
    return {
        str(c["id"]): int(c.get("ver_code", 1))
        for c in items
        if isinstance(c, dict) and isinstance(c.get("id"), str)
    }


def is_outlet(child: dict[str, Any]) -> bool:
    """A strip's socket, not a night light or another non-switch child."""
    category = child.get("category")
    if isinstance(category, str):
        return category == OUTLET_CATEGORY
    kind = child.get("type")
    return "device_on" in child and isinstance(kind, str) and "PLUG" in kind


def parse_children(result: Any) -> tuple[OutletInfo, ...]:
    """Outlets from ``get_child_device_list``, in position order, non-outlets skipped."""
    items = result.get("child_device_list") if isinstance(result, dict) else None
    if not isinstance(items, list):
        raise ProtocolError("get_child_device_list reply has no 'child_device_list'")
    children = [c for c in items if isinstance(c, dict) and is_outlet(c)]
    if len(children) > MAX_OUTLETS:
        raise ProtocolError(f"strip lists {len(children)} outlets, more than {MAX_OUTLETS}")
    for child in children:
        if not isinstance(child.get("device_id"), str) or not child["device_id"]:
            raise ProtocolError("a child device has no usable 'device_id'")

    def position(child: dict[str, Any]) -> int:
        value = child.get("position")
        return value if isinstance(value, int) and not isinstance(value, bool) else 1 << 30

    children.sort(key=position)
    return tuple(
        OutletInfo(
            index=i,
            id=c["device_id"],
            alias=decode_text(c.get("nickname")) or f"Outlet {i}",
            is_on=bool(c.get("device_on")),
            on_time=_int(c, "on_time") or 0,
        )
        for i, c in enumerate(children)
    )


def parse_device_info(
    info: Any,
    children: tuple[OutletInfo, ...] = (),
    components: dict[str, int] | None = None,
) -> SysInfo:
    """``get_device_info`` (plus the strip's outlets and components) as a ``SysInfo``."""
    if not isinstance(info, dict):
        raise ProtocolError("get_device_info result is not an object")
    model = info.get("model")
    if not isinstance(model, str) or not model:
        raise ProtocolError("get_device_info has no 'model'")
    features = {"TIM"}
    if components is not None and "energy_monitoring" in components:
        features.add("ENE")
    device_on = info.get("device_on")
    return SysInfo(
        alias=decode_text(info.get("nickname")),
        model=model,
        device_type=_str(info, "type"),
        mac=normalize_mac(_str(info, "mac")),
        device_id=_str(info, "device_id"),
        hw_ver=_str(info, "hw_ver"),
        sw_ver=_str(info, "fw_ver"),
        hw_id=_str(info, "hw_id"),
        oem_id=_str(info, "oem_id"),
        rssi=_int(info, "rssi"),
        relay_on=None if children or not isinstance(device_on, bool) else device_on,
        on_time=_int(info, "on_time"),
        features=frozenset(features),
        latitude=_coordinate(info, "latitude"),
        longitude=_coordinate(info, "longitude"),
        children=children,
        raw=info,
    )


def ssid(info: dict[str, Any]) -> str:
    """The Wi-Fi network name (SysInfo has no field for it yet)."""
    return decode_text(info.get("ssid"))


def parse_energy_usage(result: Any) -> EnergyReading:
    """``get_energy_usage``: only the power, and it is in mW."""
    return EnergyReading(power_w=_number(result, "current_power", 1e-3))


def parse_current_power(result: Any) -> EnergyReading:
    """``get_current_power``: the power in W."""
    return EnergyReading(power_w=_number(result, "current_power", 1.0))


def parse_emeter_data(result: Any) -> EnergyReading:
    """``get_emeter_data``: mW, mV, mA and Wh (the running total) to W, V, A and kWh."""
    return EnergyReading(
        power_w=_number(result, "power_mw", 1e-3),
        voltage_v=_number(result, "voltage_mv", 1e-3),
        current_a=_number(result, "current_ma", 1e-3),
        total_kwh=_number(result, "energy_wh", 1e-3),
    )


def parse_state(
    sysinfo: SysInfo,
    energy: EnergyReading | None = None,
    outlet_energy: dict[int, EnergyReading] | None = None,
) -> DeviceState:
    return DeviceState(sysinfo, energy, dict(outlet_energy or {}), time.time())


def _str(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ProtocolError(f"field {key!r} should be str, got {type(value).__name__}")
    return value


def _int(data: dict[str, Any], key: str) -> int | None:
    value = data.get(key)
    if isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63:
        return value
    return None


def _coordinate(data: dict[str, Any], key: str) -> float | None:
    """Smart firmware sends coordinates as integers times 10^4."""
    value = _int(data, key)
    return None if value is None else value / 10_000


def _number(result: Any, key: str, scale: float) -> float | None:
    if not isinstance(result, dict):
        raise ProtocolError("meter reply is not an object")
    return meter_number(result, key, scale)
