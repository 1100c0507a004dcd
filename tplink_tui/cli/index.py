"""Which module registers each verb, and its one-line help: what ``main`` needs to
parse a command line without importing every verb module (each pulls in its own
part of the package; all together a good part of a second).

Generated from the modules themselves, and checked against them by
tests/test_cli_lazy.py; after adding or renaming a verb, or changing its help, run
``python -m tplink_tui.cli.index`` to write the table again.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

VERB_INDEX: tuple[tuple[str, str, str], ...] = (
    # (verb, registering module under tplink_tui.cli, help) in the order they list
    ("info", "verbs", "identity, state and meter readings of a device"),
    ("on", "verbs", "switch on a plug, one strip outlet, or a whole strip"),
    ("off", "verbs", "switch off a plug, one strip outlet, or a whole strip"),
    ("toggle", "verbs", "flip a plug, one strip outlet, or a whole strip"),
    ("energy", "verbs", "meter readings: realtime, per day, per month; erase"),
    ("led", "verbs", "show the status LED, or switch it on or off"),
    ("alias", "verbs", "show or change the name of a device or strip outlet"),
    ("time", "verbs", "show the device clock, or set it from this computer"),
    ("schedule", "verbs", "list, add, edit, enable, disable or delete schedule rules"),
    ("antitheft", "verbs", "away mode: list, add, edit, enable, disable or delete windows"),
    ("countdown", "verbs", "show, set or clear the countdown timer"),
    ("cloudinfo", "verbs", "the cloud (Kasa account) binding"),
    ("wlanscan", "verbs", "Wi-Fi networks the device can see"),
    ("reboot", "verbs", "restart the device (asks first)"),
    ("reset", "verbs", "factory-reset the device: forgets Wi-Fi and settings (asks first)"),
    ("send", "send", "send one command or raw JSON request, print the reply (old client's flags)"),
    ("discover", "discover", "find devices on the local network (UDP broadcast)"),
    ("decode", "codec_cmd", "decrypt captured payloads (hex or base64) and pretty-print the JSON"),
    ("encode", "codec_cmd", "encrypt a JSON request for the wire (hex or base64)"),
    ("devices", "devices", "the saved device list (list, add, remove, rename, import)"),
    ("history", "history", "export or prune the recorded energy history"),
    ("watch", "watch", "print a line per reading of one or more devices (JSON lines with --json)"),
    ("simulate", "simulate", "serve simulated plugs and strips on loopback"),
    ("usage", "usage", "runtime statistics: minutes on per day and per month"),
    ("serve", "serve", "serve the dashboard to a web browser"),
    (
        "bridge",
        "bridge",
        "serve the devices over HTTP (old web API, REST, phone page, metrics) and MQTT",
    ),
    ("tddp", "tddp", "read or write a subtype over TDDP, the TP-Link Device Debug Protocol (UDP)"),
)
"""Written by ``write()`` below; tests/test_cli_lazy.py checks it."""


def registered() -> list[tuple[str, str, str]]:
    """(verb, module, help) as the verb modules register them now (imports them all)."""
    from . import VERB_MODULES

    rows: list[tuple[str, str, str]] = []
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    for module in VERB_MODULES:
        before = set(sub.choices)
        module.register(sub)
        helps = {action.dest: action.help or "" for action in sub._choices_actions}
        name = module.__name__.rsplit(".", 1)[1]
        rows += [(verb, name, helps.get(verb, "")) for verb in sub.choices if verb not in before]
    return rows


def write(path: Path = Path(__file__)) -> None:
    """Rewrite the VERB_INDEX literal of this file from ``registered()``."""
    import json

    text = path.read_text()
    start = text.index("VERB_INDEX: tuple")
    end = text.index('"""Written by ``write()``', start)
    end = text.index("\n", text.index('"""', end + 3)) + 1
    lines = ["VERB_INDEX: tuple[tuple[str, str, str], ...] = ("]
    lines.append(
        "    # (verb, registering module under tplink_tui.cli, help) in the order they list"
    )
    lines += [
        f"    ({json.dumps(verb)}, {json.dumps(module)}, {json.dumps(help_, ensure_ascii=False)}),"
        for verb, module, help_ in registered()
    ]
    lines += [")", '"""Written by ``write()`` below; tests/test_cli_lazy.py checks it."""', ""]
    path.write_text(text[:start] + "\n".join(lines) + text[end:])
    import subprocess

    subprocess.run([sys.executable, "-m", "ruff", "format", str(path)], check=False)


if __name__ == "__main__":
    write()
    sys.exit(0)
