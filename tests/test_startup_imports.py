"""What ``python -m tplink_tui`` imports for ``--help`` and for ``info`` on an old plug.

Start-up time is mostly imports, so this is the correctness side of the start-up
benchmark (benchmarks/bench_startup.py): each case runs the real program in a fresh
interpreter against the simulator and lists what ended up in ``sys.modules``. The
heavy parts (rich, Textual, the simulator, aiohttp, SQLite, the config model, the
credential store, the rule model) must stay out unless the command needs them;
the positive cases show the same probe does see them when they are needed.
"""

from __future__ import annotations

import io
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from tplink_tui.cli.markup import Printer
from tplink_tui.simulator import ThreadedSimulator

PROBE = """
import sys
from tplink_tui.cli.main import main
try:
    code = main(sys.argv[1:])  # given argv: main returns (no quick exit), we list
except SystemExit as exc:
    code = exc.code
print("MODULES " + " ".join(sorted(sys.modules)), file=sys.stderr)
sys.exit(code)
"""

NEVER = (
    "rich",
    "textual",
    "tplink_tui.tui",
    "tplink_tui.simulator",
    "tplink_tui.web",
    "tplink_tui.bridge",
    "aiohttp",
    "sqlite3",
    "tplink_tui.store.history",
    "tplink_tui.transports.klap",
    "tplink_tui.transports.aes",
    "tplink_tui.transports.http",
    "difflib",
    "shutil",
)
"""Loaded by neither --help nor info on an old plug."""

NOT_FOR_INFO = (
    *NEVER,
    "tplink_tui.store.config",
    "tplink_tui.store.config_model",
    "tplink_tui.store.credentials",
    "tplink_tui.tariff",
    "tplink_tui.cli.rules_table",
    "tplink_tui.devices.rules",
    "platformdirs",
    "orjson",
)
"""What info skips when no config or credentials file exists."""

NOT_FOR_HELP = (
    *NOT_FOR_INFO,
    "asyncio",
    "ssl",
    "logging",
    "json",
    "typing",
    "tplink_tui.cli.verbs",
    "tplink_tui.cli.common",
    "tplink_tui.devices.client",
    "tplink_tui.devices.models",
    "tplink_tui.transport",
)


def run(
    *args: str, env: dict[str, str] | None = None, drop: tuple[str, ...] = ()
) -> tuple[int, str, set[str]]:
    child_env = {k: v for k, v in {**os.environ, **(env or {})}.items() if k not in drop}
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=child_env,
    )
    lines = result.stderr.splitlines()
    listed = next((line for line in lines if line.startswith("MODULES ")), None)
    assert listed is not None, result.stderr
    return result.returncode, result.stdout, set(listed.split()[1:])


def loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    """Which of ``names`` (packages count with their submodules) were imported."""
    return sorted(m for m in modules for n in names if m == n or m.startswith(n + "."))


def test_help_imports_no_verb_module_and_no_device_code() -> None:
    code, out, modules = run("--help")
    assert code == 0 and "info" in out and "simulate" in out and "exit codes" in out
    assert loaded(modules, NOT_FOR_HELP) == []


def test_verb_help_imports_only_that_verb() -> None:
    code, out, modules = run("info", "--help")
    assert code == 0 and "HOST" in out
    assert loaded(modules, NOT_FOR_HELP[: len(NOT_FOR_INFO)]) == []
    assert "tplink_tui.cli.verbs" in modules  # the one module that registers info


def test_info_on_a_plug_imports_only_the_client(sim_thread: ThreadedSimulator) -> None:
    plug = sim_thread.add("hs110", "Fridge")
    code, out, modules = run("info", f"127.0.0.1:{plug.port}")
    assert code == 0 and "Fridge" in out and "signal" in out
    assert loaded(modules, NOT_FOR_INFO) == []
    assert {"asyncio", "tplink_tui.devices.client"} <= modules


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the shortcut is Linux's")
def test_info_finds_the_config_folder_without_platformdirs(
    sim_thread: ThreadedSimulator, tmp_path: Path
) -> None:
    # A user's start: no TPLINK_TUI_CONFIG, the folder from HOME (XDG_CONFIG_HOME unset).
    plug = sim_thread.add("hs110", "Fridge")
    code, out, modules = run(
        "info",
        f"127.0.0.1:{plug.port}",
        env={"HOME": str(tmp_path)},
        drop=("TPLINK_TUI_CONFIG", "TPLINK_TUI_CREDENTIALS", "XDG_CONFIG_HOME"),
    )
    assert code == 0 and "Fridge" in out
    assert loaded(modules, NOT_FOR_INFO) == []


def test_info_json_imports_only_the_client(sim_thread: ThreadedSimulator) -> None:
    plug = sim_thread.add("hs110", "Fridge")
    code, out, modules = run("info", "--json", f"127.0.0.1:{plug.port}")
    assert code == 0 and json.loads(out)["alias"] == "Fridge"
    assert loaded(modules, NOT_FOR_INFO) == []


def test_switching_a_plug_imports_only_the_client(sim_thread: ThreadedSimulator) -> None:
    plug = sim_thread.add("hs100", "Lamp")
    code, out, modules = run("on", f"127.0.0.1:{plug.port}")
    assert code == 0 and out == f"127.0.0.1:{plug.port}: switched on\n"
    assert plug.relay_on is True
    assert loaded(modules, NOT_FOR_INFO) == []


def test_an_error_line_imports_nothing_heavy() -> None:
    # --transport xor: auto would go on to try KLAP and AES (aiohttp) on a refused port
    code, _, modules = run("info", "127.0.0.1:1", "--transport", "xor", "--timeout", "2")
    assert code == 3
    assert loaded(modules, NOT_FOR_INFO) == []
    code, _, modules = run("info", "no host:x")
    assert code == 2
    assert loaded(modules, NOT_FOR_INFO) == []


def test_a_saved_name_still_loads_the_config(sim_thread: ThreadedSimulator, tmp_path: Path) -> None:
    plug = sim_thread.add("hs110", "Fridge")
    config = tmp_path / "config.json"
    device = {"name": "kitchen", "host": "127.0.0.1", "port": plug.port}
    config.write_text(json.dumps({"version": 1, "devices": [device]}))
    code, out, modules = run("info", "Kitchen", env={"TPLINK_TUI_CONFIG": str(config)})
    assert code == 0 and "Fridge" in out and "saved as kitchen" in out
    assert "tplink_tui.store.config" in modules
    light = ("rich", "textual", "tplink_tui.simulator", "aiohttp", "sqlite3", "tempfile")
    assert loaded(modules, light) == []  # reading the config is not writing it


def test_saved_credentials_still_load_the_store(
    sim_thread: ThreadedSimulator, tmp_path: Path
) -> None:
    plug = sim_thread.add("hs110", "Fridge")
    secrets = tmp_path / "credentials.json"
    entry = {"username": "u@example.com", "password": "pw"}
    secrets.write_text(json.dumps({"version": 1, "credentials": {"127.0.0.9:80": entry}}))
    secrets.chmod(0o600)
    env = {"TPLINK_TUI_CREDENTIALS": str(secrets)}
    code, out, modules = run("info", f"127.0.0.1:{plug.port}", env=env)
    assert code == 0 and "Fridge" in out
    assert "tplink_tui.store.credentials" in modules  # looked for a saved login


def test_a_strip_table_is_still_drawn_by_rich(sim_thread: ThreadedSimulator) -> None:
    strip = sim_thread.add("hs300", "Desk")
    code, out, modules = run("info", f"127.0.0.1:{strip.port}")
    assert code == 0 and "Desk" in out and "Plug 1" in out
    assert "rich.table" in modules
    assert loaded(modules, NOT_FOR_INFO[len(NEVER) :]) == []


def program(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m tplink_tui ARGS`` as a user runs it (so a device verb quick-exits)."""
    return subprocess.run(
        [sys.executable, "-m", "tplink_tui", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_the_quick_exit_keeps_output_and_exit_codes(sim_thread: ThreadedSimulator) -> None:
    plug = sim_thread.add("hs110", "Fridge")
    strip = sim_thread.add("hs300", "Desk")
    shown = program("info", f"127.0.0.1:{plug.port}")
    assert shown.returncode == 0 and shown.stderr == ""
    assert shown.stdout.startswith("Fridge  HS110") and shown.stdout.endswith("\n")
    assert shown.stdout.splitlines()[-1].startswith("device id  ")
    table = program("info", f"127.0.0.1:{strip.port}")  # the table is rich's
    assert table.returncode == 0 and "Plug 6" in table.stdout.splitlines()[-2]
    data = program("info", "--json", f"127.0.0.1:{plug.port}")
    assert data.returncode == 0 and json.loads(data.stdout)["alias"] == "Fridge"
    switched = program("off", f"127.0.0.1:{plug.port}")
    assert switched.returncode == 0 and plug.relay_on is False
    refused = program("info", "127.0.0.1:1", "--transport", "xor", "--timeout", "2")
    assert refused.returncode == 3 and refused.stdout == ""
    assert refused.stderr.startswith("tplink-tui: error: ") and refused.stderr.count("\n") == 1


def test_the_quick_exit_runs_the_atexit_handlers(
    sim_thread: ThreadedSimulator, tmp_path: Path
) -> None:
    plug = sim_thread.add("hs110", "Fridge")
    mark = tmp_path / "ran"
    code = (
        "import atexit, pathlib, sys\n"
        f"atexit.register(pathlib.Path({str(mark)!r}).write_text, 'yes')\n"
        "from tplink_tui.cli.main import main\n"
        "sys.argv[0] = 'tplink-tui'\n"
        "main()\n"
        "print('not reached: the verb ended the process')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, "info", f"127.0.0.1:{plug.port}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Fridge" in result.stdout and "not reached" not in result.stdout
    assert mark.read_text() == "yes"


def test_device_text_is_shown_as_sent_by_both_printers(sim_thread: ThreadedSimulator) -> None:
    """The line printer and rich (here: a title too long for 30 columns, which rich
    wraps) agree: markup in a name is text, and so is an emoji code (rich would have
    drawn :fire: as a flame)."""
    plug = sim_thread.add("hs110", ":fire: [bold]Lamp[/]")
    shown = program("info", f"127.0.0.1:{plug.port}")
    assert shown.returncode == 0
    assert shown.stdout.splitlines()[0] == ":fire: [bold]Lamp[/]  HS110(US)"
    wrapped = program("info", f"127.0.0.1:{plug.port}", env={"COLUMNS": "30"})
    assert wrapped.returncode == 0
    title = [line.rstrip() for line in wrapped.stdout.splitlines()[:2]]
    assert title == [":fire: [bold]Lamp[/]", "HS110(US)"]
    assert "\U0001f525" not in shown.stdout + wrapped.stdout


@pytest.mark.parametrize("flag", ["-v", "--verbose"])
def test_verbose_still_logs_the_traffic(sim_thread: ThreadedSimulator, flag: str) -> None:
    plug = sim_thread.add("hs110", "Fridge")
    result = program(flag, "info", f"127.0.0.1:{plug.port}")
    assert result.returncode == 0, result.stderr
    assert "tplink_tui.traffic" in result.stderr and "get_sysinfo" in result.stderr


class _Fixed(Printer):
    """A printer with the stream kind and width fixed, as rich is told below."""

    def __init__(self, terminal: bool, width: int) -> None:
        super().__init__(lambda: None, pipe_width=width)  # type: ignore[arg-type, return-value]
        self._fixed = (terminal, width)

    def _terminal(self) -> bool | None:
        return self._fixed[0]

    def _width(self, terminal: bool) -> int | None:
        return self._fixed[1]


def test_the_line_printer_writes_what_rich_writes() -> None:
    """Every line the printer writes itself is byte for byte rich's (pipe and
    terminal, wrapping or not); what it cannot be sure of it leaves to rich."""
    from rich.console import Console

    atoms = ["[bold]", "[dim]", "[/]", "[red]", "[bold green]", "[yellow]", "\\", "[", "]"]
    atoms += ["x", "ab c", " ", "é", "日本", ":fire:", "[link=x]", "[/bold]", "[#ff0000]"]
    atoms += ["[bytes]", "\\[bold]", "a" * 30, "\x1b", "\t"]
    rng = random.Random(17)
    written = 0
    for _ in range(3000):
        text = "".join(rng.choice(atoms) for _ in range(rng.randint(0, 10)))
        terminal, width, soft = rng.random() < 0.5, rng.choice((200, 20)), rng.random() < 0.5
        line = _Fixed(terminal, width)._line(text, soft)
        if line is None:
            continue
        out = io.StringIO()
        rich = Console(
            file=out,
            highlight=False,
            emoji=False,
            width=width,
            force_terminal=terminal,
            color_system="standard" if terminal else None,
            _environ={},
        )
        rich.print(text, soft_wrap=soft)
        assert line + "\n" == out.getvalue(), (text, terminal, width, soft)
        written += 1
    assert written > 500  # a good share of even these lines needs no rich
