"""The command line imports only the module of the verb it runs.

``--help`` and ``info`` never load the simulator, Textual, rich.table or aiohttp;
the verb index that lets them do so matches what the verb modules register.
Each check runs the real program in a fresh interpreter.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tplink_tui.cli.index import VERB_INDEX, registered
from tplink_tui.cli.main import build_parser
from tplink_tui.simulator import ThreadedSimulator

HEAVY = ("tplink_tui.simulator", "textual", "rich.table", "aiohttp", "tplink_tui.capture")
PROBE = """
import sys
from tplink_tui.cli.main import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
heavy = sorted(m for m in sys.modules if m.startswith({heavy!r}))
print("MODULES " + " ".join(heavy), file=sys.stderr)
sys.exit(code)
"""


def run(*args: str) -> tuple[int, str, list[str]]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ,
    )
    lines = result.stderr.splitlines()
    modules = next(line for line in lines if line.startswith("MODULES")).split()[1:]
    return result.returncode, result.stdout, modules


def test_index_matches_the_verb_modules() -> None:
    assert list(VERB_INDEX) == registered(), "run: python -m tplink_tui.cli.index"


def test_lazy_help_is_the_full_help() -> None:
    assert build_parser(None).format_help() == build_parser().format_help()
    for verb, _, _ in VERB_INDEX:
        lazy = build_parser(verb)._subparsers._group_actions[0].choices[verb]  # type: ignore[union-attr]
        full = build_parser()._subparsers._group_actions[0].choices[verb]  # type: ignore[union-attr]
        assert lazy.format_help() == full.format_help()


def test_help_loads_nothing_heavy() -> None:
    code, out, modules = run("--help")
    assert code == 0 and "watch" in out and "simulate" in out
    assert modules == []


def test_info_loads_nothing_heavy(sim_thread: ThreadedSimulator) -> None:
    plug = sim_thread.add("hs110", "Fridge")
    code, out, modules = run("info", f"127.0.0.1:{plug.port}")
    assert code == 0 and "Fridge" in out and "signal" in out
    assert modules == []
    code, out, modules = run("info", "--json", f"127.0.0.1:{plug.port}")
    assert code == 0 and json.loads(out)["alias"] == "Fridge"
    assert modules == []


def test_a_verb_name_as_an_option_value(sim_thread: ThreadedSimulator) -> None:
    plug = sim_thread.add("hs110", "Fridge")
    code, out, _ = run("--username", "watch", "info", "--json", f"127.0.0.1:{plug.port}")
    assert code == 0 and json.loads(out)["alias"] == "Fridge"


def test_other_verbs_still_run(sim_thread: ThreadedSimulator) -> None:
    strip = sim_thread.add("hs300", "Desk")
    code, out, modules = run("info", f"127.0.0.1:{strip.port}")
    assert code == 0 and "Desk" in out
    assert "rich.table" in modules  # a strip's outlets are a table
    code, out, _ = run("energy", "--json", f"127.0.0.1:{strip.port}")
    assert code == 0 and "power_w" in out
