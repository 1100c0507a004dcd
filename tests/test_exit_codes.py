"""Exit codes come from the error classes, through one map (``cli.main.run_verb``).

First by class: each error raised from inside a verb gives its class's ``exit_code``
and one line on stderr. Then end to end against the simulator: one real failure
per code, each reaching the user the same way.
"""

from __future__ import annotations

import argparse
import io
import json
import socket
import sys
from typing import Any

import pytest
from cli_helpers import addr, cli, error_line
from wire_fakes import refusing_port

from tplink_tui.cli import main as cli_main
from tplink_tui.cli import verbs
from tplink_tui.errors import (
    Cancelled,
    ConfigError,
    ConfigUsageError,
    ConnectionFailure,
    DeviceError,
    DeviceTimeout,
    DeviceUnreachable,
    FrameTooLarge,
    ListenError,
    NotSupported,
    OutletNotFound,
    ProtocolError,
    TplinkError,
    UsageError,
)
from tplink_tui.store.config import ConfigStore, DeviceExists, DeviceNotFound, SavedDevice

# The README's table: what each class means on the command line.
DOCUMENTED = [
    (TplinkError("something failed"), 1),
    (DeviceError(-1, "module not support", "emeter", "get_realtime", "127.0.0.1:9999"), 1),
    (NotSupported("127.0.0.1:9999: no energy meter"), 1),
    (UsageError("--count must be at least 1"), 2),
    (Cancelled("Reboot: cancelled, nothing was sent"), 2),
    (OutletNotFound("no outlet 9"), 2),
    (ConfigUsageError("no saved device named 'ghost'"), 2),
    (ListenError("cannot listen on 127.0.0.1:8000: address in use"), 2),
    (ConnectionFailure("127.0.0.1:9999: gone"), 3),
    (DeviceUnreachable("127.0.0.1:9999: connection refused"), 3),
    (DeviceTimeout("127.0.0.1:9999: no reply within 5 s"), 3),
    (ConfigError("/tmp/config.json: not JSON"), 4),
    (ProtocolError("127.0.0.1:9999: reply is not JSON"), 5),
    (FrameTooLarge("127.0.0.1:9999: frame of 4 GB"), 5),
]


def _raise_from_resolve(monkeypatch: pytest.MonkeyPatch, exc: BaseException) -> None:
    """Make ``info``'s first step (resolving HOST) raise ``exc``: no network at all."""

    def resolve(text: str, port: int | None = None) -> Any:
        raise exc

    monkeypatch.setattr(verbs, "resolve", resolve)


@pytest.mark.parametrize(("exc", "code"), DOCUMENTED, ids=lambda v: type(v).__name__)
def test_each_class_gives_its_own_code(
    exc: TplinkError, code: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert type(exc).exit_code == code
    _raise_from_resolve(monkeypatch, exc)
    got, out, err = cli(capsys, "info", "127.0.0.1:9")
    assert got == code and out == ""
    assert error_line(err) == f"tplink-tui: error: {exc}"


def test_the_code_is_read_from_the_class_not_a_list_of_types(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class Odd(ProtocolError):
        exit_code = 7

    _raise_from_resolve(monkeypatch, Odd("odd one"))
    code, _, err = cli(capsys, "info", "127.0.0.1:9")
    assert code == 7 and error_line(err) == "tplink-tui: error: odd one"


def test_store_name_errors_are_usage_errors_on_the_command_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The store's classes stay ConfigErrors for its callers; the CLI says 2, not 4.
    assert issubclass(DeviceExists, ConfigError) and issubclass(DeviceNotFound, ConfigError)
    ConfigStore().add_device(SavedDevice("Lamp", "127.0.0.1"))
    code, out, err = cli(capsys, "devices", "add", "127.0.0.9", "--name", "lamp")
    assert code == 2 and out == "" and "already saved" in error_line(err)
    code, out, err = cli(capsys, "devices", "remove", "ghost")
    assert code == 2 and out == "" and "ghost" in error_line(err)


def test_a_verb_entry_point_returns_its_code_from_any_parser(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``args.func(args)`` maps errors the same way outside ``main`` (the ``verb`` mark)."""
    _raise_from_resolve(monkeypatch, DeviceTimeout("127.0.0.1:9: no reply within 1 s"))
    parser = argparse.ArgumentParser(prog="t")
    verbs.register(parser.add_subparsers())
    args = parser.parse_args(["info", "127.0.0.1:9"])
    assert args.func(args) == 3
    assert error_line(capsys.readouterr().err).endswith("no reply within 1 s")


def test_an_unmarked_verb_is_mapped_by_main_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(args: argparse.Namespace) -> int:
        raise NotSupported("no meter here")

    monkeypatch.setattr(verbs, "run_info", broken)  # registered bare, without @verb
    code, _, err = cli(capsys, "info", "127.0.0.1:9")
    assert code == 1 and error_line(err) == "tplink-tui: error: no meter here"


def test_an_unexpected_exception_is_a_bug_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _raise_from_resolve(monkeypatch, ValueError("deep inside"))
    code, out, err = cli(capsys, "info", "127.0.0.1:9")
    line = error_line(err)
    assert code == 1 and out == ""
    assert "unexpected ValueError: deep inside" in line and "bug" in line and "-v" in line
    # -v adds the traceback (and still ends with the same one line).
    code, _, err = cli(capsys, "-v", "info", "127.0.0.1:9")
    assert code == 1 and "Traceback" in err and err.strip().splitlines()[-1] == line


def test_interrupt_is_130_and_a_closed_pipe_is_quiet(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _raise_from_resolve(monkeypatch, KeyboardInterrupt())
    code, out, err = cli(capsys, "info", "127.0.0.1:9")
    assert code == 130 and out == "" and err.strip() == "tplink-tui: interrupted"
    _raise_from_resolve(monkeypatch, BrokenPipeError())
    code, out, err = cli(capsys, "info", "127.0.0.1:9")
    assert (code, out, err) == (0, "", "")


def test_exit_code_for_reads_the_class() -> None:
    assert cli_main.exit_code_for(UsageError("x")) == 2
    assert cli_main.exit_code_for(KeyboardInterrupt()) == 130
    assert cli_main.exit_code_for(RuntimeError("bug")) == 1


def test_usage_error_is_one_type_and_a_value_error() -> None:
    from tplink_tui.cli import common, simulate

    assert cli_main.UsageError is UsageError
    assert not hasattr(simulate, "UsageError") or simulate.UsageError is UsageError
    assert common.Cancelled is Cancelled and issubclass(Cancelled, UsageError)
    assert issubclass(UsageError, ValueError)  # parse helpers keep the ValueError contract


# -- one real failure per code, end to end -------------------------------------------------


def test_unreachable_is_3(capsys: pytest.CaptureFixture[str]) -> None:
    with refusing_port() as port:
        code, out, err = cli(capsys, "--timeout", "2", "info", f"127.0.0.1:{port}")
    assert code == 3 and out == "" and f"127.0.0.1:{port}" in error_line(err)


def test_garbage_reply_is_5(sim_thread: Any, capsys: pytest.CaptureFixture[str]) -> None:
    plug = sim_thread.add("hs110", faults=["garbage"])
    code, out, err = cli(capsys, "--timeout", "2", "info", addr(plug))
    assert code == 5 and out == "" and addr(plug) in error_line(err)


def test_energy_on_a_strip_without_meter_is_1(
    sim_thread: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    strip = sim_thread.add("kp303", alias="Porch")
    code, out, err = cli(capsys, "energy", addr(strip))
    assert code == 1 and out == "" and addr(strip) in error_line(err)


def test_device_error_from_send_is_1_after_the_reply(
    sim_thread: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    plug = sim_thread.add("hs105")
    code, out, err = cli(capsys, "send", "-t", addr(plug), "-j", '{"system":{"no_such":{}}}')
    assert code == 1
    assert json.loads(out)["system"]["no_such"]["err_code"] != 0  # the reply is still shown
    assert "device error" in error_line(err)


@pytest.mark.parametrize("host", ["300.1.1.1", "127.0.0.1:40200:1", "[::1", "127.0.0.1:0"])
def test_malformed_host_is_2(host: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "info", host)
    assert code == 2 and out == "" and "malformed host" in error_line(err)


def test_unknown_outlet_and_refused_confirmation_are_2(
    sim_thread: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    strip = sim_thread.add("hs300")
    code, out, err = cli(capsys, "off", addr(strip), "--outlet", "9")
    assert code == 2 and out == "" and error_line(err)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # nobody to answer
    code, out, err = cli(capsys, "reboot", addr(strip))
    assert code == 2 and out == "" and "refusing without --yes" in error_line(err)


def test_corrupt_config_edit_is_4(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    config = tmp_path / "config.json"
    config.write_text("{nope")
    monkeypatch.setenv("TPLINK_TUI_CONFIG", str(config))
    code, out, err = cli(capsys, "devices", "add", "127.0.0.1", "--name", "Lamp")
    assert code == 4 and out == "" and str(config) in error_line(err)
    assert config.read_text() == "{nope"  # nothing written over the user's file


def test_simulate_on_a_busy_port_is_2(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, out, err = cli(capsys, "simulate", "hs110", "--port", str(port))
    assert code == 2 and out == "" and "cannot start the devices" in error_line(err)
