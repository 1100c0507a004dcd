"""Background writer: readings go in from any thread or event loop, batches go to disk.

The monitor calls ``add()`` for every reading; it appends to a deque and returns at
once (no lock, no I/O), so neither the UI nor the polling loop ever waits on the
disk. A thread wakes every ``batch_interval`` seconds (sooner when ``batch_size``
readings are waiting) and writes each batch in one transaction. A process killed
at any moment therefore loses at most the readings not yet committed.

A database locked by another process does not hold up the caller either: the
constructor tries once without waiting, and on a lock the thread keeps trying in
the background while readings queue up (bounded by ``max_queue``).
"""

from __future__ import annotations

import atexit
import collections
import logging
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar

from .history_db import (
    HistoryLocked,
    HistoryUnavailable,
    Reading,
    SeriesCache,
    connect,
    default_history_path,
    describe_error,
    insert_readings,
)

log = logging.getLogger(__name__)

OPEN_WAIT = 0.05
"""Seconds an open waits on a lock before trying again later (never on the caller)."""
RETRY_MAX = 2.0


class _Marker:
    """Put in the queue by flush()/close(): everything before it is written first."""

    def __init__(self, stop: bool = False) -> None:
        self.done = threading.Event()
        self.stop = stop


class HistoryWriter:
    """Writes readings to the history database in batches, on its own thread."""

    def __init__(
        self,
        path: Path | str | None = None,
        *,
        batch_interval: float = 1.0,
        batch_size: int = 5000,
        max_queue: int = 200_000,
        timeout: float = 5.0,
        on_error: Callable[[HistoryUnavailable], None] | None = None,
        on_commit: Callable[[int], None] | None = None,
        on_open: Callable[[], None] | None = None,
        open_wait: float = OPEN_WAIT,
    ) -> None:
        """Open the database now (HistoryUnavailable if it cannot be used) and start.

        A locked database is not an error: it is opened in the background (see
        ``opened``), and ``error`` holds the lock message meanwhile.

        ``on_error`` is called from the writer thread when a batch cannot be written
        (the batch is dropped, later batches are tried again); ``on_commit`` with the
        running count of rows committed, after each transaction; ``on_open`` once a
        database that was locked at construction has opened. ``open_wait``: how long
        each open waits on a lock (short, so no caller waits; the writer process,
        which nobody waits on, waits ``timeout``); close() tries once more.
        """
        self.path = Path(path) if path is not None else default_history_path()
        self.batch_interval = batch_interval
        self.batch_size = max(1, batch_size)
        self.max_queue = max_queue
        self.on_error = on_error
        self.on_commit = on_commit
        self.on_open = on_open
        self.open_wait = open_wait
        self.committed = 0
        self.dropped = 0
        self.error: HistoryUnavailable | None = None
        self.timeout = timeout
        self.opened = threading.Event()  # set once the database is open
        self._closing = threading.Event()
        self._conn: sqlite3.Connection | None = None
        try:
            self._conn = connect(self.path, timeout=timeout, open_timeout=open_wait)
            self.opened.set()
        except HistoryLocked as exc:
            self.error = exc
            log.warning("%s; recording starts when it is free", exc)
        self._cache = SeriesCache()
        self._queue: collections.deque[Reading | _Marker] = collections.deque()
        self._wake = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="history-writer", daemon=True)
        self._thread.start()
        close_at_exit(self)

    # ---- producer side (any thread, never blocks)

    def add(
        self,
        device: str,
        outlet: int | None,
        ts: float,
        power_w: float | None = None,
        voltage_v: float | None = None,
        current_a: float | None = None,
        total_kwh: float | None = None,
    ) -> bool:
        """Queue one reading; False if it was dropped (writer closed or queue full)."""
        return self.add_reading(
            Reading(device, outlet, ts, power_w, voltage_v, current_a, total_kwh)
        )

    def add_reading(self, reading: Reading) -> bool:
        """Queue a Reading; False if it was dropped (writer closed or queue full)."""
        queued = len(self._queue)
        if self._closed or queued >= self.max_queue:
            self.dropped += 1
            return False
        self._queue.append(reading)
        # is_set() first: Event.set() takes a lock, and while the loop holds the GIL
        # the writer cannot drain the queue, so every add past batch_size would.
        if queued + 1 >= self.batch_size and not self._wake.is_set():
            self._wake.set()
        return True

    def add_batch(self, readings: list[Reading]) -> int:
        """Queue many Readings and wake the thread at once; how many were dropped."""
        if self._closed:
            self.dropped += len(readings)
            return len(readings)
        room = max(0, self.max_queue - len(self._queue))
        kept = readings if len(readings) <= room else readings[:room]
        self._queue.extend(kept)
        lost = len(readings) - len(kept)
        self.dropped += lost
        self._wake.set()
        return lost

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Wait until every reading added before this call is committed (or dropped)."""
        if self._closed or not self._thread.is_alive():
            return False
        marker = _Marker()
        self._queue.append(marker)
        self._wake.set()
        return marker.done.wait(timeout)

    def close(self, timeout: float | None = 10.0) -> None:
        """Write what is queued, stop the thread and close the database. Idempotent."""
        if self._closed:
            return
        marker = _Marker(stop=True)
        self._queue.append(marker)
        self._closed = True
        self._closing.set()
        self._wake.set()
        self._thread.join(timeout)
        if not self._thread.is_alive() and self._conn is not None:
            self._conn.close()

    def __enter__(self) -> HistoryWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def pending(self) -> int:
        """Readings (and flush markers) queued and not yet written; approximate."""
        return len(self._queue)

    # ---- writer thread

    def _open_later(self) -> bool:
        """Try to open a locked database until it works, fails otherwise, or we close
        (then once more: a lock that was brief must not cost the queued rows)."""
        delay = 0.1
        while True:
            closing = self._closing.wait(delay)
            try:
                self._conn = connect(self.path, timeout=self.timeout, open_timeout=self.open_wait)
            except HistoryLocked:
                if closing:
                    return False
                delay = min(RETRY_MAX, delay * 2)
                continue
            except HistoryUnavailable as exc:
                self._fail(exc, 0)
                return False
            self.error = None
            self.opened.set()
            log.info("%s: history database open", self.path)
            if self.on_open is not None:
                self.on_open()
            return True

    def _discard_queue(self) -> None:
        """The database never opened: drop what was queued, release flush() waiters."""
        while self._queue:
            item = self._queue.popleft()
            if isinstance(item, _Marker):
                item.done.set()
            else:
                self.dropped += 1

    def _run(self) -> None:
        if self._conn is None and not self._open_later():
            self._discard_queue()
            self._closed = True
            return
        stop = False
        while not stop:
            self._wake.wait(self.batch_interval)
            self._wake.clear()
            batch: list[Reading] = []
            while self._queue:
                item = self._queue.popleft()
                if isinstance(item, _Marker):
                    self._write(batch)
                    batch = []
                    item.done.set()
                    stop = stop or item.stop
                    continue
                batch.append(item)
                if len(batch) >= self.batch_size:
                    self._write(batch)
                    batch = []
            self._write(batch)

    def _write(self, batch: list[Reading]) -> None:
        if not batch or self._conn is None:
            return
        for attempt in range(3):
            try:
                written, skipped = insert_readings(self._conn, self._cache, batch)
            except sqlite3.Error as exc:
                error = describe_error(self.path, exc)
                busy = "locked" in str(exc).lower() or "busy" in str(exc).lower()
                if busy and attempt < 2:
                    time.sleep(0.2)
                    continue
                self._fail(error, len(batch))
                return
            except Exception as exc:  # never let the thread die on a surprise
                self._fail(HistoryUnavailable(f"{self.path}: history write failed: {exc}"), 0)
                self.dropped += len(batch)
                return
            self.dropped += skipped
            self.committed += written
            self.error = None
            if self.on_commit is not None:
                self.on_commit(self.committed)
            return

    def _fail(self, error: HistoryUnavailable, lost: int) -> None:
        self.dropped += lost
        first = self.error is None
        self.error = error
        if first:
            log.warning("%s", error)
        if self.on_error is not None:
            try:
                self.on_error(error)
            except Exception:  # a broken callback must not stop the writer
                log.exception("history on_error callback failed")


class _Closes(Protocol):
    def close(self, timeout: float | None = 10.0) -> None: ...


_W = TypeVar("_W", bound=_Closes)


def close_at_exit(writer: _W) -> None:
    """Close ``writer`` (what it still holds is written) when the program ends, unless
    it was collected first: a weak reference, so the hook keeps nothing alive."""
    atexit.register(_close_if_alive, weakref.ref(writer))


def _close_if_alive(ref: weakref.ref[_W]) -> None:
    writer = ref()
    if writer is not None:
        writer.close(timeout=5.0)
