"""``host[:port]`` parsing and formatting, shared by the client, the CLI and the store.

A host is an IPv4 dotted quad, an IPv6 literal (bracketed when a port follows) or a
DNS name. Anything that only *looks* like one of the first two but is not valid
(``300.1.1.1``, ``1.2.3``, ``127.0.0.1:40200:1``) is malformed here, so it is a
usage error instead of a slow DNS lookup that fails as "unreachable".
"""

from __future__ import annotations

import ipaddress
import re

DEFAULT_PORT = 9999
TRANSPORT_NAMES = ("auto", "xor", "klap", "aes")
"""How a device may be reached: what `--transport` and a saved `transport` may name."""

_DOTTED_NUMBERS = re.compile(r"[0-9.]+")
_MAX_NAME = 253
_MAX_LABEL = 63


def parse_address(text: str, default_port: int = DEFAULT_PORT) -> tuple[str, int]:
    """Split ``host[:port]`` (IPv6 as ``[addr]:port`` or bare); ValueError when malformed."""
    text = text.strip()
    host, port_text = text, ""
    bracketed = text.startswith("[")
    if bracketed:
        end = text.find("]")
        if end < 0:
            raise ValueError(f"malformed host {text!r}: missing ']'")
        host, rest = text[1:end], text[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"malformed host {text!r}")
            port_text = rest[1:]
            if not port_text:
                raise ValueError(f"malformed host {text!r}: empty port")
    elif text.count(":") == 1:
        host, port_text = text.split(":")
        if not port_text:
            raise ValueError(f"malformed host {text!r}: empty port")
    if not host or any(c.isspace() or c in "/@?#[]" for c in host):
        raise ValueError(f"malformed host {text!r}")
    _check_host(text, host, bracketed)
    port = default_port
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError(f"malformed host {text!r}: port must be 1-65535")
        port = int(port_text)
    return host, port


def _check_host(text: str, host: str, bracketed: bool) -> None:
    """Reject hosts that cannot be an IP literal or a DNS name (ValueError)."""
    if ":" in host or bracketed:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            hint = "" if bracketed else " (an IPv6 address with a port goes in [brackets])"
            raise ValueError(f"malformed host {text!r}: not a valid IPv6 address{hint}") from None
        return
    if _DOTTED_NUMBERS.fullmatch(host.rstrip(".")):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise ValueError(
                f"malformed host {text!r}: not a valid IPv4 address (four numbers 0-255)"
            ) from None
        return
    name = host[:-1] if host.endswith(".") else host
    labels = name.split(".")
    if len(name) > _MAX_NAME or any(not 0 < len(label) <= _MAX_LABEL for label in labels):
        raise ValueError(f"malformed host {text!r}: not a valid host name")


def format_address(host: str, port: int = DEFAULT_PORT) -> str:
    """``host:port``, bracketing IPv6 literals; also the device key used by the history."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
