"""A capture as the conversation the old dissector showed: every message, in time order.

TCP on the device ports (9999 unless told otherwise) is reassembled per direction
and cut into frames; UDP on those ports and on 20002 is decoded one datagram at a
time (discovery). The side on a device port is the device, so each message knows
its direction. Pure: bytes in, ``Capture`` out (no I/O, no Textual).
"""

from __future__ import annotations

import datetime
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from ..address import format_address
from ..transports.discovery_packet import DISCOVERY_PORT
from .messages import datagram_message, stream_messages
from .packets import Packet, read_packets
from .reassembly import reassemble

DEFAULT_PORTS = (9999,)
TO_DEVICE = "client->device"
TO_CLIENT = "device->client"


@dataclass(frozen=True, slots=True)
class Event:
    """One message of the conversation (or one that could not be decoded)."""

    time: float
    index: int
    transport: str
    src: tuple[str, int]
    dst: tuple[str, int]
    to_device: bool
    value: Any = None
    error: str | None = None

    @property
    def device(self) -> tuple[str, int]:
        return self.dst if self.to_device else self.src

    @property
    def direction(self) -> str:
        return TO_DEVICE if self.to_device else TO_CLIENT

    @property
    def iso_time(self) -> str:
        stamp = datetime.datetime.fromtimestamp(self.time, datetime.UTC)
        return stamp.isoformat(timespec="microseconds").replace("+00:00", "Z")

    def as_json(self) -> dict[str, Any]:
        """The ``--json`` object: time, src, dst, direction, port, json (+ why not)."""
        out: dict[str, Any] = {
            "time": self.iso_time,
            "src": format_address(*self.src),
            "dst": format_address(*self.dst),
            "direction": self.direction,
            "port": self.device[1],
            "transport": self.transport,
            "json": self.value,
        }
        if self.error is not None:
            out["undecodable"] = self.error
        return out


@dataclass(slots=True)
class Capture:
    """What a capture held: its messages in time order, and how reading went."""

    events: list[Event] = field(default_factory=list)
    packets: int = 0
    truncated: str | None = None

    @property
    def decoded(self) -> int:
        return sum(1 for event in self.events if event.error is None)


def _keep(event: Event, follow: tuple[str, int | None] | None) -> bool:
    if follow is None:
        return True
    host, port = follow
    peer = event.device
    return peer[0] == host and port in (None, peer[1])


def _tcp_events(packets: list[Packet], ports: Collection[int], truncated: bool) -> list[Event]:
    flows: dict[tuple[str, int, str, int], list[Packet]] = {}
    for packet in packets:
        if packet.proto == "tcp" and (packet.dport in ports or packet.sport in ports):
            flows.setdefault((packet.src, packet.sport, packet.dst, packet.dport), []).append(
                packet
            )
    events = []
    for (src, sport, dst, dport), flow in flows.items():
        to_device = dport in ports
        for message in stream_messages(reassemble(flow), truncated=truncated):
            events.append(
                Event(
                    message.time,
                    message.index,
                    "tcp",
                    (src, sport),
                    (dst, dport),
                    to_device,
                    message.value,
                    message.error,
                )
            )
    return events


def _udp_events(packets: list[Packet], ports: Collection[int]) -> list[Event]:
    """Datagrams to a device port, and the answers to their senders (from any port:
    a device answers a probe sent to a discovery port from its own address and port)."""
    udp_ports = {*ports, DISCOVERY_PORT}
    askers: set[tuple[str, int]] = set()
    events = []
    for packet in packets:
        if packet.proto != "udp":
            continue
        is_reply = (packet.dst, packet.dport) in askers
        to_device = not is_reply and packet.dport in udp_ports
        if to_device:
            askers.add((packet.src, packet.sport))
        elif not is_reply and packet.sport not in udp_ports:
            continue
        value: Any = None
        error: str | None = f"datagram cut short by the capture ({packet.missing} bytes lost)"
        if not packet.missing:
            value, error = datagram_message(packet.payload)
        src, dst = (packet.src, packet.sport), (packet.dst, packet.dport)
        events.append(Event(packet.time, packet.index, "udp", src, dst, to_device, value, error))
    return events


def decode_capture(
    data: bytes,
    ports: Collection[int] = DEFAULT_PORTS,
    follow: tuple[str, int | None] | None = None,
) -> Capture:
    """Every message of a pcap/pcapng capture; ``follow`` keeps one device (host, port)."""
    read = read_packets(data)
    ports = set(ports)
    truncated = read.truncated is not None
    events = _tcp_events(read.packets, ports, truncated) + _udp_events(read.packets, ports)
    events = [event for event in events if _keep(event, follow)]
    events.sort(key=lambda event: (event.time, event.index))
    return Capture(events, len(read.packets), read.truncated)
