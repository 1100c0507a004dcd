"""Raw-socket helpers: talk to a device with nothing but the codec.

Tests use these to see exactly what the simulator puts on the wire (a fault's
bytes, a frame split in two), independent of the project's client. Every
helper refuses targets outside loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from typing import Any

from .. import codec
from .server import is_loopback


def _guard(host: str) -> None:
    if not is_loopback(host):
        raise ValueError(f"wire helpers only talk to loopback, not {host}")


class RawConnection:
    """One TCP connection; ``request`` may be called many times on it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, host: str, port: int) -> RawConnection:
        _guard(host)
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    def send(self, request: dict[str, Any] | bytes) -> None:
        payload = request if isinstance(request, bytes) else codec.encode_request(request)
        self.writer.write(codec.frame(payload))

    async def read_frame(self, timeout: float = 2.0) -> bytes:
        """The decrypted body of the next reply frame."""
        header = await asyncio.wait_for(self.reader.readexactly(4), timeout)
        body = await asyncio.wait_for(self.reader.readexactly(codec.parse_header(header)), timeout)
        return codec.decrypt(body)

    async def read_json(self, timeout: float = 2.0) -> dict[str, Any]:
        return dict(json.loads(await self.read_frame(timeout)))

    async def request(self, request: dict[str, Any], timeout: float = 2.0) -> dict[str, Any]:
        self.send(request)
        return await self.read_json(timeout)

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(self.writer.wait_closed(), 1.0)

    async def __aenter__(self) -> RawConnection:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def tcp_query(
    host: str, port: int, request: dict[str, Any], timeout: float = 2.0
) -> dict[str, Any]:
    """One request on a fresh connection."""
    conn = await RawConnection.open(host, port)
    try:
        return await conn.request(request, timeout)
    finally:
        await conn.close()


def udp_collect(
    target: str,
    port: int,
    request: dict[str, Any] | bytes,
    timeout: float = 1.0,
    expect: int | None = None,
) -> dict[tuple[str, int], bytes]:
    """Send one datagram (broadcast allowed) and gather raw replies by sender address.

    Blocking, so it can run in a thread while the simulator's loop serves.
    Stops early once ``expect`` distinct senders have answered.
    """
    _guard(target)
    payload = request if isinstance(request, bytes) else codec.datagram(request)
    replies: dict[tuple[str, int], bytes] = {}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        sock.bind(("127.0.0.1", 0))
        sock.sendto(payload, (target, port))
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                data, addr = sock.recvfrom(65536)
            except TimeoutError:
                break
            replies[(addr[0], addr[1])] = data
            if expect is not None and len(replies) >= expect:
                break
    return replies
