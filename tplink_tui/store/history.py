"""Energy history that survives restarts: queries, downsampling and export.

Readings live in three tiers of one SQLite database (WAL mode):

- ``raw``: every reading, kept ``Retention.raw`` (6 h by default);
- ``minute``: 1-minute means, kept until ``Retention.minute`` (14 days);
- ``hour``: hourly means after that, forever unless ``Retention.hourly`` is set.

``prune()`` moves old rows down a tier inside one transaction per series, so the
tiers never overlap in time and queries simply add them up. Each bucket stores the
energy of the segments that *start* in it, computed from the raw readings when they
are aggregated: an integral is therefore the same before and after pruning (the
folding is ``history_retention``; ``export`` is ``history_export``).

Energy comes two ways: ``energy_kwh`` integrates our power readings (trapezoids;
a gap longer than ``max_gap`` is not bridged), ``counter_energy_kwh`` adds up the
device's own counter, where a value going down means the device rebooted or was
reset: that step adds the new value (the energy since the reset), never a negative.

Writing goes through ``HistoryWriter`` (a thread with batched transactions); the
front ends run it in a process of its own (``HistoryProcessWriter``). A bad,
locked or newer database raises ``HistoryUnavailable``; the file is never deleted
or overwritten. ``HistoryStore(..., background=True)`` (the dashboard) never waits
on a lock at construction: it keeps trying on a thread, and queries (which front
ends run on worker threads) wait until it is open.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Literal

from .history_db import (
    SCHEMA_VERSION,
    WHOLE_DEVICE,
    HistoryLocked,
    HistoryUnavailable,
    Reading,
    SeriesCache,
    connect,
    default_history_path,
    describe_error,
    insert_readings,
    to_ms,
)
from .history_export import HistoryRow, export_rows
from .history_retention import (
    HOUR_MS,
    MINUTE_MS,
    MINUTE_TO_HOUR,
    RAW_TO_MINUTE,
    TIERS,
    PruneStats,
    Retention,
    fold,
)
from .history_writer import OPEN_WAIT, RETRY_MAX, HistoryWriter

__all__ = [
    "SCHEMA_VERSION",
    "HistoryLocked",
    "HistoryRow",
    "HistoryStore",
    "HistoryUnavailable",
    "HistoryWriter",
    "PruneStats",
    "Reading",
    "Retention",
    "default_history_path",
    "open_history",
]


def _outlet_db(outlet: int | None) -> int:
    return WHOLE_DEVICE if outlet is None else int(outlet)


def _local_midnight(day: date) -> float:
    return datetime.combine(day, datetime.min.time()).astimezone().timestamp()


# --------------------------------------------------------------------------- SQL

# Integrals over [since, until] in ms; segments are clipped to the range.
_RAW_ENERGY = """
SELECT total((power_mw + next_power) * (min(next_ts, :until) - max(ts, :since))) / 7.2e12
FROM (
    SELECT ts, power_mw, lead(ts) OVER w AS next_ts, lead(power_mw) OVER w AS next_power
    FROM raw
    WHERE series = :sid AND ts >= :since - :gap AND ts <= :until + :gap
        AND power_mw IS NOT NULL
    WINDOW w AS (ORDER BY ts)
)
WHERE next_ts - ts <= :gap AND next_ts > :since AND ts < :until
"""
_RAW_COUNTER = """
SELECT total(CASE WHEN next_total >= total_mwh THEN next_total - total_mwh
                  ELSE next_total END) / 1e6
FROM (
    SELECT ts, total_mwh, lead(total_mwh) OVER w AS next_total
    FROM raw
    WHERE series = :sid AND ts >= :since AND ts <= :until AND total_mwh IS NOT NULL
    WINDOW w AS (ORDER BY ts)
)
WHERE next_total IS NOT NULL
"""
# Buckets overlapping the range count in proportion to the overlap.
_BUCKET_SUM = """
SELECT total({column} * (min(ts + :b, :until) - max(ts, :since)) * 1.0 / :b) / 1000.0
FROM {table} WHERE series = :sid AND ts > :since - :b AND ts < :until
"""


# --------------------------------------------------------------------------- the store


class HistoryStore:
    """Read side of the history (and prune); thread-safe, one connection under a lock."""

    def __init__(
        self,
        path: Path | str | None = None,
        *,
        retention: Retention | None = None,
        max_gap: float = 120.0,
        timeout: float = 5.0,
        background: bool = False,
    ) -> None:
        """Open or create the database; HistoryUnavailable if it cannot be used.

        ``max_gap``: readings further apart than this many seconds are not joined
        when integrating power (the device was offline or not polled).
        ``background``: a locked database is not an error but opened on a thread
        as soon as it is free (``wait_open``); a query waits for that, so make
        queries off the UI thread. Other problems still raise here, at once.
        """
        self.path = Path(path) if path is not None else default_history_path()
        self.retention = retention or Retention()
        self.max_gap = max_gap
        self.timeout = timeout
        self._lock = threading.Lock()
        self._cache = SeriesCache()
        self._opened = threading.Event()
        self._closing = threading.Event()
        self._conn: sqlite3.Connection | None = None
        self.error: HistoryUnavailable | None = None
        try:
            self._conn = connect(
                self.path, timeout=timeout, open_timeout=OPEN_WAIT if background else None
            )
        except HistoryLocked as exc:
            if not background:
                raise
            self.error = exc
            threading.Thread(target=self._open_later, name="history-open", daemon=True).start()
        else:
            self._opened.set()

    def _open_later(self) -> None:
        delay = 0.1
        while not self._closing.wait(delay):
            try:
                conn = connect(self.path, timeout=self.timeout, open_timeout=OPEN_WAIT)
            except HistoryLocked:
                delay = min(RETRY_MAX, delay * 2)
                continue
            except HistoryUnavailable as exc:
                self.error = exc
                break
            with self._lock:
                if self._closing.is_set():
                    conn.close()
                else:
                    self._conn, self.error = conn, None
            break
        self._opened.set()  # open, failed or closed: waiters look at _conn

    @property
    def is_open(self) -> bool:
        return self._conn is not None and not self._closing.is_set()

    def wait_open(self, timeout: float | None = None) -> bool:
        """Wait (off the UI thread) until a background open is done; True if open."""
        self._opened.wait(timeout)
        return self.is_open

    def close(self) -> None:
        self._closing.set()
        with self._lock:
            if self._conn is not None:
                self._conn.close()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def writer(self, **options: object) -> HistoryWriter:
        """A background writer on the same database (see HistoryWriter for options)."""
        return HistoryWriter(self.path, timeout=self.timeout, **options)  # type: ignore[arg-type]

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        if self._conn is None and not self.wait_open():
            raise self.error or HistoryUnavailable(f"{self.path}: history unavailable: closed")
        with self._lock:
            assert self._conn is not None
            try:
                yield self._conn
            except sqlite3.Error as exc:
                if self._conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        self._conn.execute("ROLLBACK")
                raise describe_error(self.path, exc) from None

    # ---- writing (synchronous; the dashboard uses HistoryWriter)

    def insert(self, readings: Iterable[Reading]) -> int:
        """Write readings now, in one transaction; returns the rows written."""
        with self._db() as conn:
            return insert_readings(conn, self._cache, readings)[0]

    # ---- lookups

    def _series_id(self, conn: sqlite3.Connection, device: str, outlet: int | None) -> int | None:
        row = conn.execute(
            "SELECT id FROM series WHERE device = ? AND outlet = ?", (device, _outlet_db(outlet))
        ).fetchone()
        return None if row is None else int(row[0])

    def series(self) -> list[tuple[str, int | None]]:
        """Every (device, outlet) with history; outlet None is the whole device."""
        with self._db() as conn:
            rows = conn.execute("SELECT device, outlet FROM series ORDER BY device, outlet")
            return [(d, None if o == WHOLE_DEVICE else o) for d, o in rows]

    def counts(self) -> dict[str, int]:
        """Rows per tier and series, and the file size in bytes (for status and benchmarks)."""
        with self._db() as conn:
            result = {
                table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in ("raw", "minute", "hour", "series")
            }
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            size = conn.execute("PRAGMA page_size").fetchone()[0]
        result["bytes"] = pages * size
        return result

    # ---- queries

    def recent(
        self, device: str, outlet: int | None, since: float, until: float | None = None
    ) -> list[tuple[float, float]]:
        """(ts, power W) from ``since`` on, oldest first, to refill a sparkline at start.

        Older stretches come from the buckets (ts = bucket start, mean power).
        """
        hi = to_ms(until) if until is not None else 2**62
        lo = to_ms(since)
        points: list[tuple[float, float]] = []
        with self._db() as conn:
            sid = self._series_id(conn, device, outlet)
            if sid is None:
                return []
            for table in ("hour", "minute", "raw"):
                rows = conn.execute(
                    f"SELECT ts, power_mw FROM {table} WHERE series = ? AND ts >= ? AND ts <= ?"
                    " AND power_mw IS NOT NULL ORDER BY ts",
                    (sid, lo, hi),
                )
                points.extend((ts / 1000, p / 1000) for ts, p in rows)
        points.sort()
        return points

    def energy_kwh(self, device: str, outlet: int | None, since: float, until: float) -> float:
        """kWh from our power readings between ``since`` and ``until`` (unix seconds)."""
        return self._integral(device, outlet, since, until, _RAW_ENERGY, "energy_wh")

    def counter_energy_kwh(
        self, device: str, outlet: int | None, since: float, until: float
    ) -> float:
        """kWh from the device's own counter; a counter going down adds its new value."""
        return self._integral(device, outlet, since, until, _RAW_COUNTER, "counter_wh")

    def _integral(
        self, device: str, outlet: int | None, since: float, until: float, raw_sql: str, col: str
    ) -> float:
        if until <= since:
            return 0.0
        params = {"since": to_ms(since), "until": to_ms(until), "gap": to_ms(self.max_gap)}
        with self._db() as conn:
            sid = self._series_id(conn, device, outlet)
            if sid is None:
                return 0.0
            params["sid"] = sid
            kwh = conn.execute(raw_sql, params).fetchone()[0]
            for table, bucket in TIERS:
                sql = _BUCKET_SUM.format(column=col, table=table)
                kwh += conn.execute(sql, {**params, "b": bucket}).fetchone()[0]
        return max(0.0, kwh)

    def daily_kwh(
        self,
        device: str,
        outlet: int | None,
        days: int,
        *,
        now: float | None = None,
        source: Literal["power", "counter"] = "power",
    ) -> list[tuple[date, float]]:
        """kWh per local calendar day for the last ``days`` days (today last), for bars."""
        today = datetime.fromtimestamp(time.time() if now is None else now).date()
        integral = self.energy_kwh if source == "power" else self.counter_energy_kwh
        result = []
        for back in range(days - 1, -1, -1):
            day = today - timedelta(days=back)
            start, end = _local_midnight(day), _local_midnight(day + timedelta(days=1))
            result.append((day, integral(device, outlet, start, end)))
        return result

    def export(
        self,
        device: str | None = None,
        outlet: int | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> Iterator[HistoryRow]:
        """Every stored row, by device, outlet and time; lazily, on its own connection.

        ``outlet=None`` means every outlet (and the whole device); pass -1 for only
        the whole-device readings.
        """
        return export_rows(self.path, self.timeout, device, outlet, since, until)

    # ---- retention

    def downsample(self, now: float | None = None) -> PruneStats:
        """Fold raw rows older than the raw retention into minutes, old minutes into hours.

        Cutoffs are aligned to the bucket size so only complete buckets move; a
        reading that arrives late for a bucket already written is merged into it.
        One transaction per series keeps the writer's waits short.
        """
        started = time.monotonic()
        now = time.time() if now is None else now
        raw_cut = to_ms(now - self.retention.raw) // MINUTE_MS * MINUTE_MS
        minute_cut = to_ms(now - self.retention.minute) // HOUR_MS * HOUR_MS
        stats = PruneStats()
        with self._db() as conn:
            ids = [r[0] for r in conn.execute("SELECT id FROM series ORDER BY id")]
        for sid in ids:
            stats.raw_aggregated += self._fold(
                sid, "raw", raw_cut, RAW_TO_MINUTE, {"gap": to_ms(self.max_gap)}
            )
            stats.minute_aggregated += self._fold(sid, "minute", minute_cut, MINUTE_TO_HOUR, {})
        stats.seconds = time.monotonic() - started
        return stats

    def _fold(self, sid: int, table: str, cutoff: int, sql: str, extra: dict[str, int]) -> int:
        with self._db() as conn:
            return fold(conn, sid, table, cutoff, sql, extra)

    def prune(self, now: float | None = None) -> PruneStats:
        """Downsample, then drop hourly rows past ``Retention.hourly`` (if set)."""
        now = time.time() if now is None else now
        stats = self.downsample(now)
        started = time.monotonic()
        if self.retention.hourly is not None:
            cutoff = to_ms(now - self.retention.hourly)
            with self._db() as conn:
                stats.hour_deleted = conn.execute(
                    "DELETE FROM hour WHERE ts < ?", (cutoff,)
                ).rowcount
        with self._db() as conn:
            conn.execute("PRAGMA optimize")
        stats.seconds += time.monotonic() - started
        return stats


def open_history(
    path: Path | str | None = None, **options: object
) -> tuple[HistoryStore | None, str | None]:
    """Open the history, or (None, one-line reason) so the app can run with history off."""
    try:
        return HistoryStore(path, **options), None  # type: ignore[arg-type]
    except HistoryUnavailable as exc:
        return None, str(exc)
