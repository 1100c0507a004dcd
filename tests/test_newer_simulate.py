"""``tplink-tui simulate`` with newer models: mixed with the old ones in one run, their
own login, 20002 discovery, faults, and ``--demo``'s P316M and KP125M."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from cli_helpers import cli, cli_json, error_line
from test_simulator_cli import simulate_process

from tplink_tui.simulator.newer import TEST_PASSWORD, TEST_USERNAME

BROADCAST = "127.255.255.255"


@pytest.fixture(autouse=True)
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KASA_USERNAME", "KASA_PASSWORD", "TPLINK_TUI_CREDENTIALS"):
        monkeypatch.delenv(name, raising=False)


def test_mixed_run_with_own_password(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ("hs110=Fridge", "p316m=Office", "kp125m", "ep25=Espresso", "--klap-port", "0")
    with simulate_process(*argv, "--password", "hunter22") as (proc, lines):
        assert [line["profile"] for line in lines] == ["hs110", "p316m", "kp125m", "ep25"]
        fridge, office, plug, espresso = lines
        assert fridge["transport"] == "xor"
        assert office["transport"] == "klap" and len(office["outlets"]) == 6
        assert espresso["transport"] == "aes" and plug["alias"].startswith("KP125M")
        assert office["username"] == TEST_USERNAME
        assert all("hunter22" not in str(line) for line in lines)  # never printed
        port = office["discovery_port"]
        assert isinstance(port, int) and port > 0
        login = ("--username", TEST_USERNAME, "--password", "hunter22")
        address = f"{office['host']}:{office['port']}"
        assert cli_json(capsys, "info", address, *login)["alias"] == "Office"
        code, _, err = cli(capsys, "info", address, "--username", TEST_USERNAME)
        assert code == 6 and "authentication failed" in error_line(err)
        old = f"{fridge['host']}:{fridge['port']}"
        assert cli_json(capsys, "info", old)["alias"] == "Fridge"  # XOR needs no login
        # the newer models answer 20002-style discovery on their port
        data = cli_json(
            capsys, "discover", "--target", BROADCAST, "--port", "9", "--klap-port", str(port),
            "--timeout", "0.6",
        )  # fmt: skip
        found = {(d["host"], d["port"]): d for d in data["newer"]}
        assert (office["host"], office["port"]) in found
        entry = found[(espresso["host"], espresso["port"])]
        assert entry["encryption"] == "AES" and entry["transport"] == "aes"
        assert entry["needs_credentials"] is True and entry["mac"] == espresso["mac"]
        code, out, _ = cli(
            capsys, "discover", "--target", BROADCAST, "--port", "9", "--klap-port", str(port),
            "--timeout", "0.6",
        )  # fmt: skip
        assert code == 0 and "P316M" in out and "KLAP" in out and "EP25" in out
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0


def test_default_login_and_newer_faults(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ("p300=Bench", "--klap-port", "0", "--fault", "http_500@Bench")
    with simulate_process(*argv) as (_, lines):
        (bench,) = lines
        address = f"{bench['host']}:{bench['port']}"
        login = ("--transport", "klap", "--username", TEST_USERNAME, "--password", TEST_PASSWORD)
        code, _, err = cli(capsys, "info", address, *login)
        assert code != 0 and "500" in error_line(err)  # the one-shot fault struck
        assert cli_json(capsys, "info", address, *login)["alias"] == "Bench"  # and is gone


def test_demo_has_a_p316m_and_a_kp125m() -> None:
    with simulate_process("--demo", "--klap-port", "0") as (_, lines):
        newer = {line["profile"]: line for line in lines if line["transport"] != "xor"}
        assert set(newer) == {"p316m", "kp125m"}
        assert len(newer["p316m"]["outlets"]) == 6
        assert newer["p316m"]["outlets"][0]["alias"] == "Saw"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["p316m", "--fault", "bad_length@0"], "--fault"),  # an XOR-body fault: not over HTTP
        (["p316m", "--fault", "bogus"], "--fault"),
    ],
)
def test_usage_errors(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "simulate", *argv, "--klap-port", "0")
    assert code == 2
    assert message in error_line(err)


async def test_dashboard_demo_watches_the_newer_plugs_with_their_login(tmp_path: Path) -> None:
    """The dashboard's --demo saves the P316M and KP125M with transport and login: online."""
    from tplink_tui.monitor import Status
    from tplink_tui.store.config import ConfigStore
    from tplink_tui.store.credentials import CredentialStore
    from tplink_tui.tui.demo import DemoApp

    store = ConfigStore(tmp_path / "config.json")
    app = DemoApp(store)
    async with app.run_test() as pilot:
        for _ in range(200):
            await pilot.pause(0.05)
            newer = [v for v in app.controller.views.values() if v.transport in ("klap", "aes")]
            if len(newer) == 2 and all(v.status is Status.ONLINE for v in newer):
                break
        else:
            raise AssertionError(f"newer demo plugs not online: {app.controller.views}")
    saved = {d.name: d for d in store.load().devices}
    assert saved["Workshop strip"].transport == "klap"
    assert saved["Dehumidifier"].transport == "klap"
    logins = CredentialStore(tmp_path / "credentials.json")
    assert logins.get(saved["Dehumidifier"].address) is not None
    assert TEST_PASSWORD not in (tmp_path / "config.json").read_text()
