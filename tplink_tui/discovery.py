"""UDP discovery: one encrypted sysinfo query to a broadcast (or unicast) address.

Every plug answers from its own address with its sysinfo. Devices that only speak
the newer authenticated protocols answer a probe on UDP 20002 instead; they are
decoded into ``NewDevice`` (model, MAC, KLAP or AES, HTTP port, login version),
enough to connect with the right transport. A bad legacy reply is skipped and
reported; an undecodable 20002 answer still names its host in
``new_protocol_hosts``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import codec
from .address import DEFAULT_PORT, format_address
from .devices import catalog
from .devices.models import SysInfo, normalize_mac, parse_sysinfo
from .errors import TplinkError
from .transport import udp_probe
from .transports import discovery_packet
from .transports.http import DEFAULT_HTTP_PORT

DEFAULT_TARGET = "255.255.255.255"  # the user's LAN; tests and demos use 127.255.255.255
NEW_PROTOCOL_PORT = discovery_packet.DISCOVERY_PORT
_NEW_PROTOCOL_PROBE = discovery_packet.probe()


@dataclass(slots=True)
class DiscoveredDevice:
    host: str
    port: int
    sysinfo: SysInfo


@dataclass(frozen=True, slots=True)
class NewDevice:
    """A newer device's 20002 answer: how to reach it (every text field untrusted)."""

    host: str  # where the answer came from (not the "ip" it claims)
    port: int  # the UDP port it answered from
    device_type: str
    model: str
    mac: str
    device_id: str
    encrypt_type: str  # "KLAP" or "AES" (as the device spells it, upper-cased)
    http_port: int
    https: bool
    login_version: int

    @property
    def transport(self) -> str:
        """The ``DeviceClient`` transport name for it: "klap" or "aes" (else "auto")."""
        kind = self.encrypt_type.lower()
        return kind if kind in ("klap", "aes") else "auto"


def parse_new_device(host: str, port: int, result: dict[str, Any]) -> NewDevice:
    """A 20002 answer's result; ValueError when it lacks what a connection needs."""

    def text(key: str, data: dict[str, Any] = result) -> str:
        value = data.get(key, "")
        if not isinstance(value, str):
            raise ValueError(f"{key!r} should be text")
        return value

    def number(data: dict[str, Any], key: str, default: int) -> int:
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
            raise ValueError(f"{key!r} should be a port-sized number")
        return value

    scheme = result.get("mgt_encrypt_schm")
    if not isinstance(scheme, dict):
        raise ValueError("no 'mgt_encrypt_schm'")
    model = text("model")
    if not model:
        raise ValueError("no 'model'")
    return NewDevice(
        host=host,
        port=port,
        device_type=text("device_type"),
        model=model,
        mac=normalize_mac(text("mac")),
        device_id=text("device_id"),
        encrypt_type=text("encrypt_type", scheme).upper(),
        http_port=number(scheme, "http_port", DEFAULT_HTTP_PORT),
        https=scheme.get("is_support_https") is True,
        login_version=number(scheme, "lv", 1),
    )


@dataclass(slots=True)
class DiscoveryResult:
    devices: list[DiscoveredDevice] = field(default_factory=list)
    new_protocol_hosts: list[str] = field(default_factory=list)
    newer: list[NewDevice] = field(default_factory=list)  # the decoded 20002 answers
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
            if host not in result.new_protocol_hosts:
                result.new_protocol_hosts.append(host)
            try:
                found = parse_new_device(host, from_port, discovery_packet.answer_result(data))
            except ValueError:
                return  # a newer device all the same: its host is listed
            # Several can share an address (the simulator): one per HTTP port.
            if all((n.host, n.http_port) != (host, found.http_port) for n in result.newer):
                result.newer.append(found)
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
    # The same device answering both ways (same address and MAC) is listed once, as the
    # old protocol; several simulated devices on one loopback address stay apart.
    same = {(d.host, normalize_mac(d.sysinfo.mac)) for d in result.devices}
    result.newer = sorted(
        (n for n in result.newer if (n.host, normalize_mac(n.mac)) not in same),
        key=lambda n: (n.host, n.http_port),
    )
    return result
