"""Config safety across front ends: the dashboard and the CLI share one file.

``test_config.py`` covers the store itself (atomic writes, locking between two
processes, backups, every kind of corruption). Here: the dashboard and the real
command line editing the device list at the same moment lose nothing, and a corrupt
or unreadable file is refused by the CLI (exit 4, one line naming the file, the
file untouched) while the dashboard still starts, with a warning and a backup.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import cli

from tplink_tui.monitor import Monitor
from tplink_tui.store.config import ConfigStore, SavedDevice
from tplink_tui.tui.app import TplinkApp
from tplink_tui.tui.screens.help import HelpScreen

ROOT = Path(__file__).resolve().parent.parent
SIZE = (120, 36)
PROG = (sys.executable, "-m", "tplink_tui")


@pytest.fixture
def cfg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The config file every front end in this test uses (CLI via the environment)."""
    path = tmp_path / "cfg" / "devices.json"
    monkeypatch.setenv("TPLINK_TUI_CONFIG", str(path))
    return path


def quiet_monitor() -> Monitor:
    # The saved hosts are loopback addresses nobody serves: refused at once, and
    # polled rarely so the test measures the config, not the poller.
    return Monitor(interval=30.0, timeout=0.2, max_backoff=30.0)


class Notes:
    def __init__(self, app: TplinkApp) -> None:
        self.messages: list[tuple[str, str]] = []
        original = app.notify

        def notify(message: str, *args: Any, **kwargs: Any) -> None:
            self.messages.append((str(message), str(kwargs.get("severity", "information"))))
            original(message, *args, **kwargs)

        app.notify = notify  # type: ignore[method-assign]


async def wait_for(pilot: Any, condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.02)


# -- the dashboard and the CLI at the same time ----------------------------------------------

CLI_LOOP = textwrap.dedent(
    """
    import sys, time
    from tplink_tui.cli.main import main
    for i in range(int(sys.argv[1])):
        code = main(["devices", "add", f"127.0.1.{i + 1}:9999", "--name", f"cli-{i}"])
        if code != 0:
            sys.exit(code)
        time.sleep(0.01)  # spread over the dashboard's edits, however fast a CLI add is
    """
)


async def test_dashboard_and_cli_editing_together_lose_nothing(cfg: Path) -> None:
    store = ConfigStore(cfg)
    for i in range(5):
        store.add_device(SavedDevice(f"old-{i}", f"127.0.3.{i + 1}"))
    count = 40
    env = {**os.environ, "TPLINK_TUI_CONFIG": str(cfg), "PYTHONPATH": str(ROOT)}
    app = TplinkApp(store, monitor=quiet_monitor(), history=False)
    async with app.run_test(size=SIZE) as pilot:
        notes = Notes(app)
        # The CLI: one process adding in a loop, and two `python -m tplink_tui` runs.
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", CLI_LOOP, str(count)],
                env=env,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        ]
        for i in range(2):
            procs.append(
                subprocess.Popen(
                    [*PROG, "devices", "add", f"127.0.4.{i + 1}", "--name", f"proc-{i}"],
                    env=env,
                    cwd=ROOT,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
            )
        # The dashboard, meanwhile: adds one by one until the CLI is done, removes and
        # renames old entries, and saves a setting (the poll interval) to the same file.
        added = interleaved = 0
        deadline = time.monotonic() + 60
        while any(p.poll() is None for p in procs) or added < count:
            assert time.monotonic() < deadline
            app.add_devices(
                [SavedDevice(f"tui-{added}", f"127.2.{added // 250}.{added % 250 + 1}")]
            )
            added += 1
            if added % 10 == 1 and added // 10 < 4:
                app.store.remove_device(f"old-{added // 10}")
            if added == 15:
                await pilot.press("minus")  # slower polling: saved to the same file
            cli_saved = sum(d.name.startswith("cli-") for d in ConfigStore(cfg).load().devices)
            interleaved += 0 < cli_saved < count
            await pilot.pause(0.005)
        assert interleaved >= 3  # the two really wrote at the same time
        app.store.rename_device("old-4", "renamed")
        for proc in procs:
            _, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err.decode()
        await pilot.press("question_mark")  # still alive and responsive
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert not [m for m, severity in notes.messages if severity == "error"]

    saved = ConfigStore(cfg).load()
    names = {d.name for d in saved.devices}
    expected = (
        {f"cli-{i}" for i in range(count)}
        | {f"tui-{i}" for i in range(added)}
        | {"proc-0", "proc-1", "renamed"}
    )
    assert names == expected
    assert len(saved.devices) == len(expected)  # nothing doubled either
    assert saved.settings.poll_interval == 60.0  # 30 s x 2, capped at 60
    assert not list(cfg.parent.glob("*.tmp"))  # no temp file left behind
    assert not list(cfg.parent.glob("*.bak"))  # nothing was ever thought corrupt
    json.loads(cfg.read_text())  # and the file is whole


# -- a corrupt config ---------------------------------------------------------------------------

CORRUPT = {
    "truncated": b'{"version": 1, "devices": [{"name": "Lamp", "host": "127.0',
    "binary": bytes(range(256)),
    "wrong-shape": b'{"devices": "Lamp"}',
    "empty": b"",
    "bad-port": b'{"devices": [{"name": "Lamp", "host": "127.0.0.1", "port": 0}]}',
}
CLI_EDITS = [
    ["devices", "list"],
    ["devices", "add", "127.0.0.5", "--name", "Desk"],
    ["devices", "remove", "Lamp"],
    ["devices", "rename", "Lamp", "Light"],
    ["info", "Lamp"],  # a saved name cannot be resolved without the file
]


@pytest.mark.parametrize("content", list(CORRUPT.values()), ids=list(CORRUPT))
def test_cli_refuses_a_corrupt_config_and_leaves_it(
    content: bytes, cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg.parent.mkdir(parents=True)
    cfg.write_bytes(content)
    before = sorted(p.name for p in cfg.parent.iterdir())
    for argv in CLI_EDITS:
        code, out, err = cli(capsys, *argv)
        assert (code, out) == (4, ""), (argv, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("tplink-tui: error: "), err
        assert str(cfg) in lines[0] and "Traceback" not in err
        assert cfg.read_bytes() == content
    # No backup, temp or stray file from the CLI: only the lock file may appear.
    after = sorted(p.name for p in cfg.parent.iterdir() if not p.name.endswith(".lock"))
    assert after == before


@pytest.mark.parametrize("content", list(CORRUPT.values()), ids=list(CORRUPT))
async def test_dashboard_starts_on_a_corrupt_config(
    content: bytes, cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg.parent.mkdir(parents=True)
    cfg.write_bytes(content)
    app = TplinkApp(ConfigStore(cfg), monitor=quiet_monitor(), history=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.05)
        warning = app.config_warning or ""
        assert str(cfg) in warning and "Starting with an empty device list" in warning
        shown = [n for n in app._notifications if n.severity == "warning"]
        assert any(str(cfg) in n.message for n in shown)  # the person sees it
        backups = list(cfg.parent.glob("devices.json.*.bak"))
        assert len(backups) == 1 and backups[0].read_bytes() == content
        assert cfg.read_bytes() == content  # left as it was...
        await pilot.press("question_mark")  # ...and the app works
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        app.pop_screen()
        # The first change replaces the (backed-up) file with a good one.
        app.add_devices([SavedDevice("Desk", "127.0.0.5")])
        assert [d.name for d in ConfigStore(cfg).load().devices] == ["Desk"]
        assert backups[0].read_bytes() == content
    # Now the CLI is happy again.
    code, out, _ = cli(capsys, "devices", "list")
    assert code == 0 and "Desk" in out


# -- an unreadable config --------------------------------------------------------------------------


def _unreadable_check(cfg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The CLI refuses with exit 4; the dashboard starts, cannot save, touches nothing."""
    code, out, err = cli(capsys, "devices", "add", "127.0.0.5", "--name", "Desk")
    assert (code, out) == (4, "")
    assert str(cfg) in err and "permission denied" in err and len(err.strip().splitlines()) == 1

    async def dashboard() -> None:
        app = TplinkApp(ConfigStore(cfg), monitor=quiet_monitor(), history=False)
        async with app.run_test(size=SIZE) as pilot:
            notes = Notes(app)
            await pilot.pause(0.05)
            assert "permission denied" in (app.config_warning or "")
            assert "cannot be saved" in (app.config_warning or "")
            app.add_devices([SavedDevice("Desk", "127.0.0.5")])
            assert any(sev == "error" and str(cfg) in m for m, sev in notes.messages)
            assert "127.0.0.5:9999" not in app.views  # not shown as saved when it is not
            await pilot.press("question_mark")
            await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))

    asyncio.run(dashboard())


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a chmod 000 file anyway")
def test_unreadable_config_chmod(cfg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ConfigStore(cfg).add_device(SavedDevice("Lamp", "127.0.0.1"))
    content = cfg.read_bytes()
    cfg.chmod(0)
    try:
        _unreadable_check(cfg, capsys)
    finally:
        cfg.chmod(0o644)
    assert cfg.read_bytes() == content


def test_unreadable_config_even_as_root(
    cfg: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ConfigStore(cfg).add_device(SavedDevice("Lamp", "127.0.0.1"))
    content = cfg.read_bytes()
    real = Path.read_bytes

    def denied(self: Path) -> bytes:
        if self == cfg:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", denied)
    _unreadable_check(cfg, capsys)
    monkeypatch.undo()
    assert cfg.read_bytes() == content
    assert not list(cfg.parent.glob("*.bak")) and not list(cfg.parent.glob("*.tmp"))
