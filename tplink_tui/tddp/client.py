"""Send one TDDP request and wait for its reply.

Devices take requests on UDP 1040 and send the reply to the client's address on
UDP 61000, whatever port the request came from. So the client binds the reply port
first and sends from that same socket: a real device answers there by rule, and a
device (or the simulator) that answers the source port finds it too. Ports above
1023 need no root; an override of 0 takes any free port.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import random
import socket
from dataclasses import dataclass

from ..address import format_address
from ..errors import DeviceTimeout, DeviceUnreachable, ListenError, ProtocolError
from . import protocol
from .protocol import CODE_REPLY, CODE_REQUEST, Header, Packet


@dataclass(frozen=True, slots=True)
class Request:
    """What to ask: a read (type 3 by default) or a write (type 1) of one subtype."""

    subtype: int
    type: int = protocol.TYPE_CMD_SPE_OPR
    data: bytes = b""
    version: int = protocol.VERSION_DES
    username: str = protocol.DEFAULT_USER
    password: str = protocol.DEFAULT_PASSWORD


@dataclass(frozen=True, slots=True)
class Exchange:
    """The request as sent and the reply as received (both parsed)."""

    request: Header
    reply: Packet
    reply_from: tuple[str, int]
    reply_port: int


def _bind_address(host: str) -> str:
    try:
        return "127.0.0.1" if ipaddress.ip_address(host).is_loopback else "0.0.0.0"
    except ValueError:
        return "0.0.0.0"


def reply_socket(host: str, reply_port: int) -> socket.socket:
    """The UDP socket replies come to (and requests leave from)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind((_bind_address(host), reply_port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EACCES:
            raise ListenError(
                f"cannot listen on UDP port {reply_port} for the reply (ports below 1024"
                " need root): choose --reply-port above 1023, or 0 for any free port"
            ) from None
        if exc.errno == errno.EADDRINUSE:
            raise ListenError(
                f"UDP port {reply_port} is busy (another TDDP client?): choose"
                " --reply-port P, or 0 for any free port"
            ) from None
        raise ListenError(f"cannot listen on UDP port {reply_port}: {exc}") from None
    sock.setblocking(False)
    return sock


class _Replies(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[bytes, tuple[str, int]]] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.queue.put_nowait((data, (addr[0], addr[1])))

    def error_received(self, exc: Exception) -> None:
        pass  # an ICMP "port unreachable": the device stays silent, and we time out


def _answers(raw: bytes, sent: Header, source: str, host: str) -> bool:
    """Whether a datagram is the reply to ``sent`` (anything else is ignored).

    A reply from the device itself counts even when it does not echo our packet id
    or subtype (firmware differs); from anyone else only a reply that echoes both.
    """
    if len(raw) < protocol.HEADER_SIZE:
        return False
    header = Header.unpack(raw)
    if header.code != CODE_REPLY:
        return False
    if source == host:
        return True
    return header.packet_id == sent.packet_id and header.subtype == sent.subtype


async def request(
    host: str,
    ask: Request,
    *,
    port: int = protocol.REQUEST_PORT,
    reply_port: int = protocol.REPLY_PORT,
    timeout: float = 5.0,
) -> Exchange:
    """Send ``ask`` to host:port and return the parsed reply.

    ``DeviceTimeout`` when nothing answers in time, ``DigestMismatch`` (an
    ``AuthenticationError``) when the reply was made with another password.
    """
    key = protocol.des_key(ask.username, ask.password)
    header = Header(
        version=ask.version,
        type=ask.type,
        code=CODE_REQUEST,
        reply_info=0,
        length=0,
        packet_id=random.randrange(1, 0x10000),
        subtype=ask.subtype,
    )
    packet = protocol.build(header, ask.data, key)
    sent = Header.unpack(packet)
    sock = reply_socket(host, reply_port)
    bound = int(sock.getsockname()[1])
    loop = asyncio.get_running_loop()
    transport, replies = await loop.create_datagram_endpoint(_Replies, sock=sock)
    where = format_address(host, port)
    try:
        try:
            transport.sendto(packet, (host, port))
        except OSError as exc:
            raise DeviceUnreachable(f"{where}: cannot send the TDDP request ({exc})") from None
        async with asyncio.timeout(timeout):
            while True:
                raw, source = await replies.queue.get()
                if _answers(raw, sent, source[0], host):
                    break
    except TimeoutError:
        raise DeviceTimeout(
            f"{where}: no TDDP reply on UDP port {bound} within {timeout:g} s"
            " (is TDDP enabled? is --port right?)"
        ) from None
    finally:
        transport.close()
    try:
        reply = protocol.parse(raw, key)
    except protocol.DigestMismatch:
        raise protocol.DigestMismatch(
            where, "TDDP digest mismatch: wrong --user/--password (the default is admin/admin)"
        ) from None
    except ProtocolError as exc:
        raise ProtocolError(f"{where}: {exc}") from None
    return Exchange(sent, reply, source, bound)
