"""UDP 20002 discovery packets: the 16-byte header with its CRC32, and the answer.

Header ``>BBHHBBII``: version 2, message type 0, op code 1, payload length,
flags 0x11, 0, a serial, and CRC32 of the whole packet computed with that field
first set to 0x5A6B7C8D.
"""

from __future__ import annotations

import json
import struct
import zlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .server import NewerDevice

HEADER = struct.Struct(">BBHHBBII")
CRC_SEED = 0x5A6B7C8D
DISCOVERY_PORT = 20002


def build_packet(payload: bytes, serial: int) -> bytes:
    """Header + payload with the CRC32 filled in."""
    header = HEADER.pack(2, 0, 1, len(payload), 0x11, 0, serial & 0xFFFFFFFF, CRC_SEED)
    crc = zlib.crc32(header + payload) & 0xFFFFFFFF
    return header[:12] + struct.pack(">I", crc) + payload


def parse_packet(data: bytes) -> tuple[int, bytes]:
    """(serial, payload) of a packet; ValueError when its header or CRC is wrong."""
    if len(data) < HEADER.size:
        raise ValueError(f"packet of {len(data)} bytes, shorter than its header")
    version, _, _, length, _, _, serial, crc = HEADER.unpack_from(data)
    if version != 2 or length != len(data) - HEADER.size:
        raise ValueError("not a version-2 packet of the announced length")
    blank = data[:12] + struct.pack(">I", CRC_SEED) + data[HEADER.size :]
    if zlib.crc32(blank) & 0xFFFFFFFF != crc:
        raise ValueError("CRC32 mismatch")
    return serial, data[HEADER.size :]


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
