"""The config file's bytes: bounded reads, JSON depth checks, locking and atomic writes.

Files are outside input (hand-edited, synced, or an old web app's export): reading
one never hangs (only regular files, size-capped), never recurses without bound
(JSON nesting is capped before decoding), and every string that comes out of it is
valid UTF-8 (lone surrogates repaired), so a later write cannot fail on it.

Writing is the other half of the same promise: under an exclusive ``flock`` beside
the resolved file, to a temporary file that is fsynced and then ``os.replace``-d,
so a crash leaves the old file or the new one, never half of one. Every failure is
a one-line ``ConfigError`` naming the file (``ConfigStore`` uses these pieces).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, overload

from ..errors import ConfigError
from ..untrusted import may_hold_surrogates, repair_surrogates

MAX_JSON_DEPTH = 64
"""Deepest nesting accepted in a config or import file (ours is 4 deep)."""
MAX_FILE_BYTES = 128 * 1024 * 1024
"""Largest config or import file read (about half a million saved devices)."""


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


# --------------------------------------------------------------------------- writing


@contextlib.contextmanager
def locked(path: Path, target: Path, timeout: float) -> Iterator[Path]:
    """Hold the exclusive lock beside ``target`` (the resolved ``path``); yields ``target``.

    Waits up to ``timeout`` seconds for another process, then ConfigError."""
    lock_path = target.with_name(target.name + ".lock")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot open the lock file {lock_path}: {exc.strerror or exc}"
        ) from None
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise ConfigError(
                        f"{path}: another process has held the config lock for"
                        f" {timeout:g} s; try again"
                    ) from None
                time.sleep(0.005)
            except OSError as exc:
                raise ConfigError(
                    f"{path}: cannot lock {lock_path}: {exc.strerror or exc}"
                ) from None
        yield target
    finally:
        os.close(fd)  # closing releases the lock


def replace_file(path: Path, target: Path, payload: bytes) -> None:
    """Temp file beside ``target`` + fsync + os.replace + fsync the folder.

    ``target`` is the resolved file: the temp file goes in its folder and replaces
    it there, so a symlink to it (``path``) stays a symlink. Errors name ``path``.
    """
    import tempfile  # only to write: reading the config (every verb) does without it

    folder = target.parent
    tmp_name: str | None = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as out:
            out.write(payload)
            out.flush()
            os.fsync(out.fileno())
        try:
            os.chmod(tmp_name, target.stat().st_mode & 0o777)
        except FileNotFoundError:
            os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, target)
        tmp_name = None
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write the config: {exc.strerror or exc}") from None
    finally:
        if tmp_name is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)


def backup_copy(path: Path, raw: bytes) -> Path:
    """Copy ``raw`` to a new ``<name>.<timestamp>.bak`` beside ``path``; never overwrite one.

    An existing backup with the same bytes is reused. OSError when none can be written."""
    for existing in sorted(path.parent.glob(f"{path.name}.*.bak")):
        with contextlib.suppress(OSError):
            if existing.stat().st_size == len(raw) and existing.read_bytes() == raw:
                return existing
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(1000):
        suffix = f"{stamp}" if n == 0 else f"{stamp}-{n}"
        candidate = path.with_name(f"{path.name}.{suffix}.bak")
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(raw)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            with contextlib.suppress(OSError):
                candidate.unlink()
            raise
        return candidate
    raise OSError(f"too many backups of {path.name}")
