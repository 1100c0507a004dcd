"""Running ``tplink-tui`` on a real pseudo-terminal, to assert on the raw bytes it writes.

Rich and Textual style their output only on a terminal, and a terminal is where a
device's escape sequence would do harm, so the hostile-input suites look there.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Mapping, Sequence

PROG = (sys.executable, "-m", "tplink_tui")


def read_for(fd: int, seconds: float, proc: subprocess.Popen[bytes] | None = None) -> bytes:
    """What arrives on ``fd`` within ``seconds`` (sooner when it closes, or ``proc`` ends)."""
    out = bytearray()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
        elif proc is not None and proc.poll() is not None:
            continue  # drain what is left; EIO then ends the loop
    return bytes(out)


def open_terminal(rows: int = 50, columns: int = 200) -> tuple[int, int]:
    """A pty pair (main, child) whose window has the given size."""
    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    return main, child


def terminal_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    result = {**os.environ, **(env or {}), "TERM": "xterm-256color"}
    result.setdefault("COLUMNS", "200")
    result.setdefault("LINES", "50")
    result.pop("NO_COLOR", None)
    return result


def run_on_pty(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 30.0,
    interactive: bool = False,
    answer: bytes = b"",
) -> tuple[int, bytes, bytes]:
    """``tplink-tui ARGV`` with stdout on a pty; (exit code, pty bytes, stderr bytes).

    ``interactive``: stdin and stderr are on the pty too (prompts), and ``answer``
    is typed a moment after the start; stderr then comes back empty.
    """
    main, child = open_terminal()
    proc = subprocess.Popen(
        [*PROG, *argv],
        stdin=child if interactive else subprocess.DEVNULL,
        stdout=child,
        stderr=child if interactive else subprocess.PIPE,
        env=terminal_env(env),
    )
    os.close(child)
    try:
        if answer:
            time.sleep(1.0)
            os.write(main, answer)
        out = read_for(main, timeout, proc)
        err = proc.communicate(timeout=10)[1] or b""
    finally:
        os.close(main)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return int(proc.returncode), out, err
