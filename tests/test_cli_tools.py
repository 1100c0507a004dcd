"""send, discover, decode/encode, watch, the error paths and the entry point."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from cli_helpers import addr, cli, cli_json, error_line
from wire_fakes import refusing_port

from tplink_tui import codec

BROADCAST = "127.255.255.255"
SYSINFO = '{"system":{"get_sysinfo":{}}}'
SYSINFO_HEX = "d0f281f88bff9af7d5ef94b6d1b4c09fec95e68fe187e8caf08bf68bf6"


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A port that refuses connections and that nothing else can take meanwhile."""
    with refusing_port() as port:
        yield port


# -- send ----------------------------------------------------------------------------------


def test_send_commands(sim_thread: Any, capsys: pytest.CaptureFixture[str]) -> None:
    plug = sim_thread.add("hs110", alias="Kettle")
    code, out, err = cli(capsys, "send", "-t", "127.0.0.1", "-p", str(plug.port), "-c", "info")
    assert code == 0 and err == ""
    assert json.loads(out)["system"]["get_sysinfo"]["alias"] == "Kettle"
    assert cli(capsys, "send", "-t", addr(plug), "-c", "off")[0] == 0
    assert plug.relay_on is False
    assert cli(capsys, "send", "-t", addr(plug), "-c", "ledoff")[0] == 0
    assert plug.led_on is False
    reply = json.loads(cli(capsys, "send", "-t", addr(plug), "-c", "energy")[1])
    assert "power" in reply["emeter"]["get_realtime"]
    # --json changes nothing: the reply is JSON already
    assert "get_time" in cli_json(capsys, "send", "-t", addr(plug), "-c", "time")["time"]


def test_send_raw_json_and_child(sim_thread: Any, capsys: pytest.CaptureFixture[str]) -> None:
    strip = sim_thread.add("hs300")
    child = strip.outlets[4].id
    request = '{"system":{"set_relay_state":{"state":0}}}'
    code, out, _ = cli(capsys, "send", "-t", addr(strip), "-j", request, "-o", child)
    assert code == 0 and json.loads(out)["system"]["set_relay_state"]["err_code"] == 0
    assert [o.is_on for o in strip.outlets] == [True] * 4 + [False, True]
    reading = json.loads(cli(capsys, "send", "-t", addr(strip), "-c", "energy", "-o", "1")[1])
    assert reading["emeter"]["get_realtime"]["slot_id"] == 1


def test_send_device_error_exit_1(sim_thread: Any, capsys: pytest.CaptureFixture[str]) -> None:
    plug = sim_thread.add("hs105")
    code, out, err = cli(capsys, "send", "-t", addr(plug), "-c", "energy")
    assert code == 1
    assert json.loads(out)["emeter"]["err_code"] == -1  # the reply is still printed
    line = error_line(err)
    assert addr(plug) in line and "module not support" in line


def test_send_bad_input(sim_thread: Any, capsys: pytest.CaptureFixture[str]) -> None:
    plug = sim_thread.add("hs110")
    code, out, err = cli(capsys, "send", "-t", addr(plug), "-j", "{not json")
    assert code == 2 and out == ""
    assert "not valid JSON" in error_line(err)
    assert cli(capsys, "send", "-t", addr(plug), "-j", "[1, 2]")[0] == 2
    assert cli(capsys, "send", "-t", addr(plug), "-c", "explode")[0] == 2
    assert cli(capsys, "send", "-t", addr(plug))[0] == 2  # -c or -j is required
    # dangerous commands need --yes when stdin is not a terminal
    for command in ("reboot", "reset", "energy_reset", "runtime_reset"):
        code, out, err = cli(capsys, "send", "-t", addr(plug), "-c", command)
        assert code == 2 and out == "" and "--yes" in error_line(err)
    raw_reboot = '{"system":{"reboot":{"delay":1}}}'
    assert cli(capsys, "send", "-t", addr(plug), "-j", raw_reboot)[0] == 2
    assert plug.booting is False
    assert cli(capsys, "send", "-t", addr(plug), "-c", "energy_reset", "--yes")[0] == 0


# -- discover ------------------------------------------------------------------------------


def test_discover(sim_thread: Any, capsys: pytest.CaptureFixture[str]) -> None:
    devices = [sim_thread.add(m) for m in ("hs110", "hs110v4", "hs300", "kp303")]
    sim_thread.add("kp125m", host="127.0.0.9")  # answers the newer protocol only
    args = [
        "discover",
        "--target",
        BROADCAST,
        "--port",
        str(sim_thread.discovery_port),
        "--timeout",
        "0.6",
        "--new-protocol-port",
        str(sim_thread.klap_port),
    ]
    data = cli_json(capsys, *args)
    found = {(d["host"], d["port"]): d for d in data["devices"]}
    assert set(found) == {(d.host, d.port) for d in devices}
    strip = found[(devices[2].host, devices[2].port)]
    assert strip["model"].startswith("HS300") and len(strip["outlets"]) == 6
    assert strip["power_w"] is not None  # metered devices are read after discovery
    assert found[(devices[3].host, devices[3].port)]["power_w"] is None
    assert [h["host"] for h in data["new_protocol"]] == ["127.0.0.9"]
    code, out, err = cli(capsys, *args)
    assert code == 0
    assert "HS300(US)" in out and "KP303(UK)" in out
    assert "needs the newer authenticated protocol (not supported yet)" in out
    assert "4 devices" in err


def test_discover_reports_invalid_replies(
    sim_thread: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    sim_thread.add("hs110", faults=["non_json"])
    good = sim_thread.add("hs103")
    port = str(sim_thread.discovery_port)
    code, out, err = cli(
        capsys, "discover", "--target", BROADCAST, "--port", port, "--timeout", "0.5"
    )
    assert code == 0 and "HS103" in out
    assert "invalid discovery reply" in err
    data = cli_json(capsys, "discover", "--target", BROADCAST, "--port", port, "--timeout", "0.5")
    assert [d["port"] for d in data["devices"]] == [good.port]
    assert len(data["invalid"]) == 1


def test_discover_nothing_and_bad_options(
    refused_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    port = str(refused_port)
    code, out, err = cli(
        capsys, "discover", "--target", BROADCAST, "--port", port, "--timeout", "0.2"
    )
    assert code == 0 and out == "" and "No device answered" in err
    data = cli_json(capsys, "discover", "--target", BROADCAST, "--port", port, "--timeout", "0.2")
    assert data["devices"] == [] and data["new_protocol"] == []
    assert cli(capsys, "discover", "--target", BROADCAST, "--port", "70000")[0] == 2
    assert cli(capsys, "discover", "--target", BROADCAST, "--timeout", "0")[0] == 2


# -- decode / encode -------------------------------------------------------------------------


def test_encode_known_answer(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "encode", SYSINFO)
    assert code == 0 and out.strip() == SYSINFO_HEX
    assert len(bytes.fromhex(out.strip())) == 29
    code, out, _ = cli(capsys, "encode", "--framed", SYSINFO)
    assert out.strip() == "0000001d" + SYSINFO_HEX
    data = cli_json(capsys, "encode", "--framed", '{ "system": { "get_sysinfo": {} } }')
    assert data["hex"] == "0000001d" + SYSINFO_HEX and data["length"] == 33
    assert cli(capsys, "encode", "{nope")[0] == 2


@pytest.mark.parametrize("framed", [False, True])
@pytest.mark.parametrize("as_base64", [False, True])
def test_decode_round_trip(
    framed: bool, as_base64: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    message = {"system": {"set_dev_alias": {"alias": "Küche ☕"}}, "emeter": {"get_realtime": {}}}
    argv = ["encode", json.dumps(message)]
    argv += ["--framed"] * framed + ["--base64"] * as_base64
    code, encoded, _ = cli(capsys, *argv)
    assert code == 0
    assert cli_json(capsys, "decode", encoded.strip()) == message
    code, out, _ = cli(capsys, "decode", encoded.strip())
    assert code == 0 and json.loads(out) == message  # piped: plain JSON


def test_decode_formats_and_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    spaced = " ".join(SYSINFO_HEX[i : i + 2] for i in range(0, len(SYSINFO_HEX), 2))
    assert cli_json(capsys, "decode", spaced) == {"system": {"get_sysinfo": {}}}
    framed = codec.frame(SYSINFO).hex()
    monkeypatch.setattr(sys, "stdin", io.StringIO(framed + "\n"))
    assert cli_json(capsys, "decode") == {"system": {"get_sysinfo": {}}}
    # two framed messages back to back
    assert cli_json(capsys, "decode", framed + framed) == [{"system": {"get_sysinfo": {}}}] * 2
    # one payload per line (tshark fields), a TCP frame split over two lines
    reply = codec.frame('{"system":{"set_relay_state":{"err_code":0}}}').hex()
    lines = f"{SYSINFO_HEX}\n{reply[:20]}\n{reply[20:]}\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(lines))
    decoded = cli_json(capsys, "decode")
    assert decoded == [
        {"system": {"get_sysinfo": {}}},
        {"system": {"set_relay_state": {"err_code": 0}}},
    ]


def test_decode_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "decode", "this is not !! hex or base64")
    assert code == 2 and out == "" and error_line(err)
    code, out, err = cli(capsys, "decode", "00112233445566")
    assert code == 5 and "not JSON" in error_line(err)
    assert cli(capsys, "decode", "--format", "hex", "zz")[0] == 2


# -- watch ----------------------------------------------------------------------------------


def test_watch_json_lines(sim_thread: Any, capsys: pytest.CaptureFixture[str]) -> None:
    plug, strip = sim_thread.add("hs110", alias="Kettle"), sim_thread.add("hs300")
    code, out, err = cli(
        capsys, "--json", "watch", addr(plug), addr(strip), "--count", "2", "--interval", "0.1"
    )
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 4
    by_port: dict[int, list[dict[str, Any]]] = {}
    for line in lines:
        assert line["status"] == "online" and "time" in line
        by_port.setdefault(line["port"], []).append(line)
    assert len(by_port[plug.port]) == 2 and len(by_port[strip.port]) == 2
    assert by_port[plug.port][0]["alias"] == "Kettle"
    assert len(by_port[strip.port][0]["outlets"]) == 6


def test_watch_human_and_offline(
    refused_port: int, sim_thread: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    plug = sim_thread.add("hs110", alias="Kettle")
    gone = f"127.0.0.1:{refused_port}"
    code, out, _ = cli(capsys, "watch", addr(plug), gone, "--count", "1", "--interval", "0.1")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 2
    assert any("Kettle" in line and " W" in line for line in lines)
    assert any(gone in line and "offline" in line for line in lines)
    assert cli(capsys, "watch", addr(plug), "--count", "0")[0] == 2
    assert cli(capsys, "watch", addr(plug), "--interval", "-1")[0] == 2


def test_watch_ctrl_c_exits_cleanly(sim_thread: Any) -> None:
    plug = sim_thread.add("hs110")
    with subprocess.Popen(
        [sys.executable, "-m", "tplink_tui", "--json", "watch", addr(plug), "--interval", "0.1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline()  # it is running and printing
        assert json.loads(first)["status"] == "online"
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "Traceback" not in err and err == ""
    for line in rest.splitlines():
        json.loads(line)


# -- error paths ----------------------------------------------------------------------------


def test_unknown_verb(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "frobnicate", "127.0.0.1")
    assert code == 2 and out == ""
    assert err.strip().splitlines()[-1].startswith("tplink-tui: error:")


@pytest.mark.parametrize("host", ["127.0.0.1:99999", "127.0.0.1:abc", "[::1", "a b", "host/x"])
def test_malformed_host(host: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "info", host)
    assert code == 2 and out == ""
    assert "malformed host" in error_line(err) or "empty" in err


def test_broken_config(
    sim_thread: Any,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
) -> None:
    plug = sim_thread.add("hs110")
    config = tmp_path / "config.json"
    config.write_text("{ not json")
    monkeypatch.setenv("TPLINK_TUI_CONFIG", str(config))
    assert cli(capsys, "info", addr(plug))[0] == 0  # a literal address still works
    code, out, err = cli(capsys, "info", "kitchen")  # a name needs the config: exit 4
    assert code == 4 and out == "" and str(config) in error_line(err)


def test_unreachable_host(refused_port: int, capsys: pytest.CaptureFixture[str]) -> None:
    target = f"127.0.0.1:{refused_port}"
    for argv in (["info", target], ["on", target], ["send", "-t", target, "-c", "info"]):
        code, out, err = cli(capsys, *argv)
        assert code == 3 and out == ""
        line = error_line(err)
        assert target in line and "cannot connect" in line


def test_device_never_answers(sim_thread: Any, capsys: pytest.CaptureFixture[str]) -> None:
    plug = sim_thread.add("hs110", faults=["no_reply"])
    code, out, err = cli(capsys, "--timeout", "0.5", "info", addr(plug))
    assert code == 3 and out == ""
    line = error_line(err)
    assert addr(plug) in line and "no reply within 0.5 s" in line
    assert "Traceback" not in err
    # the timeout option works after the verb too
    assert cli(capsys, "off", addr(plug), "--timeout", "0.3")[0] == 3


def test_unintelligible_reply_exit_5(sim_thread: Any, capsys: pytest.CaptureFixture[str]) -> None:
    plug = sim_thread.add("hs110", faults=["non_json"])
    code, _, err = cli(capsys, "info", addr(plug))
    assert code == 5 and addr(plug) in error_line(err)


def test_verbose_shows_traceback(refused_port: int, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "-v", "info", f"127.0.0.1:{refused_port}")
    assert code == 3 and "Traceback" in err
    assert err.strip().splitlines()[-1].startswith("tplink-tui: error: ")


# -- the entry point, as a real process ---------------------------------------------------------


def test_entry_point_subprocess(refused_port: int, sim_thread: Any) -> None:
    plug = sim_thread.add("kp115", alias="Heater")

    def tplink(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tplink_tui", *argv],
            capture_output=True,
            text=True,
            timeout=30,
            stdin=subprocess.DEVNULL,
        )

    done = tplink("info", addr(plug), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["alias"] == "Heater"
    done = tplink("off", addr(plug))
    assert done.returncode == 0 and plug.relay_on is False
    assert tplink("nonsense").returncode == 2
    done = tplink("reboot", addr(plug))
    assert done.returncode == 2 and "--yes" in done.stderr
    done = tplink("info", f"127.0.0.1:{refused_port}")
    assert done.returncode == 3 and done.stderr.count("\n") == 1 and done.stdout == ""
    # -v logs every request and reply, decrypted, on stderr (logging is set up by main)
    done = tplink("-v", "led", addr(plug), "off")
    assert done.returncode == 0 and plug.led_on is False
    assert "-> 127.0.0.1" in done.stderr and '{"system":{"set_led_off":{"off":1}}}' in done.stderr
    assert "<- 127.0.0.1" in done.stderr
    help_text = tplink("--help").stdout
    assert "exit codes" in help_text and "3  the device is unreachable" in help_text
