"""TDDP on a simulated device: a UDP port per device answering a few subtypes.

The texts are what a plug's debug interface reads out, made from the device's own
state (model, versions, MAC, alias, Wi-Fi signal, clock); one subtype is binary (the
meter calibration), one is writable. Requests in version 1 are answered in plain
text, version 2 with DES under the device's user/password (admin/admin unless
configured). A version-2 write whose digest does not match (another password) is
refused with reply info ``REPLY_BAD_DIGEST``; an unknown subtype gets
``REPLY_UNSUPPORTED``. The reply goes back to the request's source address: our
client sends from its reply port (61000), where a real device would answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

from ..tddp import protocol
from ..tddp.protocol import CODE_REPLY, CODE_REQUEST, Header
from .device import SimulatedDevice

SUBTYPE_SYSINFO = 0x0A
SUBTYPE_TIME = 0x0C
SUBTYPE_LINK = 0x0E
SUBTYPE_CALIBRATION = 0x12
SUBTYPE_CLOUD = 0x14  # writable
SUBTYPES = {
    SUBTYPE_SYSINFO: "system information",
    SUBTYPE_TIME: "clock",
    SUBTYPE_LINK: "Wi-Fi link",
    SUBTYPE_CALIBRATION: "meter calibration (binary)",
    SUBTYPE_CLOUD: "cloud server (writable)",
}
DEFAULT_CLOUD = b"cloud_server devs.tplinkcloud.com\ncloud_port 50443\n"


@dataclass
class TddpConfig:
    """Who may read a simulated device's debug port: its user and password."""

    username: str = protocol.DEFAULT_USER
    password: str = protocol.DEFAULT_PASSWORD

    @property
    def key(self) -> bytes:
        return protocol.des_key(self.username, self.password)


def _text(lines: list[tuple[str, object]]) -> bytes:
    return "".join(f"{name} {value}\n" for name, value in lines).encode()


@dataclass
class TddpDevice:
    """What one device answers, and what was written to it."""

    device: SimulatedDevice
    config: TddpConfig
    written: dict[int, bytes] = field(default_factory=lambda: {SUBTYPE_CLOUD: DEFAULT_CLOUD})

    def read(self, subtype: int) -> bytes | None:
        dev = self.device
        if subtype == SUBTYPE_SYSINFO:
            info = dev.sysinfo()
            return _text(
                [
                    ("model", dev.model),
                    ("hw_ver", info.get("hw_ver", "")),
                    ("sw_ver", info.get("sw_ver", "")),
                    ("mac", dev.mac),
                    ("device_id", dev.device_id),
                    ("alias", dev.alias),
                ]
            )
        if subtype == SUBTYPE_TIME:
            now = dev.local_now()
            return _text([("time", now.strftime("%Y-%m-%d %H:%M:%S")), ("uptime", _uptime())])
        if subtype == SUBTYPE_LINK:
            return _text([("wlan_link", 1), ("rssi", dev.rssi(time.time()))])
        if subtype == SUBTYPE_CALIBRATION:
            return hashlib.sha256(dev.device_id.encode()).digest()[:20]
        return self.written.get(subtype)

    def write(self, subtype: int, data: bytes) -> bool:
        if subtype != SUBTYPE_CLOUD:
            return False
        self.written[subtype] = data.rstrip(b"\0")
        return True

    def answer(self, raw: bytes) -> bytes | None:
        """The reply to one datagram (None: not a request, stay silent as devices do)."""
        try:
            header = Header.unpack(raw)
        except protocol.ProtocolError:
            return None
        if header.code != CODE_REQUEST or header.version not in (1, 2):
            return None
        key = self.config.key
        info, data = protocol.REPLY_OK, b""
        try:
            packet = protocol.parse(raw, key)
        except protocol.DigestMismatch:
            info = protocol.REPLY_BAD_DIGEST
        except protocol.ProtocolError:
            info = protocol.REPLY_ERROR
        else:
            if header.type == protocol.TYPE_SET_USR_CFG:
                if not self.write(header.subtype, packet.data):
                    info = protocol.REPLY_UNSUPPORTED
            else:
                found = self.read(header.subtype)
                info, data = (
                    (protocol.REPLY_OK, found)
                    if found is not None
                    else (protocol.REPLY_UNSUPPORTED, b"")
                )
        reply = Header(
            header.version, header.type, CODE_REPLY, info, 0, header.packet_id, header.subtype
        )
        return protocol.build(reply, data, key)


_STARTED = time.monotonic()


def _uptime() -> int:
    return int(time.monotonic() - _STARTED)


class _Responder(asyncio.DatagramProtocol):
    def __init__(self, target: TddpDevice) -> None:
        self.target = target
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if not self.target.device.online or self.target.device.faults.no_reply:
            return
        reply = self.target.answer(data)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)


async def serve_tddp(
    device: SimulatedDevice, config: TddpConfig, port: int = 0
) -> tuple[asyncio.DatagramTransport, int]:
    """Answer TDDP for ``device`` on its host and ``port`` (0: a free one)."""
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: _Responder(TddpDevice(device, config)), local_addr=(device.host, port)
    )
    return transport, int(transport.get_extra_info("sockname")[1])
