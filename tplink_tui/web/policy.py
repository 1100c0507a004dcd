"""The addresses and the token one ``serve`` run accepts (pure: no aiohttp import).

``guard`` applies this policy to every request; the reasons are explained there.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import socket
from collections.abc import Iterable
from dataclasses import dataclass

WILDCARDS = frozenset({"", "0.0.0.0", "::"})
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Origin:
    """A web origin: scheme, lower-case host (IPv6 without brackets), port."""

    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = DEFAULT_PORTS.get(self.scheme) == self.port
        return f"{self.scheme}://{host}" + ("" if default else f":{self.port}")


def split_host(value: str) -> tuple[str, int | None] | None:
    """``host[:port]`` or ``[v6][:port]`` as (normalised host, port or None); None if malformed."""
    value = value.strip().lower()
    port_text: str | None = None
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[1:end], value[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                return None
            port_text = rest[1:]
    elif value.count(":") == 1:
        name, port_text = value.split(":")
    elif ":" in value:
        return None  # a bare IPv6 address is not a valid Host
    else:
        name = value
    if not name or any(c in name for c in "/@?#\\ \t%") or not name.isascii():
        return None
    try:
        name = str(ipaddress.ip_address(name))
    except ValueError:
        if ":" in name:
            return None
    if port_text is None:
        return name, None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        return None
    return name, int(port_text)


def parse_origin(value: str) -> Origin | None:
    """An Origin header (or ``--allow-origin`` value) as an Origin; None if it is not one."""
    scheme, sep, rest = value.strip().partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in DEFAULT_PORTS:
        return None
    rest = rest.removesuffix("/")
    parts = split_host(rest)
    if parts is None:
        return None
    host, port = parts
    return Origin(scheme, host, DEFAULT_PORTS[scheme] if port is None else port)


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def new_token() -> str:
    return secrets.token_urlsafe(32)


class AccessPolicy:
    """The addresses and the token one ``serve`` run accepts."""

    def __init__(
        self, bind_host: str, port: int, *, allow_origins: Iterable[Origin] = (), token: str
    ) -> None:
        self.port = port
        self.token = token
        self.cookie_name = f"tplink-tui-token-{port}"
        self.allow_origins = frozenset(allow_origins)
        bound = bind_host.strip("[]").lower()
        self.any_ip = bound in WILDCARDS
        names = {str(ipaddress.ip_address(bound)) if _is_ip(bound) else bound}
        if self.any_ip or is_loopback(bound):
            names |= LOOPBACK_NAMES
        if self.any_ip:
            names |= {socket.gethostname().lower(), socket.getfqdn().lower()}
        self.names = frozenset(names - WILDCARDS)

    def host_allowed(self, header: str) -> bool:
        """Does this Host header name us (our address and port, or an allowed origin)?"""
        parts = split_host(header)
        return parts is not None and (self._ours(*parts) or self._proxy(*parts) is not None)

    def origin_allowed(self, header: str, host_header: str) -> bool:
        """Is this Origin an allowed one, or the page we served (``http://`` + our own Host)?"""
        origin = parse_origin(header)
        if origin is None:
            return False
        if origin in self.allow_origins:
            return True
        host = split_host(host_header)
        return (
            host is not None
            and self._ours(*host)
            and origin == Origin("http", host[0], host[1] or 80)
        )

    def secure_origin_for(self, host_header: str) -> bool:
        """Was this Host reached through an ``https://`` origin (so the page needs ``wss://``)?"""
        parts = split_host(host_header)
        proxy = None if parts is None else self._proxy(*parts)
        return proxy is not None and proxy.scheme == "https"

    def _ours(self, name: str, port: int | None) -> bool:
        """Our own address: the bound name (or its loopback equivalents) with our port."""
        return (port or 80) == self.port and (name in self.names or (self.any_ip and _is_ip(name)))

    def _proxy(self, name: str, port: int | None) -> Origin | None:
        """The ``--allow-origin`` this Host names (no port: the scheme's default port)."""
        for origin in self.allow_origins:
            default = DEFAULT_PORTS[origin.scheme]
            if name == origin.host and (port or default) == origin.port:
                return origin
        return None

    def token_ok(self, candidate: str | None) -> bool:
        if not candidate:
            return False
        return hmac.compare_digest(candidate.encode(), self.token.encode())
