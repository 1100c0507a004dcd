"""Packets out of a pcap or pcapng file, with dpkt: link layer, IPv4/IPv6, TCP or UDP.

Only what reassembly and decoding need is kept (``Packet``). A file that is not a
capture is a ``CaptureError``; a capture cut short (a partial record at the end, or
packets shorter than their headers say because of a small snap length) is not: its
packets come out as far as they go, and ``Packets.truncated`` says what was lost.
"""

from __future__ import annotations

import io
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import dpkt

from ..errors import ProtocolError

PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1",
    b"\xa1\xb2\xc3\xd4",
    b"\x4d\x3c\xb2\xa1",
    b"\xa1\xb2\x3c\x4d",
}
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"

_TCP_FLAGS_SYN = dpkt.tcp.TH_SYN
_TCP_FLAGS_FIN = dpkt.tcp.TH_FIN


class CaptureError(ProtocolError):
    """The bytes are not a pcap or pcapng capture we can read (exit 5: nothing decoded)."""


def is_capture(data: bytes) -> bool:
    """Whether ``data`` starts like a pcap or pcapng file (the magic number)."""
    return data[:4] in PCAP_MAGICS or data[:4] == PCAPNG_MAGIC


@dataclass(frozen=True, slots=True)
class Packet:
    """One TCP segment or UDP datagram: where it went, when, and its payload."""

    index: int
    time: float
    proto: str  # "tcp" or "udp"
    src: str
    sport: int
    dst: str
    dport: int
    payload: bytes
    missing: int = 0
    """Payload bytes the packet carried but the capture did not keep (snap length)."""
    seq: int = 0
    syn: bool = False
    fin: bool = False


@dataclass(slots=True)
class Packets:
    """Every TCP/UDP packet of a capture, and what could not be read."""

    packets: list[Packet] = field(default_factory=list)
    truncated: str | None = None
    """Why reading stopped early (a record cut short), or None."""
    frames: int = 0


def _reader(data: bytes) -> Any:
    if not is_capture(data):
        raise CaptureError("not a pcap or pcapng capture (no capture file magic number)")
    stream = io.BytesIO(data)
    try:
        if data[:4] == PCAPNG_MAGIC:
            return dpkt.pcapng.Reader(stream)
        return dpkt.pcap.Reader(stream)
    except (dpkt.dpkt.UnpackError, ValueError, struct.error) as exc:
        raise CaptureError(f"unreadable capture header ({exc or type(exc).__name__})") from None


def _network_layer(linktype: int, frame: bytes) -> Any:
    """The IP or IP6 object inside a frame of ``linktype``, or None."""
    if linktype == dpkt.pcap.DLT_EN10MB:
        layer: Any = dpkt.ethernet.Ethernet(frame).data
    elif linktype == dpkt.pcap.DLT_LINUX_SLL:
        layer = dpkt.sll.SLL(frame).data
    elif linktype == dpkt.pcap.DLT_LINUX_SLL2:
        layer = dpkt.sll2.SLL2(frame).data
    elif linktype in (dpkt.pcap.DLT_NULL, dpkt.pcap.DLT_LOOP):
        layer = dpkt.loopback.Loopback(frame).data
    elif linktype in (dpkt.pcap.DLT_RAW, 14, 101, dpkt.pcap.DLT_IPV4, dpkt.pcap.DLT_IPV6):
        version = frame[0] >> 4 if frame else 0
        layer = dpkt.ip.IP(frame) if version == 4 else dpkt.ip6.IP6(frame) if version == 6 else None
    else:
        raise CaptureError(
            f"link type {linktype} is not supported (Ethernet, SLL, loopback, raw IP)"
        )
    return layer if isinstance(layer, dpkt.ip.IP | dpkt.ip6.IP6) else None


def _address(ip: Any) -> tuple[str, str]:
    family = socket.AF_INET if isinstance(ip, dpkt.ip.IP) else socket.AF_INET6
    return socket.inet_ntop(family, ip.src), socket.inet_ntop(family, ip.dst)


def _declared_payload(ip: Any, transport: Any) -> int:
    """The payload length the headers announce (more than we have when snapped)."""
    if isinstance(ip, dpkt.ip.IP):
        ip_payload = int(ip.len) - 4 * int(ip.hl)
    else:
        extensions = getattr(ip, "all_extension_headers", None) or []
        ip_payload = int(ip.plen) - sum(len(bytes(h)) for h in extensions)
    if isinstance(transport, dpkt.tcp.TCP):
        return ip_payload - 4 * int(transport.off)
    return ip_payload - 8


def _packet(index: int, ts: float, ip: Any) -> Packet | None:
    transport = ip.data
    if not isinstance(transport, dpkt.tcp.TCP | dpkt.udp.UDP):
        return None
    src, dst = _address(ip)
    payload = bytes(transport.data)
    missing = max(0, _declared_payload(ip, transport) - len(payload))
    if isinstance(transport, dpkt.udp.UDP):
        return Packet(
            index, ts, "udp", src, transport.sport, dst, transport.dport, payload, missing
        )
    flags = int(transport.flags)
    return Packet(
        index,
        ts,
        "tcp",
        src,
        transport.sport,
        dst,
        transport.dport,
        payload,
        missing,
        seq=int(transport.seq),
        syn=bool(flags & _TCP_FLAGS_SYN),
        fin=bool(flags & _TCP_FLAGS_FIN),
    )


def _pcap_cut_short(data: bytes) -> bool:
    """Whether a classic pcap's last record holds fewer bytes than its header says.

    (dpkt hands such a record over as it is; pcapng's reader raises instead.)
    """
    if data[:4] not in PCAP_MAGICS:
        return False
    order = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    at = 24
    while at + 16 <= len(data):
        (caplen,) = struct.unpack_from(order + "I", data, at + 8)
        at += 16 + caplen
    return at != len(data)


def read_packets(data: bytes) -> Packets:
    """Every TCP and UDP packet in a pcap/pcapng capture held in ``data``."""
    reader = _reader(data)
    linktype = int(reader.datalink())
    result = Packets()
    frames: Iterator[tuple[float, bytes]] = iter(reader)
    while True:
        try:
            ts, frame = next(frames)
        except StopIteration:
            break
        except (dpkt.dpkt.UnpackError, ValueError, struct.error):
            result.truncated = f"the capture ends inside a record after {result.frames} packets"
            break
        result.frames += 1
        try:
            ip = _network_layer(linktype, frame)
            packet = _packet(result.frames, float(ts), ip) if ip is not None else None
        except (dpkt.dpkt.UnpackError, ValueError, struct.error, IndexError):
            continue  # a frame too short for its own headers: nothing of ours in it
        if packet is not None:
            result.packets.append(packet)
    if result.truncated is None and _pcap_cut_short(data):
        result.truncated = f"the capture ends inside its packet {result.frames}"
    return result
