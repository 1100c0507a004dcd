"""The history store: schema, integrals, counter resets, downsampling, writer, durability."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from tplink_tui.errors import ConfigError
from tplink_tui.store.history import (
    HistoryStore,
    HistoryUnavailable,
    HistoryWriter,
    Reading,
    Retention,
    default_history_path,
    open_history,
)

DEV = "127.0.0.1:9999"
T0 = 1_700_002_800.0  # a whole hour (and minute) in UTC
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "data"
    monkeypatch.setenv("TPLINK_TUI_DATA_DIR", str(folder))
    return folder


@pytest.fixture
def store(data_dir: Path) -> Iterator[HistoryStore]:
    s = HistoryStore()
    yield s
    s.close()


def constant(
    watts: float,
    start: float,
    seconds: int,
    step: float = 1.0,
    device: str = DEV,
    outlet: int | None = None,
) -> list[Reading]:
    """Readings of a constant load, with a device counter that matches it."""
    n = int(seconds / step) + 1
    return [
        Reading(device, outlet, start + i * step, watts, 230.0, watts / 230.0,
                5.0 + watts * i * step / 3.6e6)
        for i in range(n)
    ]  # fmt: skip


# --------------------------------------------------------------------------- opening


def test_default_path_and_schema(store: HistoryStore, data_dir: Path) -> None:
    assert default_history_path() == data_dir / "history.sqlite3"
    assert store.path == data_dir / "history.sqlite3" and store.path.exists()
    conn = sqlite3.connect(store.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == ("1",)
    conn.close()
    HistoryStore(store.path).close()  # opening again migrates nothing


def test_errors_are_config_errors() -> None:
    assert issubclass(HistoryUnavailable, ConfigError)


def test_garbage_file_is_refused_and_kept(data_dir: Path) -> None:
    data_dir.mkdir()
    path = data_dir / "history.sqlite3"
    junk = b"this is not a database" * 100
    path.write_bytes(junk)
    with pytest.raises(HistoryUnavailable, match=r"history\.sqlite3"):
        HistoryStore()
    with pytest.raises(HistoryUnavailable):
        HistoryWriter()
    store, warning = open_history()
    assert store is None and warning and str(path) in warning
    assert path.read_bytes() == junk


def test_foreign_database_is_refused_and_kept(data_dir: Path) -> None:
    data_dir.mkdir()
    path = data_dir / "history.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (x)")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(HistoryUnavailable, match="not a tplink-tui history"):
        HistoryStore()
    assert path.read_bytes() == before


def test_newer_schema_is_refused(store: HistoryStore) -> None:
    conn = sqlite3.connect(store.path)
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(HistoryUnavailable, match="newer"):
        HistoryStore(store.path)


def test_locked_database(store: HistoryStore) -> None:
    blocker = sqlite3.connect(store.path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(HistoryUnavailable, match="locked"):
            HistoryStore(store.path, timeout=0.05).insert(constant(1, T0, 1))
        with pytest.raises(HistoryUnavailable, match="locked"):
            store.__class__(store.path, timeout=0.05)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()


# --------------------------------------------------------------------------- integrals


def test_energy_from_power(store: HistoryStore) -> None:
    store.insert(constant(100.0, T0, 3600))
    assert store.energy_kwh(DEV, None, T0, T0 + 3600) == pytest.approx(0.1)
    assert store.energy_kwh(DEV, None, T0 + 900, T0 + 1800) == pytest.approx(0.025)
    # Clipping inside one segment.
    assert store.energy_kwh(DEV, None, T0 + 0.5, T0 + 1) == pytest.approx(100 * 0.5 / 3.6e6)
    assert store.energy_kwh(DEV, None, T0 - 3600, T0) == 0.0
    assert store.energy_kwh(DEV, 3, T0, T0 + 3600) == 0.0  # another outlet
    assert store.energy_kwh("nobody", None, T0, T0 + 3600) == 0.0


def test_trapezoid_between_changing_readings(store: HistoryStore) -> None:
    store.insert([Reading(DEV, None, T0, 0.0), Reading(DEV, None, T0 + 60, 120.0)])
    assert store.energy_kwh(DEV, None, T0, T0 + 60) == pytest.approx(60 * 60 / 3.6e6)


def test_long_gaps_are_not_bridged(data_dir: Path) -> None:
    with HistoryStore(max_gap=30) as store:
        store.insert(constant(360.0, T0, 600, step=10))
        store.insert(constant(360.0, T0 + 1200, 600, step=10))  # 10 min offline in between
        assert store.energy_kwh(DEV, None, T0, T0 + 1800) == pytest.approx(0.12)
        # The counter keeps counting while we are not looking, so it sees the gap.
        readings = [Reading(DEV, None, T0, total_kwh=1.0), Reading(DEV, None, T0 + 900, 5.0, None,
                                                                   None, 1.5)]  # fmt: skip
        store.insert([r._replace(device="b") for r in readings])
        assert store.counter_energy_kwh("b", None, T0, T0 + 900) == pytest.approx(0.5)


def test_counter_resets_continue_from_the_new_value(store: HistoryStore) -> None:
    totals = [10.0, 10.1, 10.2, 0.05, 0.15, 0.0, 0.3]
    store.insert(Reading(DEV, 0, T0 + i * 60, total_kwh=t) for i, t in enumerate(totals))
    # 0.1 + 0.1, reboot (+0.05), +0.1, reboot (+0), +0.3
    assert store.counter_energy_kwh(DEV, 0, T0, T0 + 3600) == pytest.approx(0.65)
    assert store.counter_energy_kwh(DEV, 0, T0 + 150, T0 + 3600) == pytest.approx(0.4)


def test_counter_never_negative(store: HistoryStore) -> None:
    totals = [5.0, 4.0, 3.0, 2.0, 1.0]
    store.insert(Reading(DEV, None, T0 + i, total_kwh=t) for i, t in enumerate(totals))
    assert store.counter_energy_kwh(DEV, None, T0, T0 + 10) == pytest.approx(10.0)
    assert store.counter_energy_kwh(DEV, None, T0, T0 + 10) >= 0


def test_recent_for_sparklines(store: HistoryStore) -> None:
    store.insert(constant(42.0, T0, 120, device=DEV, outlet=2))
    points = store.recent(DEV, 2, T0 + 60)
    assert len(points) == 61 and points[0] == (T0 + 60, 42.0)
    assert store.recent(DEV, None, T0) == []


# --------------------------------------------------------------------------- downsampling


def test_downsampling_keeps_energy_and_shrinks(data_dir: Path) -> None:
    retention = Retention(raw=3600, minute=2 * 86400, hourly=10 * 86400)
    with HistoryStore(retention=retention) as store:
        readings = constant(100.0, T0, 3 * 3600 - 1) + constant(60.0, T0, 3 * 3600 - 1, outlet=0)
        store.insert(readings)
        before = store.energy_kwh(DEV, None, T0, T0 + 3 * 3600)
        counter_before = store.counter_energy_kwh(DEV, None, T0, T0 + 3 * 3600)
        assert before == pytest.approx(0.3, rel=1e-3)

        # An hour later than the data's end: the first 3 h minus the last hour go to minutes.
        now = T0 + 3 * 3600 + 1800
        stats = store.prune(now=now)
        counts = store.counts()
        cutoff = now - 3600  # 1.5 h into the data, on a minute boundary
        assert stats.raw_aggregated == 2 * int(cutoff - T0)
        assert counts["minute"] == 2 * int(cutoff - T0) // 60
        assert counts["raw"] == len(readings) - stats.raw_aggregated
        assert store.energy_kwh(DEV, None, T0, T0 + 3 * 3600) == pytest.approx(before)
        assert store.counter_energy_kwh(DEV, None, T0, T0 + 3 * 3600) == pytest.approx(
            counter_before
        )
        assert store.energy_kwh(DEV, 0, T0, T0 + 3 * 3600) == pytest.approx(0.18, rel=1e-3)
        minute_points = store.recent(DEV, None, T0, T0 + 600)
        assert minute_points[:2] == [(T0, 100.0), (T0 + 60, 100.0)]
        rows = list(store.export(device=DEV, outlet=-1))
        assert [r.resolution for r in rows[:2]] == [60, 60] and rows[-1].resolution == 0
        assert rows[0].voltage_v == 230.0 and rows[0].current_a == pytest.approx(100 / 230, 1e-3)

        # Three days later everything is hourly; the integral still holds.
        stats = store.prune(now=T0 + 3 * 86400)
        counts = store.counts()
        assert counts["raw"] == 0 and counts["minute"] == 0 and counts["hour"] == 2 * 3
        assert store.energy_kwh(DEV, None, T0, T0 + 3 * 3600) == pytest.approx(before)
        assert store.counter_energy_kwh(DEV, None, T0, T0 + 3 * 3600) == pytest.approx(
            counter_before
        )
        hourly = list(store.export(device=DEV, outlet=-1))
        assert [r.resolution for r in hourly] == [3600] * 3
        assert hourly[0].power_w == 100.0 and hourly[-1].ts == T0 + 7200

        # After the hourly retention, it is gone.
        stats = store.prune(now=T0 + 11 * 86400)
        assert stats.hour_deleted == 6 and store.counts()["hour"] == 0


def test_downsampling_counter_reset_inside_a_bucket(store: HistoryStore) -> None:
    totals = [1.0, 1.01, 1.02, 0.0, 0.01, 0.02]  # reboot in the middle of a minute
    store.insert(Reading(DEV, None, T0 + i * 10, 10.0, total_kwh=t) for i, t in enumerate(totals))
    before = store.counter_energy_kwh(DEV, None, T0, T0 + 60)
    assert before == pytest.approx(0.04)
    store.prune(now=T0 + 100 * 86400)
    assert store.counts()["hour"] == 1
    assert store.counter_energy_kwh(DEV, None, T0, T0 + 3600) == pytest.approx(before)
    assert next(iter(store.export())).total_kwh == pytest.approx(0.02)  # the last value


def test_late_readings_merge_into_existing_buckets(store: HistoryStore) -> None:
    store.insert([Reading(DEV, None, T0, 100.0), Reading(DEV, None, T0 + 10, 100.0)])
    store.prune(now=T0 + 3 * 86400)
    store.insert([Reading(DEV, None, T0 + 20, 400.0)])  # arrives after its bucket was written
    store.prune(now=T0 + 3 * 86400)
    rows = list(store.export())
    assert len(rows) == 1 and rows[0].resolution == 60
    assert rows[0].power_w == pytest.approx(200.0)  # mean of 100, 100, 400


def test_prune_is_incremental_and_cheap_when_nothing_to_do(store: HistoryStore) -> None:
    store.insert(constant(10.0, T0, 600))
    stats = store.prune(now=T0 + 3600)  # nothing is 48 h old yet
    assert stats.raw_aggregated == 0 and store.counts()["raw"] == 601


def test_daily_kwh(data_dir: Path) -> None:
    today = date(2024, 3, 20)
    midnight = datetime.combine(today - timedelta(days=2), datetime.min.time()).astimezone()
    start = midnight.timestamp()
    now = datetime.combine(today, datetime.min.time()).astimezone().timestamp() + 6 * 3600
    with HistoryStore(max_gap=120) as store:
        # 1 kW from two days ago to 06:00 today, one reading a minute.
        store.insert(constant(1000.0, start, int(now - start), step=60))
        days = store.daily_kwh(DEV, None, 4, now=now)
        assert [d for d, _ in days] == [today - timedelta(days=i) for i in (3, 2, 1, 0)]
        assert [round(k, 6) for _, k in days] == [0.0, 24.0, 24.0, 6.0]
        by_counter = store.daily_kwh(DEV, None, 3, now=now, source="counter")
        assert [round(k, 6) for _, k in by_counter] == [24.0, 24.0, 6.0]
        store.prune(now=now + 100 * 86400)  # all hourly now: whole days stay exact
        assert [round(k, 6) for _, k in store.daily_kwh(DEV, None, 3, now=now)] == [
            24.0,
            24.0,
            6.0,
        ]


# --------------------------------------------------------------------------- export


def test_export_filters(store: HistoryStore) -> None:
    store.insert(constant(5.0, T0, 9, device="b:9999"))
    store.insert(constant(7.0, T0, 9, device="a:9999", outlet=1))
    store.insert(constant(9.0, T0, 9, device="a:9999"))
    rows = list(store.export())
    assert [(r.device, r.outlet) for r in rows[::10]] == [
        ("a:9999", None),
        ("a:9999", 1),
        ("b:9999", None),
    ]
    assert len(list(store.export(device="a:9999"))) == 20
    assert {r.power_w for r in store.export(device="a:9999", outlet=1)} == {7.0}
    assert {r.power_w for r in store.export(device="a:9999", outlet=-1)} == {9.0}
    window = list(store.export(since=T0 + 2, until=T0 + 4, device="b:9999"))
    assert [r.ts for r in window] == [T0 + 2, T0 + 3, T0 + 4]
    assert store.series() == [("a:9999", None), ("a:9999", 1), ("b:9999", None)]


def test_bad_values_are_skipped_not_fatal(store: HistoryStore) -> None:
    written = store.insert(
        [
            Reading(DEV, None, T0, 1.0),
            Reading(DEV, None, T0 + 1, "junk"),  # type: ignore[arg-type]
            Reading(DEV, None, float("nan"), 1.0),
            Reading(DEV, None, T0 + 2),  # nothing measured
            Reading(DEV, None, T0 + 3, float("inf"), 230.0),
        ]
    )
    assert written == 2
    assert [(r.power_w, r.voltage_v) for r in store.export()] == [(1.0, None), (None, 230.0)]


# --------------------------------------------------------------------------- writer


def test_writer_from_threads_and_asyncio(store: HistoryStore) -> None:
    commits: list[int] = []
    writer = store.writer(batch_interval=0.05, batch_size=100, on_commit=commits.append)

    def produce(outlet: int) -> None:
        for i in range(500):
            assert writer.add(DEV, outlet, T0 + i, float(i))

    threads = [threading.Thread(target=produce, args=(o,)) for o in range(4)]
    for t in threads:
        t.start()

    async def from_loop() -> None:
        for i in range(500):
            writer.add_reading(Reading(DEV, None, T0 + i, 1.0))
            if i % 100 == 0:
                await asyncio.sleep(0)

    asyncio.run(from_loop())
    for t in threads:
        t.join()
    assert writer.flush()
    assert store.counts()["raw"] == 2500
    assert commits[-1] == 2500 and len(commits) >= 25  # batches of at most 100
    writer.close()
    assert not writer.add(DEV, None, T0, 1.0)  # closed: dropped, not raised
    assert writer.dropped == 1


def test_writer_close_flushes_and_add_never_blocks(store: HistoryStore) -> None:
    writer = HistoryWriter(store.path, batch_interval=30.0, batch_size=10**6)
    started = time.perf_counter()
    for i in range(20_000):
        writer.add(DEV, None, T0 + i, 1.0)
    assert time.perf_counter() - started < 1.0
    assert store.counts()["raw"] == 0  # still waiting for its batch
    writer.close()
    assert store.counts()["raw"] == 20_000 and writer.committed == 20_000


def test_writer_queue_is_bounded(store: HistoryStore) -> None:
    writer = HistoryWriter(store.path, batch_interval=30.0, batch_size=10**6, max_queue=100)
    results = [writer.add(DEV, None, T0 + i, 1.0) for i in range(150)]
    assert results.count(False) == 50 and writer.dropped == 50
    writer.close()
    assert store.counts()["raw"] == 100


def test_writer_reports_errors_and_keeps_going(store: HistoryStore) -> None:
    errors: list[HistoryUnavailable] = []
    writer = store.writer(batch_interval=0.02, on_error=errors.append)
    writer.add(DEV, None, T0, 1.0)
    assert writer.flush()
    conn = sqlite3.connect(store.path)
    conn.execute("ALTER TABLE raw RENAME TO raw_gone")
    conn.commit()
    writer.add(DEV, None, T0 + 1, 1.0)
    assert writer.flush()
    assert errors and writer.error is not None and str(store.path) in str(errors[0])
    assert writer.dropped == 1
    conn.execute("ALTER TABLE raw_gone RENAME TO raw")
    conn.commit()
    conn.close()
    writer.add(DEV, None, T0 + 2, 1.0)
    assert writer.flush() and writer.error is None
    writer.close()
    assert [r.ts for r in store.export()] == [T0, T0 + 2]


# --------------------------------------------------------------------------- durability

CHILD = """
import sys, time
from tplink_tui.store.history import HistoryWriter

path, device, batch = sys.argv[1], sys.argv[2], int(sys.argv[3])
writer = HistoryWriter(path, batch_interval=0.005, batch_size=batch, max_queue=10**9,
                       on_commit=lambda n: print(n, flush=True))
i = 0
while True:
    for _ in range(batch):
        writer.add(device, None, 1e9 + i, float(i), 230.0, 0.5, i / 1000)
        i += 1
    time.sleep(0.002)
"""


def test_sigkill_mid_batch_keeps_every_committed_row(data_dir: Path) -> None:
    data_dir.mkdir()
    path = data_dir / "history.sqlite3"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    rng = random.Random(7)
    reported: dict[str, int] = {}
    for round_ in range(4):
        device = f"127.0.0.{round_ + 1}:9999"
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(path), device, "3000"],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert child.stdout is not None
        last = 0
        for _ in range(3 + round_):
            line = child.stdout.readline()
            assert line, "the child died before committing"
            last = int(line)
        time.sleep(rng.uniform(0, 0.02))  # land somewhere inside a batch
        child.send_signal(signal.SIGKILL)
        rest = child.stdout.read()
        child.wait()
        if rest.split():
            last = int(rest.split()[-1])
        reported[device] = last

    # The database opens, is consistent, and has every row reported committed.
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
    with HistoryStore(path) as store:
        for device, last in reported.items():
            ts = [r.ts for r in store.export(device=device)]
            assert len(ts) >= last
            # No torn batch and no gap: exactly the first len(ts) readings, in order.
            assert ts == [1e9 + i for i in range(len(ts))]
