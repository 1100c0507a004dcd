"""``tplink-tui history export|prune`` and the time parser."""

from __future__ import annotations

import argparse
import csv
import io
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tplink_tui.cli import history as history_cli
from tplink_tui.store.config import ConfigStore, SavedDevice
from tplink_tui.store.history import HistoryStore, Reading

T0 = 1_700_002_800.0


@pytest.fixture
def dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TPLINK_TUI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TPLINK_TUI_CONFIG", str(tmp_path / "config.json"))
    return tmp_path


@pytest.fixture
def filled(dirs: Path) -> None:
    with HistoryStore() as store:
        store.insert(
            [Reading("127.0.0.1:9999", None, T0 + i, 10.0 + i, 230.0, 0.1, 1.5) for i in range(5)]
            + [Reading("127.0.0.2:10000", 3, T0 + i, 2.0) for i in range(3)]
        )
    ConfigStore().add_device(SavedDevice("Fridge", "127.0.0.1"))


def _cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="tplink-tui")
    parser.add_argument("--json", action="store_true")
    sub = parser.add_subparsers(dest="verb")
    history_cli.register(sub)
    args = parser.parse_args(list(argv))
    return args.func(args)


def test_parse_time() -> None:
    now = 1_700_000_000.0
    assert history_cli.parse_time("24h", now) == now - 86400
    assert history_cli.parse_time("7d", now) == now - 7 * 86400
    assert history_cli.parse_time("90m", now) == now - 5400
    assert history_cli.parse_time("now", now) == now
    assert history_cli.parse_time("1699990000", now) == 1699990000
    assert history_cli.parse_time("2023-11-14T22:13:20Z") == 1_700_000_000
    assert history_cli.parse_time("2023-11-14T22:13:20+00:00") == 1_700_000_000
    local = datetime(2024, 5, 1).astimezone().timestamp()
    assert history_cli.parse_time("2024-05-01") == local
    with pytest.raises(ValueError, match="24h"):
        history_cli.parse_time("yesterday-ish")


def test_export_csv(filled: None, capsys) -> None:
    assert _cli("history", "export") == 0
    out = capsys.readouterr().out
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 8
    assert list(rows[0]) == list(history_cli.FIELDS)
    first = rows[0]
    assert first["device"] == "127.0.0.1:9999" and first["outlet"] == ""
    assert float(first["power_w"]) == 10.0 and float(first["total_kwh"]) == 1.5
    assert float(first["ts"]) == T0 and first["resolution_s"] == "0"
    assert datetime.fromisoformat(first["time"]).timestamp() == T0
    assert rows[-1]["outlet"] == "3" and rows[-1]["voltage_v"] == ""


def test_export_json_and_filters(filled: None, capsys) -> None:
    assert _cli("history", "export", "--format", "json", "--device", "fridge") == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 5 and {r["device"] for r in rows} == {"127.0.0.1:9999"}
    assert rows[0]["outlet"] is None and rows[0]["power_w"] == 10.0

    assert _cli("--json", "history", "export", "--device", "127.0.0.2:10000", "--outlet", "3") == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["outlet"] for r in rows] == [3, 3, 3]

    since = datetime.fromtimestamp(T0 + 1, UTC).isoformat()
    until = str(T0 + 3)
    assert _cli("history", "export", "--format", "json", "--since", since, "--until", until) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["ts"] for r in rows] == [T0 + 1, T0 + 2, T0 + 3, T0 + 1, T0 + 2]


def test_export_empty_is_still_valid(dirs: Path, capsys) -> None:
    assert _cli("history", "export", "--format", "json") == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == [] and "no history yet" in captured.err
    assert not (dirs / "data" / "history.sqlite3").exists()  # export creates nothing
    assert _cli("history", "export") == 0
    assert capsys.readouterr().out.strip() == ",".join(history_cli.FIELDS)


def test_export_unknown_device_notes_it(filled: None, capsys) -> None:
    assert _cli("history", "export", "--device", "127.0.0.9", "--format", "json") == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == [] and "127.0.0.9:9999" in captured.err


@pytest.mark.parametrize(
    "argv,code,message",
    [
        (("history", "export", "--since", "soonish"), 2, "cannot read the time"),
        (("history", "export", "--since", "1h", "--until", "2h"), 2, "before --since"),
        (("history", "export", "--device", "no such name"), 2, "malformed host"),
        (("history", "prune", "--raw-hours", "0"), 2, "--raw-hours"),
    ],
)
def test_usage_errors(filled: None, capsys, argv, code, message) -> None:
    assert _cli(*argv) == code
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert captured.out == "" and len(lines) == 1 and message in lines[0]


def test_bad_database_exit_4(dirs: Path, capsys) -> None:
    (dirs / "data").mkdir()
    db = dirs / "data" / "history.sqlite3"
    db.write_bytes(b"garbage" * 1000)
    assert _cli("history", "export") == 4
    assert _cli("history", "prune") == 4
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(str(db) in line for line in err)
    assert db.read_bytes() == b"garbage" * 1000


def test_prune(dirs: Path, capsys) -> None:
    old = time.time() - 3 * 86400
    with HistoryStore() as store:
        store.insert(Reading("127.0.0.1:9999", None, old + i, 50.0) for i in range(600))
    assert _cli("--json", "history", "prune") == 0
    result = json.loads(capsys.readouterr().out)
    assert result["raw_aggregated"] == 600 and result["rows"]["raw"] == 0
    assert result["rows"]["minute"] in (10, 11)
    assert _cli("history", "prune") == 0
    assert "Pruned" in capsys.readouterr().out
