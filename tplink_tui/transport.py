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
import threading
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


class _Timeout(Exception):
    """Internal: the request's deadline passed before its reply was complete."""


_reads = threading.local()
READ_BUFFER = 1 << 16


def _read_buffer() -> memoryview:
    """This thread's buffer for socket reads, shared by all its connections: the loop
    calls ``buffer_updated`` right after each read into it, before any other read.

    (A plain ``Protocol`` gets a fresh bytes object per read, made by ``recv`` of
    256 KiB and cut down: past malloc's mmap threshold that is an mmap and a munmap
    per reply, a good part of the client's CPU at hundreds of devices.)"""
    view: memoryview | None = getattr(_reads, "view", None)
    if view is None:
        view = _reads.view = memoryview(bytearray(READ_BUFFER))
    return view


class _Framer(asyncio.BufferedProtocol):
    """Collects one reply frame (4-byte length, then the body) for the waiting request.

    Bytes that arrive while no request waits stay in ``buffer``: the connection
    sees them before its next request and drops the socket (never read as a reply).
    """

    __slots__ = ("address", "buffer", "closed", "gone", "max_frame", "transport", "waiter")

    def __init__(self, address: str, max_frame: int, loop: asyncio.AbstractEventLoop) -> None:
        self.address = address
        self.max_frame = max_frame
        self.buffer = b""
        self.waiter: asyncio.Future[bytes] | None = None
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.gone: asyncio.Future[None] = loop.create_future()  # set by connection_lost

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def get_buffer(self, sizehint: int) -> memoryview:
        return _read_buffer()

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(_read_buffer()[:nbytes].tobytes())

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data if self.buffer else data
        waiter = self.waiter
        if waiter is None or waiter.done() or len(buffer) < 4:
            self.buffer = buffer
            return
        length = int.from_bytes(buffer[:4], "big")
        if length > self.max_frame:
            self.buffer = b""
            self.waiter = None
            waiter.set_exception(self._oversized(buffer[:4], length))
            return
        end = 4 + length
        if len(buffer) < end:
            self.buffer = buffer
            return
        self.buffer = buffer[end:]  # a second frame in the same read: unread, see above
        self.waiter = None
        waiter.set_result(buffer[4:end])

    def _oversized(self, header: bytes, length: int) -> ProtocolError:
        if header == b"HTTP":
            return SpeaksHttp(
                f"{self.address}: the port answers HTTP, not the XOR protocol"
                " (a newer device: KLAP or AES)"
            )
        return FrameTooLarge(
            f"{self.address}: reply announces {length} bytes, over the {self.max_frame}-byte limit"
        )

    def eof_received(self) -> bool:
        return False  # close our side too: connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.gone.done():
            self.gone.set_result(None)
        waiter, self.waiter = self.waiter, None
        if waiter is None or waiter.done():
            return
        buffer = self.buffer
        if isinstance(exc, OSError):  # a reset: as before any reply byte (one retry)
            waiter.set_exception(_StaleConnection(exc.strerror or type(exc).__name__))
        elif not buffer:
            waiter.set_exception(_StaleConnection("connection closed by the device"))
        elif len(buffer) < 4:
            waiter.set_exception(
                ProtocolError(f"{self.address}: connection closed inside the header")
            )
        else:
            length = int.from_bytes(buffer[:4], "big")
            waiter.set_exception(
                ProtocolError(
                    f"{self.address}: connection closed after {len(buffer) - 4} of {length}"
                    " reply bytes"
                )
            )

    def timed_out(self) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(_Timeout())


class Connection:
    """A persistent framed TCP connection to one device.

    One ``asyncio.Protocol`` per socket and one future per request; the timeout is
    a deadline checked by one timer per connection that is only moved, not
    cancelled and re-armed, per request (so no cancelled timers pile up in the
    event loop's heap when hundreds of devices are polled flat out).
    """

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
        self._protocol: _Framer | None = None
        self._lock = asyncio.Lock()
        self.requests_sent = 0
        self.stale_discarded = 0  # kept-alive sockets dropped for holding unread bytes
        self.last_request_written: float | None = None
        self._frames: dict[bytes, bytes] = {}
        self._deadline = 0.0  # loop time the request in flight must be answered by
        self._timer: asyncio.TimerHandle | None = None

    @property
    def address(self) -> str:
        """``host:port`` (IPv6 bracketed): how every error message names the device."""
        return format_address(self.host, self.port)

    @property
    def is_open(self) -> bool:
        proto = self._protocol
        return proto is not None and not proto.closed and not _closing(proto)

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
        proto, self._protocol = self._protocol, None
        if proto is not None and proto.transport is not None:
            proto.transport.abort()

    # -- internals -------------------------------------------------------

    def _usable(self, check_idle: bool = False) -> bool:
        proto = self._protocol
        if proto is None:
            return False
        if proto.closed or _closing(proto) or (check_idle and self._stirred()):
            # The peer closed while we were idle: forget it quietly.
            self.abort()
            return False
        if proto.buffer:
            # Bytes nobody asked for (a second frame for the last request): reading
            # on would shift every later reply by one. Start over on a fresh socket.
            self.stale_discarded += 1
            traffic_log.debug("%s: dropping a connection with unread bytes", self.address)
            self.abort()
            return False
        return True

    def _stirred(self) -> bool:
        """True when the idle socket is readable: between requests a device sends
        nothing, so that is a close (or stray bytes) the event loop has not read yet."""
        proto = self._protocol
        sock = proto.transport.get_extra_info("socket") if proto and proto.transport else None
        if sock is None:
            return False
        poller = select.poll()
        try:
            poller.register(sock.fileno(), select.POLLIN)
            return bool(poller.poll(0))
        except (OSError, ValueError):
            return True

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        proto = _Framer(self.address, self.max_frame, loop)
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancellation
            # that lands as the inner call finishes, and the task then runs on.
            async with asyncio.timeout(self.connect_timeout):
                await loop.create_connection(lambda: proto, self.host, self.port)
        except TimeoutError:
            raise DeviceTimeout(
                f"{self.address}: no connection within {self.connect_timeout:g} s"
            ) from None
        except (OSError, UnicodeError) as exc:
            raise DeviceUnreachable(f"{self.address}: cannot connect ({_reason(exc)})") from None
        assert proto.transport is not None
        sock = proto.transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._protocol = proto

    async def _exchange(self, payload: bytes, data: bytes) -> bytes:
        """Write ``data`` (``payload`` framed) and read the reply."""
        if not self._usable():
            await self._connect()
        proto = self._protocol
        assert proto is not None and proto.transport is not None
        if _listeners or traffic_log.isEnabledFor(logging.DEBUG):
            _trace("->", self.host, self.port, payload)
        loop = asyncio.get_running_loop()
        waiter = proto.waiter = loop.create_future()
        try:
            proto.transport.write(data)
            self.last_request_written = time.perf_counter()
            self.requests_sent += 1
            self._arm(loop)
            body = await waiter
        except _Timeout:
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
        reply = codec.decrypt(body)
        if _listeners or traffic_log.isEnabledFor(logging.DEBUG):
            _trace("<-", self.host, self.port, reply)
        return reply

    def _arm(self, loop: asyncio.AbstractEventLoop) -> None:
        """Set this request's deadline; start the connection's timer if none runs."""
        self._deadline = loop.time() + self.timeout
        timer = self._timer
        if timer is not None and timer.when() > self._deadline:  # the timeout was shortened
            timer.cancel()
            timer = None
        if timer is None:
            self._timer = loop.call_at(self._deadline, self._check_deadline)

    def _check_deadline(self) -> None:
        """The timer fired: time out the request in flight, or move on to its deadline."""
        self._timer = None
        proto = self._protocol
        if proto is None or proto.waiter is None or proto.waiter.done():
            return  # nothing in flight: the next request arms afresh
        loop = asyncio.get_running_loop()
        if loop.time() >= self._deadline:
            proto.timed_out()
        else:
            self._timer = loop.call_at(self._deadline, self._check_deadline)

    async def _close(self) -> None:
        proto, self._protocol = self._protocol, None
        if proto is None or proto.transport is None:
            return
        proto.transport.close()
        try:
            async with asyncio.timeout(0.5):  # not wait_for: see _connect
                await asyncio.shield(proto.gone)
        except (TimeoutError, OSError):
            proto.transport.abort()


def _closing(proto: _Framer) -> bool:
    return proto.transport is None or proto.transport.is_closing()


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
