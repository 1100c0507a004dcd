"""What the command line asks of a bridge run: where to serve HTTP, which broker.

Pure (no aiohttp, no MQTT import), so parsing and the CLI stay light.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field

from ..address import parse_address
from ..errors import UsageError

DEFAULT_HTTP_PORT = 8321
DEFAULT_PREFIX = "tplink"
BRIDGE_LEVEL = "_bridge"  # device topic levels never start with "_" (see hub.slug)


@dataclass(frozen=True, slots=True)
class HttpOptions:
    host: str = "127.0.0.1"
    port: int = DEFAULT_HTTP_PORT
    token: str | None = field(default=None, repr=False)
    metrics_open: bool = False

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def parse_http(text: str) -> tuple[str, int]:
    """``HOST:PORT``, ``:PORT`` or ``PORT`` (loopback); UsageError otherwise."""
    text = text.strip()
    if text.isdigit():
        text = f"127.0.0.1:{text}"
    elif text.startswith(":"):
        text = "127.0.0.1" + text
    try:
        host, port = parse_address(text, DEFAULT_HTTP_PORT)
    except ValueError as exc:
        raise UsageError(f"--http {text!r}: {exc} (expected HOST:PORT)") from None
    if not 0 < port < 65536:
        raise UsageError("--http: the port should be 1-65535")
    return host, port


@dataclass(frozen=True, slots=True)
class MqttOptions:
    """Where the broker is; the password never appears in ``str``/``repr`` or logs."""

    host: str
    port: int = 1883
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    prefix: str = DEFAULT_PREFIX
    tls: bool = False
    discovery_prefix: str = "homeassistant"

    @property
    def safe_url(self) -> str:
        user = f"{self.username}@" if self.username else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{host}:{self.port}/{self.prefix}"

    @property
    def availability(self) -> str:
        return f"{self.prefix}/{BRIDGE_LEVEL}/availability"


def parse_mqtt_url(text: str, discovery_prefix: str = "homeassistant") -> MqttOptions:
    """``mqtt[s]://[user[:pass]@]host[:port][/prefix]``; UsageError otherwise."""
    url = urllib.parse.urlsplit(text.strip())
    if url.scheme not in ("mqtt", "mqtts") or not url.hostname or url.query or "#" in text:
        raise UsageError("--mqtt expects mqtt://[user:pass@]host[:port][/prefix]")
    try:
        port = url.port or (8883 if url.scheme == "mqtts" else 1883)
    except ValueError:
        raise UsageError("--mqtt: the port should be 1-65535") from None
    prefix = urllib.parse.unquote(url.path.strip("/")) or DEFAULT_PREFIX
    levels = prefix.split("/")
    if any(not level or set(level) & set("+#\0") for level in levels) or prefix.startswith("$"):
        raise UsageError(f"--mqtt: {prefix!r} is no topic prefix (no empty levels, + or #)")
    unquote = urllib.parse.unquote
    return MqttOptions(
        host=url.hostname,
        port=port,
        username=unquote(url.username) if url.username else None,
        password=unquote(url.password) if url.password is not None else None,
        prefix=prefix,
        tls=url.scheme == "mqtts",
        discovery_prefix=discovery_prefix.strip("/"),
    )
