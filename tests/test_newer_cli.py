"""The real command line against newer simulated devices (KLAP v1/v2, AES) over HTTP.

Every verb on the new profiles, strips outlet by outlet, credentials from flags,
the environment and ``devices add``, the one-line "authentication failed" (exit 6),
and the password never in stdout, stderr or the ``-v`` log.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest
from cli_helpers import addr, cli, cli_json, error_line

from tplink_tui.simulator.newer import TEST_PASSWORD, TEST_USERNAME, NewerDevice, NewerSimulator
from tplink_tui.simulator.newer.smart_device import SmartDevice

T = TypeVar("T")
SECRET = "Corr3ct-Horse-Battery"
LOGIN = ("--username", TEST_USERNAME, "--password", TEST_PASSWORD)


class NewerThread:
    """A NewerSimulator on its own loop in a thread, for the synchronous CLI main()."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.sim: NewerSimulator = self.run(self._make(host))

    async def _make(self, host: str) -> NewerSimulator:
        return NewerSimulator(host)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def add(self, model: str, **options: Any) -> NewerDevice:
        return self.run(self.sim.add(model, **options))

    def close(self) -> None:
        self.run(self.sim.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def newer() -> Iterator[NewerThread]:
    sim = NewerThread()
    try:
        yield sim
    finally:
        sim.close()


@pytest.fixture(autouse=True)
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KASA_USERNAME", "KASA_PASSWORD", "TPLINK_TUI_CREDENTIALS"):
        monkeypatch.delenv(name, raising=False)


def smart(device: NewerDevice) -> SmartDevice:
    assert isinstance(device.state, SmartDevice)
    return device.state


def transport(device: NewerDevice) -> tuple[str, str]:
    return ("--transport", device.encrypt_type.lower())


# -- info on every profile ------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "outlets", "metered"),
    [
        ("kp125m", 0, True),
        ("ep25", 0, True),
        ("p110", 0, True),
        ("p300", 3, False),
        ("p316m", 6, True),
        ("hs100v41", 0, False),
    ],
)
def test_info_every_profile(
    newer: NewerThread, capsys: pytest.CaptureFixture[str], model: str, outlets: int, metered: bool
) -> None:
    device = newer.add(model, alias=f"My {model}")
    data = cli_json(capsys, "info", addr(device), *transport(device), *LOGIN)
    assert data["alias"] == f"My {model}"
    assert data["port"] == device.port
    assert len(data["outlets"]) == outlets
    assert data["has_meter"] is metered
    if metered:
        assert data["power_w"] is not None
    # auto finds the transport itself on the HTTP port
    assert cli_json(capsys, "info", addr(device), *LOGIN)["alias"] == f"My {model}"
    code, out, err = cli(capsys, "info", addr(device), *LOGIN)
    assert code == 0, err
    assert f"My {model}" in out
    assert TEST_PASSWORD not in out + err


# -- switching, outlets, alias ----------------------------------------------------------


def test_on_off_toggle_plug(newer: NewerThread, capsys: pytest.CaptureFixture[str]) -> None:
    device = newer.add("kp125m")
    args = (addr(device), *transport(device), *LOGIN)
    assert cli(capsys, "off", *args)[0] == 0
    assert smart(device).outlets[0].on is False
    assert cli(capsys, "on", *args)[0] == 0
    assert smart(device).outlets[0].on is True
    code, out, _ = cli(capsys, "toggle", *args)
    assert code == 0 and "off" in out
    assert smart(device).outlets[0].on is False


@pytest.mark.parametrize("model", ["p316m", "p300"])
def test_outlets_by_index_id_and_name(
    newer: NewerThread, capsys: pytest.CaptureFixture[str], model: str
) -> None:
    device = newer.add(model)
    state = smart(device)
    args = (addr(device), *transport(device), *LOGIN)
    assert cli(capsys, "off", *args, "--outlet", "1")[0] == 0
    assert [o.on for o in state.outlets][:3] == [True, False, True]
    assert cli(capsys, "off", *args, "--outlet", state.outlets[2].device_id)[0] == 0
    assert state.outlets[2].on is False
    # set a name on outlet 0, show it, then switch by that name
    code, _, err = cli(capsys, "alias", *args, "--outlet", "0", "Kettle")
    assert code == 0, err
    assert state.outlets[0].nickname == "Kettle"
    shown = cli_json(capsys, "alias", *args, "--outlet", "0")
    assert shown["alias"] == "Kettle" and shown["outlet"]["index"] == 0
    assert cli(capsys, "toggle", *args, "--outlet", "Kettle")[0] == 0
    assert state.outlets[0].on is False
    assert cli(capsys, "on", *args, "--outlet", "kettle")[0] == 0  # names match any case
    assert state.outlets[0].on is True
    others = [o.on for o in state.outlets[3:]]
    assert all(others)  # nothing else moved
    code, _, err = cli(capsys, "on", *args, "--outlet", "9")
    assert code == 2 and "outlet" in error_line(err)
    data = cli_json(capsys, "info", *args)
    assert [o["is_on"] for o in data["outlets"]][:3] == [True, False, False]


def test_alias_of_the_device(newer: NewerThread, capsys: pytest.CaptureFixture[str]) -> None:
    device = newer.add("ep25")
    args = (addr(device), *transport(device), *LOGIN)
    assert cli(capsys, "alias", *args, "Espresso machine")[0] == 0
    assert smart(device).nickname == "Espresso machine"
    assert cli_json(capsys, "alias", *args)["alias"] == "Espresso machine"


# -- energy, led, time, reboot -----------------------------------------------------------


def test_energy_plug_and_strip_outlet(
    newer: NewerThread, capsys: pytest.CaptureFixture[str]
) -> None:
    plug = newer.add("kp125m")
    data = cli_json(capsys, "energy", addr(plug), *transport(plug), *LOGIN)
    assert data["power_w"] is not None and data["voltage_v"] > 100
    strip = newer.add("p316m")
    args = (addr(strip), *transport(strip), *LOGIN)
    one = cli_json(capsys, "energy", *args, "--outlet", "2")
    assert one["outlet"]["index"] == 2 and one["power_w"] is not None
    whole = cli_json(capsys, "info", *args)
    total = sum(o["power_w"] for o in whole["outlets"])
    assert whole["power_w"] == pytest.approx(total, rel=0.05)


def test_no_meter_says_so(newer: NewerThread, capsys: pytest.CaptureFixture[str]) -> None:
    strip = newer.add("p300")
    code, out, err = cli(capsys, "energy", addr(strip), *transport(strip), *LOGIN)
    assert code == 1 and out == ""
    error_line(err)


@pytest.mark.parametrize(
    "argv",
    [("led",), ("led", "off"), ("time",), ("reboot", "--yes"), ("usage",)],
    ids=lambda a: " ".join(a),
)
def test_led_time_reboot_work_or_say_not_supported(
    newer: NewerThread, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]
) -> None:
    device = newer.add("kp125m")
    code, out, err = cli(capsys, argv[0], addr(device), *argv[1:], *transport(device), *LOGIN)
    assert code in (0, 1), err
    if code == 1:
        line = error_line(err)
        assert addr(device) in line
        assert "not" in line  # "... is not available / not read over the smart protocol"
    else:
        assert out
    assert "Traceback" not in err


# -- watch and send ------------------------------------------------------------------------


def test_watch_count_1_json(newer: NewerThread, capsys: pytest.CaptureFixture[str]) -> None:
    strip = newer.add("p316m")
    plug = newer.add("ep25")
    code, out, err = cli(
        capsys, "watch", addr(strip), addr(plug), "--count", "1", "--json", "--no-history",
        "-i", "0.2", *LOGIN,
    )  # fmt: skip
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert {line["key"] for line in lines} == {addr(strip), addr(plug)}
    assert all(line["status"] == "online" for line in lines)
    by_key = {line["key"]: line for line in lines}
    assert len(by_key[addr(strip)]["outlets"]) == 6
    assert TEST_PASSWORD not in out + err


def test_send_raw_smart_request(newer: NewerThread, capsys: pytest.CaptureFixture[str]) -> None:
    strip = newer.add("p300")
    target = ("-t", addr(strip), *transport(strip), *LOGIN)
    reply = cli_json(capsys, "send", *target, "-j", '{"method":"get_device_info"}')
    assert reply["error_code"] == 0 and reply["result"]["model"] == "P300"
    request = '{"method":"set_device_info","params":{"device_on":false}}'
    reply = cli_json(capsys, "send", *target, "-o", "1", "-j", request)
    assert smart(strip).outlets[1].on is False
    code, _, err = cli(capsys, "send", *target, "-j", '{"method":"device_reboot"}')
    assert code == 2 and "--yes" in error_line(err)  # asks first, nobody to answer


# -- credentials -----------------------------------------------------------------------------


def test_wrong_password_is_one_line_exit_6(
    newer: NewerThread, capsys: pytest.CaptureFixture[str]
) -> None:
    for model in ("kp125m", "ep25", "hs100v41"):
        device = newer.add(model, password=SECRET)
        argv = ("info", addr(device), *transport(device), "--username", TEST_USERNAME)
        code, out, err = cli(capsys, *argv, "--password", "not-the-password")
        assert code == 6 and out == ""
        line = error_line(err)
        assert addr(device) in line and "authentication failed" in line
        assert "not-the-password" not in err
        # missing credentials: the same exit code, no prompt, one line
        code, out, err = cli(capsys, "info", addr(device), *transport(device))
        assert code == 6 and out == ""
        assert "authentication failed" in error_line(err)
        # and the right one works at once
        assert cli(capsys, *argv, "--password", SECRET)[0] == 0


def test_credentials_from_env(
    newer: NewerThread, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    device = newer.add("p110", password=SECRET)
    monkeypatch.setenv("KASA_USERNAME", TEST_USERNAME)
    monkeypatch.setenv("KASA_PASSWORD", SECRET)
    assert cli_json(capsys, "info", addr(device))["model"] == "P110"
    # flags win over the environment
    code, _, err = cli(capsys, "info", addr(device), "--password", "wrong")
    assert code == 6 and "wrong" not in err


def test_saved_credentials_via_devices_add(
    newer: NewerThread, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    device = newer.add("p316m", password=SECRET)
    code, out, err = cli(
        capsys, "devices", "add", addr(device), "--name", "Office", "--transport", "klap",
        "--username", TEST_USERNAME, "--password", SECRET,
    )  # fmt: skip
    assert code == 0, err
    assert SECRET not in out + err
    # by name, and by the literal address: the saved pair is used either way
    assert cli_json(capsys, "info", "Office")["model"] == "P316M"
    assert cli_json(capsys, "info", addr(device))["model"] == "P316M"
    assert cli(capsys, "off", "Office", "--outlet", "5")[0] == 0
    assert smart(device).outlets[5].on is False
    code, out, err = cli(capsys, "devices", "list")
    assert "klap" in out and "saved" in out and SECRET not in out + err
    # the environment outranks the saved pair
    monkeypatch.setenv("KASA_PASSWORD", "env-wrong")
    assert cli(capsys, "info", "Office")[0] == 6
    monkeypatch.delenv("KASA_PASSWORD")
    assert cli(capsys, "devices", "remove", "Office")[0] == 0
    assert cli(capsys, "info", addr(device), "--transport", "klap")[0] == 6


def test_password_never_in_verbose_output(newer: NewerThread, tmp_path: Any) -> None:
    """-v logs every request and reply decrypted: the login is redacted, in a real process."""
    klap = newer.add("kp125m", password=SECRET)
    aes = newer.add("ep25", password=SECRET)
    env = {**os.environ, "TPLINK_TUI_CONFIG": str(tmp_path / "config.json")}
    for name in ("KASA_USERNAME", "KASA_PASSWORD"):
        env.pop(name, None)
    for device in (klap, aes):
        for password, expected in ((SECRET, 0), (SECRET + "x", 6)):
            argv = ["-v", "info", addr(device), "--username", TEST_USERNAME]
            done = subprocess.run(
                [sys.executable, "-m", "tplink_tui", *argv, "--password", password],
                capture_output=True,
                text=True,
                env=env,
                timeout=60,
            )
            assert done.returncode == expected, done.stderr
            assert "tplink_tui.traffic" in done.stderr  # -v did log the traffic
            for secret in (SECRET, password):
                assert secret not in done.stdout and secret not in done.stderr


def test_xor_against_a_klap_only_device_is_unreachable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A newer plug has nothing on 9999: --transport xor (port 9999) cannot reach it."""
    sim = NewerThread("127.0.0.57")
    try:
        device = sim.add("kp125m")
        code, out, err = cli(capsys, "info", device.host, "--transport", "xor", "--timeout", "2")
        assert code == 3 and out == ""
        assert "127.0.0.57:9999" in error_line(err)
        # on its HTTP port the XOR attempt is told apart from a dead device
        code, _, err = cli(capsys, "info", addr(device), "--transport", "xor")
        assert code in (3, 5) and "HTTP" in error_line(err)
    finally:
        sim.close()


def test_json_names_the_transport_auto_found(
    newer: NewerThread, capsys: pytest.CaptureFixture[str]
) -> None:
    klap, aes = newer.add("p110"), newer.add("ep25")
    assert cli_json(capsys, "info", addr(klap), *LOGIN)["transport"] == "klap"
    assert cli_json(capsys, "info", addr(aes), *LOGIN)["transport"] == "aes"
    code, out, err = cli(capsys, "watch", addr(aes), "-n", "1", "--json", "--no-history", *LOGIN)
    assert code == 0, err
    assert json.loads(out)["transport"] == "aes"
