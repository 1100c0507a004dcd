"""Sockets of one simulated device: framed TCP and unframed UDP on the same port.

TCP uses a bare ``asyncio.Protocol`` (no streams) so a request costs one decrypt,
one handler call and one write. A peer may send several requests on one
connection; they are answered in order. Going offline closes the listening
socket, so connecting is refused as with an unplugged device on a LAN.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import socket
import struct
import threading
import zlib
from typing import Any

from .. import codec
from ..codec import encrypt
from .device import SimulatedDevice
from .faults import corrupt_body

log = logging.getLogger(__name__)
MAX_REQUEST = 1 << 20  # a request announcing more than this drops the connection
_HEADER = struct.Struct(">I")


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def listen_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def udp_socket(host: str, port: int, *, reuse: bool = False) -> socket.socket:
    """A UDP socket; ``reuse`` lets several share an address (broadcast listeners)."""
    sock = socket.socket(_family(host), socket.SOCK_DGRAM)
    try:
        if reuse:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class _TcpConnection(asyncio.Protocol):
    """One client connection: read exactly 4 bytes, then exactly N, answer, repeat."""

    def __init__(self, server: DeviceServer) -> None:
        self.server = server
        self.device = server.device
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.busy = False  # a delayed reply is pending: later requests wait
        self.dead = False  # closed, or stalled on purpose (hang_mid_frame)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if not self.device.online or self.server.closed:
            self.dead = True
            transport.abort()
            return
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.dead = True
        self.server.connections.discard(self)

    def data_received(self, data: bytes) -> None:
        if self.dead:
            return
        if not self.device.online:
            self.drop()
            return
        self.buffer += data
        self._process()

    def _process(self) -> None:
        buf = self.buffer
        while not self.busy and not self.dead and len(buf) >= 4:
            (length,) = _HEADER.unpack_from(buf)
            if length > MAX_REQUEST:
                self.drop()
                return
            if len(buf) < 4 + length:
                return
            body = bytes(buf[4 : 4 + length])
            del buf[: 4 + length]
            self._request(body)

    def _request(self, body: bytes) -> None:
        faults = self.device.faults
        if faults.no_reply:
            self.device.requests += 1
            return
        reply = self.device.handle(codec.decrypt(body))
        if faults.delay > 0:
            self.busy = True
            self.server.loop.call_later(faults.delay, self._send_later, reply)
        else:
            self._send(reply)

    def _send_later(self, reply: bytes) -> None:
        self.busy = False
        if not self.dead:
            self._send(reply)
            self._process()

    def _send(self, reply: bytes) -> None:
        assert self.transport is not None
        faults = self.device.faults
        body = corrupt_body(reply, faults, self.device.rng) if faults.corrupts else encrypt(reply)
        length = faults.bad_length if faults.bad_length is not None else len(body)
        header = _HEADER.pack(min(length, 0xFFFFFFFF))
        if faults.close_mid_frame:
            self.transport.write(header)
            self.dead = True
            self.transport.close()
        elif faults.hang_mid_frame:
            self.transport.write(header + body[: len(body) // 2])
            self.dead = True  # stall: keep the socket open, never say more
        else:
            self.transport.write(header + body)

    def drop(self, graceful: bool = False) -> None:
        self.dead = True
        if self.transport is not None:
            if graceful:
                self.transport.close()
            else:
                self.transport.abort()


class _Datagrams(asyncio.DatagramProtocol):
    """Hands every datagram to a callback; ICMP errors are not our concern."""

    def __init__(self, on_datagram: Any) -> None:
        self.on_datagram = on_datagram

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.on_datagram(data, addr)

    def error_received(self, exc: Exception) -> None:
        pass


class DeviceServer:
    """The listening TCP socket, the UDP socket and the open connections of a device."""

    def __init__(self, device: SimulatedDevice, loop: asyncio.AbstractEventLoop) -> None:
        self.device = device
        self.loop = loop
        self.thread_id = threading.get_ident()
        self.connections: set[_TcpConnection] = set()
        self.closed = False
        self.udp: asyncio.DatagramTransport | None = None
        self._listening: asyncio.Future[asyncio.AbstractServer] | None = None
        self._flapper: asyncio.Task[None] | None = None
        self.loopback_only = is_loopback(device.host)
        # 0.0.0.0 includes loopback: a broadcast on 127.255.255.255 reaches it too.
        self.wildcard = device.host == "0.0.0.0"
        # Loopback broadcast is IPv4 only: 127.255.255.255.
        self.broadcastable = (self.loopback_only or self.wildcard) and ":" not in device.host
        device.loop = loop
        device.on_change = self.sync

    # -- lifecycle ------------------------------------------------------------

    async def start(self, udp_port: int | None = None) -> None:
        """Bind TCP and UDP on the same port (a free one when the device's port is 0)."""
        dev = self.device
        if dev.profile.klap_only:
            assert udp_port is not None
            dev.port = udp_port
            await self._open_udp(udp_socket(dev.host, udp_port, reuse=True), self.answer_klap)
        else:
            for attempt in range(20):
                tcp = listen_socket(dev.host, dev.port)
                port = tcp.getsockname()[1]
                try:
                    udp = udp_socket(dev.host, port)
                except OSError:
                    tcp.close()
                    if dev.port or attempt == 19:
                        raise
                    continue
                dev.port = port
                break
            await self._open_udp(udp, self.answer_datagram)
            if dev.online:
                server = await self.loop.create_server(lambda: _TcpConnection(self), sock=tcp)
                self._listening = self.loop.create_future()
                self._listening.set_result(server)
            else:
                tcp.close()
        dev.faults.subscribe(self._faults_changed)
        self._apply_faults()

    async def _open_udp(self, sock: socket.socket, handler: Any) -> None:
        transport, _ = await self.loop.create_datagram_endpoint(
            lambda: _Datagrams(handler), sock=sock
        )
        self.udp = transport

    async def close(self) -> None:
        self.closed = True
        self.device.faults.subscribe(None)
        self.device.cancel_timers()
        flapper, self._flapper = self._flapper, None
        if flapper is not None:
            flapper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flapper
        listening, self._listening = self._listening, None
        if listening is not None:
            with contextlib.suppress(Exception):
                await listening
            _close_server(listening)
        for conn in list(self.connections):
            conn.drop()
        if self.udp is not None:
            self.udp.close()
        await asyncio.sleep(0)

    # -- online / offline -------------------------------------------------------

    def _faults_changed(self) -> None:
        if threading.get_ident() == self.thread_id:
            self._apply_faults()
        else:
            self.loop.call_soon_threadsafe(self._apply_faults)

    def _apply_faults(self) -> None:
        if self.closed:
            return
        flap = self.device.faults.flap
        if flap and self._flapper is None:
            self._flapper = self.loop.create_task(self._flap())
        elif not flap and self._flapper is not None:
            self._flapper.cancel()
            self._flapper = None
            self.device.flap_down = False
        self.sync()

    async def _flap(self) -> None:
        faults = self.device.faults
        while (period := faults.flap) and not self.closed:
            if self.device.flap_down:
                period = faults.flap_offline or period
            await asyncio.sleep(period)
            self.device.flap_down = not self.device.flap_down
            self.sync()

    def sync(self) -> None:
        """Open or close the listening socket to match ``device.online``."""
        dev = self.device
        if dev.profile.klap_only or self.closed:
            return
        if dev.online and self._listening is None:
            try:
                sock = listen_socket(dev.host, dev.port)
            except OSError as exc:
                log.warning("%s: cannot listen again: %s", dev.address, exc)
                return
            coro = self.loop.create_server(lambda: _TcpConnection(self), sock=sock)
            self._listening = asyncio.ensure_future(coro, loop=self.loop)  # type: ignore[assignment]
        elif not dev.online:
            self._stop_listening()
            for conn in list(self.connections):
                conn.drop(graceful=dev.booting)

    def _stop_listening(self) -> None:
        task, self._listening = self._listening, None
        if task is not None and task.done():
            _close_server(task)
        elif task is not None:
            task.add_done_callback(_close_server)

    # -- datagrams ----------------------------------------------------------------

    def answer_datagram(self, data: bytes, addr: Any) -> None:
        """Answer one UDP request (unicast, or fanned out from a broadcast listener)."""
        dev, faults = self.device, self.device.faults
        if not dev.online or self.closed or self.udp is None:
            return
        if self.loopback_only and not is_loopback(addr[0]):
            return
        if faults.no_reply or faults.hang_mid_frame or faults.close_mid_frame:
            return
        reply = dev.handle(codec.decrypt(data))
        payload = corrupt_body(reply, faults, dev.rng) if faults.corrupts else encrypt(reply)
        if faults.delay > 0:
            self.loop.call_later(faults.delay, self._sendto, payload, addr)
        else:
            self._sendto(payload, addr)

    def _sendto(self, payload: bytes, addr: Any) -> None:
        if self.udp is not None and not self.udp.is_closing():
            self.udp.sendto(payload, addr)

    def answer_klap(self, data: bytes, addr: Any) -> None:
        """A device of the newer protocol: answer any probe with its discovery record."""
        dev = self.device
        if not dev.online or self.closed or dev.faults.no_reply:
            return
        if self.loopback_only and not is_loopback(addr[0]):
            return
        self._sendto(klap_discovery_reply(dev), addr)


def _close_server(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is None:
        task.result().close()


def klap_discovery_reply(dev: SimulatedDevice) -> bytes:
    """The 16-byte header and JSON a KLAP-only plug sends back from port 20002."""
    ident = dev.identity
    body = json.dumps(
        {
            "result": {
                "device_id": ident.device_id[:32],
                "owner": "",
                "device_type": "SMART.KASAPLUG",
                "device_model": dev.profile.model,
                "ip": dev.host,
                "mac": ident.mac_as("-"),
                "is_support_iot_cloud": True,
                "obd_src": "tplink",
                "factory_default": False,
                "mgt_encrypt_schm": {
                    "is_support_https": False,
                    "encrypt_type": "KLAP",
                    "http_port": 80,
                    "lv": 2,
                },
            },
            "error_code": 0,
        },
        separators=(",", ":"),
    ).encode()
    header = struct.pack(
        ">BBHHBBII", 2, 0, 1, len(body), 0x11, 0, dev.seed & 0xFFFFFFFF, 0x5A6B7C8D
    )
    crc = zlib.crc32(header + body)
    return header[:12] + struct.pack(">I", crc) + body
