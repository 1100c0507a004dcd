"""How a captured message reads as text: shared by the CLI's ``decode`` and the dashboard.

The JSON is written by ``untrusted.dumps`` (terminal controls escaped, value exact);
addresses and times come from the capture's headers, which we parsed ourselves.
"""

from __future__ import annotations

from .. import untrusted
from ..address import format_address
from .conversation import Capture, Event

ARROW = "→"


def headline(event: Event) -> str:
    """``2026-01-01T10:00:00.000001Z  client->device  a:p → b:p  tcp``."""
    src, dst = format_address(*event.src), format_address(*event.dst)
    return f"{event.iso_time}  {event.direction}  {src} {ARROW} {dst}  {event.transport}"


def body(event: Event, *, indent: int | None = 2) -> str:
    """The message's JSON (pretty unless ``indent`` is None), or ``undecodable: why``."""
    if event.error is not None:
        return f"undecodable: {untrusted.display(event.error, limit=500)}"
    return untrusted.dumps(event.value, indent=indent)


def summary(capture: Capture) -> str:
    """``12 messages decoded, 1 undecodable, from 40 packets`` (+ why reading stopped)."""
    bad = len(capture.events) - capture.decoded
    text = f"{capture.decoded} messages decoded, {bad} undecodable, from {capture.packets} packets"
    if capture.truncated:
        text += f"; {capture.truncated}"
    return text
