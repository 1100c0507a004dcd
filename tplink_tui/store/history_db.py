"""SQLite plumbing for the energy history: opening, schema migrations, batch inserts.

Kept apart from the query API so the writer thread and the store share exactly one
definition of the schema and of how a reading becomes a row.

Storage choices, for size (a year of 200 devices must stay small):

- ``series`` interns each (device, outlet) pair to a small integer;
- readings are stored as integers in milli-units (ms, mW, mV, mA, mWh): SQLite
  stores small integers in 1-4 bytes where a REAL always takes 8;
- the tables are ``WITHOUT ROWID`` with primary key (series, ts), so the index the
  queries need *is* the table and costs no extra space.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import platformdirs

from ..errors import ConfigError

APP_NAME = "tplink-tui"
DATA_DIR_ENV = "TPLINK_TUI_DATA_DIR"
DB_NAME = "history.sqlite3"
WHOLE_DEVICE = -1
"""The outlet value stored for readings of the whole device (API: None)."""


log = logging.getLogger(__name__)


class HistoryUnavailable(ConfigError):
    """The history database cannot be opened, read or written (bad, locked, newer)."""


class HistoryLocked(HistoryUnavailable):
    """Another process holds the database lock: worth trying again later."""


class ImplausibleReading(ValueError):
    """A finite value no plug can measure (e.g. 1e300 W): the row is not stored."""


# Physical bounds for one reading of one plug, outlet or whole strip. A plug or strip
# is rated at most 16 A (EU) / 15 A (US) at 100-240 V, i.e. about 3.7 kW: 4 kW
# leaves margin, and a small negative power is meter noise near zero. 300 V is far
# above any mains (240 V + 10 %) yet below what a glitch gives; 20 A is over every
# plug rating; 1e6 kWh is 4 kW without a pause for 28 years. Outside: not a reading.
BOUNDS: dict[str, tuple[float, float]] = {
    "power_w": (-1.0, 4_000.0),
    "voltage_v": (0.0, 300.0),
    "current_a": (0.0, 20.0),
    "total_kwh": (0.0, 1e6),
}
_TS_MS_MAX = 2**62  # far beyond any date; keeps every value a 64-bit SQLite integer


class Reading(NamedTuple):
    """One reading as the monitor takes it; any measurement may be None."""

    device: str
    outlet: int | None
    ts: float
    power_w: float | None = None
    voltage_v: float | None = None
    current_a: float | None = None
    total_kwh: float | None = None


def default_history_path() -> Path:
    """``$TPLINK_TUI_DATA_DIR/history.sqlite3``, else in the platformdirs user data folder."""
    folder = os.environ.get(DATA_DIR_ENV)
    base = Path(folder).expanduser() if folder else Path(platformdirs.user_data_dir(APP_NAME))
    return base / DB_NAME


# --------------------------------------------------------------------------- schema

_V1 = (
    """CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID""",
    """CREATE TABLE series (
        id INTEGER PRIMARY KEY,
        device TEXT NOT NULL,
        outlet INTEGER NOT NULL,
        UNIQUE (device, outlet)
    )""",
    # Raw readings: ms since the epoch, mW, mV, mA, and the device counter in mWh.
    """CREATE TABLE raw (
        series INTEGER NOT NULL,
        ts INTEGER NOT NULL,
        power_mw INTEGER,
        voltage_mv INTEGER,
        current_ma INTEGER,
        total_mwh INTEGER,
        PRIMARY KEY (series, ts)
    ) WITHOUT ROWID""",
    # Buckets: ts is the bucket start; means of the readings, the last counter value,
    # and the energy of the segments that start in the bucket (Wh), from power
    # (gaps not bridged) and from counter deltas (resets handled).
    *(
        f"""CREATE TABLE {table} (
        series INTEGER NOT NULL,
        ts INTEGER NOT NULL,
        n INTEGER NOT NULL,
        power_mw INTEGER,
        voltage_mv INTEGER,
        current_ma INTEGER,
        total_mwh INTEGER,
        energy_wh REAL NOT NULL DEFAULT 0,
        counter_wh REAL NOT NULL DEFAULT 0,
        PRIMARY KEY (series, ts)
    ) WITHOUT ROWID"""
        for table in ("minute", "hour")
    ),
)

MIGRATIONS: list[Sequence[str]] = [_V1]
"""``MIGRATIONS[v]`` takes the schema from version v to v + 1."""
SCHEMA_VERSION = len(MIGRATIONS)


def to_ms(ts: float) -> int:
    """Unix seconds as the integer milliseconds every table stores (``ts`` columns)."""
    return round(ts * 1000)


def describe_error(path: Path, exc: BaseException) -> HistoryUnavailable:
    """The one-line HistoryUnavailable (or HistoryLocked) for an sqlite3 error on ``path``."""
    text = str(exc)
    low = text.lower()
    if "locked" in low or "busy" in low:
        return HistoryLocked(
            f"{path}: history unavailable: locked by another process; try again later"
        )
    elif "not a database" in low or "malformed" in low or "corrupt" in low:
        why = f"the file is damaged or not a history database ({text}); it was left untouched"
    elif "readonly" in low or "read-only" in low:
        why = "the file or its folder is read-only"
    elif "unable to open" in low:
        why = "cannot open the file (missing folder or permission denied)"
    elif "disk is full" in low or "disk i/o" in low:
        why = f"storage problem: {text}"
    else:
        why = text
    return HistoryUnavailable(f"{path}: history unavailable: {why}")


def connect(
    path: Path, timeout: float = 5.0, *, open_timeout: float | None = None
) -> sqlite3.Connection:
    """Open (creating if needed) and migrate the database; HistoryUnavailable if impossible.

    ``open_timeout``: how long opening waits on a lock (HistoryLocked after it);
    later statements wait up to ``timeout``.

    WAL lets the dashboard read while the writer thread writes; synchronous=FULL
    makes each committed batch durable, and SQLite's journal guarantees that a
    process killed mid-transaction leaves the file consistent.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HistoryUnavailable(
            f"{path}: history unavailable: cannot create its folder ({exc.strerror})"
        ) from None
    try:
        conn = sqlite3.connect(
            path,
            timeout=timeout if open_timeout is None else open_timeout,
            isolation_level=None,
            check_same_thread=False,
        )
    except sqlite3.Error as exc:
        raise describe_error(path, exc) from None
    try:
        _check_ours(conn, path)  # before WAL: switching it would modify a foreign file
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise HistoryUnavailable(f"{path}: history unavailable: cannot use WAL mode ({mode})")
        conn.execute("PRAGMA synchronous=FULL")
        _migrate(conn, path)
        if open_timeout is not None:
            conn.execute(f"PRAGMA busy_timeout = {max(0, round(timeout * 1000))}")
    except sqlite3.Error as exc:
        conn.close()
        raise describe_error(path, exc) from None
    except BaseException:
        conn.close()
        raise
    return conn


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _check_ours(conn: sqlite3.Connection, path: Path) -> None:
    tables = _tables(conn)
    if tables and "meta" not in tables:
        raise HistoryUnavailable(
            f"{path}: history unavailable: not a tplink-tui history database"
            " (it has other tables); it was left untouched"
        )


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        _check_ours(conn, path)
        version = 0
        if "meta" in _tables(conn):
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            try:
                version = int(row[0]) if row else 0
            except ValueError:
                raise HistoryUnavailable(
                    f"{path}: history unavailable: damaged schema version {row[0]!r};"
                    " it was left untouched"
                ) from None
        if version > SCHEMA_VERSION:
            raise HistoryUnavailable(
                f"{path}: history unavailable: written by a newer tplink-tui"
                f" (schema {version}, this version knows {SCHEMA_VERSION})"
            )
        for step in MIGRATIONS[version:]:
            for statement in step:
                conn.execute(statement)
        if version < SCHEMA_VERSION:
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


# --------------------------------------------------------------------------- rows


def _milli(value: Any, name: str, kilo: bool = False) -> int | None:
    """The value in milli-units; None for no reading (None, NaN, infinite)."""
    if value is None:
        return None
    number = float(value)
    if not math.isfinite(number):
        return None
    low, high = BOUNDS[name]
    if not low <= number <= high:
        raise ImplausibleReading(f"{name} = {number:.6g} is outside {low:g}..{high:g}")
    return round(number * 1000 * 1000) if kilo else round(number * 1000)


def to_row(reading: Reading) -> tuple[int, int, int | None, int | None, int | None, int | None]:
    """(outlet, ts_ms, mW, mV, mA, mWh) for a reading; ValueError/TypeError if not numbers.

    ``ImplausibleReading`` (a ValueError) when a finite value is outside ``BOUNDS``:
    a meter that reports 1e300 W is broken, so nothing of that reading is kept.
    """
    outlet = WHOLE_DEVICE if reading.outlet is None else int(reading.outlet)
    ts = float(reading.ts)
    if not math.isfinite(ts) or not -_TS_MS_MAX < ts * 1000 < _TS_MS_MAX:
        raise ValueError("timestamp is not a usable time")
    if not -_TS_MS_MAX < outlet < _TS_MS_MAX:
        raise ValueError("outlet number out of range")
    return (
        outlet,
        round(ts * 1000),
        _milli(reading.power_w, "power_w"),
        _milli(reading.voltage_v, "voltage_v"),
        _milli(reading.current_a, "current_a"),
        _milli(reading.total_kwh, "total_kwh", kilo=True),
    )


_P_LOW, _P_HIGH = BOUNDS["power_w"]
_V_LOW, _V_HIGH = BOUNDS["voltage_v"]
_C_LOW, _C_HIGH = BOUNDS["current_a"]
_E_LOW, _E_HIGH = BOUNDS["total_kwh"]


def _plain_row(reading: Reading) -> tuple[int, int, Any, Any, Any, Any] | None:
    """``to_row`` for the usual reading (a str device, plain floats within bounds,
    an ordinary time); None for anything else, which ``to_row`` then judges."""
    if type(reading) is not Reading:
        return None
    device, outlet, ts, power, voltage, current, total = reading
    if type(device) is not str or type(ts) is not float or not 0.0 < ts < 1e11:
        return None
    if outlet is None:
        outlet = WHOLE_DEVICE
    elif type(outlet) is not int or not -1000 < outlet < 1000:
        return None
    if power is not None:
        if type(power) is not float or not _P_LOW <= power <= _P_HIGH:
            return None
        power = round(power * 1000)
    if voltage is not None:
        if type(voltage) is not float or not _V_LOW <= voltage <= _V_HIGH:
            return None
        voltage = round(voltage * 1000)
    if current is not None:
        if type(current) is not float or not _C_LOW <= current <= _C_HIGH:
            return None
        current = round(current * 1000)
    if total is not None:
        if type(total) is not float or not _E_LOW <= total <= _E_HIGH:
            return None
        total = round(total * 1000 * 1000)
    if power is None and voltage is None and current is None and total is None:
        return None  # to_row, then skipped as a reading without any measurement
    return (outlet, round(ts * 1000), power, voltage, current, total)


class SeriesCache:
    """Maps (device, outlet) to series ids; ids are only remembered once committed."""

    def __init__(self) -> None:
        self.ids: dict[tuple[str, int], int] = {}
        self.warned: set[str] = set()  # devices whose implausible readings were logged

    def implausible(self, device: str, reason: ImplausibleReading) -> None:
        """Log a dropped reading once per device: a broken meter reports every poll."""
        if device in self.warned or len(self.warned) >= 10_000:
            return
        self.warned.add(device)
        log.warning("history: %s reports %s; such readings are not stored", device, reason)

    def resolve(
        self, conn: sqlite3.Connection, keys: Iterable[tuple[str, int]], pending: dict
    ) -> None:
        for key in keys:
            if key in self.ids or key in pending:
                continue
            conn.execute("INSERT OR IGNORE INTO series (device, outlet) VALUES (?, ?)", key)
            row = conn.execute(
                "SELECT id FROM series WHERE device = ? AND outlet = ?", key
            ).fetchone()
            pending[key] = int(row[0])


_INSERT_RAW = (
    "INSERT OR REPLACE INTO raw (series, ts, power_mw, voltage_mv, current_ma, total_mwh) VALUES "
)
_ROW_MARKS = "(?,?,?,?,?,?)"
_ROWS_PER_STATEMENT = 500


def _insert_raw(conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    """Many rows per INSERT statement: sqlite3 lets go of the GIL around every
    statement step, and with ``executemany`` (one step per row) the writer thread
    and the poll loop handed the GIL back and forth thousands of times a second."""
    limit = _ROWS_PER_STATEMENT
    with contextlib.suppress(AttributeError, sqlite3.Error):  # getlimit: Python 3.11+
        limit = max(1, min(limit, conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // 6))
    for start in range(0, len(rows), limit):
        chunk = rows[start : start + limit]
        marks = ",".join((_ROW_MARKS,) * len(chunk))
        conn.execute(_INSERT_RAW + marks, [value for row in chunk for value in row])


def insert_readings(
    conn: sqlite3.Connection, cache: SeriesCache, readings: Iterable[Reading]
) -> tuple[int, int]:
    """Insert readings in one transaction; returns (rows written, readings skipped).

    Readings without any measurement, with values that are not numbers or outside
    ``BOUNDS`` are skipped (the latter logged once per device), never failing
    their batch-mates.
    """
    rows: list[tuple[str, tuple[int, int, Any, Any, Any, Any]]] = []
    skipped = 0
    for reading in readings:
        row = _plain_row(reading)
        if row is not None:
            rows.append((reading[0], row))
            continue
        try:
            row = to_row(reading)
        except ImplausibleReading as exc:
            cache.implausible(str(reading.device), exc)
            skipped += 1
            continue
        except (TypeError, ValueError, OverflowError):
            skipped += 1
            continue
        if row[2] is None and row[3] is None and row[4] is None and row[5] is None:
            skipped += 1
            continue
        rows.append((str(reading.device), row))
    if not rows:
        return 0, skipped
    pending: dict[tuple[str, int], int] = {}
    conn.execute("BEGIN IMMEDIATE")
    try:
        cache.resolve(conn, {(device, row[0]) for device, row in rows}, pending)
        ids = {**cache.ids, **pending}
        _insert_raw(conn, [(ids[(device, row[0])], *row[1:]) for device, row in rows])
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    cache.ids.update(pending)
    return len(rows), skipped
