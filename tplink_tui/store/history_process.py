"""History writing in a separate process, so SQLite never takes the poll loop's GIL.

``add()`` is the hot path: one tuple appended to a deque. A sender thread wakes
every ``batch_interval`` seconds (sooner at ``batch_size`` rows), packs what is
queued with ``marshal`` and writes it to the writer process (``history_child``)
in one frame; a reader thread takes its status lines (commits, errors, flushes).
With a thread writer the SQLite work and the GIL handoffs cost the poll loop
+16 to +19 % of its CPU at 200 plugs polled flat out (bench_compare); here the loop pays for
the append and the packing, and the other core does the rest.

The interface is ``HistoryWriter``'s. The database is opened once here first, so
a bad or newer file fails the constructor (``HistoryUnavailable``) exactly as
before; a locked one is the child's to wait for. ``close()`` (also at exit) sends
what is queued and waits for the last commit; if the parent dies, the child sees
the end of its input, commits what arrived and exits. If the child dies, polling
goes on: the error is logged and ``on_error`` called once, and later rows are
counted as dropped.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import json
import logging
import marshal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, cast

from .history_child import FLUSH, HEADER, ROWS, STOP
from .history_db import (
    HistoryLocked,
    HistoryUnavailable,
    Reading,
    connect,
    default_history_path,
)
from .history_writer import OPEN_WAIT, close_at_exit

log = logging.getLogger(__name__)

_ROOT = str(Path(__file__).resolve().parents[2])
_BOOT = (
    "import sys; sys.path.insert(0, sys.argv.pop(1)); "
    "from tplink_tui.store.history_child import main; sys.exit(main())"
)
Row = tuple[Any, ...]


class _Marker:
    """A flush or stop in the queue: the rows before it are written first."""

    def __init__(self, token: int, stop: bool = False) -> None:
        self.token = token
        self.stop = stop
        self.done = threading.Event()


def _portable(row: Row) -> Row | None:
    """A row marshal can pack: numbers as float (as ``to_row`` reads them), else None."""
    device, outlet, ts, *values = row
    try:
        return (
            device if type(device) is str else str(device),
            None if outlet is None else int(outlet),
            float(ts),
            *(None if v is None else float(v) for v in values),
        )
    except (TypeError, ValueError, OverflowError):
        return None


class HistoryProcessWriter:
    """``HistoryWriter``'s interface, with the SQLite work in a child process."""

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
    ) -> None:
        """Check the database, start the child; HistoryUnavailable if it cannot be used.

        OSError if the process cannot be started (``start_recording`` then falls
        back to the thread writer).
        """
        self.path = Path(path) if path is not None else default_history_path()
        self.batch_interval = batch_interval
        self.batch_size = max(1, batch_size)
        self.max_queue = max_queue
        self.timeout = timeout
        self.on_error = on_error
        self.on_commit = on_commit
        self.committed = 0
        self.error: HistoryUnavailable | None = None
        self.opened = threading.Event()
        self.writer_cpu: float | None = None  # the child's CPU seconds, once it has ended
        self._dropped = 0
        self._child_dropped = 0
        try:
            connect(self.path, timeout=timeout, open_timeout=OPEN_WAIT).close()
            self.opened.set()
        except HistoryLocked as exc:
            self.error = exc  # the child says so in the log, and opens it when free
        self._queue: collections.deque[Row | _Marker] = collections.deque()
        self._wake = threading.Event()
        self._tokens = itertools.count(1)
        self._waiting: dict[int, _Marker] = {}
        self._closed = False
        self._dead = False
        args = [str(self.path), str(self.batch_size), str(max_queue), str(timeout)]
        self._proc = subprocess.Popen(
            [sys.executable, "-I", "-c", _BOOT, _ROOT, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # no Ctrl-C or terminal hang-up: we stop it, in order
        )
        self.pid = self._proc.pid
        self._sender = threading.Thread(target=self._send_loop, name="history-send", daemon=True)
        self._reader = threading.Thread(target=self._read_loop, name="history-read", daemon=True)
        self._sender.start()
        self._reader.start()
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
        queue = self._queue
        if self._closed or self._dead or len(queue) >= self.max_queue:
            self._dropped += 1
            return False
        queue.append((device, outlet, ts, power_w, voltage_v, current_a, total_kwh))
        if len(queue) >= self.batch_size and not self._wake.is_set():
            self._wake.set()
        return True

    def add_reading(self, reading: Reading) -> bool:
        """Queue a Reading; False if it was dropped (writer closed or queue full)."""
        return self.add(*reading)

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Wait until every reading added before this call is committed (or dropped)."""
        if self._closed or self._dead:
            return False
        marker = _Marker(next(self._tokens))
        self._queue.append(marker)
        self._wake.set()
        return marker.done.wait(timeout) and not self._dead

    def close(self, timeout: float | None = 10.0) -> None:
        """Send what is queued, wait for its commit and the child's exit. Idempotent.

        After ``timeout`` the child is left to finish on its own (its input is
        closed, so it commits and exits; the reader thread reaps it).
        """
        if self._closed:
            return
        if self._dead:
            self._closed = True
            return
        deadline = None if timeout is None else time.monotonic() + timeout
        marker = _Marker(next(self._tokens), stop=True)
        self._queue.append(marker)
        self._closed = True
        self._wake.set()
        if self._dead:  # died meanwhile: nobody will answer the marker
            marker.done.set()
        marker.done.wait(timeout)
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            self._proc.wait(left)
        except subprocess.TimeoutExpired:
            log.info("history writer process still committing; it exits when done")

    def __enter__(self) -> HistoryProcessWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def dropped(self) -> int:
        """Readings not stored: refused here, or dropped by the child (locked, bad)."""
        return self._dropped + self._child_dropped

    @property
    def pending(self) -> int:
        """Readings (and flush markers) queued here and not yet sent; approximate."""
        return len(self._queue)

    # ---- sender thread

    def _send_loop(self) -> None:
        stdin = self._proc.stdin
        assert stdin is not None
        stop = False
        while not stop and not self._dead:
            self._wake.wait(self.batch_interval)
            self._wake.clear()
            queue = self._queue
            items = [queue.popleft() for _ in range(len(queue))]
            try:
                stop = self._send(stdin, items)
            except OSError:  # the child is gone; the reader thread says so
                for item in items:
                    if isinstance(item, _Marker):
                        item.done.set()
                    else:
                        self._dropped += 1
                break
        with contextlib.suppress(OSError):
            stdin.close()

    def _send(self, stdin: IO[bytes], items: list[Row | _Marker]) -> bool:
        if _Marker not in map(type, items):  # the usual case, checked at C speed
            self._send_rows(stdin, cast(list[Row], items))
            stdin.flush()
            return False
        rows: list[Row] = []
        for item in items:
            if not isinstance(item, _Marker):
                rows.append(item)
                continue
            self._send_rows(stdin, rows)
            rows = []
            self._waiting[item.token] = item
            kind = STOP if item.stop else FLUSH
            stdin.write(HEADER.pack(kind, 8) + item.token.to_bytes(8, "big"))
            if item.stop:
                stdin.flush()
                return True
        self._send_rows(stdin, rows)
        stdin.flush()
        return False

    def _send_rows(self, stdin: IO[bytes], rows: list[Row]) -> None:
        if not rows:
            return
        try:
            payload = marshal.dumps(rows)
        except ValueError:  # something other than str/int/float/None in a row
            portable = [_portable(row) for row in rows]
            kept = [row for row in portable if row is not None]
            self._dropped += len(rows) - len(kept)
            payload = marshal.dumps(kept)
        stdin.write(HEADER.pack(ROWS, len(payload)))
        stdin.write(payload)

    # ---- reader thread

    def _read_loop(self) -> None:
        stdout = self._proc.stdout
        assert stdout is not None
        fatal: str | None = None
        for line in stdout:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            fatal = self._status(message) or fatal
        stdout.close()
        code = self._proc.wait()  # reaped here: no zombie, whoever closes
        clean = code == 0 and self._closed
        if not clean:
            self._died(fatal or f"the history writer process ended (exit status {code})")
        for marker in list(self._waiting.values()):
            marker.done.set()
        self._wake.set()

    def _status(self, message: dict[str, Any]) -> str | None:
        kind = message.get("t")
        if kind in ("commit", "done"):
            self.committed = int(message.get("committed", self.committed))
            self._child_dropped = int(message.get("dropped", self._child_dropped))
            if "cpu" in message:
                self.writer_cpu = float(message["cpu"])
            if kind == "commit":
                self.error = None
                if self.on_commit is not None:
                    self.on_commit(self.committed)
            else:
                marker = self._waiting.pop(int(message.get("id", 0)), None)
                if marker is not None:
                    marker.done.set()
        elif kind == "open":
            self.error = None
            self.opened.set()
        elif kind == "locked":
            self.error = HistoryLocked(str(message.get("msg", "locked")))
        elif kind == "error":
            text = str(message.get("msg", "history write failed"))
            if message.get("fatal"):
                return text
            self._report(HistoryLocked(text) if message.get("locked") else HistoryUnavailable(text))
        elif kind == "log":
            level = int(message.get("level", logging.WARNING))
            logging.getLogger(str(message.get("name", __name__))).log(level, "%s", message["msg"])
        return None

    def _died(self, why: str) -> None:
        self._dead = True
        while self._queue:  # nothing more goes out: release waiters, count the rows
            item = self._queue.popleft()
            if isinstance(item, _Marker):
                item.done.set()
            else:
                self._dropped += 1
        if not why.startswith(str(self.path)):
            why = f"{self.path}: history unavailable: {why}"
        error = HistoryUnavailable(f"{why}; readings are no longer recorded")
        log.warning("%s", error)
        self._report(error)

    def _report(self, error: HistoryUnavailable) -> None:
        self.error = error
        if self.on_error is not None:
            try:
                self.on_error(error)
            except Exception:  # a broken callback must not stop the reader
                log.exception("history on_error callback failed")
