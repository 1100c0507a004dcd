"""``host[:port]`` parsing and formatting, shared by the client, the CLI and the store."""

from __future__ import annotations

DEFAULT_PORT = 9999


def parse_address(text: str, default_port: int = DEFAULT_PORT) -> tuple[str, int]:
    """Split ``host[:port]`` (IPv6 as ``[addr]:port`` or bare); ValueError when malformed."""
    text = text.strip()
    host, port_text = text, ""
    if text.startswith("["):
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
    port = default_port
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError(f"malformed host {text!r}: port must be 1-65535")
        port = int(port_text)
    return host, port


def format_address(host: str, port: int = DEFAULT_PORT) -> str:
    """``host:port``, bracketing IPv6 literals; also the device key used by the history."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
