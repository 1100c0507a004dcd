"""What a newer device answers on UDP 20002 (the packet codec is in transports)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ...transports.discovery_packet import (
    CRC_SEED,
    DISCOVERY_PORT,
    HEADER,
    build_packet,
    parse_packet,
)

if TYPE_CHECKING:
    from .server import NewerDevice

__all__ = [
    "CRC_SEED",
    "DISCOVERY_PORT",
    "HEADER",
    "build_packet",
    "discovery_answer",
    "discovery_result",
    "parse_packet",
]


def discovery_result(device: NewerDevice) -> dict[str, Any]:
    """The ``result`` object a device answers discovery with."""
    scheme: dict[str, Any] = {
        "is_support_https": False,
        "encrypt_type": device.encrypt_type,
        "http_port": device.port,
    }
    if device.login_version != 1:
        scheme["lv"] = device.login_version  # a missing lv means login version 1
    return {
        "device_type": device.profile.device_type,
        "model": device.profile.model,
        "ip": device.host,
        "mac": device.state.identity.mac_as("-"),
        "device_id": device.device_id,
        "owner": "",
        "hw_ver": device.profile.hw_ver,
        "is_support_iot_cloud": True,
        "obd_src": "tplink",
        "factory_default": False,
        "mgt_encrypt_schm": scheme,
    }


def discovery_answer(device: NewerDevice, serial: int = 0) -> bytes:
    """The whole UDP answer: header + ``{"error_code":0,"result":{...}}``."""
    body = {"error_code": 0, "result": discovery_result(device)}
    return build_packet(json.dumps(body, separators=(",", ":")).encode(), serial)
