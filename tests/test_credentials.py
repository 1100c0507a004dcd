"""The saved credentials file: mode 0600 from the first byte, atomic, round-trips,
and a corrupt file is one line (exit 4) and never overwritten."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from cli_helpers import cli, error_line

from tplink_tui.store.config import ConfigStore, SavedDevice
from tplink_tui.store.config_model import parse_device
from tplink_tui.store.credentials import CredentialStore, default_credentials_path
from tplink_tui.transports import Credentials

SECRET = "s3cret-Pa55"


@pytest.fixture(autouse=True)
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KASA_USERNAME", "KASA_PASSWORD", "TPLINK_TUI_CREDENTIALS"):
        monkeypatch.delenv(name, raising=False)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_default_path_is_beside_the_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert default_credentials_path() == ConfigStore().path.with_name("credentials.json")
    monkeypatch.setenv("TPLINK_TUI_CREDENTIALS", str(tmp_path / "other.json"))
    assert default_credentials_path() == tmp_path / "other.json"
    assert CredentialStore().path == tmp_path / "other.json"


def test_round_trip_and_mode_0600(tmp_path: Path) -> None:
    old_umask = os.umask(0)  # even with a permissive umask the file is 0600
    try:
        store = CredentialStore(tmp_path / "sub" / "credentials.json")
        assert store.get("127.0.0.1:80") is None
        store.set("127.0.0.1:80", Credentials("me@example.com", SECRET))
        store.set("127.0.0.2:80", Credentials("other", "ünïcode ✓"))
    finally:
        os.umask(old_umask)
    assert _mode(store.path) == 0o600
    again = CredentialStore(store.path)
    assert again.get("127.0.0.1:80") == Credentials("me@example.com", SECRET)
    assert again.get("127.0.0.2:80") == Credentials("other", "ünïcode ✓")
    assert again.addresses() == {"127.0.0.1:80", "127.0.0.2:80"}
    assert SECRET not in repr(again.get("127.0.0.1:80"))
    assert again.remove("127.0.0.1:80") is True
    assert again.remove("127.0.0.1:80") is False
    assert CredentialStore(store.path).get("127.0.0.1:80") is None
    assert _mode(store.path) == 0o600
    # No temporary file is left behind.
    assert sorted(p.name for p in store.path.parent.iterdir()) == [
        "credentials.json",
        "credentials.json.lock",
    ]


def test_write_is_atomic_replace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A write that fails half-way leaves the old file whole (and no temp file)."""
    store = CredentialStore(tmp_path / "credentials.json")
    store.set("127.0.0.1:80", Credentials("a", "b"))
    before = store.path.read_bytes()
    inode = store.path.stat().st_ino

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(Exception, match="cannot write the credentials"):
        store.set("127.0.0.3:80", Credentials("c", "d"))
    monkeypatch.undo()
    assert store.path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    store.set("127.0.0.3:80", Credentials("c", "d"))
    assert store.path.stat().st_ino != inode  # replaced, not rewritten in place


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"[]",
        b'{"credentials": {"127.0.0.1:80": {"username": "u"}}}',
        b"\xff\xfe garbage",
    ],
)
def test_corrupt_file_is_one_line_exit_4_and_kept(
    capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    path = default_credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    os.chmod(path, 0o600)
    code, _, err = cli(
        capsys, "devices", "add", "127.0.0.1", "--transport", "klap", "--username", "u",
        "--password", SECRET,
    )  # fmt: skip
    assert code == 4
    line = error_line(err)
    assert str(path) in line
    assert SECRET not in err
    assert path.read_bytes() == content  # never overwritten
    code, _, err = cli(capsys, "devices", "list")
    assert code == 4
    error_line(err)
    assert path.read_bytes() == content


def test_corrupt_entry_error_never_shows_the_password(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    path.write_text(json.dumps({"credentials": {"h:80": {"username": 1, "password": SECRET}}}))
    with pytest.raises(Exception) as info:
        CredentialStore(path).get("h:80")
    assert SECRET not in str(info.value)
    assert "h:80" in str(info.value)


def test_saved_device_transport_round_trips() -> None:
    device = parse_device({"name": "a", "host": "127.0.0.1", "port": 80, "transport": "klap"})
    assert device.transport == "klap"
    assert device.to_dict()["transport"] == "klap"
    plain = parse_device({"name": "b", "host": "127.0.0.1"})
    assert plain.transport == "auto"
    assert "transport" not in plain.to_dict()  # omitted when auto
    store = ConfigStore()
    store.add_device(SavedDevice("c", "127.0.0.1", 80, transport="aes"))
    assert ConfigStore().load().get("c").transport == "aes"  # type: ignore[union-attr]
    with pytest.raises(Exception, match="transport"):
        parse_device({"name": "d", "host": "127.0.0.1", "transport": "telnet"})


def test_transport_names_match_the_client() -> None:
    from tplink_tui.store.config_model import TRANSPORT_NAMES

    devices = pytest.importorskip("tplink_tui.devices")
    if hasattr(devices, "TRANSPORTS"):
        assert tuple(devices.TRANSPORTS) == TRANSPORT_NAMES


def test_devices_add_list_remove_credentials(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(
        capsys, "devices", "add", "127.0.0.1", "--name", "Strip", "--transport", "klap",
        "--username", "me@example.com", "--password", SECRET,
    )  # fmt: skip
    assert code == 0, err
    assert "127.0.0.1:80" in out  # klap's default port
    path = default_credentials_path()
    assert _mode(path) == 0o600
    assert CredentialStore().get("127.0.0.1:80") == Credentials("me@example.com", SECRET)
    assert SECRET not in ConfigStore().path.read_text()
    code, out, err = cli(capsys, "devices", "list")
    assert code == 0
    assert "klap" in out and "saved" in out and SECRET not in out + err
    code, out, err = cli(capsys, "--json", "devices", "list")
    rows = json.loads(out)
    assert rows[0]["transport"] == "klap" and rows[0]["credentials_saved"] is True
    assert SECRET not in out
    code, out, err = cli(capsys, "devices", "remove", "Strip")
    assert code == 0, err
    assert CredentialStore().get("127.0.0.1:80") is None


def test_devices_add_password_from_env_or_refused(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # stdin is not a terminal under pytest: no prompt, a usage error.
    code, _, err = cli(capsys, "devices", "add", "127.0.0.1", "--name", "x", "--username", "u")
    assert code == 2
    assert "password" in error_line(err)
    assert ConfigStore().load().get("x") is None  # nothing half-saved
    monkeypatch.setenv("KASA_PASSWORD", SECRET)
    code, _, err = cli(capsys, "devices", "add", "127.0.0.1:8080", "--name", "x", "--username", "u")
    assert code == 0, err
    assert CredentialStore().get("127.0.0.1:8080") == Credentials("u", SECRET)
    code, _, err = cli(capsys, "devices", "add", "127.0.0.9", "--password", SECRET)
    assert code == 2 and "--username" in error_line(err)
