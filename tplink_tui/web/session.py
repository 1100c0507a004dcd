"""One browser session's dashboard process, and a stop that always ends it.

textual-serve's ``AppService`` leaves a process behind in three ways, all seen with a
closed tab or a one-shot headless screenshot:

- its stdout reader stops at the first write to a closed WebSocket, so the dashboard
  soon blocks writing a frame into a full pipe and never reads the quit sent next;
- ``stop()`` sends quit and then waits for that reader with no time limit, and Textual
  8.2 hangs for ever when quit arrives before its screen's first layout and the page
  has reported a size other than the start size: the app's loop stops, and the screen
  handles two ``Resize`` events (44 and 36 rows, say) that each re-post the other. Its
  message pump then never yields, so the SIGTERM handler Textual installs never runs;
- a ``serve`` that dies (SIGKILL, a crash) orphans its dashboards.

So here the output is read to the end whether or not anyone is listening; the stop
escalates on a clock from the moment the socket went (quit and end of input, SIGTERM,
SIGKILL, to the dashboard's own process group); and the dashboard is started through a
tiny launcher that asks Linux to SIGKILL it when ``serve`` goes (``PR_SET_PDEATHSIG``),
then execs it. (Holding quit back until the first frame was tried: it makes the hang
more likely, as quit then lands while the page's resize is being laid out.)
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import enum
import logging
import os
import shlex
import signal
import sys
from asyncio.subprocess import Process

from textual_serve.app_service import AppService

# Seconds from the moment the socket went; quit is sent at once.
TERM_AT_S = 2.0
"""A dashboard that heard quit usually exits well within this (its history is flushed)."""
KILL_AT_S = 3.5
KILL_WAIT_S = 2.0
"""After SIGKILL: the kernel's part (reaping), not the dashboard's."""
STDIN_WRITE_S = 0.5
"""Longest wait to hand quit to a dashboard that stopped reading its input."""

_LAUNCHER = """\
import ctypes, os, signal, sys
try:
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
except (AttributeError, OSError):
    pass  # not Linux: the stop in serve is the only guard
if os.getppid() != int(sys.argv[1]):
    os._exit(1)  # serve died before the request took effect
os.execvp(sys.argv[2], sys.argv[2:])
"""


class Ended(enum.Enum):
    """How a dashboard process ended: the log says which."""

    QUIT = "quit"
    TERMINATED = "terminated"
    KILLED = "killed"
    LOST = "lost"


_SERVICE: contextvars.ContextVar[SessionService | None] = contextvars.ContextVar(
    "tplink_tui_session", default=None
)


class _StoppedWhileStarting(logging.Filter):
    """Drop textual-serve's "failed to start" for a dashboard we stopped while it started."""

    def filter(self, record: logging.LogRecord) -> bool:
        service = _SERVICE.get()
        stopping = service is not None and service.stopping
        return not (stopping and record.getMessage() == "Application failed to start")


logging.getLogger("textual-serve").addFilter(_StoppedWhileStarting())


def launch_argv(command: str) -> list[str]:
    """``command`` run through the launcher: same pid, killed with its ``serve``."""
    return [sys.executable, "-I", "-c", _LAUNCHER, str(os.getpid()), *shlex.split(command)]


class SessionService(AppService):
    """textual-serve's ``AppService``, with a process that cannot outlive its session."""

    _ended: Ended | None = None
    stopping = False

    async def start(self, width: int, height: int) -> None:
        _SERVICE.set(self)  # copied into the reader task started here, for the log filter
        await super().start(width, height)

    async def _open_app_process(self, width: int = 80, height: int = 24) -> Process:
        """Exec, not a shell; a new process group so a kill reaches all of it."""
        self._process = process = await asyncio.create_subprocess_exec(
            *launch_argv(self.command),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self._build_environment(width=width, height=height),
            start_new_session=True,
        )
        assert process.stdin is not None
        self._stdin = process.stdin
        return process

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    async def run(self) -> None:
        """Read the dashboard to its end; then close the page's socket (it may have crashed)."""
        await super().run()
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.remote_close()

    async def on_data(self, payload: bytes) -> None:
        """Forward a frame; once the browser is gone, drop it but keep reading."""
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.remote_write_bytes(payload)

    async def on_meta(self, data: bytes) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            await super().on_meta(data)

    async def end(self) -> Ended:
        """Quit, then SIGTERM, then SIGKILL, on one clock; reap and finish reading."""
        if self._ended is not None:
            return self._ended
        self.stopping = True
        process = self._process
        if process is None:
            self._ended = Ended.QUIT
            return self._ended
        clock = asyncio.get_running_loop()
        start = clock.time()
        with contextlib.suppress(Exception):
            await self._download_manager.cancel_app_downloads(app_service_id=self.app_service_id)
        if process.returncode is None:
            with contextlib.suppress(Exception):  # a full or broken pipe: the signals decide
                await asyncio.wait_for(self.send_meta({"type": "quit"}), STDIN_WRITE_S)
        if self._stdin is not None:
            self._stdin.close()  # end of input too, for a dashboard that reads but ignores quit
        self._ended = Ended.LOST
        steps = (
            (None, TERM_AT_S, Ended.QUIT),
            (signal.SIGTERM, KILL_AT_S, Ended.TERMINATED),
            (signal.SIGKILL, KILL_AT_S + KILL_WAIT_S, Ended.KILLED),
        )
        for sig, until, outcome in steps:
            if sig is not None:
                _signal_group(process, sig)
            if await _exited(process, start + until - clock.time()):
                self._ended = outcome
                break
        if self._task is not None:  # the output ends with the process
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, KILL_WAIT_S)
            self._task = None
        return self._ended


def _signal_group(process: Process, sig: signal.Signals) -> None:
    if process.returncode is not None:
        return
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:  # not our group after all (cannot happen with start_new_session)
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(sig)


async def _exited(process: Process, within: float) -> bool:
    try:
        await asyncio.wait_for(process.wait(), max(within, 0.0))
    except TimeoutError:
        return False
    return True
