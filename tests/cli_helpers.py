"""Running ``tplink-tui`` in-process from tests, and checking its one-line errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tplink_tui.cli.main import main


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``tplink-tui ARGV`` in-process; argparse errors exit via SystemExit."""
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def cli_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    code, out, err = cli(capsys, "--json", *argv)
    assert code == 0, err
    return json.loads(out)


def addr(device: Any) -> str:
    return f"{device.host}:{device.port}"


def error_line(err: str) -> str:
    """Errors are exactly one line on stderr, naming the program."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("tplink-tui: error: "), err
    assert "Traceback" not in err
    return lines[0]
