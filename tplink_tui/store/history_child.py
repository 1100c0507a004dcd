"""The history writer process: batches in on stdin, SQLite commits, status out on stdout.

``HistoryProcessWriter`` (``history_process``) starts this module so that the
SQLite work never holds the poll loop's GIL. It runs the ordinary ``HistoryWriter``
(one thread, batched transactions, lock retries) on the batches it is sent.

Frames parent → child: a 5-byte header (kind, payload length; ``struct`` ">BI")
then the payload. ``ROWS``: ``marshal`` of a list of plain tuples
(device, outlet, ts, power_w, voltage_v, current_a, total_kwh); marshal is the
cheapest packing of such tuples, and only our own parent writes this pipe.
``FLUSH`` / ``STOP``: an 8-byte token. Status child → parent: one JSON object a
line (``t`` = open, locked, commit, error, done, log). End of input (the parent is gone)
counts as ``STOP``: what arrived is committed before the process exits.
"""

from __future__ import annotations

import json
import logging
import marshal
import signal
import struct
import sys
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO

HEADER = struct.Struct(">BI")
ROWS, FLUSH, STOP = 1, 2, 3
MAX_FRAME = 1 << 30
"""No batch is near this; a larger header means the pipe is out of step."""


class _Status:
    """Writes status lines to the parent; any thread may call it."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.lock = threading.Lock()
        self.gone = False

    def send(self, **message: Any) -> None:
        line = json.dumps(message).encode() + b"\n"
        with self.lock:
            if self.gone:
                return
            try:
                self.out.write(line)
                self.out.flush()
            except (BrokenPipeError, OSError, ValueError):
                self.gone = True  # the parent is gone; keep committing what arrived


class _Forward(logging.Handler):
    """The parent logs our warnings under the same names: stderr could be a TUI's screen."""

    def __init__(self, status: _Status) -> None:
        super().__init__(logging.INFO)
        self.status = status

    def emit(self, record: logging.LogRecord) -> None:
        self.status.send(t="log", name=record.name, level=record.levelno, msg=record.getMessage())


def _read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    chunks: list[bytes] = []
    while size:
        chunk = stream.read(size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def main(argv: list[str] | None = None) -> int:
    """``PATH BATCH_SIZE MAX_QUEUE TIMEOUT``; exit 0 after a clean stop or end of input."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent; it stops us
    args = sys.argv[1:] if argv is None else argv
    path, batch_size, max_queue, timeout = Path(args[0]), int(args[1]), int(args[2]), float(args[3])
    status = _Status(sys.stdout.buffer)
    root = logging.getLogger()
    root.addHandler(_Forward(status))
    root.setLevel(logging.INFO)

    from .history_db import HistoryUnavailable, Reading
    from .history_writer import HistoryWriter

    def commit(n: int) -> None:
        status.send(t="commit", committed=n, dropped=writer.dropped)

    def error(exc: HistoryUnavailable) -> None:
        status.send(t="error", msg=str(exc), locked="locked" in str(exc))

    try:
        writer = HistoryWriter(
            path,
            batch_interval=1.0,
            batch_size=batch_size,
            max_queue=max_queue,
            timeout=timeout,
            on_error=error,
            on_commit=commit,
            on_open=lambda: status.send(t="open"),
            open_wait=timeout,  # nobody waits on this process's start
        )
    except HistoryUnavailable as exc:
        status.send(t="error", msg=str(exc), locked=False, fatal=True)
        return 3
    if writer.opened.is_set():
        status.send(t="open")
    elif writer.error is not None:  # locked: said, not an error (it opens when free)
        status.send(t="locked", msg=str(writer.error))

    def flushed(token: int) -> None:
        writer.flush(None)
        status.send(t="done", id=token, committed=writer.committed, dropped=writer.dropped)

    make = Reading._make
    stdin = sys.stdin.buffer
    token = 0
    while True:
        header = _read_exactly(stdin, HEADER.size)
        if header is None:
            break
        kind, size = HEADER.unpack(header)
        payload = _read_exactly(stdin, size) if size <= MAX_FRAME else None
        if payload is None:
            break
        if kind == ROWS:
            writer.add_batch([make(row) for row in marshal.loads(payload)])
        elif kind == FLUSH:  # on a thread: a locked database must not stop us reading
            args_ = (int.from_bytes(payload, "big"),)
            threading.Thread(target=flushed, args=args_, daemon=True).start()
        elif kind == STOP:
            token = int.from_bytes(payload, "big")
            break
    writer.close(timeout=None)
    status.send(
        t="done",
        id=token,
        committed=writer.committed,
        dropped=writer.dropped,
        cpu=time.process_time(),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
