"""Saved devices and settings: one JSON file shared by the dashboard and the CLI.

Why it is built this way:

- Every mutation is read-modify-write under an exclusive ``flock`` on a ``.lock``
  file beside the *resolved* file (symlinks and symlinked folders followed), so the
  dashboard and ``tplink-tui devices add`` running at the same moment both keep
  their entry, even when they reach the file through two different symlinks.
- Every write goes to a temporary file in the resolved file's folder, is fsynced,
  then ``os.replace``-d over the resolved file: a crash leaves the old file or the
  new one, never half of one, and a symlinked config (dotfile managers) stays a
  symlink pointing at the updated file.
- A file we cannot read or parse is never overwritten. ``load()`` raises
  ``ConfigError`` naming the file and the problem; ``load_or_recover()`` copies the
  file to a timestamped ``.bak`` and lets the app start with an empty list.
- Nothing here raises anything but ``ConfigError`` (one line, naming the file):
  the file is outside input, so its depth, size and type are bounded on read and
  lone surrogates are repaired before any write (they cannot be encoded).

The file is ``$TPLINK_TUI_CONFIG`` when set, else ``config.json`` in the platformdirs
user config folder. Schema: ``{"version": 1, "devices": [...], "settings": {...}}``;
unknown keys are kept as they are.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from ..errors import ConfigError
from ..untrusted import display, repair_surrogates
from .config_files import (
    MAX_JSON_DEPTH,
    backup_copy,
    load_json,
    locked,
    read_file,
    replace_file,
    too_deep,
)
from .config_model import (
    APP_NAME,
    CONFIG_ENV,
    DEFAULT_PORT,
    DEVICE_KEYS,
    SCHEMA_VERSION,
    Config,
    DeviceExists,
    DeviceNotFound,
    SavedDevice,
    Settings,
    ShapeError,
    default_config_path,
    format_address,
    parse_address,
    parse_config,
    parse_device,
    parse_settings,
    read_legacy,
)

__all__ = [
    "APP_NAME",
    "CONFIG_ENV",
    "DEFAULT_PORT",
    "SCHEMA_VERSION",
    "Config",
    "ConfigStore",
    "DeviceExists",
    "DeviceNotFound",
    "ImportResult",
    "SavedDevice",
    "Settings",
    "ShapeError",
    "default_config_path",
    "format_address",
    "parse_address",
    "parse_config",
    "parse_device",
    "parse_settings",
    "read_legacy",
]

LOCK_TIMEOUT = 10.0

T = TypeVar("T")


# --------------------------------------------------------------------------- the store


class ImportResult(list[SavedDevice]):
    """The devices an import added; ``skipped`` names the ones already saved."""

    def __init__(self, added: list[SavedDevice], skipped: list[str]) -> None:
        super().__init__(added)
        self.skipped = skipped


@dataclass
class _Recovered:
    content: bytes | None
    backup: Path | None


class ConfigStore:
    """Loads and edits the config file safely; see the module docstring for why."""

    def __init__(self, path: Path | str | None = None, lock_timeout: float = LOCK_TIMEOUT):
        self.path = Path(path).expanduser() if path is not None else default_config_path()
        self.lock_timeout = lock_timeout
        self._recovered: _Recovered | None = None

    @property
    def target(self) -> Path:
        """The file itself: ``path`` with every symlink (file or folder) followed.

        Resolved at each use, so a retargeted symlink is followed; a dangling one
        names the file a first save creates; a loop is left as is and fails on use.
        """
        return Path(os.path.realpath(self.path))

    @property
    def lock_path(self) -> Path:
        """The lock beside the resolved file: every path to one file shares it."""
        target = self.target
        return target.with_name(target.name + ".lock")

    # ---- reading

    def _read_bytes(self) -> bytes | None:
        return read_file(self.path, "config file", missing_ok=True)

    def _parse(self, raw: bytes) -> Config:
        data = load_json(raw, self.path)
        try:
            return parse_config(data)
        except ValueError as exc:
            raise ConfigError(f"{self.path}: {exc}") from None

    def load(self) -> Config:
        """The current config; a missing file is an empty config. ConfigError if bad."""
        raw = self._read_bytes()
        return Config() if raw is None else self._parse(raw)

    def load_or_recover(self) -> tuple[Config, str | None]:
        """Like load(), but a bad file gives an empty config and a warning instead.

        The bad file is copied to ``<name>.<timestamp>.bak`` beside it (an existing
        identical backup is reused, no backup is ever overwritten) and left in place;
        it is only replaced when this store later saves a change, and only if it
        still holds exactly the bytes that were backed up.
        """
        try:
            return self.load(), None
        except ConfigError as exc:
            problem = str(exc)
        try:
            raw = read_file(self.path, "config file", missing_ok=True)
        except ConfigError:
            raw = None  # unreadable, not a file, or too large: nothing to back up
        backup: Path | None = None
        note = "it could not be copied"
        if raw is not None:
            try:
                backup = backup_copy(self.path, raw)
                note = f"a copy is in {backup}"
            except OSError as exc:
                note = f"a backup could not be written ({exc.strerror or exc})"
        self._recovered = _Recovered(raw, backup)
        warning = (
            f"{problem}. Starting with an empty device list; the file is left as it is and"
            f" {note}. Saving a change will replace it."
        )
        if backup is None:
            warning = (
                f"{problem}. Starting with an empty device list; the file is left as it is"
                f" and {note}. Changes cannot be saved until it is fixed."
            )
        return Config(), warning

    def find(self, name_or_host: str) -> SavedDevice | None:
        """The saved device with this name, or at this ``host[:port]``."""
        return self.load().find(name_or_host)

    # ---- writing

    def _locked(self) -> contextlib.AbstractContextManager[Path]:
        """Hold the lock of the resolved file; yields that file, for the write."""
        return locked(self.path, self.target, self.lock_timeout)

    def _load_for_update(self) -> Config:
        raw = self._read_bytes()
        if raw is None:
            return Config()
        try:
            config = self._parse(raw)
        except ConfigError as exc:
            rec = self._recovered
            if rec is not None and rec.backup is not None and rec.content == raw:
                return Config()  # backed up by load_or_recover: safe to replace now
            raise ConfigError(f"{exc}; refusing to overwrite it (fix or move the file)") from None
        if config.version > SCHEMA_VERSION:
            raise ConfigError(
                f"{self.path}: written by a newer tplink-tui (schema {config.version});"
                " refusing to modify it"
            )
        return config

    def _serialize(self, config: Config) -> bytes:
        """The file's bytes; strings that cannot be UTF-8 (lone surrogates) are repaired.

        Refuses (ConfigError) what the next load would refuse, such as nesting past
        ``MAX_JSON_DEPTH``: a save must never leave a file we cannot read back.
        """
        problem = f"{self.path}: cannot serialize the config"
        try:
            data = config.to_dict()
            try:
                text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
                payload = text.encode("utf-8")
            except UnicodeEncodeError:
                text = json.dumps(repair_surrogates(data), indent=2, ensure_ascii=False) + "\n"
                payload = text.encode("utf-8")
        except RecursionError:
            raise ConfigError(f"{problem}: a value is nested too deeply") from None
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{problem}: {display(exc)}") from None
        if too_deep(payload):
            raise ConfigError(
                f"{problem}: a value is nested more than {MAX_JSON_DEPTH} levels deep"
            )
        return payload

    def _write(self, config: Config, target: Path | None = None) -> None:
        """Serialize fully first, then replace the resolved file atomically (``target``)."""
        payload = self._serialize(config)
        replace_file(self.path, self.target if target is None else target, payload)
        self._recovered = None

    def update(self, change: Callable[[Config], T]) -> T:
        """Apply ``change`` to a fresh copy under the lock and save it; return its result."""
        with self._locked() as target:
            config = self._load_for_update()
            result = change(config)
            self._write(config, target)
            return result

    # ---- mutations

    def add_device(self, device: SavedDevice) -> SavedDevice:
        """Save a new device; DeviceExists if the name is taken."""
        device = _validated(device, self.path)

        def change(config: Config) -> SavedDevice:
            existing = config.get(device.name)
            if existing is not None:
                raise DeviceExists(
                    f"a device named {existing.name!r} is already saved ({existing.address})"
                )
            config.devices.append(device)
            return device

        return self.update(change)

    def remove_device(self, name: str) -> SavedDevice:
        """Forget a device; DeviceNotFound if no device has that name."""

        def change(config: Config) -> SavedDevice:
            device = _require(config, name)
            config.devices.remove(device)
            return device

        return self.update(change)

    def rename_device(self, old: str, new: str) -> SavedDevice:
        """Rename a device, keeping names unique."""
        return self.update_device(old, name=new)

    def update_device(self, name: str, /, **changes: Any) -> SavedDevice:
        """Change some fields of a saved device (``name`` included, kept unique)."""
        unknown = set(changes) - DEVICE_KEYS
        if unknown:
            raise TypeError(f"unknown device field(s): {', '.join(sorted(unknown))}")

        def change(config: Config) -> SavedDevice:
            device = _require(config, name)
            data = device.to_dict()
            data.update(changes)
            updated = _validated_dict(data, self.path)
            other = config.get(updated.name)
            if other is not None and other is not device:
                raise DeviceExists(f"a device named {other.name!r} is already saved")
            config.devices[config.devices.index(device)] = updated
            return updated

        return self.update(change)

    def update_settings(self, **changes: Any) -> Settings:
        """Change some settings (theme, poll_interval, history_enabled, or extra keys)."""

        def change(config: Config) -> Settings:
            data = config.settings.to_dict()
            data.update(_repaired(changes, self.path))
            try:
                config.settings = parse_settings(data)
            except ShapeError as exc:
                raise ConfigError(f"{self.path}: {exc}") from None
            return config.settings

        return self.update(change)

    def import_legacy(self, path: Path | str) -> ImportResult:
        """Add the devices of an old web app ``devices.json``; names already saved are skipped.

        Keeps name, room, mac, description and brand; ``ip`` may be ``host`` or
        ``host:port``. A name repeated inside the file is skipped too. The whole file
        is checked before anything is saved.
        """
        source = Path(path).expanduser()
        devices = read_legacy(source)  # parsed and checked before taking the lock

        def change(config: Config) -> ImportResult:
            taken = {d.name.casefold() for d in config.devices}
            added: list[SavedDevice] = []
            skipped: list[str] = []
            for device in devices:
                key = device.name.casefold()
                if key in taken:
                    skipped.append(device.name)
                    continue
                taken.add(key)
                added.append(device)
            config.devices.extend(added)
            return ImportResult(added, skipped)

        # One read and at most one write under the lock, linear in both lists;
        # nothing new (a repeated import) writes nothing.
        with self._locked() as target:
            config = self._load_for_update()
            result = change(config)
            if result:
                self._write(config, target)
            return result


def _require(config: Config, name: str) -> SavedDevice:
    device = config.get(name)
    if device is None:
        raise DeviceNotFound(f"no saved device named {name!r}")
    return device


def _validated(device: SavedDevice, path: Path) -> SavedDevice:
    return _validated_dict(device.to_dict(), path)


def _validated_dict(data: dict[str, Any], path: Path) -> SavedDevice:
    """Check a device from the API; lone surrogates (``argv`` holds them for bytes that
    are not UTF-8) become U+FFFD here, before they reach the file. All else is kept."""
    try:
        return parse_device(_repaired(data, path), "device")
    except ShapeError as exc:
        raise ConfigError(f"{path}: invalid device: {exc}") from None


def _repaired(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """``repair_surrogates`` for values from the API, where nesting is not yet bounded."""
    try:
        repaired: dict[str, Any] = repair_surrogates(data)
    except RecursionError:
        raise ConfigError(
            f"{path}: cannot serialize the config: a value is nested too deeply"
        ) from None
    return repaired
