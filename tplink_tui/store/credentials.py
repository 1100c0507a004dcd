"""Saved device credentials: ``credentials.json`` beside the config, mode 0600.

Kept out of ``config.json`` on purpose: the device list is shared, exported and
backed up freely, the passwords are not. The file is only ever created with
``os.open(..., 0o600)`` (never a wider mode, not even for an instant), written to a
temporary file that is fsynced and ``os.replace``-d, under the same kind of lock as
the config, so a crash leaves the old file or the new one.

Nothing here logs or prints a password; a corrupt file is a one-line
``ConfigError`` (exit 4) naming the file and is never overwritten.

File shape: ``{"version": 1, "credentials": {"HOST:PORT": {"username", "password"}}}``,
keyed by the saved device's ``address``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from ..errors import ConfigError
from ..transports.errors import Credentials
from .config_files import load_json, locked, read_file
from .config_path import CREDENTIALS_ENV, credentials_path

__all__ = ["CREDENTIALS_ENV", "CredentialStore", "default_credentials_path"]

FILE_MODE = 0o600
LOCK_TIMEOUT = 10.0


def default_credentials_path() -> Path:
    """``$TPLINK_TUI_CREDENTIALS`` if set, else ``credentials.json`` beside the config."""
    return credentials_path()


class CredentialStore:
    """Per-address username/password pairs, read and written whole (the file is tiny)."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path).expanduser() if path is not None else default_credentials_path()

    def __repr__(self) -> str:
        return f"CredentialStore({str(self.path)!r})"

    # -- reading ---------------------------------------------------------------

    def _load(self) -> dict[str, Credentials]:
        raw = read_file(self.path, "credentials file", missing_ok=True)
        if raw is None:
            return {}
        data = load_json(raw, self.path)
        table = data.get("credentials") if isinstance(data, dict) else None
        if not isinstance(table, dict):
            raise ConfigError(f"{self.path}: not a credentials file (no 'credentials' object)")
        result: dict[str, Credentials] = {}
        for address, entry in table.items():
            if not (
                isinstance(entry, dict)
                and isinstance(entry.get("username"), str)
                and isinstance(entry.get("password"), str)
            ):
                # Name the entry, never show its content (it may hold a password).
                raise ConfigError(
                    f"{self.path}: the entry for {address!r} needs string username and password"
                )
            result[address] = Credentials(entry["username"], entry["password"])
        return result

    def get(self, address: str) -> Credentials | None:
        """The saved pair for ``address`` (``host:port``), or None."""
        return self._load().get(address)

    def addresses(self) -> set[str]:
        """Addresses that have saved credentials (for ``devices list``)."""
        return set(self._load())

    # -- writing ---------------------------------------------------------------

    def set(self, address: str, credentials: Credentials) -> None:
        """Save (or replace) the pair for ``address``."""
        with self._editing() as table:
            table[address] = credentials

    def remove(self, address: str) -> bool:
        """Forget ``address``; True when something was removed."""
        if not self.path.exists():
            return False  # nothing to forget: do not create a lock file for it
        with self._editing() as table:
            return table.pop(address, None) is not None

    @contextlib.contextmanager
    def _editing(self) -> Iterator[dict[str, Credentials]]:
        target = self.path.resolve() if self.path.exists() else self.path
        with locked(self.path, target, LOCK_TIMEOUT):
            table = self._load()  # a corrupt file raises here and stays untouched
            before = dict(table)
            yield table
            if table != before:
                self._write(target, table)

    def _write(self, target: Path, table: dict[str, Credentials]) -> None:
        body = {
            "version": 1,
            "credentials": {
                address: {"username": c.username, "password": c.password}
                for address, c in sorted(table.items())
            },
        }
        payload = (json.dumps(body, indent=2, ensure_ascii=False) + "\n").encode()
        folder = target.parent
        tmp = folder / f".{target.name}.{secrets.token_hex(6)}.tmp"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
            try:
                with os.fdopen(fd, "wb") as out:
                    os.fchmod(out.fileno(), FILE_MODE)  # whatever the umask did
                    out.write(payload)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, target)
            except BaseException:
                with contextlib.suppress(OSError):
                    tmp.unlink()
                raise
            dir_fd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as exc:
            raise ConfigError(
                f"{self.path}: cannot write the credentials: {exc.strerror or exc}"
            ) from None
