"""TCP reassembly: each direction of a conversation as ordered bytes, with its holes.

Segments are put in sequence-number order (relative to the SYN when the capture has
it, else to the lowest sequence number seen, modulo 2**32), bytes already placed are
skipped (retransmissions, overlaps), and a hole where no segment carried the bytes
is a ``Gap``. Each ``Chunk`` keeps the capture time of the segment it came from, so a
message's time is when its last byte arrived, whatever order the segments came in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .packets import Packet

_MOD = 1 << 32
_HALF = 1 << 31


@dataclass(frozen=True, slots=True)
class Chunk:
    """Contiguous new bytes of the stream, as one segment brought them."""

    time: float
    index: int  # the packet's number in the capture
    data: bytes


@dataclass(frozen=True, slots=True)
class Gap:
    """Bytes of the stream that no captured segment carried."""

    size: int


Piece = Chunk | Gap


def _relative(seq: int, ref: int) -> int:
    """``seq - ref`` on the 32-bit circle, as a signed offset."""
    offset = (seq - ref) % _MOD
    return offset - _MOD if offset >= _HALF else offset


def reassemble(segments: Iterable[Packet]) -> list[Piece]:
    """One direction's segments (capture order) as its byte stream in order."""
    packets = list(segments)
    if not packets:
        return []
    syns = [p for p in packets if p.syn]
    ref = (syns[0].seq + 1) % _MOD if syns else packets[0].seq
    placed: list[tuple[int, float, int, Packet]] = []
    for packet in packets:
        start = _relative(packet.seq, ref)
        if packet.syn:
            start += 1  # the SYN takes one sequence number before the data
        if packet.payload or packet.missing:
            placed.append((start, packet.time, packet.index, packet))
    if not placed:
        return []
    placed.sort(key=lambda item: (item[0], item[1], item[2]))
    position = 0 if syns else placed[0][0]
    pieces: list[Piece] = []
    for start, time, index, packet in placed:
        end = start + len(packet.payload)
        if end <= position:
            continue  # a retransmission of bytes already placed
        if start > position:
            pieces.append(Gap(start - position))
            position = start
        pieces.append(Chunk(time, index, packet.payload[position - start :]))
        position = end
    return pieces
