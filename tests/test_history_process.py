"""The history writer process: rows arrive, close and exit flush, death is survived.

Every test runs the real child (``history_child``) over its pipes; the readings in
the first come from the monitor polling the simulator over TCP on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest

from tplink_tui.monitor import Monitor, Snapshot
from tplink_tui.recorder import start_recording
from tplink_tui.simulator import Simulator
from tplink_tui.store.history import HistoryStore, HistoryUnavailable
from tplink_tui.store.history_process import HistoryProcessWriter

REPO = Path(__file__).resolve().parents[1]
T0 = 1_700_000_000.0


def _gone(pid: int, within: float = 10.0) -> bool:
    """True once ``pid`` is neither running nor a zombie (it was reaped)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state == "Z" and not _is_our_child(pid):
            return True  # a zombie of someone else's (init reaps it), not left by us
        time.sleep(0.02)
    return False


def _is_our_child(pid: int) -> bool:
    try:
        ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return False
    return ppid == os.getpid()


async def test_monitor_rows_reach_the_database_through_the_process(
    simulator: Simulator, tmp_path: Path
) -> None:
    plug = await simulator.add("hs110", "Fridge")
    strip = await simulator.add("hs300", "Office")
    path = tmp_path / "history.sqlite3"
    monitor = Monitor(interval=0.02, timeout=2.0)
    seen: dict[str, int] = {}
    enough = asyncio.Event()

    def count(snap: Snapshot) -> None:
        if snap.fresh:
            seen[snap.key] = seen.get(snap.key, 0) + 1
        if len(seen) == 2 and min(seen.values()) >= 5:
            enough.set()

    monitor.subscribe(count)
    recorder, problem = start_recording(monitor, path=path, min_spacing=0.0)  # every reading
    assert problem is None and recorder is not None
    assert isinstance(recorder.writer, HistoryProcessWriter)
    pid = recorder.writer.pid
    for dev in (plug, strip):
        monitor.add(f"{dev.host}:{dev.port}", dev.host, dev.port)
    monitor.start()
    await asyncio.wait_for(enough.wait(), 20)
    await monitor.stop()
    recorder.close()
    assert _gone(pid)
    plug_key, strip_key = f"{plug.host}:{plug.port}", f"{strip.host}:{strip.port}"
    with HistoryStore(path) as store:
        plug_rows = list(store.export(device=plug_key))
        strip_rows = list(store.export(device=strip_key))
        series = set(store.series())
    assert len(plug_rows) == seen[plug_key] and all(r.power_w is not None for r in plug_rows)
    assert (strip_key, None) in series and {(strip_key, i) for i in range(6)} <= series
    assert len([r for r in strip_rows if r.outlet is None]) == seen[strip_key]
    assert recorder.writer.committed == len(plug_rows) + len(strip_rows)


def test_close_sends_and_commits_everything_queued(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    commits: list[int] = []
    writer = HistoryProcessWriter(
        path, batch_interval=30.0, batch_size=10**6, on_commit=commits.append
    )
    started = time.perf_counter()
    for i in range(20_000):
        assert writer.add("dev", None, T0 + i, 1.0, 230.0, 0.01, i / 1000)
    assert time.perf_counter() - started < 1.0  # an append each, nothing waits
    with HistoryStore(path) as store:
        assert store.counts()["raw"] == 0  # still queued here
    writer.close()
    assert writer.committed == 20_000 and commits[-1] == 20_000 and writer.dropped == 0
    assert writer.writer_cpu is not None and writer.writer_cpu > 0
    with HistoryStore(path) as store:
        assert [r.ts for r in store.export()] == [T0 + i for i in range(20_000)]
    assert not writer.add("dev", None, T0, 1.0) and writer.dropped == 1
    assert _gone(writer.pid)


def test_flush_makes_rows_visible_to_readers(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with HistoryProcessWriter(path, batch_interval=30.0) as writer, HistoryStore(path) as store:
        writer.add("dev", 0, T0, 5.0)
        assert writer.flush(10.0)
        assert [(r.outlet, r.power_w) for r in store.export()] == [(0, 5.0)]


def test_short_close_timeout_still_commits_in_the_child(tmp_path: Path) -> None:
    """The dashboard closes with 0.5 s: what was sent is committed after it returns."""
    path = tmp_path / "history.sqlite3"
    writer = HistoryProcessWriter(path, batch_interval=30.0, batch_size=10**6, max_queue=10**6)
    for i in range(100_000):
        writer.add("dev", None, T0 + i, 2.0, 230.0, 0.01, 1.0)
    writer.close(timeout=0.0)
    assert _gone(writer.pid, within=30.0)
    with HistoryStore(path) as store:
        assert store.counts()["raw"] == 100_000


def test_values_marshal_cannot_pack_are_read_as_numbers_or_dropped(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with HistoryProcessWriter(path) as writer:
        writer.add("dev", None, T0, Decimal("7.5"))  # type: ignore[arg-type]
        writer.add("dev", None, T0 + 1, object())  # type: ignore[arg-type]
        writer.add("dev", None, T0 + 2, float("nan"), 231.0)
        assert writer.flush()
        assert writer.dropped == 1
    with HistoryStore(path) as store:
        assert [(r.power_w, r.voltage_v) for r in store.export()] == [(7.5, None), (None, 231.0)]


def test_a_bad_database_fails_at_once_and_starts_no_process(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    path.write_bytes(b"not a database at all" * 100)
    before = set(os.listdir("/proc"))
    with pytest.raises(HistoryUnavailable, match="history unavailable"):
        HistoryProcessWriter(path)
    assert path.read_bytes() == b"not a database at all" * 100
    started = {
        p for p in set(os.listdir("/proc")) - before if p.isdigit() and _is_our_child(int(p))
    }
    assert not started


async def test_writer_death_is_told_once_and_polling_goes_on(
    simulator: Simulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    plug = await simulator.add("hs110", "Fridge")
    path = tmp_path / "history.sqlite3"
    monitor = Monitor(interval=0.02, timeout=2.0)
    fresh = 0
    tick = asyncio.Event()

    def count(snap: Snapshot) -> None:
        nonlocal fresh
        fresh += snap.fresh
        tick.set()

    monitor.subscribe(count)
    told: list[str] = []
    recorder, problem = start_recording(monitor, path=path, on_problem=told.append)
    assert recorder is not None and problem is None
    writer = recorder.writer
    assert isinstance(writer, HistoryProcessWriter)
    monitor.add(f"{plug.host}:{plug.port}", plug.host, plug.port)
    caplog.set_level(logging.WARNING)
    monitor.start()
    try:
        await asyncio.wait_for(tick.wait(), 10)
        assert await asyncio.to_thread(writer.flush)
        os.kill(writer.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while writer.error is None and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        before = fresh
        await asyncio.sleep(0.5)
        assert fresh > before + 3  # still polling, every reading still published
    finally:
        await monitor.stop()
    recorder.close()
    said = [r for r in caplog.records if "no longer recorded" in r.getMessage()]
    assert len(said) == 1 and len(told) == 1
    assert str(path) in told[0] and "history writer process ended" in told[0]
    assert not writer.add("dev", None, T0, 1.0) and not writer.flush()
    assert _gone(writer.pid)


def test_two_writers_on_one_database(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    first = HistoryProcessWriter(path, batch_interval=0.01, batch_size=50)
    second = HistoryProcessWriter(path, batch_interval=0.01, batch_size=50)

    def produce(writer: HistoryProcessWriter, device: str) -> None:
        for i in range(3000):
            writer.add(device, None, T0 + i, float(i % 1000))
            if i % 500 == 0:
                time.sleep(0.01)

    threads = [
        threading.Thread(target=produce, args=(first, "a")),
        threading.Thread(target=produce, args=(second, "b")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    first.close()
    second.close()
    assert first.committed == second.committed == 3000
    assert first.dropped == second.dropped == 0
    with HistoryStore(path) as store:
        assert [r.ts for r in store.export(device="a")] == [T0 + i for i in range(3000)]
        assert len(list(store.export(device="b"))) == 3000


PARENT = """
import os, signal, sys, time
from tplink_tui.store.history_process import HistoryProcessWriter

path, how = sys.argv[1], sys.argv[2]
writer = HistoryProcessWriter(path, batch_interval=0.05)
print(writer.pid, flush=True)
for i in range(5000):
    writer.add("dev", None, 1e9 + i, float(i % 1000))
if how == "kill":
    while writer.pending:
        time.sleep(0.01)
    time.sleep(0.2)  # sent; the child may or may not have committed it yet
    os.kill(os.getpid(), signal.SIGKILL)
# "exit": end without close(); the atexit hook sends and waits
"""


@pytest.mark.parametrize("how", ["exit", "kill"])
def test_rows_survive_the_parent_ending(tmp_path: Path, how: str) -> None:
    path = tmp_path / "history.sqlite3"
    parent = subprocess.run(
        [sys.executable, "-c", PARENT, str(path), how],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=60,
    )
    assert parent.returncode == (-signal.SIGKILL if how == "kill" else 0), parent.stderr
    child = int(parent.stdout.split()[0])
    assert _gone(child, within=20.0)  # the child ends by itself, nothing is left running
    with HistoryStore(path) as store:
        assert [r.power_w for r in store.export()] == [float(i % 1000) for i in range(5000)]


def test_ctrl_c_in_the_terminal_does_not_reach_the_child(tmp_path: Path) -> None:
    writer = HistoryProcessWriter(tmp_path / "history.sqlite3")
    try:
        assert os.getpgid(writer.pid) != os.getpgid(0)  # its own session and group
        writer.add("dev", None, T0, 1.0)
        assert writer.flush()  # the child is up and running
        os.kill(writer.pid, signal.SIGINT)  # and it ignores SIGINT sent to it directly
        writer.add("dev", None, T0 + 1, 1.0)
        assert writer.flush() and writer.committed == 2 and writer.error is None
    finally:
        writer.close()
    assert _gone(writer.pid)


def test_a_failing_disk_is_told_once_and_recording_resumes(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    told: list[str] = []
    recorder, problem = start_recording(Monitor(), path=path, on_problem=told.append)
    assert recorder is not None and problem is None
    writer = recorder.writer
    conn = sqlite3.connect(path)
    conn.execute("ALTER TABLE raw RENAME TO raw_gone")
    conn.commit()
    for i in range(3):  # three batches, each fails alike
        writer.add("dev", None, T0 + i, 1.0)
        assert writer.flush()
    assert len(told) == 1 and str(path) in told[0] and writer.error is not None
    conn.execute("ALTER TABLE raw_gone RENAME TO raw")
    conn.commit()
    conn.close()
    writer.add("dev", None, T0 + 9, 1.0)
    assert writer.flush() and writer.error is None and writer.dropped == 3
    recorder.close()
    with HistoryStore(path) as store:
        assert [r.ts for r in store.export()] == [T0 + 9]
