"""TDDP (TP-Link Device Debug Protocol) on UDP: the packet format and a client.

``protocol`` builds and parses packets (no I/O); ``client.request`` sends one and
waits for the reply on the reply port. The simulator answers it too
(``tplink_tui.simulator.tddp``).
"""

from __future__ import annotations

from .protocol import (
    CODE_REPLY,
    CODE_REQUEST,
    DEFAULT_PASSWORD,
    DEFAULT_USER,
    REPLY_PORT,
    REQUEST_PORT,
    DigestMismatch,
    Header,
    Packet,
    build,
    des_key,
    parse,
)

__all__ = [
    "CODE_REPLY",
    "CODE_REQUEST",
    "DEFAULT_PASSWORD",
    "DEFAULT_USER",
    "REPLY_PORT",
    "REQUEST_PORT",
    "DigestMismatch",
    "Header",
    "Packet",
    "build",
    "des_key",
    "parse",
]
