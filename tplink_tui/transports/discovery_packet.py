"""UDP 20002 discovery packets of the newer devices: header, CRC32, answer body.

Header ``>BBHHBBII``: version 2, message type 0, op code 1, payload length,
flags 0x11, 0, a serial, and CRC32 of the whole packet computed with that field
first set to 0x5A6B7C8D. Shared by discovery (which sends a probe and reads
answers) and the newer simulator (which answers), so both agree byte for byte.
"""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any

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


def probe(serial: int = 0) -> bytes:
    """What discovery sends: a valid header with an empty JSON object."""
    return build_packet(b"{}", serial)


def answer_result(data: bytes) -> dict[str, Any]:
    """The ``result`` object of a device's answer; ValueError for anything else."""
    _, payload = parse_packet(data)
    try:
        body = json.loads(payload)
    except (ValueError, RecursionError):
        raise ValueError("answer is not JSON") from None
    if not isinstance(body, dict):
        raise ValueError("answer is not a JSON object")
    code = body.get("error_code", 0)
    if code != 0:
        raise ValueError(f"answer carries error_code {code!r}")
    result = body.get("result")
    if not isinstance(result, dict):
        raise ValueError("answer has no result object")
    return result
