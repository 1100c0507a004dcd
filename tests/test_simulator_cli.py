"""``tplink-tui simulate``: JSON lines, then ready; clean exit on SIGINT and SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tplink_tui.cli import simulate
from tplink_tui.simulator import LOOPBACK_BROADCAST
from tplink_tui.simulator.wire import tcp_query, udp_collect

SYSINFO = {"system": {"get_sysinfo": {}}}


@contextmanager
def simulate_process(*argv: str, module: str = "tplink_tui.cli.simulate") -> Iterator[tuple]:
    """Start the simulator in a subprocess; yield (process, device lines) once ready."""
    proc = subprocess.Popen(
        [sys.executable, "-m", module, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            record = json.loads(line)
            if record.get("ready"):
                break
            lines.append(record)
        else:
            raise AssertionError(f"no ready line; stderr: {proc.stderr.read()}")  # type: ignore[union-attr]
        yield proc, lines
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_serves_until_signalled(sig: signal.Signals) -> None:
    with simulate_process("hs110=Fridge", "hs300", "--seed", "3", "--fault", "delay=0.05@1") as (
        proc,
        lines,
    ):
        assert lines[0]["alias"] == "Fridge"
        assert [line["model"] for line in lines] == ["HS110(US)", "HS300(US)"]
        strip = lines[1]
        assert len(strip["outlets"]) == 6 and strip["outlets"][0]["id"].startswith(
            strip["device_id"]
        )
        for line in lines:
            assert set(line) >= {"model", "host", "port", "alias", "device_id", "mac", "outlets"}
            reply = asyncio.run(tcp_query(line["host"], line["port"], SYSINFO))
            assert reply["system"]["get_sysinfo"]["deviceId"] == line["device_id"]
        proc.send_signal(sig)
        assert proc.wait(10) == 0
    with pytest.raises(ConnectionRefusedError):
        asyncio.run(tcp_query(lines[0]["host"], lines[0]["port"], SYSINFO))


def test_lan_layout_and_discovery() -> None:
    argv = ("--count", "5", "--model", "hs105", "--addr-base", "127.0.0.60", "--port", "0")
    with simulate_process(*argv, "--fault", "offline@4") as (proc, lines):
        hosts = [line["host"] for line in lines]
        assert hosts == [f"127.0.0.{60 + i}" for i in range(5)]
        port = lines[0]["port"]
        assert {line["port"] for line in lines} == {port}
        replies = udp_collect(LOOPBACK_BROADCAST, port, SYSINFO, 1.5, 4)
        assert {host for host, _ in replies} == set(hosts[:4])
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0


def test_through_the_main_command_line() -> None:
    with simulate_process("simulate", "kp303=Media", module="tplink_tui") as (proc, lines):
        assert lines[0]["alias"] == "Media" and len(lines[0]["outlets"]) == 3
        proc.terminate()
        assert proc.wait(10) == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "give at least one MODEL"),
        (["hs999"], "unknown model"),
        (["hs110", "hs105", "--port", "9999"], "--base-port"),
        (["hs110", "--fault", "explode"], "unknown fault"),
        (["hs110", "--fault", "offline@7"], "no device 7"),
        (["--count", "0"], "at least 1"),
        (["--count", "3", "--base-port", "65534"], "out of range"),
        (["hs110", "--addr-base", "nonsense"], "not a usable address"),
    ],
)
def test_usage_errors(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="t")
    sub = parser.add_subparsers()
    simulate.register(sub)
    args = parser.parse_args(["simulate", *argv])
    assert args.func(args) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_describe_shape() -> None:
    from tplink_tui.simulator import SimulatedDevice, get_profile

    line = simulate.describe(SimulatedDevice(get_profile("hs107"), seed=1, alias="Two"))
    assert json.loads(json.dumps(line))["outlets"][1]["alias"] == "Plug 2"
