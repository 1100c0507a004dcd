"""The config file's data model and parsing: saved devices, settings, legacy import.

Pure data and validation, no file locking or writing (that is ``config.ConfigStore``;
bounded reads are ``config_files``), so the rules for what a valid file looks like
live in one place and can be fuzzed. The parse functions are public because the
store checks every device and setting from the API with the same rules as a file.

Strings arrive with lone surrogates repaired (``config_files.load_json`` for files,
the store for the API). Names are otherwise kept exactly as given: they are the
user's data, and the display layer (``untrusted.display``) makes them harmless on
screen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ..address import DEFAULT_PORT, TRANSPORT_NAMES, format_address, parse_address
from ..errors import ConfigError, ConfigUsageError
from ..tariff import Tariff, TariffError, parse_tariff
from ..untrusted import repair_surrogates
from .config_files import MAX_FILE_BYTES, MAX_JSON_DEPTH, load_json, read_file, too_deep
from .config_path import APP_NAME, CONFIG_ENV, default_config_path

__all__ = [
    "APP_NAME",
    "CONFIG_ENV",
    "DEFAULT_PORT",
    "DEVICE_KEYS",
    "MAX_FILE_BYTES",
    "MAX_JSON_DEPTH",
    "SCHEMA_VERSION",
    "SETTINGS_KEYS",
    "TRANSPORT_NAMES",
    "Config",
    "DeviceExists",
    "DeviceNotFound",
    "SavedDevice",
    "Settings",
    "ShapeError",
    "default_config_path",
    "format_address",
    "load_json",
    "name_key",
    "parse_address",
    "parse_config",
    "parse_device",
    "parse_settings",
    "read_file",
    "read_legacy",
    "too_deep",
]

SCHEMA_VERSION = 1
"""A saved device's ``transport`` (the same names as ``tplink_tui.devices.TRANSPORTS``)."""


class DeviceExists(ConfigUsageError):
    """A device with that name (compared case-insensitively) is already saved."""


class DeviceNotFound(ConfigUsageError):
    """No saved device has that name."""


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
    transport: str = "auto"
    """``auto``, ``xor``, ``klap`` or ``aes`` (what discovery or ``devices add`` recorded)."""
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
        )
        if self.transport != "auto":
            data["transport"] = self.transport  # omitted when auto: older files stay as they were
        return data


@dataclass
class Settings:
    """User preferences remembered between runs."""

    theme: str | None = None
    poll_interval: float = 2.0
    history_enabled: bool = True
    tariff: Tariff | None = None  # no tariff: no cost shown anywhere
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.extra)
        data.update(
            theme=self.theme,
            poll_interval=self.poll_interval,
            history_enabled=self.history_enabled,
        )
        if self.tariff is not None:
            data["tariff"] = self.tariff.to_dict()  # omitted when unset: older files stay
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


# --------------------------------------------------------------------------- parsing


class ShapeError(ValueError):
    """The JSON parsed but does not have the expected shape (the message says where)."""


def _string(data: dict[str, Any], key: str, where: str, default: str = "") -> str:
    value = data.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise ShapeError(f"{where}.{key} must be a string, got {type(value).__name__}")
    return value


def parse_device(data: Any, where: str = "device") -> SavedDevice:
    """One saved device from decoded JSON; ShapeError naming ``where`` and the field.

    Also reads the old web app's ``ip`` (``host`` or ``host:port``); unknown keys are
    kept in ``extra`` and written back unchanged."""
    if not isinstance(data, dict):
        raise ShapeError(f"{where} must be an object, got {type(data).__name__}")
    name = _string(data, "name", where)
    host = _string(data, "host", where)
    port: Any = data.get("port", DEFAULT_PORT)
    # The common case (only known keys) costs one set comparison, not a loop.
    extra = (
        {}
        if data.keys() <= DEVICE_KEYS
        else {k: v for k, v in data.items() if k not in DEVICE_KEYS}
    )
    if not host and isinstance(data.get("ip"), str):
        # A devices.json from the old web app: "ip" is host or host:port.
        try:
            host, port = parse_address(data["ip"])
        except ValueError as exc:
            raise ShapeError(f"{where}.ip: {exc}") from None
        extra.pop("ip", None)
    if not name.strip():
        raise ShapeError(f"{where}.name is missing or empty")
    if not host.strip():
        raise ShapeError(f"{where}.host is missing or empty")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ShapeError(f"{where}.port must be an integer 1-65535, got {port!r}")
    transport = data.get("transport", "auto")
    if transport not in TRANSPORT_NAMES:
        raise ShapeError(
            f"{where}.transport must be one of {', '.join(TRANSPORT_NAMES)}, got {transport!r}"
        )
    return SavedDevice(
        name=name.strip(),
        host=host.strip(),
        port=port,
        room=_string(data, "room", where),
        mac=_string(data, "mac", where),
        description=_string(data, "description", where),
        brand=_string(data, "brand", where),
        transport=transport,
        extra=extra,
    )


DEVICE_KEYS = frozenset(f.name for f in fields(SavedDevice)) - {"extra"}
"""The device fields this version knows (``update_device`` accepts these)."""
SETTINGS_KEYS = frozenset(f.name for f in fields(Settings)) - {"extra"}


def parse_settings(data: Any) -> Settings:
    """Settings from decoded JSON (None: the defaults); ShapeError on a bad value."""
    if data is None:
        return Settings()
    if not isinstance(data, dict):
        raise ShapeError(f"settings must be an object, got {type(data).__name__}")
    theme = data.get("theme")
    if theme is not None and not isinstance(theme, str):
        raise ShapeError("settings.theme must be a string or null")
    interval = data.get("poll_interval", 2.0)
    if (
        isinstance(interval, bool)
        or not isinstance(interval, int | float)
        or not math.isfinite(interval)
        or interval <= 0
    ):
        raise ShapeError(f"settings.poll_interval must be a positive number, got {interval!r}")
    enabled = data.get("history_enabled", True)
    if not isinstance(enabled, bool):
        raise ShapeError(f"settings.history_enabled must be true or false, got {enabled!r}")
    tariff = data.get("tariff")
    if not (tariff is None or isinstance(tariff, Tariff)):
        try:
            tariff = parse_tariff(tariff)
        except TariffError as exc:
            raise ShapeError(f"settings.{exc}") from None
    return Settings(
        theme=theme,
        poll_interval=float(interval),
        history_enabled=enabled,
        tariff=tariff,
        extra={k: v for k, v in data.items() if k not in SETTINGS_KEYS},
    )


def parse_config(data: Any) -> Config:
    """Build a Config from decoded JSON; raises ValueError describing the first problem."""
    try:
        if not isinstance(data, dict):
            raise ShapeError(f"the top level must be an object, got {type(data).__name__}")
        version = data.get("version", SCHEMA_VERSION)
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise ShapeError(f"version must be a positive integer, got {version!r}")
        raw_devices = data.get("devices", [])
        if raw_devices is None:
            raw_devices = []
        if not isinstance(raw_devices, list):
            raise ShapeError(f"devices must be a list, got {type(raw_devices).__name__}")
        devices = [parse_device(d, f"devices[{i}]") for i, d in enumerate(raw_devices)]
        seen: dict[str, int] = {}
        for i, device in enumerate(devices):
            key = device.name.casefold()
            if key in seen:
                raise ShapeError(
                    f"devices[{i}] repeats the name {device.name!r} of devices[{seen[key]}]"
                )
            seen[key] = i
        return Config(
            devices=devices,
            settings=parse_settings(data.get("settings")),
            version=version,
            extra={k: v for k, v in data.items() if k not in ("version", "devices", "settings")},
        )
    except ShapeError as exc:
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
                raise ShapeError(f"{where} must be an object")
            ip = entry.get("ip", entry.get("host"))
            if not isinstance(ip, str) or not ip.strip():
                raise ShapeError(f"{where}.ip is missing or not a string")
            try:
                host, port = parse_address(ip)
            except ValueError as exc:
                raise ShapeError(f"{where}.ip: {exc}") from None
            name = entry.get("name")
            if name is None or (isinstance(name, str) and not name.strip()):
                name = host
            if not isinstance(name, str):
                raise ShapeError(f"{where}.name must be a string")
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
        except ShapeError as exc:
            raise ConfigError(f"{path}: {exc}") from None
    return devices  # names repeated inside the file are skipped by import_legacy
