"""Messages out of a reassembled stream: the 4-byte length, the body, the JSON inside.

A frame is decoded once its last byte is there; a hole in the stream inside a frame,
an implausible length or a body that does not decrypt to JSON is one ``Undecodable``
and reading goes on at the next segment that starts a plausible frame.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .. import codec, untrusted
from ..errors import ProtocolError
from ..transports import discovery_packet
from .reassembly import Chunk, Gap, Piece

MAX_FRAME = 16 * 1024 * 1024
"""Longest body believed: a length over this is not a TP-Link frame (or not its start)."""
# Where a frame may start inside lost-and-found bytes: a header announcing at most
# 32 MiB, then the ciphertext of "{" (every JSON object's first byte).
_FRAME_START = re.compile(b"\\x00[\\x00\\x01]..\\xd0", re.DOTALL)
_SCAN_KEEP = 4  # bytes kept between segments: a start may straddle two


@dataclass(frozen=True, slots=True)
class Decoded:
    """One message: its time, the capture packet that completed it, JSON or why not."""

    time: float
    index: int
    value: Any = None
    error: str | None = None
    size: int = 0


def _plausible(buffer: bytes) -> bool:
    """Whether a segment can start a frame (a header announcing a believable length)."""
    if len(buffer) < codec.HEADER_SIZE:
        return buffer.startswith(b"\x00")  # a header split over segments
    length = codec.parse_header(buffer[: codec.HEADER_SIZE])
    return 0 < length <= MAX_FRAME


def _decrypt(body: bytes) -> tuple[Any, str | None]:
    try:
        return codec.decode_json(codec.decrypt(body)), None
    except ProtocolError as exc:
        return None, f"{len(body)}-byte message does not decrypt to JSON: {exc}"


class _Framer:
    """Cut the stream into frames; remember when each one completed.

    A loss (a ``Gap``) drops the frame it cut; the bytes after it are skipped up to
    the next segment that starts a frame, and the whole loss is one report.
    """

    def __init__(self) -> None:
        self.out: list[Decoded] = []
        self.buffer = b""
        self.latest = 0.0
        self.index = 0
        self.lost = 0  # bytes the capture lacks since the last good frame
        self.cut = False  # whether the loss cut a frame
        self.skipping = 0  # bytes dropped while looking for the next frame start
        self.scan = b""  # not yet skipped: may hold the start of a frame header

    def chunk(self, chunk: Chunk) -> None:
        data = chunk.data
        if self.lost or self.skipping or self.scan or not (self.buffer or _plausible(data)):
            data = self._resync(data)
            if not data:
                self.latest, self.index = chunk.time, chunk.index
                return
        self._report_loss()
        if not self.buffer:
            self.latest = chunk.time
        if chunk.time >= self.latest:
            self.latest, self.index = chunk.time, chunk.index
        self.buffer += data
        self._frames()

    def _resync(self, data: bytes) -> bytes:
        """The data from the next frame start on (b"" while none is found yet)."""
        if not self.lost and not self.skipping and not self.scan and _plausible(data):
            return data
        window = self.scan + data
        found = _FRAME_START.search(window)
        if found is None:
            keep = window[-_SCAN_KEEP:]
            self.skipping += len(window) - len(keep)
            self.scan = keep
            return b""
        self.skipping += found.start()
        self.scan = b""
        return window[found.start() :]

    def _frames(self) -> None:
        while len(self.buffer) >= codec.HEADER_SIZE:
            length = codec.parse_header(self.buffer[: codec.HEADER_SIZE])
            if not 0 < length <= MAX_FRAME:
                self._fail(f"a header announces {length} bytes: not a TP-Link frame")
                return
            end = codec.HEADER_SIZE + length
            if len(self.buffer) < end:
                return
            value, error = _decrypt(self.buffer[codec.HEADER_SIZE : end])
            self.out.append(Decoded(self.latest, self.index, value, error, length))
            self.buffer = self.buffer[end:]

    def _fail(self, reason: str) -> None:
        self.out.append(Decoded(self.latest, self.index, error=reason, size=len(self.buffer)))
        self.buffer = b""

    def _report_loss(self) -> None:
        self.skipping += len(self.scan)
        self.scan = b""
        if self.lost:
            reason = f"{self.lost} bytes missing from the capture (a lost segment)"
            if self.cut:
                reason += ": the message they belonged to is lost"
            if self.skipping:
                reason += f"; {self.skipping} bytes after them skipped up to the next message"
        elif self.skipping:
            reason = f"{self.skipping} bytes that do not start a TP-Link frame were skipped"
        else:
            return
        self.out.append(Decoded(self.latest, self.index, error=reason, size=self.lost))
        self.lost, self.cut, self.skipping = 0, False, 0

    def gap(self, gap: Gap) -> None:
        if not self.lost:
            self._report_loss()  # bytes skipped before this loss are their own report
        self.lost += gap.size
        if self.buffer:
            self.cut = True
            self.buffer = b""
        elif self.skipping:
            self.cut = True

    def end(self, truncated: bool) -> list[Decoded]:
        self._report_loss()
        if self.buffer:
            if len(self.buffer) < codec.HEADER_SIZE:
                detail = f"{len(self.buffer)} bytes of a length header"
            else:
                length = codec.parse_header(self.buffer[: codec.HEADER_SIZE])
                detail = f"{len(self.buffer) - codec.HEADER_SIZE} of {length} body bytes"
            why = "the capture is truncated" if truncated else "the conversation stops"
            self._fail(f"incomplete message: {why} after {detail}")
        return self.out


def stream_messages(pieces: Iterable[Piece], *, truncated: bool = False) -> list[Decoded]:
    """Every framed message of one direction's reassembled stream."""
    framer = _Framer()
    for piece in pieces:
        if isinstance(piece, Gap):
            framer.gap(piece)
        elif piece.data:
            framer.chunk(piece)
    return framer.end(truncated)


def datagram_message(payload: bytes) -> tuple[Any, str | None]:
    """A UDP discovery datagram: the 20002 packet (plain JSON) or XOR without a header."""
    if payload[:1] == b"\x02" and len(payload) >= discovery_packet.HEADER.size:
        try:
            _, body = discovery_packet.parse_packet(payload)
            return untrusted.loads(body), None
        except (ValueError, RecursionError, UnicodeDecodeError) as exc:
            return None, f"{len(payload)}-byte discovery packet is not readable: {exc}"
    if not payload:
        return None, "empty datagram"
    try:
        return codec.decode_json(codec.decrypt(payload)), None
    except ProtocolError as exc:
        return None, f"{len(payload)}-byte datagram does not decrypt to JSON: {exc}"
