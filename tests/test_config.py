"""The config store: round trip, atomic writes, corruption, locking, legacy import, CLI."""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
from pathlib import Path

import pytest

from tplink_tui.cli import devices as devices_cli
from tplink_tui.errors import ConfigError
from tplink_tui.store import config as config_mod
from tplink_tui.store import config_files
from tplink_tui.store.config import (
    Config,
    ConfigStore,
    DeviceExists,
    DeviceNotFound,
    SavedDevice,
    Settings,
    default_config_path,
    parse_address,
)


@pytest.fixture
def cfg_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cfg" / "devices.json"
    monkeypatch.setenv("TPLINK_TUI_CONFIG", str(path))
    return path


@pytest.fixture
def store(cfg_path: Path) -> ConfigStore:
    return ConfigStore()


def _folder_listing(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir())


# --------------------------------------------------------------------------- basics


def test_env_var_sets_the_path(cfg_path: Path) -> None:
    assert default_config_path() == cfg_path
    assert ConfigStore().path == cfg_path


def test_missing_file_is_an_empty_config(store: ConfigStore) -> None:
    config = store.load()
    assert config.devices == [] and config.settings == Settings()
    assert not store.path.exists()


def test_round_trip(store: ConfigStore) -> None:
    store.add_device(SavedDevice("Fridge", "127.0.0.1", 9999, room="Kitchen", mac="AA:BB"))
    store.add_device(
        SavedDevice(
            "Strip", "127.0.0.2", 10000, extra={"outlet_names": {"0": "Desk", "1": "Monitor"}}
        )
    )
    store.update_settings(theme="nord", poll_interval=1.5, history_enabled=False)
    data = json.loads(store.path.read_text())
    assert data["version"] == 1
    assert [d["name"] for d in data["devices"]] == ["Fridge", "Strip"]
    loaded = ConfigStore(store.path).load()
    assert loaded.devices[0] == SavedDevice("Fridge", "127.0.0.1", 9999, "Kitchen", "AA:BB")
    assert loaded.devices[1].extra["outlet_names"] == {"0": "Desk", "1": "Monitor"}
    assert loaded.devices[1].address == "127.0.0.2:10000"
    assert loaded.settings == Settings(theme="nord", poll_interval=1.5, history_enabled=False)


def test_unknown_keys_are_kept(store: ConfigStore) -> None:
    store.path.parent.mkdir(parents=True)
    store.path.write_text(
        json.dumps(
            {
                "version": 1,
                "future": {"x": 1},
                "devices": [{"name": "A", "host": "127.0.0.1", "colour": "red"}],
                "settings": {"theme": None, "layout": "wide"},
            }
        )
    )
    store.add_device(SavedDevice("B", "127.0.0.2"))
    data = json.loads(store.path.read_text())
    assert data["future"] == {"x": 1}
    assert data["devices"][0]["colour"] == "red"
    assert data["settings"]["layout"] == "wide"


def test_names_are_unique_case_insensitively(store: ConfigStore) -> None:
    store.add_device(SavedDevice("Lamp", "127.0.0.1"))
    with pytest.raises(DeviceExists, match="Lamp"):
        store.add_device(SavedDevice("lamp", "127.0.0.2"))
    store.add_device(SavedDevice("Desk", "127.0.0.3"))
    with pytest.raises(DeviceExists):
        store.rename_device("Desk", "LAMP")
    renamed = store.rename_device("lamp", "Lamp 2")
    assert renamed.name == "Lamp 2" and renamed.host == "127.0.0.1"
    assert store.rename_device("lamp 2", "LAMP 2").name == "LAMP 2"  # case change only
    with pytest.raises(DeviceNotFound):
        store.remove_device("nothing")
    assert store.remove_device("desk").name == "Desk"
    assert [d.name for d in store.load().devices] == ["LAMP 2"]


def test_update_and_find(store: ConfigStore) -> None:
    store.add_device(SavedDevice("Lamp", "127.0.0.1"))
    store.add_device(SavedDevice("Strip", "127.0.0.2", 10001))
    store.update_device("lamp", room="Hall")
    assert store.find("LAMP").room == "Hall"  # type: ignore[union-attr]
    assert store.find("127.0.0.2").name == "Strip"  # type: ignore[union-attr]
    assert store.find("127.0.0.2:10001").name == "Strip"  # type: ignore[union-attr]
    assert store.find("127.0.0.2:9999") is None
    assert store.find("nothing") is None
    with pytest.raises(ConfigError, match="port"):
        store.update_device("lamp", port=70000)
    with pytest.raises(TypeError):
        store.update_device("lamp", colour="red")
    with pytest.raises(ConfigError, match="poll_interval"):
        store.update_settings(poll_interval=-1)


def test_parse_address() -> None:
    assert parse_address("127.0.0.1") == ("127.0.0.1", 9999)
    assert parse_address("127.0.0.1:10000") == ("127.0.0.1", 10000)
    assert parse_address("[::1]:9998") == ("::1", 9998)
    assert parse_address("::1") == ("::1", 9999)
    for bad in ("", "host:", "host:0", "host:99999", "a b", "[::1", "host:x"):
        with pytest.raises(ValueError):
            parse_address(bad)


# --------------------------------------------------------------------------- atomic writes


def test_failed_serialization_keeps_the_original(
    store: ConfigStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.add_device(SavedDevice("Lamp", "127.0.0.1"))
    before = store.path.read_bytes()

    def broken(*args: object, **kwargs: object) -> str:
        raise TypeError("cannot serialize")

    monkeypatch.setattr(config_mod.json, "dumps", broken)
    with pytest.raises(ConfigError, match="serialize"):
        store.add_device(SavedDevice("Desk", "127.0.0.2"))
    assert store.path.read_bytes() == before
    assert _folder_listing(store.path) == ["devices.json", "devices.json.lock"]


def test_failed_replace_leaves_no_partial_file(
    store: ConfigStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.add_device(SavedDevice("Lamp", "127.0.0.1"))
    before = store.path.read_bytes()

    def broken(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(config_mod.os, "replace", broken)
    with pytest.raises(ConfigError, match="No space left"):
        store.add_device(SavedDevice("Desk", "127.0.0.2"))
    assert store.path.read_bytes() == before
    assert _folder_listing(store.path) == ["devices.json", "devices.json.lock"]


def test_write_uses_a_temp_file_then_replace(
    store: ConfigStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, str]] = []
    real = os.replace

    def spy(src: str, dst: str) -> None:
        seen.append((Path(src).name, Path(str(dst)).name))
        assert json.loads(Path(src).read_text())["devices"][0]["name"] == "Lamp"
        real(src, dst)

    monkeypatch.setattr(config_mod.os, "replace", spy)
    store.add_device(SavedDevice("Lamp", "127.0.0.1"))
    assert len(seen) == 1 and seen[0][1] == "devices.json"
    assert seen[0][0].startswith(".devices.json.") and seen[0][0].endswith(".tmp")


def test_symlinked_config_stays_a_symlink(store: ConfigStore, tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "tplink.json"
    real.parent.mkdir()
    real.write_text('{"devices": []}')
    store.path.parent.mkdir(parents=True)
    store.path.symlink_to(real)
    store.add_device(SavedDevice("Lamp", "127.0.0.1"))
    assert store.path.is_symlink()
    assert json.loads(real.read_text())["devices"][0]["name"] == "Lamp"


# --------------------------------------------------------------------------- corruption

CORRUPT = {
    "bad json": (b'{"devices": [', "invalid JSON"),
    "empty": (b"", "empty"),
    "wrong top level": (b"[1, 2]", "top level"),
    "devices not a list": (b'{"devices": {"a": 1}}', "devices must be a list"),
    "port not an int": (
        b'{"devices": [{"name": "a", "host": "127.0.0.1", "port": "x"}]}',
        "devices[0].port",
    ),
    "missing host": (b'{"devices": [{"name": "a"}]}', "devices[0].host"),
    "bad interval": (b'{"settings": {"poll_interval": "fast"}}', "poll_interval"),
    "bad utf8": (b'{"devices": ["\xff"]}', "UTF-8"),
    "repeated name": (
        b'{"devices": [{"name": "a", "host": "h1"}, {"name": "A", "host": "h2"}]}',
        "repeats",
    ),
}


@pytest.mark.parametrize("content,problem", CORRUPT.values(), ids=list(CORRUPT))
def test_corrupt_file_names_the_file_and_problem(
    store: ConfigStore, content: bytes, problem: str
) -> None:
    store.path.parent.mkdir(parents=True)
    store.path.write_bytes(content)
    with pytest.raises(ConfigError) as info:
        store.load()
    assert str(store.path) in str(info.value) and problem in str(info.value)
    # Mutations refuse instead of overwriting.
    with pytest.raises(ConfigError, match="refusing"):
        store.add_device(SavedDevice("x", "127.0.0.1"))
    assert store.path.read_bytes() == content


def test_load_or_recover_backs_up_and_keeps_the_original(store: ConfigStore) -> None:
    store.path.parent.mkdir(parents=True)
    content = b'{"devices": [ oops'
    store.path.write_bytes(content)
    config, warning = store.load_or_recover()
    assert config == Config() and warning is not None
    assert str(store.path) in warning and "invalid JSON" in warning
    backups = list(store.path.parent.glob("devices.json.*.bak"))
    assert len(backups) == 1 and backups[0].read_bytes() == content
    assert str(backups[0]) in warning
    assert store.path.read_bytes() == content  # untouched until the user saves
    # A second start reuses the identical backup instead of piling up copies.
    ConfigStore(store.path).load_or_recover()
    assert list(store.path.parent.glob("devices.json.*.bak")) == backups
    # Another process (no recovery) still refuses to overwrite...
    with pytest.raises(ConfigError):
        ConfigStore(store.path).add_device(SavedDevice("x", "127.0.0.1"))
    # ...but the app that made the backup may now save.
    store.add_device(SavedDevice("Lamp", "127.0.0.1"))
    assert [d.name for d in store.load().devices] == ["Lamp"]
    assert backups[0].read_bytes() == content


def test_backups_are_never_overwritten(store: ConfigStore, monkeypatch) -> None:
    store.path.parent.mkdir(parents=True)
    monkeypatch.setattr(config_files.time, "strftime", lambda fmt: "20250101-000000")
    taken = store.path.with_name("devices.json.20250101-000000.bak")
    taken.write_bytes(b"older backup")
    store.path.write_bytes(b"garbage")
    _, warning = store.load_or_recover()
    assert taken.read_bytes() == b"older backup"
    new = store.path.with_name("devices.json.20250101-000000-1.bak")
    assert new.read_bytes() == b"garbage" and str(new) in (warning or "")


def test_good_file_needs_no_recovery(store: ConfigStore) -> None:
    store.add_device(SavedDevice("Lamp", "127.0.0.1"))
    config, warning = store.load_or_recover()
    assert warning is None and config.devices[0].name == "Lamp"


def test_unreadable_file(store: ConfigStore, monkeypatch: pytest.MonkeyPatch) -> None:
    store.add_device(SavedDevice("Lamp", "127.0.0.1"))
    before = store.path.read_bytes()
    real = Path.read_bytes

    def denied(self: Path) -> bytes:
        if self == store.path:
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(ConfigError, match="permission denied"):
        store.load()
    config, warning = store.load_or_recover()
    assert config == Config() and "permission denied" in (warning or "")
    assert "cannot be saved" in (warning or "")
    with pytest.raises(ConfigError):
        store.add_device(SavedDevice("Desk", "127.0.0.2"))
    monkeypatch.undo()
    assert store.path.read_bytes() == before


def test_directory_instead_of_file(store: ConfigStore) -> None:
    store.path.mkdir(parents=True)
    with pytest.raises(ConfigError, match="directory"):
        store.load()
    _, warning = store.load_or_recover()
    assert warning is not None


def test_newer_schema_is_read_but_not_modified(store: ConfigStore) -> None:
    store.path.parent.mkdir(parents=True)
    store.path.write_text('{"version": 7, "devices": [{"name": "a", "host": "h"}]}')
    assert store.load().devices[0].name == "a"
    with pytest.raises(ConfigError, match="newer"):
        store.add_device(SavedDevice("b", "h2"))


# --------------------------------------------------------------------------- concurrency


def _add_many(path: str, prefix: str, count: int) -> None:
    store = ConfigStore(path)
    for i in range(count):
        store.add_device(SavedDevice(f"{prefix}-{i}", f"127.0.{len(prefix)}.{i + 1}"))


def test_two_processes_adding_concurrently_lose_nothing(store: ConfigStore) -> None:
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_add_many, args=(str(store.path), p, 50)) for p in ("a", "bb")]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(30)
        assert proc.exitcode == 0
    names = {d.name for d in store.load().devices}
    assert len(names) == 100
    assert names == {f"a-{i}" for i in range(50)} | {f"bb-{i}" for i in range(50)}
    assert not list(store.path.parent.glob("*.tmp"))


# --------------------------------------------------------------------------- legacy import

LEGACY = {
    "devices": [
        {
            "name": "Fridge",
            "room": "Kitchen",
            "ip": "127.0.0.5",
            "mac": "50:C7:BF:00:00:01",
            "description": "the big one",
            "brand": "TP-Link",
        },
        {"name": "Desk", "room": "Office", "ip": "127.0.0.6:10002"},
        {"name": "desk", "room": "Other", "ip": "127.0.0.7"},
        {"room": "Hall", "ip": "127.0.0.8"},
    ]
}


def test_import_legacy(store: ConfigStore, tmp_path: Path) -> None:
    legacy = tmp_path / "devices.json"
    legacy.write_text(json.dumps(LEGACY))
    store.add_device(SavedDevice("Fridge", "127.0.0.9"))
    result = store.import_legacy(legacy)
    assert [d.name for d in result] == ["Desk", "127.0.0.8"]
    assert result.skipped == ["Fridge", "desk"]
    desk = store.find("Desk")
    assert desk is not None and (desk.host, desk.port, desk.room) == ("127.0.0.6", 10002, "Office")
    assert store.find("Fridge").host == "127.0.0.9"  # type: ignore[union-attr]
    again = store.import_legacy(legacy)
    assert list(again) == [] and len(again.skipped) == 4


def test_import_legacy_keeps_all_fields(store: ConfigStore, tmp_path: Path) -> None:
    legacy = tmp_path / "devices.json"
    legacy.write_text(json.dumps(LEGACY))
    store.import_legacy(legacy)
    fridge = store.find("fridge")
    assert fridge == SavedDevice(
        "Fridge", "127.0.0.5", 9999, "Kitchen", "50:C7:BF:00:00:01", "the big one", "TP-Link"
    )


@pytest.mark.parametrize(
    "content,problem",
    [
        ("not json", "invalid JSON"),
        ('{"devices": 3}', "devices"),
        ('{"devices": [{"name": "a"}]}', "devices[0].ip"),
        ('{"devices": [{"name": "a", "ip": "h:0"}]}', "port"),
    ],
)
def test_import_legacy_bad_file(
    store: ConfigStore, tmp_path: Path, content: str, problem: str
) -> None:
    legacy = tmp_path / "old.json"
    legacy.write_text(content)
    with pytest.raises(ConfigError) as info:
        store.import_legacy(legacy)
    assert str(legacy) in str(info.value) and problem in str(info.value)
    assert not store.path.exists()
    with pytest.raises(ConfigError, match="no such file"):
        store.import_legacy(tmp_path / "missing.json")


# --------------------------------------------------------------------------- CLI


def _cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="tplink-tui")
    parser.add_argument("--json", action="store_true")
    sub = parser.add_subparsers(dest="verb")
    devices_cli.register(sub)
    args = parser.parse_args(list(argv))
    return args.func(args)


def test_cli_devices_verbs(cfg_path: Path, tmp_path: Path, capsys) -> None:
    assert _cli("devices", "list") == 0
    assert "No saved devices" in capsys.readouterr().out
    assert _cli("devices", "add", "127.0.0.1:10000", "--name", "Lamp", "--room", "Hall") == 0
    assert _cli("devices", "add", "127.0.0.2") == 0
    out = capsys.readouterr().out
    assert "Saved Lamp (127.0.0.1:10000)" in out
    assert _cli("devices", "list") == 0
    out = capsys.readouterr().out
    assert "Lamp" in out and "127.0.0.2:9999" in out and "Hall" in out
    assert _cli("--json", "devices", "list") == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(d["name"], d["port"]) for d in listed] == [("Lamp", 10000), ("127.0.0.2", 9999)]
    assert _cli("devices", "rename", "lamp", "Floor lamp") == 0
    assert _cli("devices", "remove", "127.0.0.2") == 0
    capsys.readouterr()
    assert [d.name for d in ConfigStore().load().devices] == ["Floor lamp"]

    legacy = tmp_path / "old.json"
    legacy.write_text(json.dumps(LEGACY))
    assert _cli("--json", "devices", "import", str(legacy)) == 0
    result = json.loads(capsys.readouterr().out)
    assert len(result["added"]) == 3 and result["skipped"] == ["desk"]


@pytest.mark.parametrize(
    "argv,code,message",
    [
        (("devices", "add", "bad host"), 2, "malformed host"),
        (("devices", "add", "127.0.0.1:0"), 2, "port"),
        (("devices", "add", "127.0.0.9", "--name", "lamp"), 2, "already saved"),
        (("devices", "remove", "ghost"), 2, "no saved device named 'ghost'"),
        (("devices", "rename", "ghost", "x"), 2, "ghost"),
        (("devices", "import", "/nonexistent/devices.json"), 4, "no such file"),
    ],
)
def test_cli_devices_errors(cfg_path: Path, capsys, argv, code, message) -> None:
    ConfigStore().add_device(SavedDevice("Lamp", "127.0.0.1"))
    assert _cli(*argv) == code
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in captured.err


def test_cli_corrupt_config_exit_4(cfg_path: Path, capsys) -> None:
    cfg_path.parent.mkdir(parents=True)
    cfg_path.write_text("{nope")
    assert _cli("devices", "list") == 4
    err = capsys.readouterr().err
    assert str(cfg_path) in err and len(err.strip().splitlines()) == 1
    assert _cli("devices", "add", "127.0.0.1") == 4
    assert cfg_path.read_text() == "{nope"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the shortcut is Linux's")
@pytest.mark.parametrize(
    ("xdg", "home"),
    [
        (None, "/home/ann"),
        ("/srv/conf", "/home/ann"),
        ("/srv/conf/", "/home/ann"),
        ("relative/conf", "/home/ann"),
        ("", "/home/ann/"),
        (None, "/"),
        (None, "relative-home"),
        ("/srv/conf", None),
    ],
)
def test_the_config_folder_is_where_platformdirs_puts_it(
    monkeypatch: pytest.MonkeyPatch, xdg: str | None, home: str | None
) -> None:
    import platformdirs

    from tplink_tui.store.config_path import APP_NAME, user_config_dir

    for name, value in (("XDG_CONFIG_HOME", xdg), ("HOME", home)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert user_config_dir() == platformdirs.user_config_dir(APP_NAME)
