"""UDP discovery: one encrypted sysinfo query to a broadcast (or unicast) address.

Every plug answers from its own address with its sysinfo. Devices that only speak
the newer authenticated protocols answer a probe on UDP 20002 instead; they are
reported as such (not silently missing). A bad reply is skipped and reported.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from . import codec
from .address import DEFAULT_PORT, format_address
from .devices import catalog
from .devices.models import SysInfo, parse_sysinfo
from .errors import TplinkError
from .transport import udp_probe

DEFAULT_TARGET = "255.255.255.255"  # the user's LAN; tests and demos use 127.255.255.255
NEW_PROTOCOL_PORT = 20002

# A minimal discovery header of the newer protocol (version 2, op 1, empty body):
# enough to make such devices answer from port 20002.
_NEW_PROTOCOL_PROBE = struct.pack(">BBHHBBII", 2, 0, 1, 0, 0x11, 0, 0, 0x5A6B7C8D)


@dataclass(slots=True)
class DiscoveredDevice:
    host: str
    port: int
    sysinfo: SysInfo


@dataclass(slots=True)
class DiscoveryResult:
    devices: list[DiscoveredDevice] = field(default_factory=list)
    new_protocol_hosts: list[str] = field(default_factory=list)
    invalid: list[tuple[str, str]] = field(default_factory=list)  # (host:port, reason)


async def discover(
    target: str = DEFAULT_TARGET,
    port: int = DEFAULT_PORT,
    timeout: float = 3.0,
    *,
    new_protocol_port: int | None = NEW_PROTOCOL_PORT,
) -> DiscoveryResult:
    """Find devices answering on ``target:port`` within ``timeout`` seconds."""
    result = DiscoveryResult()
    seen: set[tuple[str, int]] = set()  # addresses that gave a valid answer
    invalid: dict[tuple[str, int], str] = {}  # addresses that so far gave only garbage

    def on_reply(data: bytes, addr: tuple[str, int]) -> None:
        if addr in seen:
            return
        host, from_port = addr
        if new_protocol_port is not None and from_port == new_protocol_port and from_port != port:
            seen.add(addr)
            if host not in result.new_protocol_hosts:
                result.new_protocol_hosts.append(host)
            return
        try:
            reply = codec.decode_json(codec.decrypt(data))
            system = reply.get("system")
            info = system.get("get_sysinfo") if isinstance(system, dict) else None
            device = DiscoveredDevice(host, from_port, parse_sysinfo(info))
        except TplinkError as exc:
            # Reported once per address; a later valid reply from it still counts.
            invalid.setdefault(addr, str(exc))
            return
        seen.add(addr)
        invalid.pop(addr, None)
        result.devices.append(device)

    sends = [(codec.datagram(catalog.sysinfo()), (target, port))]
    if new_protocol_port is not None and new_protocol_port != port:
        sends.append((_NEW_PROTOCOL_PROBE, (target, new_protocol_port)))
    await udp_probe(sends, timeout, on_reply)
    result.devices.sort(key=lambda d: (d.host, d.port))
    result.invalid = [(format_address(host, p), reason) for (host, p), reason in invalid.items()]
    # A host that answered the legacy query is fine, whatever else it said.
    legacy = {d.host for d in result.devices}
    result.new_protocol_hosts = [h for h in result.new_protocol_hosts if h not in legacy]
    return result
