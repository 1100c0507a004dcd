"""Issue 11, storage: hostile saved names, hostile import files and hostile config files.

Everything runs the real command line: in a child process when the raw bytes on
stdout/stderr matter (a pipe, or a pseudo-terminal where only rich's own colour
codes may appear), in-process (``cli_helpers.cli``) when a spy must watch the
store. Names are stored exactly as given (they are the user's data) except lone
surrogates, which become U+FFFD before any write; every printer shows them through
``untrusted.display`` plus markup escaping.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pty_run
import pytest
from cli_helpers import cli, error_line

from tplink_tui.errors import ConfigError
from tplink_tui.store import config as config_mod
from tplink_tui.store.config import ConfigStore, SavedDevice
from tplink_tui.store.config_model import MAX_JSON_DEPTH, too_deep

ROOT = Path(__file__).resolve().parent.parent
PROG = (sys.executable, "-m", "tplink_tui")
_SGR = re.compile(r"\x1b\[[0-9;]*m")
# C0 but tab/newline (ESC included), DEL, C1, bidi overrides and isolates, LS/PS.
_FORBIDDEN = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]"
)

# Names typed on a command line (argv cannot hold NUL: that one comes from files).
ARGV_NAMES = [
    "[/]",
    "[bold]loud[/bold]",
    "[@click=app.quit]click me[/]",
    "\x1b]2;pwned title\x07",
    "\x1b]52;c;SGVsbG8=\x07clip",
    "\x1b[2Jclear",
    "\x9b2Jc1 csi",
    "\u202eevil\u202c",
    "two\nlines | 127.0.0.66 | forged row",
    "trailing backslash\\",
]
# Names only a file can carry: NUL, a lone surrogate (valid JSON), DEL, OSC 8.
FILE_NAMES = {
    "nul\u0000byte": "nul\u0000byte",
    "lone \ud800 surrogate": "lone \ufffd surrogate",
    "del\u007f": "del\u007f",
    "\x1b]8;;http://evil/\x07link\x1b]8;;\x07": "\x1b]8;;http://evil/\x07link\x1b]8;;\x07",
}


@pytest.fixture
def cfg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cfg" / "config.json"
    monkeypatch.setenv("TPLINK_TUI_CONFIG", str(path))
    return path


def run(argv: list[str | bytes], cfg: Path, timeout: float = 60.0) -> tuple[int, bytes, bytes]:
    """``tplink-tui ARGV`` in a child process on pipes; raw bytes back."""
    env = {**os.environ, "TPLINK_TUI_CONFIG": str(cfg)}
    proc = subprocess.run(
        [*PROG, *argv], cwd=ROOT, env=env, capture_output=True, timeout=timeout, check=False
    )
    return proc.returncode, proc.stdout, proc.stderr


def run_on_pty(argv: list[str], cfg: Path, timeout: float = 30.0) -> tuple[int, bytes, bytes]:
    """``tplink-tui ARGV`` with stdout on a pseudo-terminal (rich styles it), stderr piped."""
    env = {"TPLINK_TUI_CONFIG": str(cfg), "COLUMNS": "220"}
    return pty_run.run_on_pty(argv, env=env, timeout=timeout)


def clean(raw: bytes, *, tty: bool = False) -> str:
    """Decode ``raw`` (valid UTF-8 or fail) and fail on any control byte that is not ours."""
    text = raw.decode("utf-8")
    if tty:
        text = _SGR.sub("", text).replace("\r\n", "\n")
    bad = _FORBIDDEN.search(text)
    assert bad is None, f"control character {bad.group()!r} in {text!r}"
    return text


def one_error_line(err: bytes) -> str:
    return error_line(clean(err))


def write_config(cfg: Path, devices: list[dict[str, Any]], **extra: Any) -> bytes:
    cfg.parent.mkdir(parents=True, exist_ok=True)
    raw = json.dumps({"version": 1, "devices": devices, **extra}).encode()
    cfg.write_bytes(raw)
    return raw


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# -- hostile names typed on the command line ---------------------------------------------------


def test_hostile_names_are_stored_exactly_and_printed_harmlessly(
    cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for i, name in enumerate(ARGV_NAMES):
        extra = ("--room", "[red]room\x1b[5m", "--description", "\u202edesc")
        code, out, err = cli(capsys, "devices", "add", f"127.0.3.{i + 1}", "--name", name, *extra)
        assert code == 0, err
        clean(out.encode())
        clean(err.encode())
        assert "Saved " in out
    # The file keeps the user's data as given.
    stored = {d.name for d in ConfigStore(cfg).load().devices}
    assert stored == {name.strip() for name in ARGV_NAMES}

    code, out, err = run(["devices", "list"], cfg)
    assert code == 0 and err == b"", err
    text = clean(out)
    lines = text.rstrip("\n").split("\n")
    assert len(lines) == 1 + len(ARGV_NAMES), text  # the newline name forged no row
    assert lines[0].split() == ["NAME", "HOST", "ROOM", "MAC", "DESCRIPTION"]
    for literal in ("[/]", "[bold]loud[/bold]", "[@click=app.quit]click me[/]", "[red]room"):
        assert literal in text  # shown as text, not applied as markup
    assert "two⏎lines | 127.0.0.66 | forged row" in text
    assert "␛]2;pwned title␇" in text and "␛[2Jclear" in text

    code, out, err = run(["--json", "devices", "list"], cfg)
    assert code == 0 and err == b""
    assert b"\x1b" not in out and b"\xc2\x9b" not in out and "\u202e".encode() not in out
    listed = json.loads(out)
    assert {d["name"] for d in listed} == stored  # --json is exact, only escaped


def test_markup_close_tag_does_not_break_the_list_for_good(
    cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(capsys, "devices", "add", "127.0.0.1", "--name", "[/]")[0] == 0
    assert cli(capsys, "devices", "add", "127.0.0.2", "--name", "[bold]")[0] == 0
    for _ in range(2):
        code, out, err = cli(capsys, "devices", "list")
        assert code == 0, err
        assert "[/]" in out and "[bold]" in out and "127.0.0.2:9999" in out
    code, out, err = cli(capsys, "devices", "rename", "[/]", "[/bold]")
    assert code == 0 and "Renamed [/] to [/bold]." in out, err
    code, out, err = cli(capsys, "devices", "remove", "[bold]")
    assert code == 0 and "Removed [bold] (127.0.0.2:9999)." in out, err
    assert [d.name for d in ConfigStore(cfg).load().devices] == ["[/bold]"]


def test_list_on_a_terminal_carries_only_rich_colour(cfg: Path) -> None:
    devices = [{"name": n, "host": f"127.0.4.{i + 1}", "room": n} for i, n in enumerate(ARGV_NAMES)]
    devices += [{"name": n, "host": f"127.0.5.{i + 1}"} for i, n in enumerate(FILE_NAMES)]
    write_config(cfg, devices)
    code, out, err = run_on_pty(["devices", "list"], cfg)
    assert code == 0 and err == b"", err
    text = clean(out, tty=True)
    assert "[@click=app.quit]click me[/]" in text and "nul␀byte" in text and "link" in text
    assert len(text.rstrip("\n").split("\n")) == 1 + len(devices)


def test_hostile_names_in_error_and_note_lines(
    cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = "\x1b]52;c;SGVsbG8=\x07[/]"
    assert cli(capsys, "devices", "add", "127.0.0.1", "--name", name)[0] == 0
    code, out, err = cli(capsys, "devices", "add", "127.0.0.1", "--name", "other")
    assert code == 0
    assert "also saved as '␛]52;c;SGVsbG8=␇[/]'" in clean(err.encode())
    code, out, err = cli(capsys, "devices", "add", "127.0.0.2", "--name", name)
    assert (code, out) == (2, "")
    assert "already saved" in one_error_line(err.encode())
    code, out, err = cli(capsys, "devices", "remove", "\x1b[2Jghost\u202e")
    assert (code, out) == (2, "")
    assert "no saved device named" in one_error_line(err.encode())


def test_lone_surrogate_from_argv_is_repaired_before_the_write(cfg: Path) -> None:
    # Bytes that are not UTF-8 reach Python's argv as lone surrogates (surrogateescape):
    # today's write crashed on them with UnicodeEncodeError.
    code, out, err = run(
        ["devices", "add", "127.0.0.1", "--name", b"caf\xff", "--room", b"\xfe"], cfg
    )
    assert code == 0, err
    clean(out)
    clean(err)
    data = json.loads(cfg.read_bytes().decode("utf-8"))  # valid UTF-8 on disk
    assert (data["devices"][0]["name"], data["devices"][0]["room"]) == ("caf\ufffd", "\ufffd")
    # The same bytes still find it (lookups are repaired the same way).
    code, out, err = run(["devices", "rename", b"caf\xff", b"th\xe9"], cfg)
    assert code == 0, err
    assert ConfigStore(cfg).load().devices[0].name == "th\ufffd"
    code, out, err = run(["devices", "remove", b"th\xe9"], cfg)
    assert code == 0 and ConfigStore(cfg).load().devices == [], err


def test_store_api_repairs_surrogates_and_never_raises_on_write(cfg: Path) -> None:
    store = ConfigStore(cfg)
    store.add_device(
        SavedDevice("a\udc80", "127.0.0.1", extra={"outlet_names": {"\ud83d": "x\udfff"}})
    )
    store.update_settings(theme="\ud800", custom={"k\ud800": ["\udbff"]})
    raw = cfg.read_bytes().decode("utf-8")
    assert "\\ud" not in raw.lower()
    config = store.load()
    assert config.devices[0].name == "a\ufffd"
    assert config.devices[0].extra["outlet_names"] == {"\ufffd": "x\ufffd"}
    assert config.settings.theme == "\ufffd"
    assert config.settings.extra["custom"] == {"k\ufffd": ["\ufffd"]}
    deep: list[Any] = []
    for _ in range(5000):
        deep = [deep]
    before = cfg.read_bytes()
    too_deep_to_read_back = json.loads(nested(MAX_JSON_DEPTH + 1))
    for value in (deep, too_deep_to_read_back):
        with pytest.raises(ConfigError, match="cannot serialize") as info:
            store.update_settings(deep=value)
        assert str(cfg) in str(info.value) and "\n" not in str(info.value)
        with pytest.raises(ConfigError, match="cannot serialize"):
            store.add_device(SavedDevice("new", "127.0.0.2", extra={"deep": value}))
        assert cfg.read_bytes() == before  # nothing written we could not read back


# -- hostile config and import files -----------------------------------------------------------


def test_hostile_config_file_lists_and_is_rewritten_safely(cfg: Path) -> None:
    write_config(cfg, [{"name": n, "host": f"127.0.6.{i + 1}"} for i, n in enumerate(FILE_NAMES)])
    code, out, err = run(["devices", "list"], cfg)
    assert code == 0 and err == b"", err
    text = clean(out)
    assert "nul␀byte" in text and "lone \ufffd surrogate" in text and "del␡" in text

    code, out, err = run(["--json", "devices", "list"], cfg)
    assert code == 0 and b"\x1b" not in out and b"\x7f" not in out
    assert [d["name"] for d in json.loads(out)] == list(FILE_NAMES.values())

    code, out, err = run(["devices", "add", "127.0.0.9", "--name", "fresh"], cfg)
    assert code == 0, err
    names = [d.name for d in ConfigStore(cfg).load().devices]
    assert names == [*FILE_NAMES.values(), "fresh"]  # kept exactly, surrogate repaired


def test_hostile_import_file(cfg: Path, tmp_path: Path) -> None:
    legacy = tmp_path / "devices.json"
    entries = [{"name": n, "ip": f"127.0.7.{i + 1}", "room": "[/]\x1b[2J"}
               for i, n in enumerate([*ARGV_NAMES, *FILE_NAMES])]  # fmt: skip
    entries.append({"name": "[/]", "ip": "127.0.7.200"})  # repeated inside the file
    legacy.write_text(json.dumps({"devices": entries}))
    code, out, err = run(["devices", "import", str(legacy)], cfg)
    assert code == 0 and err == b"", err
    text = clean(out)
    assert (
        f"Imported {len(entries) - 1} device(s)" in text and "Skipped 1 already saved: [/]" in text
    )
    expected = [n.strip() for n in ARGV_NAMES] + list(FILE_NAMES.values())
    assert [d.name for d in ConfigStore(cfg).load().devices] == expected
    code, out, err = run(["--json", "devices", "import", str(legacy)], cfg)
    assert code == 0 and b"\x1b" not in out
    assert len(json.loads(out)["skipped"]) == len(entries)


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 100_000])
def test_deeply_nested_config_is_one_line_exit_4_and_untouched(cfg: Path, depth: int) -> None:
    raw = b'{"devices": [{"name": "a", "host": "h", "x": ' + nested(depth).encode() + b"}]}"
    cfg.parent.mkdir(parents=True)
    cfg.write_bytes(raw)
    for argv in (["devices", "list"], ["devices", "add", "127.0.0.2"], ["devices", "remove", "a"]):
        code, out, err = run(argv, cfg)
        assert (code, out) == (4, b""), (argv, err)
        line = one_error_line(err)
        assert str(cfg) in line and "nested more than" in line
        assert cfg.read_bytes() == raw
    assert sorted(p.name for p in cfg.parent.iterdir() if not p.name.endswith(".lock")) == [
        "config.json"
    ]


def test_nesting_within_the_bound_is_kept(cfg: Path) -> None:
    keep = json.loads(nested(MAX_JSON_DEPTH - 4))
    write_config(cfg, [{"name": "a", "host": "h", "x": keep}])
    ConfigStore(cfg).add_device(SavedDevice("b", "127.0.0.2"))
    assert ConfigStore(cfg).load().devices[0].extra == {"x": keep}


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 100_000])
def test_deeply_nested_import_file_is_refused(cfg: Path, tmp_path: Path, depth: int) -> None:
    good = write_config(cfg, [{"name": "a", "host": "127.0.0.1"}])
    legacy = tmp_path / "deep.json"
    legacy.write_text('{"devices": [{"name": "b", "ip": "127.0.0.2", "x": ' + nested(depth) + "}]}")
    code, out, err = run(["devices", "import", str(legacy)], cfg)
    # Exit 4, like every other import file that cannot be used (missing, unreadable).
    assert (code, out) == (4, b""), err
    line = one_error_line(err)
    assert str(legacy) in line and "nested more than" in line
    assert cfg.read_bytes() == good


def test_import_of_something_that_is_not_a_file_does_not_hang(cfg: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    for source in ("/dev/zero", str(fifo), str(tmp_path)):
        code, out, err = run(["devices", "import", source], cfg, timeout=20)
        assert (code, out) == (4, b"")
        assert source in one_error_line(err)
    # A FIFO where the config should be: refused at once, never read (it would block).
    code, out, err = run(["devices", "list"], fifo, timeout=20)
    assert (code, out) == (4, b"") and "not a regular file" in one_error_line(err)


def test_too_deep_matches_the_real_depth() -> None:
    for limit in (0, 1, 3, MAX_JSON_DEPTH):
        for depth in (limit - 1, limit, limit + 1):
            if depth < 1:
                continue
            doc = json.dumps({"k[": [{'\\"]': nested(depth)}], "v": json.loads(nested(depth))})
            real_depth = max(3, depth + 1)
            assert too_deep(doc.encode(), limit) == (real_depth > limit), (limit, depth)


# -- write failures are one line ---------------------------------------------------------------


def test_unwritable_places_give_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "plain-file"
    blocker.write_text("x")
    loop = tmp_path / "loop.json"
    loop.symlink_to(loop)
    for path, argv in (
        (blocker / "config.json", ["devices", "add", "127.0.0.1"]),
        (loop, ["devices", "list"]),
        (loop, ["devices", "add", "127.0.0.1"]),
    ):
        code, out, err = run(argv, path)
        assert (code, out) == (4, b""), (path, argv, err)
        assert str(path) in one_error_line(err)
    assert blocker.read_text() == "x"


# -- two symlinks to one file ------------------------------------------------------------------

ADD_LOOP = textwrap.dedent(
    """
    import sys
    from tplink_tui.cli.main import main
    prefix, count = sys.argv[1], int(sys.argv[2])
    for i in range(count):
        code = main(["devices", "add", f"127.1.{len(prefix)}.{i + 1}", "--name", f"{prefix}-{i}"])
        if code != 0:
            sys.exit(code)
    """
)


def test_two_symlinks_to_one_config_lose_no_edit(tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "tplink.json"
    real.parent.mkdir()
    real.write_text('{"devices": []}')
    direct_link = tmp_path / "a" / "config.json"
    direct_link.parent.mkdir()
    direct_link.symlink_to(real)
    folder_link = tmp_path / "b"  # a symlinked folder, as dotfile managers make
    folder_link.symlink_to(real.parent, target_is_directory=True)
    via_folder = folder_link / "tplink.json"
    count = 60
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", ADD_LOOP, prefix, str(count)],
            cwd=ROOT,
            env={**os.environ, "TPLINK_TUI_CONFIG": str(path)},
            stderr=subprocess.PIPE,
        )
        for prefix, path in (("a", direct_link), ("bb", via_folder))
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    names = {d.name for d in ConfigStore(real).load().devices}
    assert names == {f"a-{i}" for i in range(count)} | {f"bb-{i}" for i in range(count)}
    assert direct_link.is_symlink() and direct_link.resolve() == real
    assert sorted(p.name for p in real.parent.iterdir()) == ["tplink.json", "tplink.json.lock"]
    assert sorted(p.name for p in direct_link.parent.iterdir()) == ["config.json"]
    assert ConfigStore(direct_link).lock_path == ConfigStore(via_folder).lock_path


# -- a large import: linear, one write -----------------------------------------------------------


def test_import_of_20k_entries_is_one_write(
    cfg: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    count = 20_000
    legacy = tmp_path / "big.json"
    entries = [{"name": f"dev-{i}", "ip": f"127.2.{i >> 8}.{i & 255}", "room": f"r{i % 9}"}
               for i in range(count)]  # fmt: skip
    legacy.write_text(json.dumps({"devices": entries}))
    ConfigStore(cfg).add_device(SavedDevice("DEV-7", "127.0.0.1"))  # one already saved
    writes: list[str] = []
    real_replace = os.replace

    def spy(src: Any, dst: Any) -> None:
        writes.append(str(dst))
        real_replace(src, dst)

    monkeypatch.setattr(config_mod.os, "replace", spy)
    started = time.monotonic()
    code, out, err = cli(capsys, "devices", "import", str(legacy))
    elapsed = time.monotonic() - started
    assert code == 0, err
    assert writes == [str(cfg)]
    assert elapsed < 60, f"{elapsed:.1f} s"  # a sanity bound only; it was O(N²)
    assert f"Imported {count - 1} device(s)" in out and "Skipped 1 already saved: dev-7" in out
    assert len(out.splitlines()) < 30  # a summary, not 20,000 lines
    assert len(ConfigStore(cfg).load().devices) == count
    # Importing again adds nothing and writes nothing.
    code, out, err = cli(capsys, "devices", "import", str(legacy))
    assert code == 0 and "Imported 0 device(s)" in out and writes == [str(cfg)]
