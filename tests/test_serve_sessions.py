"""``serve``'s dashboard processes end with their session, whatever the browser or serve does.

A closed tab, a one-shot headless screenshot (the page is gone before the dashboard has
mounted), a dashboard that ignores quit and SIGTERM, a ``serve`` stopped by SIGTERM or
killed outright: in every case no dashboard process may be left running. The browser is
Debian's Chromium driven by Selenium (Selenium Manager never runs: driver and browser
are given by path); a missing browser fails, it does not skip.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from browser import BROWSER_FLAGS, CHROMIUM, headless_chromium, require_chromium
from test_hostile_serve import Served, alive, descendants, free_port, start_serve, stop_serve

from tplink_tui.web import server as web_server
from tplink_tui.web import session

ENDS_WITHIN_S = 5.0
URL_LINE = re.compile(r"serving the dashboard on (http://127\.0\.0\.1:(\d+)/\?token=([\w-]+))")

# A "dashboard" that ignores quit, the end of its input and SIGTERM: only SIGKILL ends it.
STUBBORN = """\
import os, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
sys.stdout.write("__GANGLION__\\n"); sys.stdout.flush()
open(sys.argv[1], "w").write(str(os.getpid()))
while True:
    time.sleep(1)
"""

# A dashboard that floods its output and quits only once it reads quit on its input: it
# ends by itself only if serve keeps reading its output after the browser has gone.
FLOODER = """\
import os, sys, threading, time
out = sys.stdout.buffer
out.write(b"__GANGLION__\\n"); out.flush()
open(sys.argv[1], "w").write(str(os.getpid()))
frame = b"x" * 60000
def flood():
    while True:
        out.write(b"D" + len(frame).to_bytes(4, "big") + frame); out.flush()
threading.Thread(target=flood, daemon=True).start()
data = b""
while b'"quit"' not in data:
    chunk = os.read(0, 4096)
    if not chunk:
        break
    data += chunk
os._exit(0)
"""


def pid_from(path: Path, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.read_text()):
        assert time.monotonic() < deadline, "the dashboard never started"
        time.sleep(0.02)
    return int(path.read_text())


def wait_gone(pids: set[int], within: float) -> float:
    """Seconds until every pid has ended; fails past ``within`` (plus polling slack)."""
    started = time.monotonic()
    while alive(pids):
        took = time.monotonic() - started
        assert took < within, f"dashboard {alive(pids)} still running after {took:.1f} s"
        time.sleep(0.02)
    return time.monotonic() - started


def kill_left(pids: set[int]) -> None:
    for pid in alive(pids):
        os.kill(pid, signal.SIGKILL)


# -- a real browser ------------------------------------------------------------------------------


@pytest.fixture
def chromium(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with headless_chromium(tmp_path / "profile", monkeypatch) as driver:
        yield driver


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Served]:
    server = start_serve(tmp_path)
    yield server
    stop_serve(server)
    assert not alive(server.seen), "a dashboard process outlived the server"


def wait_for_dashboard(served: Served, timeout: float = 60.0) -> set[int]:
    deadline = time.monotonic() + timeout
    while not (found := served.dashboards()):
        assert time.monotonic() < deadline, "no dashboard process started"
        time.sleep(0.02)
    return found


def test_closing_the_tab_ends_its_dashboard(chromium: Any, demo: Served) -> None:
    chromium.get(demo.url)
    dashboards = wait_for_dashboard(demo)
    # The dashboard has painted: the page hides its intro once bytes arrive.
    deadline = time.monotonic() + 60
    while not chromium.execute_script("return document.body.classList.contains('-first-byte')"):
        assert time.monotonic() < deadline, "the dashboard never reached the page"
        time.sleep(0.1)
    time.sleep(1.0)  # running, not starting
    assert alive(dashboards)
    page = chromium.current_window_handle
    chromium.switch_to.new_window("tab")  # the browser stays open; only the tab goes
    other = chromium.current_window_handle
    chromium.switch_to.window(page)
    chromium.close()
    chromium.switch_to.window(other)
    took = wait_gone(dashboards, ENDS_WITHIN_S)
    assert demo.process.poll() is None  # the server itself carries on
    print(f"dashboard ended {took:.2f} s after its tab closed")


def test_a_one_shot_screenshot_leaves_no_dashboard(chromium: Any, demo: Served) -> None:
    # The page goes while the dashboard is still starting: quit arrives before it has
    # mounted, which Textual can take into a loop that ignores quit and SIGTERM alike.
    chromium.get(demo.url)
    dashboards = wait_for_dashboard(demo)
    chromium.get_screenshot_as_png()
    chromium.quit()
    took = wait_gone(dashboards, ENDS_WITHIN_S)
    print(f"dashboard ended {took:.2f} s after the browser quit")


def test_chromium_screenshot_command_leaves_no_dashboard(demo: Served, tmp_path: Path) -> None:
    # `chromium --headless --screenshot URL`, the one-shot of the bug report, as a user runs it.
    require_chromium(CHROMIUM)
    shot = tmp_path / "shot.png"
    command = [
        CHROMIUM,
        *BROWSER_FLAGS,
        f"--user-data-dir={tmp_path / 'shot-profile'}",
        f"--screenshot={shot}",
        demo.url,
    ]
    browser = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        while browser.poll() is None:
            assert time.monotonic() < deadline, "chromium --screenshot did not finish"
            demo.dashboards()  # remember every dashboard it started
            time.sleep(0.02)
    finally:
        if browser.poll() is None:
            browser.kill()
        browser.wait()
    assert shot.stat().st_size > 0
    assert demo.seen, "the page never opened a session"
    took = wait_gone(demo.seen, ENDS_WITHIN_S)
    print(f"dashboard ended {took:.2f} s after chromium --screenshot exited")


# -- dashboards that do not cooperate, served in-process ------------------------------------------


async def serve_in_process(command: str) -> tuple[web.AppRunner, str]:
    port = free_port()
    server = web_server.GuardedServer(command, "127.0.0.1", port, token="tok")
    runner = web.AppRunner(await server._make_app())
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


async def open_session(session: aiohttp.ClientSession, base: str) -> Any:
    # A non-browser client may pass the token in the WebSocket URL itself.
    return await session.ws_connect(f"{base}/ws?token=tok", origin=base)


async def test_a_dashboard_that_ignores_quit_and_sigterm_is_killed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    pidfile = tmp_path / "pid"
    runner, base = await serve_in_process(
        shlex.join([sys.executable, "-c", STUBBORN, str(pidfile)])
    )
    pid = None
    try:
        async with aiohttp.ClientSession() as client:
            ws = await open_session(client, base)
            pid = await asyncio.to_thread(pid_from, pidfile)
            assert alive({pid})
            await ws.close()
            took = await asyncio.to_thread(wait_gone, {pid}, ENDS_WITHIN_S)
    finally:
        await runner.cleanup()
        if pid is not None:
            kill_left({pid})
    assert took > session.KILL_AT_S - 0.5  # it was given its chance
    assert f"dashboard pid {pid} did not quit within" in caplog.text
    assert "killed" in caplog.text
    assert f"{base}/?token=tok" in capsys.readouterr().out  # announced once listening


async def test_output_is_read_after_the_browser_goes_so_quit_arrives(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pidfile = tmp_path / "pid"
    runner, base = await serve_in_process(shlex.join([sys.executable, "-c", FLOODER, str(pidfile)]))
    pid = None
    try:
        async with aiohttp.ClientSession() as client:
            ws = await open_session(client, base)
            pid = await asyncio.to_thread(pid_from, pidfile)
            await ws.receive()  # frames are flowing
            await ws.close()
            took = await asyncio.to_thread(wait_gone, {pid}, ENDS_WITHIN_S)
    finally:
        await runner.cleanup()
        if pid is not None:
            kill_left({pid})
    # It quit on its own, told by quit: no SIGTERM, no SIGKILL.
    assert took < session.TERM_AT_S
    assert "did not quit" not in caplog.text


async def test_quit_before_the_dashboard_has_mounted_still_ends_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # What a one-shot screenshot does, without the browser's timing: the page reports a
    # size other than the one the dashboard started with, then goes at once.
    runner, base = await serve_in_process(
        shlex.join([sys.executable, "-m", "tplink_tui", "--demo"])
    )
    pids: set[int] = set()
    try:
        async with aiohttp.ClientSession() as client:
            ws = await client.ws_connect(f"{base}/ws?token=tok&width=133&height=36", origin=base)
            await ws.send_json(["resize", {"width": 133, "height": 44}])
            pids = descendants(os.getpid())
            assert pids
            await ws.close()
            took = await asyncio.to_thread(wait_gone, pids, ENDS_WITHIN_S)
    finally:
        await runner.cleanup()
        kill_left(pids)
    print(f"dashboard ended {took:.2f} s after its socket closed")
    # Stopped by us while it started: that is not "failed to start".
    assert "Application failed to start" not in caplog.text


async def test_a_dashboard_that_cannot_start_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    broken = shlex.join([sys.executable, "-c", "raise SystemExit('no dashboard here')"])
    runner, base = await serve_in_process(broken)
    try:
        async with aiohttp.ClientSession() as client:
            ws = await open_session(client, base)
            message = await asyncio.wait_for(ws.receive(), 30)
            assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    finally:
        await runner.cleanup()
    assert "Application failed to start" in caplog.text


async def test_a_dashboard_that_dies_closes_its_page(tmp_path: Path) -> None:
    crash = "import sys; print('__GANGLION__', flush=True); sys.exit(3)"
    runner, base = await serve_in_process(shlex.join([sys.executable, "-c", crash]))
    try:
        async with aiohttp.ClientSession() as client:
            ws = await open_session(client, base)
            message = await asyncio.wait_for(ws.receive(), 30)
            while message.type == aiohttp.WSMsgType.BINARY:
                message = await asyncio.wait_for(ws.receive(), 30)
            assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    finally:
        await runner.cleanup()


# -- serve itself stopped: SIGTERM, or killed outright --------------------------------------------


def start_stubborn_serve(tmp_path: Path) -> tuple[subprocess.Popen[str], int]:
    """The real ``serve`` machinery (``GuardedServer.serve``) with a stubborn dashboard."""
    port = free_port()
    command = shlex.join([sys.executable, "-c", STUBBORN, str(tmp_path / "pid")])
    runner = (
        "import sys; from tplink_tui.web.server import GuardedServer;"
        " GuardedServer(sys.argv[1], '127.0.0.1', int(sys.argv[2]), token='tok').serve()"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", runner, command, str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert URL_LINE.search(line), (line, process.stderr.read() if process.stderr else "")
    return process, port


async def session_with_stubborn_dashboard(tmp_path: Path, port: int) -> tuple[Any, Any, int]:
    client = aiohttp.ClientSession()
    ws = await open_session(client, f"http://127.0.0.1:{port}")
    pid = await asyncio.to_thread(pid_from, tmp_path / "pid")
    return client, ws, pid


@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT"])
async def test_stopping_serve_leaves_no_dashboard_even_a_stubborn_one(
    tmp_path: Path, how: str
) -> None:
    process, port = start_stubborn_serve(tmp_path)
    pid = None
    try:
        client, ws, pid = await session_with_stubborn_dashboard(tmp_path, port)
        try:
            started = time.monotonic()
            process.send_signal(getattr(signal, how))
            code = await asyncio.to_thread(process.wait, 30)
            took = time.monotonic() - started
        finally:
            await ws.close()
            await client.close()
        assert code == 0
        assert not alive({pid}), "serve exited and left its dashboard running"
        assert took < web_server.SHUTDOWN_WAIT_S + 2, took
        assert process.stderr is not None
        log = process.stderr.read()
        assert "killed" in log and "Traceback" not in log
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if pid is not None:
            kill_left({pid})


async def test_a_killed_serve_takes_its_dashboards_along(tmp_path: Path) -> None:
    process, port = start_stubborn_serve(tmp_path)
    pid = None
    try:
        client, _ws, pid = await session_with_stubborn_dashboard(tmp_path, port)
        try:
            assert pid in descendants(process.pid)
            process.kill()  # no cleanup runs: only the kernel can end the dashboard now
            await asyncio.to_thread(process.wait, 30)
            took = await asyncio.to_thread(wait_gone, {pid}, ENDS_WITHIN_S)
        finally:
            await client.close()
        assert took < 2.0, took
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if pid is not None:
            kill_left({pid})


def test_port_held_on_every_address_is_one_line_and_exit_2() -> None:
    with socket.socket() as busy:
        busy.bind(("0.0.0.0", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "tplink_tui", "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"tplink-tui: error: 127.0.0.1:{port}: address already in use\n"
