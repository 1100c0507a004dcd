"""Reading packet captures of smart-plug traffic (what the old Wireshark dissector did).

``decode_capture(bytes)`` reads a pcap or pcapng file with dpkt, reassembles TCP
conversations on the device ports, decrypts every message and returns them in time
order. No I/O and no Textual: the CLI's ``decode`` and the dashboard's traffic pane
both call it.
"""

from __future__ import annotations

from .conversation import DEFAULT_PORTS, TO_CLIENT, TO_DEVICE, Capture, Event, decode_capture
from .packets import CaptureError, is_capture

__all__ = [
    "DEFAULT_PORTS",
    "TO_CLIENT",
    "TO_DEVICE",
    "Capture",
    "CaptureError",
    "Event",
    "decode_capture",
    "is_capture",
]
