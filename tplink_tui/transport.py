"""Asyncio transport: one persistent, locked TCP connection per device, and UDP.

Rules from DESIGN.md that shape this module:
- one connection per device, reused; one request in flight (a lock);
- each request written with a single write (header and body together);
- read exactly 4 bytes, then exactly N, with a bounded N;
- a kept-alive connection that turns out broken is reopened once, but only for
  read-only requests: a command that switches a relay is never sent twice;
- a kept-alive connection holding unread bytes (a second frame for one request,
  stray data) is discarded before the next request, never read as its reply.
"""

from __future__ import annotations

import asyncio
import logging
import os
import select
import socket
import time
from collections.abc import Callable
from typing import Any

from . import codec
from .address import DEFAULT_PORT, format_address
from .errors import (
    DeviceTimeout,
    DeviceUnreachable,
    FrameTooLarge,
    ProtocolError,
    SpeaksHttp,
)

DEFAULT_TIMEOUT = 5.0
MAX_FRAME = 1 << 20  # 1 MiB
FRAME_CACHE = 16  # encrypted read-only requests kept per connection (polls repeat)

traffic_log = logging.getLogger("tplink_tui.traffic")

TrafficListener = Callable[[str, str, int, str], None]
"""Called with (direction "->" or "<-", host, port, decrypted text)."""

_listeners: list[TrafficListener] = []


def add_traffic_listener(listener: TrafficListener) -> None:
    """Observe every request and reply, decrypted (the dashboard's traffic pane)."""
    _listeners.append(listener)


def remove_traffic_listener(listener: TrafficListener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def _trace(direction: str, host: str, port: int, payload: bytes) -> None:
    if not _listeners and not traffic_log.isEnabledFor(logging.DEBUG):
        return
    text = payload.decode("utf-8", "replace")
    traffic_log.debug("%s %s %s", direction, format_address(host, port), text)
    for listener in list(_listeners):
        listener(direction, host, port, text)


def is_read_only(request: dict[str, Any]) -> bool:
    """True when every method in the request only reads (safe to send twice)."""
    for module, methods in request.items():
        if module == "context":
            continue
        if not isinstance(methods, dict):
            return False
        if not all(name.startswith("get_") for name in methods):
            return False
    return True


class Connection:
    """A persistent framed TCP connection to one device."""

    def __init__(
        self,
        host: str,
        port: int = DEFAULT_PORT,
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float | None = None,
        max_frame: int = MAX_FRAME,
    ) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.connect_timeout = timeout if connect_timeout is None else connect_timeout
        self.max_frame = max_frame
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._lock = asyncio.Lock()
        self.requests_sent = 0
        self.stale_discarded = 0  # kept-alive sockets dropped for holding unread bytes
        self.last_request_written: float | None = None
        self._frames: dict[bytes, bytes] = {}

    @property
    def address(self) -> str:
        """``host:port`` (IPv6 bracketed): how every error message names the device."""
        return format_address(self.host, self.port)

    @property
    def is_open(self) -> bool:
        return self._writer is not None and not self._writer.is_closing()

    async def request(self, payload: bytes, *, retry_safe: bool = False) -> bytes:
        """Send one plaintext payload and return the decrypted reply.

        ``retry_safe`` allows one resend on a fresh connection when a reused
        connection fails before any reply byte arrives.
        """
        async with self._lock:
            # A command is never sent twice, so it must not go on a socket the peer
            # closed just after its last reply (the loop may not have seen it yet).
            reused = self._usable(check_idle=not retry_safe)
            data = self._frames.get(payload)
            if data is None:
                data = codec.frame(payload)
                if retry_safe and len(self._frames) < FRAME_CACHE:
                    self._frames[payload] = data
            try:
                return await self._exchange(payload, data)
            except _StaleConnection as exc:
                await self._close()
                if not (reused and retry_safe):
                    raise DeviceUnreachable(f"{self.address}: {exc.reason}") from None
            # The kept-alive socket had died under us: one fresh attempt.
            try:
                return await self._exchange(payload, data)
            except _StaleConnection as exc:
                await self._close()
                raise DeviceUnreachable(f"{self.address}: {exc.reason}") from None

    async def close(self) -> None:
        async with self._lock:
            await self._close()

    def abort(self) -> None:
        """Drop the socket at once without waiting (used on quit)."""
        if self._writer is not None:
            self._writer.transport.abort()
        self._reader = self._writer = None

    # -- internals -------------------------------------------------------

    def _usable(self, check_idle: bool = False) -> bool:
        if self._writer is None or self._reader is None:
            return False
        if self._writer.is_closing() or self._reader.at_eof() or (check_idle and self._stirred()):
            # The peer closed while we were idle: forget it quietly.
            self._writer.transport.abort()
            self._reader = self._writer = None
            return False
        if _unread(self._reader):
            # Bytes nobody asked for (a second frame for the last request): reading
            # on would shift every later reply by one. Start over on a fresh socket.
            self.stale_discarded += 1
            traffic_log.debug("%s: dropping a connection with unread bytes", self.address)
            self._writer.transport.abort()
            self._reader = self._writer = None
            return False
        return True

    def _stirred(self) -> bool:
        """True when the idle socket is readable: between requests a device sends
        nothing, so that is a close (or stray bytes) the event loop has not read yet."""
        assert self._writer is not None
        sock = self._writer.get_extra_info("socket")
        if sock is None:
            return False
        poller = select.poll()
        try:
            poller.register(sock.fileno(), select.POLLIN)
            return bool(poller.poll(0))
        except (OSError, ValueError):
            return True

    async def _connect(self) -> None:
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancellation
            # that lands as the inner call finishes, and the task then runs on.
            async with asyncio.timeout(self.connect_timeout):
                opened = await asyncio.open_connection(self.host, self.port, limit=2**16)
            self._reader, self._writer = opened
        except TimeoutError:
            raise DeviceTimeout(
                f"{self.address}: no connection within {self.connect_timeout:g} s"
            ) from None
        except (OSError, UnicodeError) as exc:
            raise DeviceUnreachable(f"{self.address}: cannot connect ({_reason(exc)})") from None
        sock = self._writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    async def _exchange(self, payload: bytes, data: bytes) -> bytes:
        """Write ``data`` (``payload`` framed) and read the reply."""
        if not self._usable():
            await self._connect()
        assert self._reader is not None and self._writer is not None
        reader, writer = self._reader, self._writer
        _trace("->", self.host, self.port, payload)
        try:
            writer.write(data)
            self.last_request_written = time.perf_counter()
            self.requests_sent += 1
            async with asyncio.timeout(self.timeout):  # no extra task, unlike wait_for
                reply = await self._read_frame(reader)
        except TimeoutError:
            await self._close()
            raise DeviceTimeout(f"{self.address}: no reply within {self.timeout:g} s") from None
        except (ConnectionError, OSError) as exc:
            raise _StaleConnection(exc.strerror or type(exc).__name__) from None
        except ProtocolError:
            await self._close()
            raise
        except asyncio.CancelledError:
            # The caller gave up mid-exchange: the reply may still arrive, and must
            # never be read as the answer to the next request on this socket.
            self.abort()
            raise
        _trace("<-", self.host, self.port, reply)
        return reply

    async def _read_frame(self, reader: asyncio.StreamReader) -> bytes:
        try:
            header = await reader.readexactly(codec.HEADER_SIZE)
        except asyncio.IncompleteReadError as exc:
            if not exc.partial:
                raise _StaleConnection("connection closed by the device") from None
            raise ProtocolError(f"{self.address}: connection closed inside the header") from None
        length = codec.parse_header(header)
        if header == b"HTTP":
            raise SpeaksHttp(
                f"{self.address}: the port answers HTTP, not the XOR protocol"
                " (a newer device: KLAP or AES)"
            )
        if length > self.max_frame:
            raise FrameTooLarge(
                f"{self.address}: reply announces {length} bytes, over the"
                f" {self.max_frame}-byte limit"
            )
        try:
            body = await reader.readexactly(length)
        except asyncio.IncompleteReadError as exc:
            raise ProtocolError(
                f"{self.address}: connection closed after {len(exc.partial)} of {length}"
                " reply bytes"
            ) from None
        return codec.decrypt(body)

    async def _close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is None:
            return
        writer.close()
        try:
            async with asyncio.timeout(0.5):  # not wait_for: see _connect
                await writer.wait_closed()
        except (TimeoutError, OSError):
            writer.transport.abort()


def _unread(reader: asyncio.StreamReader) -> int:
    """Bytes the event loop has already read from the socket but nobody consumed.

    ``StreamReader`` has no public accessor; ``_buffer`` has been its bytearray
    since Python 3.4 (if it ever goes, this check is skipped, not broken)."""
    return len(getattr(reader, "_buffer", b""))


def _reason(exc: Exception) -> str:
    """'Connection refused' rather than "Connect call failed ('127.0.0.1', 1)"."""
    if isinstance(exc, socket.gaierror):
        return f"unknown host: {(exc.strerror or str(exc)).lower()}"
    if isinstance(exc, OSError) and exc.errno:
        return os.strerror(exc.errno).lower()
    return str(exc) or type(exc).__name__


class _StaleConnection(Exception):
    """Internal: the socket died (reset, EOF before any reply byte)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# -- UDP ---------------------------------------------------------------------

DatagramHandler = Callable[[bytes, tuple[str, int]], None]


class _Collector(asyncio.DatagramProtocol):
    def __init__(self, handler: DatagramHandler) -> None:
        self.handler = handler

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.handler(data, (addr[0], addr[1]))

    def error_received(self, exc: Exception) -> None:
        pass  # ICMP port unreachable and the like: a silent target, not a failure


async def udp_probe(
    sends: list[tuple[bytes, tuple[str, int]]],
    timeout: float,
    handler: DatagramHandler,
    *,
    repeats: int = 2,
) -> None:
    """Send each (payload, address) from one socket; pass every reply to ``handler``.

    Replies are collected until ``timeout``. The probes are repeated ``repeats``
    times spread over the first part of the window, since UDP may drop one.
    """
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: _Collector(handler), family=socket.AF_INET, allow_broadcast=True
    )
    try:
        repeats = max(1, repeats)
        interval = timeout / (repeats + 1)
        for _ in range(repeats):
            for payload, address in sends:
                try:
                    transport.sendto(payload, address)
                except OSError as exc:
                    raise DeviceUnreachable(
                        f"{format_address(*address)}: cannot send ({exc})"
                    ) from None
            await asyncio.sleep(interval)
        await asyncio.sleep(max(0.0, timeout - interval * repeats))
    finally:
        transport.close()
