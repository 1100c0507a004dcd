"""The config file's data model and parsing: saved devices, settings, legacy import.

Pure data and validation, no file locking or writing (that is ``config.ConfigStore``),
so the rules for what a valid file looks like live in one place and can be fuzzed.

Files are outside input (hand-edited, synced, or an old web app's export): reading
one never hangs (only regular files, size-capped), never recurses without bound
(JSON nesting is capped before decoding), and every string that comes out of it is
valid UTF-8 (lone surrogates repaired), so a later write cannot fail on it. Names
are otherwise kept exactly as given: they are the user's data, and the display
layer (``untrusted.display``) makes them harmless on screen.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, overload

import platformdirs

from ..address import DEFAULT_PORT, format_address, parse_address
from ..errors import ConfigError
from ..untrusted import may_hold_surrogates, repair_surrogates

MAX_JSON_DEPTH = 64
"""Deepest nesting accepted in a config or import file (ours is 4 deep)."""
MAX_FILE_BYTES = 128 * 1024 * 1024
"""Largest config or import file read (about half a million saved devices)."""

APP_NAME = "tplink-tui"
CONFIG_ENV = "TPLINK_TUI_CONFIG"
SCHEMA_VERSION = 1


class DeviceExists(ConfigError):
    """A device with that name (compared case-insensitively) is already saved."""


class DeviceNotFound(ConfigError):
    """No saved device has that name."""


def default_config_path() -> Path:
    """``$TPLINK_TUI_CONFIG`` if set, else ``<user config dir>/tplink-tui/config.json``."""
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.json"


@dataclass
class SavedDevice:
    """One entry of the saved device list."""

    name: str
    host: str
    port: int = DEFAULT_PORT
    room: str = ""
    mac: str = ""
    description: str = ""
    brand: str = ""
    outlet_names: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """Keys this version does not know, written back unchanged."""

    @property
    def address(self) -> str:
        """``host:port``: the key the monitor and the history use for this device."""
        return format_address(self.host, self.port)

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.extra)
        data.update(
            name=self.name,
            host=self.host,
            port=self.port,
            room=self.room,
            mac=self.mac,
            description=self.description,
            brand=self.brand,
            outlet_names=dict(self.outlet_names),
        )
        return data


@dataclass
class Settings:
    """User preferences remembered between runs."""

    theme: str | None = None
    poll_interval: float = 2.0
    history_enabled: bool = True
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.extra)
        data.update(
            theme=self.theme,
            poll_interval=self.poll_interval,
            history_enabled=self.history_enabled,
        )
        return data


@dataclass
class Config:
    """The whole file: saved devices plus settings."""

    devices: list[SavedDevice] = field(default_factory=list)
    settings: Settings = field(default_factory=Settings)
    version: int = SCHEMA_VERSION
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def get(self, name: str) -> SavedDevice | None:
        """The device with this name, compared case-insensitively."""
        key = name_key(name)
        return next((d for d in self.devices if d.name.casefold() == key), None)

    def find(self, name_or_host: str) -> SavedDevice | None:
        """By name first, then by ``host[:port]`` (a bare host matches any port)."""
        found = self.get(name_or_host)
        if found is not None:
            return found
        try:
            host, port = parse_address(name_or_host, default_port=-1)
        except ValueError:
            return None
        host = host.casefold()
        for device in self.devices:
            if device.host.casefold() == host and port in (-1, device.port):
                return device
        return None

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.extra)
        data.update(
            version=max(self.version, SCHEMA_VERSION),
            devices=[d.to_dict() for d in self.devices],
            settings=self.settings.to_dict(),
        )
        return data


def name_key(name: str) -> str:
    """How names are compared: stripped, surrogates repaired as when stored, casefolded."""
    return repair_surrogates(name.strip()).casefold()


# --------------------------------------------------------------------------- reading files


@overload
def read_file(path: Path, what: str = ..., *, missing_ok: Literal[False] = ...) -> bytes: ...
@overload
def read_file(path: Path, what: str = ..., *, missing_ok: Literal[True]) -> bytes | None: ...
def read_file(path: Path, what: str = "file", *, missing_ok: bool = False) -> bytes | None:
    """The bytes of a regular file, or ConfigError naming it (never blocks on a FIFO).

    ``missing_ok``: a missing file gives None instead of an error.
    """
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise ConfigError(f"{path}: is a directory, not a {what}")
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"{path}: not a regular file, cannot be a {what}")
        if info.st_size > MAX_FILE_BYTES:
            raise ConfigError(
                f"{path}: too large for a {what} ({info.st_size} bytes, limit {MAX_FILE_BYTES})"
            )
        return path.read_bytes()
    except FileNotFoundError:
        if missing_ok:
            return None
        raise ConfigError(f"{path}: no such file") from None
    except PermissionError:
        raise ConfigError(f"{path}: permission denied reading the {what}") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a {what}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None


_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_NOT_BRACKET_OR_QUOTE = bytes(sorted(set(range(256)) - set(b'[]{}"')))
_INNERMOST = re.compile(rb"\[\]|\{\}")


def too_deep(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when JSON ``raw`` nests arrays/objects more than ``limit`` levels deep.

    Linear, non-recursive and at C speed (UTF-8 never hides an ASCII byte inside
    a multi-byte character): drop escapes, keep only brackets and quotes, drop
    what lies between quotes (strings), then one regex pass per level removes the innermost
    pairs, at most ``limit`` passes. Malformed input stops early and is left for
    json.loads to report.
    """
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    if b"\\" in raw:
        raw = _ESCAPE.sub(b"", raw)
    kept = raw.translate(None, _NOT_BRACKET_OR_QUOTE)
    # Two adjacent quotes enclose nothing kept: dropping them leaves every other
    # quote's parity as it was, and it empties the common case at C speed.
    kept = kept.replace(b'""', b"")
    brackets = b"".join(kept.split(b'"')[::2]) if b'"' in kept else kept
    for _ in range(limit):
        if not brackets:
            return False
        shorter = _INNERMOST.sub(b"", brackets)
        if len(shorter) == len(brackets):
            return False
        brackets = shorter
    return bool(brackets)


def load_json(raw: bytes, path: Path) -> Any:
    """Decode a file's bytes as JSON: bounded depth, no lone surrogates, ConfigError."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not valid UTF-8 (byte {exc.start}); the file is corrupt"
        ) from None
    if not text.strip():
        raise ConfigError(f"{path}: the file is empty")
    if too_deep(raw):
        raise ConfigError(f"{path}: invalid JSON: nested more than {MAX_JSON_DEPTH} levels deep")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:  # not reachable after too_deep(); kept as a last guard
        raise ConfigError(f"{path}: invalid JSON: nested too deeply") from None
    return repair_surrogates(data) if may_hold_surrogates(text) else data


# --------------------------------------------------------------------------- parsing


class _Shape(Exception):
    """Internal: the JSON parsed but does not have the expected shape."""


def _string(data: dict[str, Any], key: str, where: str, default: str = "") -> str:
    value = data.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise _Shape(f"{where}.{key} must be a string, got {type(value).__name__}")
    return value


def _parse_device(data: Any, where: str) -> SavedDevice:
    # Strings arrive repaired: from load_json for files, from the store for the API.
    if not isinstance(data, dict):
        raise _Shape(f"{where} must be an object, got {type(data).__name__}")
    name = _string(data, "name", where)
    host = _string(data, "host", where)
    port: Any = data.get("port", DEFAULT_PORT)
    # The common case (only known keys) costs one set comparison, not a loop.
    extra = (
        {}
        if data.keys() <= _DEVICE_KEYS
        else {k: v for k, v in data.items() if k not in _DEVICE_KEYS}
    )
    if not host and isinstance(data.get("ip"), str):
        # A devices.json from the old web app: "ip" is host or host:port.
        try:
            host, port = parse_address(data["ip"])
        except ValueError as exc:
            raise _Shape(f"{where}.ip: {exc}") from None
        extra.pop("ip", None)
    if not name.strip():
        raise _Shape(f"{where}.name is missing or empty")
    if not host.strip():
        raise _Shape(f"{where}.host is missing or empty")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise _Shape(f"{where}.port must be an integer 1-65535, got {port!r}")
    outlets = data.get("outlet_names") or {}
    if not isinstance(outlets, dict) or (
        outlets and not all(isinstance(k, str) and isinstance(v, str) for k, v in outlets.items())
    ):
        raise _Shape(f"{where}.outlet_names must map strings to strings")
    return SavedDevice(
        name=name.strip(),
        host=host.strip(),
        port=port,
        room=_string(data, "room", where),
        mac=_string(data, "mac", where),
        description=_string(data, "description", where),
        brand=_string(data, "brand", where),
        outlet_names=dict(outlets),
        extra=extra,
    )


_DEVICE_KEYS = {f.name for f in fields(SavedDevice)} - {"extra"}
_SETTINGS_KEYS = {f.name for f in fields(Settings)} - {"extra"}


def _parse_settings(data: Any) -> Settings:
    if data is None:
        return Settings()
    if not isinstance(data, dict):
        raise _Shape(f"settings must be an object, got {type(data).__name__}")
    theme = data.get("theme")
    if theme is not None and not isinstance(theme, str):
        raise _Shape("settings.theme must be a string or null")
    interval = data.get("poll_interval", 2.0)
    if (
        isinstance(interval, bool)
        or not isinstance(interval, int | float)
        or not math.isfinite(interval)
        or interval <= 0
    ):
        raise _Shape(f"settings.poll_interval must be a positive number, got {interval!r}")
    enabled = data.get("history_enabled", True)
    if not isinstance(enabled, bool):
        raise _Shape(f"settings.history_enabled must be true or false, got {enabled!r}")
    return Settings(
        theme=theme,
        poll_interval=float(interval),
        history_enabled=enabled,
        extra={k: v for k, v in data.items() if k not in _SETTINGS_KEYS},
    )


def parse_config(data: Any) -> Config:
    """Build a Config from decoded JSON; raises ValueError describing the first problem."""
    try:
        if not isinstance(data, dict):
            raise _Shape(f"the top level must be an object, got {type(data).__name__}")
        version = data.get("version", SCHEMA_VERSION)
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise _Shape(f"version must be a positive integer, got {version!r}")
        raw_devices = data.get("devices", [])
        if raw_devices is None:
            raw_devices = []
        if not isinstance(raw_devices, list):
            raise _Shape(f"devices must be a list, got {type(raw_devices).__name__}")
        devices = [_parse_device(d, f"devices[{i}]") for i, d in enumerate(raw_devices)]
        seen: dict[str, int] = {}
        for i, device in enumerate(devices):
            key = device.name.casefold()
            if key in seen:
                raise _Shape(
                    f"devices[{i}] repeats the name {device.name!r} of devices[{seen[key]}]"
                )
            seen[key] = i
        return Config(
            devices=devices,
            settings=_parse_settings(data.get("settings")),
            version=version,
            extra={k: v for k, v in data.items() if k not in ("version", "devices", "settings")},
        )
    except _Shape as exc:
        raise ValueError(str(exc)) from None


def read_legacy(path: Path) -> list[SavedDevice]:
    """Parse the old web app's ``{"devices": [{name, room, ip, mac, description, brand}]}``."""
    data = load_json(read_file(path, "device list"), path)
    entries = data.get("devices") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise ConfigError(f'{path}: expected {{"devices": [...]}} as in the old devices.json')
    devices: list[SavedDevice] = []
    for i, entry in enumerate(entries):
        where = f"devices[{i}]"
        try:
            if not isinstance(entry, dict):
                raise _Shape(f"{where} must be an object")
            ip = entry.get("ip", entry.get("host"))
            if not isinstance(ip, str) or not ip.strip():
                raise _Shape(f"{where}.ip is missing or not a string")
            try:
                host, port = parse_address(ip)
            except ValueError as exc:
                raise _Shape(f"{where}.ip: {exc}") from None
            name = entry.get("name")
            if name is None or (isinstance(name, str) and not name.strip()):
                name = host
            if not isinstance(name, str):
                raise _Shape(f"{where}.name must be a string")
            devices.append(
                SavedDevice(
                    name=name.strip(),
                    host=host,
                    port=port,
                    room=_string(entry, "room", where),
                    mac=_string(entry, "mac", where),
                    description=_string(entry, "description", where),
                    brand=_string(entry, "brand", where),
                )
            )
        except _Shape as exc:
            raise ConfigError(f"{path}: {exc}") from None
    return devices  # names repeated inside the file are skipped by import_legacy
