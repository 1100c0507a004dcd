"""Hostile devices against the command line: raw bytes under a pty, strict JSON,
and the edges a new user hits (confirmation, --timeout, typos, watch)."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import addr, cli, cli_json, error_line
from pty_run import run_on_pty
from test_smartplug import ThreadedDevice
from test_smartplug import run as serve_state
from wire_fakes import FakeState, hs110_v1, old_meter, refusing_port

from tplink_tui.cli import watch as watch_cli
from tplink_tui.simulator.threaded import ThreadedSimulator

OSC_TITLE = "\x1b]2;PWNED-TITLE\x07"
OSC_CLIPBOARD = "\x1b]52;c;UFdORUQ=\x07"
HOSTILE = f"[/]Ev[b]il{OSC_TITLE}\nforged row\u202e\x9b2J\x00{OSC_CLIPBOARD}"
# Bytes no device text may make us write: OSC, the CSI the device sent, C1 CSI in
# UTF-8, BEL, NUL, the RLO bidi override.
FORBIDDEN = (b"\x1b]", b"\x1b[2J", b"\xc2\x9b", b"\x07", b"\x00", "\u202e".encode())


@contextlib.contextmanager
def fake(state: FakeState) -> Iterator[ThreadedDevice]:
    yield from serve_state(state)


def run_pty(*argv: str, answer: bytes = b"") -> tuple[int, bytes]:
    """Run tplink-tui with stdin, stdout and stderr on a pseudo-terminal."""
    code, out, _ = run_on_pty(argv, interactive=True, answer=answer, timeout=20)
    return code, out


def assert_no_controls(raw: bytes) -> None:
    for needle in FORBIDDEN:
        assert needle not in raw, f"{needle!r} written to the terminal: {raw[:2000]!r}"


@pytest.fixture
def hostile_strip(sim_thread: ThreadedSimulator) -> Any:
    strip = sim_thread.add("hs300", HOSTILE, outlets=[f"{HOSTILE}{i}" for i in range(6)])

    def poison(device: Any) -> None:
        device._static.update(
            model=f"HS300[/]{OSC_CLIPBOARD}(US)",
            mac="50:C7:BF\x1b[2J:00:00:01",
            sw_ver=f"1.0.3 Build 1{OSC_TITLE}",
            hw_ver="1.0\x1b[31m",
        )

    sim_thread.call(poison, strip)
    return strip


@pytest.mark.parametrize(
    "argv",
    [
        ("info",),
        ("--json", "info"),
        ("watch", "--count", "1", "--no-history"),
        ("--json", "watch", "--count", "1", "--no-history"),
        ("energy",),
        ("send", "-c", "info"),
        ("alias",),
    ],
    ids=lambda a: " ".join(a),
)
def test_hostile_device_text_never_reaches_the_terminal(
    hostile_strip: Any, argv: tuple[str, ...]
) -> None:
    verb_at = next(i for i, a in enumerate(argv) if not a.startswith("-"))
    full = [*argv[: verb_at + 1]]
    full += ["-t", addr(hostile_strip)] if argv[verb_at] == "send" else [addr(hostile_strip)]
    full += argv[verb_at + 1 :]
    code, raw = run_pty(*full)
    assert code == 0, raw[-2000:]
    assert_no_controls(raw)
    assert b"Traceback" not in raw
    if "--json" in argv or argv[verb_at] == "send":
        assert b"\\u001b]2;PWNED-TITLE" in raw  # exact, escaped JSON
    else:
        assert "␛]2;PWNED-TITLE␇".encode() in raw  # visible placeholders


def test_json_output_is_strict_for_non_finite_readings(capsys: pytest.CaptureFixture[str]) -> None:
    meter = old_meter()
    meter.update(power=float("nan"), voltage=float("inf"), current=-float("inf"))
    with fake(FakeState(hs110_v1(), meter)) as device:
        code, out, err = cli(capsys, "--json", "info", f"127.0.0.1:{device.port}")
    assert code == 0, err

    def no_constants(name: str) -> Any:
        raise AssertionError(f"non-standard JSON constant {name}")

    data = json.loads(out, parse_constant=no_constants)
    assert data["power_w"] is None and data["voltage_v"] is None and data["current_a"] is None


def test_lone_surrogate_alias_is_no_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    info = hs110_v1()
    info["alias"] = "bad\ud800name"  # served as the JSON escape "\ud800"
    with fake(FakeState(info, old_meter())) as device:
        host = f"127.0.0.1:{device.port}"
        code, out, err = cli(capsys, "info", host)
        assert code == 0, err
        assert "bad\ufffdname" in out
        data = cli_json(capsys, "info", host)
        assert data["alias"] == "bad\ufffdname"
        code, out, err = cli(capsys, "send", "-t", host, "-c", "info")
        assert code == 0, err


def test_declining_a_confirmation_exits_2(sim_thread: ThreadedSimulator) -> None:
    plug = sim_thread.add("hs110", "Fridge")
    code, raw = run_pty("reboot", addr(plug), answer=b"n\r")
    assert code == 2, raw
    assert b"cancelled, nothing was sent" in raw
    assert not plug.booting


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0"])
def test_timeout_must_be_a_positive_number(capsys: pytest.CaptureFixture[str], value: str) -> None:
    code, _, err = cli(capsys, "--timeout", value, "info", "127.0.0.1")
    assert code == 2
    assert "--timeout must be a positive number" in err


def test_timeout_bounds_the_whole_verb(
    sim_thread: ThreadedSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    # Seven requests for a metered strip, each answered after 0.4 s: 2.8 s in all.
    strip = sim_thread.add("hs300", "Slow strip", faults=["delay=0.4"])
    started = time.monotonic()
    code, _, err = cli(capsys, "--timeout", "1", "info", addr(strip))
    elapsed = time.monotonic() - started
    assert code == 3
    assert "no reply within 1 s" in error_line(err)
    assert elapsed < 2.0


def test_a_mistyped_verb_gets_a_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "inof", "127.0.0.1")
    assert code == 2
    assert "did you mean 'info'?" in err


def test_watch_of_an_unreachable_device_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    with refusing_port() as port:
        code, _, err = cli(
            capsys,
            "watch",
            f"127.0.0.1:{port}",
            "--count",
            "2",
            "--interval",
            "0.1",
            "--no-history",
        )
    assert code == 3
    assert f"127.0.0.1:{port}: never answered" in error_line(err)


def test_watch_ends_with_an_error_when_a_reading_cannot_be_printed(
    sim_thread: ThreadedSimulator,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plug = sim_thread.add("hs110", "Fridge")

    def broken(*_: object) -> str:
        raise UnicodeEncodeError("utf-8", "x", 0, 1, "surrogates not allowed")

    monkeypatch.setattr(watch_cli, "snapshot_line", broken)
    started = time.monotonic()
    code, _, err = cli(capsys, "watch", addr(plug), "--interval", "0.1", "--no-history")
    assert time.monotonic() - started < 10
    assert code == 5
    assert "watch stopped: a reading could not be shown" in error_line(err)


def test_led_and_alias_without_a_value_show_the_current_one(
    sim_thread: ThreadedSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    strip = sim_thread.add("hs300", "Desk strip", outlets=["Lamp", "Printer"])
    host = addr(strip)
    assert cli_json(capsys, "led", host)["led"] is True
    code, out, _ = cli(capsys, "led", host)
    assert code == 0 and "LED on" in out
    assert cli_json(capsys, "alias", host)["alias"] == "Desk strip"
    data = cli_json(capsys, "alias", host, "--outlet", "1")
    assert data["alias"] == "Printer" and data["outlet"]["index"] == 1
    assert cli_json(capsys, "alias", host, "--outlet", "1", "Scanner")["alias"] == "Scanner"
    assert strip.outlets[1].alias == "Scanner"


def test_json_is_safe_for_a_terminal_and_exact(tmp_path: Path) -> None:
    from tplink_tui import untrusted

    value = {"alias": f"{HOSTILE}\u2028", "n": [float("nan"), 1e300]}
    text = untrusted.dumps(value)
    for needle in FORBIDDEN:
        assert needle not in text.encode()
    assert json.loads(text) == {"alias": value["alias"], "n": [None, 1e300]}
