"""``tplink-tui serve`` against a hostile web page: the real server, real HTTP and WebSockets.

A page on any site can make the browser talk to loopback, and DNS rebinding gives it a
name that resolves there. The server must refuse a foreign Origin or Host, anything
without the printed token, and sessions past the cap; and it must never leave a
dashboard process behind.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from tplink_tui.web.policy import AccessPolicy, Origin, parse_origin, split_host

PROXY = "https://plugs.example.net"
URL_LINE = re.compile(r"serving the dashboard on (http://127\.0\.0\.1:(\d+)/\?token=([\w-]+))")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def descendants(pid: int) -> set[int]:
    """Live (non-zombie) processes below ``pid``, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if state != "Z":
            children.setdefault(int(ppid), []).append(int(entry))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pids: set[int]) -> set[int]:
    live = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            live.add(pid)
    return live


@dataclass
class Served:
    process: subprocess.Popen[str]
    url: str
    port: int
    token: str
    seen: set[int]  # every process ever seen below the server, for the final check

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def origin(self) -> str:
        return self.base

    @property
    def cookie(self) -> dict[str, str]:
        return {"Cookie": f"tplink-tui-token-{self.port}={self.token}"}

    def dashboards(self) -> set[int]:
        found = descendants(self.process.pid)
        self.seen |= found
        return found


def start_serve(tmp: Path, *extra: str) -> Served:
    env = dict(
        os.environ,
        TPLINK_TUI_CONFIG=str(tmp / "config.json"),
        TPLINK_TUI_DATA_DIR=str(tmp / "data"),
        TPLINK_TUI_DISCOVERY_TARGET="127.255.255.255",
    )
    port = free_port()
    command = [sys.executable, "-m", "tplink_tui", "serve", "--port", str(port), "--demo", *extra]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    match = URL_LINE.search(line)
    if match is None:
        process.kill()
        raise AssertionError(f"no URL printed: {line!r} {process.communicate()}")
    assert int(match.group(2)) == port
    return Served(process, match.group(1), port, match.group(3), set())


def stop_serve(served: Served) -> None:
    """SIGTERM, then make sure nothing we started is left (killing by pid if it is)."""
    served.dashboards()
    if served.process.poll() is None:
        served.process.send_signal(signal.SIGTERM)
        try:
            served.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            served.process.kill()
            served.process.wait()
    for pid in alive(served.seen):
        os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    server = start_serve(
        tmp_path_factory.mktemp("serve"), "--max-sessions", "1", "--allow-origin", PROXY
    )
    yield server
    stop_serve(server)
    assert not alive(server.seen), "a dashboard process outlived the server"


def browser() -> aiohttp.ClientSession:
    """A client that keeps cookies for IP hosts, as a browser does."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def ws_status(served: Served, *, origin: str | None, headers: dict[str, str]) -> int:
    """The HTTP status a WebSocket upgrade gets (101 if it is accepted)."""
    async with aiohttp.ClientSession() as session:
        try:
            ws = await session.ws_connect(f"{served.base}/ws", origin=origin, headers=headers)
        except aiohttp.WSServerHandshakeError as exc:
            return exc.status
        await ws.close()
        return 101


async def read_until(ws: aiohttp.ClientWebSocketResponse, needle: bytes, timeout: float) -> bytes:
    data = b""
    async with asyncio.timeout(timeout):
        while needle not in data:
            message = await ws.receive()
            if message.type == aiohttp.WSMsgType.BINARY:
                data += message.data
            elif message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                raise AssertionError(f"closed before {needle!r}: {data[-300:]!r}")
    return data


async def wait_for_no_dashboard(served: Served, timeout: float = 15.0) -> float:
    start = time.monotonic()
    while served.dashboards():
        assert time.monotonic() - start < timeout, "dashboard process did not end"
        await asyncio.sleep(0.05)
    return time.monotonic() - start


# -- refusals: none of these may reach a handler or spawn anything --------------------------------


@pytest.mark.parametrize(
    "origin",
    ["http://evil.example", "http://127.0.0.1:1", "https://127.0.0.1:{port}", "null", None],
)
async def test_websocket_from_a_foreign_origin_is_refused(
    served: Served, origin: str | None
) -> None:
    # Even with the valid cookie: a foreign page cannot have it, but the Origin alone decides.
    origin = origin.format(port=served.port) if origin else None
    assert await ws_status(served, origin=origin, headers=served.cookie) == 403
    assert not served.dashboards()


@pytest.mark.parametrize(
    "host", ["evil.example:{port}", "evil.example", "127.0.0.1:1", "127.0.0.1.nip.io:{port}"]
)
async def test_foreign_host_is_refused_dns_rebinding(served: Served, host: str) -> None:
    host = host.format(port=served.port)
    rebinding = {"Host": host, **served.cookie}
    async with aiohttp.ClientSession() as session:
        for path in ("/", f"/?token={served.token}", "/static/js/textual.js"):
            async with session.get(
                served.base + path, headers=rebinding, allow_redirects=False
            ) as r:
                assert r.status == 403, path
                assert "is not this server's address" in await r.text()
    status = await ws_status(served, origin=f"http://{host}", headers=rebinding)
    assert status == 403
    assert not served.dashboards()


@pytest.mark.parametrize("path", ["/", "/static/js/textual.js", "/download/x"])
async def test_no_token_or_a_wrong_token_is_refused(served: Served, path: str) -> None:
    wrong = served.token[:-1] + ("A" if served.token[-1] != "A" else "B")
    async with aiohttp.ClientSession() as session:
        attempts = [
            (path, {}),
            (f"{path}?token={wrong}", {}),
            (f"{path}?token=", {}),
            (path, {"Cookie": f"tplink-tui-token-{served.port}={wrong}"}),
            (path, {"Cookie": f"tplink-tui-token-1={served.token}"}),  # another port's cookie
        ]
        for target, headers in attempts:
            async with session.get(
                served.base + target, headers=headers, allow_redirects=False
            ) as r:
                assert r.status == 403, target
                assert "missing or wrong token" in await r.text()
    assert await ws_status(served, origin=served.origin, headers={}) == 403
    assert not served.dashboards()


# -- the page, the session, the cap ---------------------------------------------------------------


async def test_token_opens_the_page_and_the_websocket_and_sessions_are_capped(
    served: Served,
) -> None:
    async with browser() as session:
        async with session.get(served.url, allow_redirects=False) as r:
            assert r.status == 303
            assert r.headers["Location"] == "/"  # the token leaves the address bar
            cookie = r.headers["Set-Cookie"]
            assert f"tplink-tui-token-{served.port}={served.token}" in cookie
            assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
        async with session.get(served.url) as r:  # follow it, as a browser does
            page = await r.text()
            assert r.status == 200
            assert r.headers["X-Frame-Options"] == "DENY"
            assert r.headers["Referrer-Policy"] == "no-referrer"
        assert f'data-session-websocket-url="ws://127.0.0.1:{served.port}/ws"' in page
        async with session.get(f"{served.base}/static/js/textual.js") as r:
            assert r.status == 200 and "WebSocket" in await r.text()

        ws = await session.ws_connect(f"{served.base}/ws?width=120&height=40", origin=served.origin)
        screen = await read_until(ws, b"Fridge", timeout=60)  # the real demo dashboard
        assert b"Fridge" in screen
        first = served.dashboards()
        assert len(first) >= 1

        # Over the cap: told why in the browser's terminal, and no second process.
        over = await session.ws_connect(f"{served.base}/ws", origin=served.origin)
        message = await read_until(over, b"reload this page", timeout=10)
        assert b"1 session already open (--max-sessions 1)" in message
        assert served.dashboards() == first
        await over.close()

        # Names equivalent to loopback pass the guard (they reach the cap, not a 403).
        for host in (f"localhost:{served.port}", f"[::1]:{served.port}"):
            headers = {"Host": host, **served.cookie}
            assert await ws_status(served, origin=f"http://{host}", headers=headers) == 101
        # So does a reverse proxy named with --allow-origin, passing its own Host.
        proxied = {"Host": "plugs.example.net", **served.cookie}
        assert await ws_status(served, origin=PROXY, headers=proxied) == 101
        async with session.get(served.base + "/", headers=proxied) as r:
            assert 'data-session-websocket-url="wss://plugs.example.net/ws"' in await r.text()
        assert served.dashboards() == first

        await ws.close()
        await wait_for_no_dashboard(served)

    # The session slot is free again: a new session starts a new dashboard.
    async with browser() as session:
        await session.get(served.url)
        ws = await session.ws_connect(f"{served.base}/ws", origin=served.origin)
        await read_until(ws, b"Fridge", timeout=60)
        assert served.dashboards()
        await ws.close()
        await wait_for_no_dashboard(served)


async def test_stopping_the_server_ends_its_dashboards(tmp_path: Path) -> None:
    server = start_serve(tmp_path)
    try:
        async with browser() as session:
            await session.get(server.url)
            ws = await session.ws_connect(f"{server.base}/ws", origin=server.origin)
            await read_until(ws, b"Fridge", timeout=60)
            dashboards = server.dashboards()
            assert dashboards
            started = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            code = await asyncio.to_thread(server.process.wait, 30)
            took = time.monotonic() - started
            assert code == 0
            assert took < 15, took
            assert not alive(dashboards)
    finally:
        stop_serve(server)
    assert not alive(server.seen)


# -- the command line ------------------------------------------------------------------------------


def test_port_in_use_is_one_line_and_exit_2() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "tplink_tui", "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == f"tplink-tui: error: 127.0.0.1:{port}: address already in use\n"


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--allow-origin", "plugs.example.net"], "--allow-origin 'plugs.example.net'"),
        (["--allow-origin", "ftp://x"], "expected http(s)://HOST[:PORT]"),
        (["--max-sessions", "0"], "--max-sessions must be at least 1"),
    ],
)
def test_bad_serve_options_are_usage_errors(argv: list[str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tplink_tui", "serve", "--port", str(free_port()), *argv],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr


# -- the policy on its own: parsing that a hostile header could aim at ----------------------------


@pytest.mark.parametrize(
    "header,expected",
    [
        ("127.0.0.1:8000", ("127.0.0.1", 8000)),
        ("LOCALHOST:8000", ("localhost", 8000)),
        ("[::1]:8000", ("::1", 8000)),
        ("[0:0::1]", ("::1", None)),
        ("::1", None),
        ("evil@127.0.0.1:8000", None),
        ("127.0.0.1:8000/x", None),
        ("127.0.0.1:99999", None),
        ("127.0.0.1:", None),
        ("", None),
        ("[::1", None),
        ("ev\u0131l.example", None),
    ],
)
def test_host_header_parsing(header: str, expected: tuple[str, int | None] | None) -> None:
    assert split_host(header) == expected


def test_policy_for_loopback_wildcard_and_proxy() -> None:
    loop = AccessPolicy("127.0.0.1", 8000, token="t")
    assert loop.host_allowed("127.0.0.1:8000") and loop.host_allowed("localhost:8000")
    assert not loop.host_allowed("127.0.0.1:8001") and not loop.host_allowed("127.0.0.2:8000")
    assert not loop.host_allowed("evil.example:8000") and not loop.host_allowed("127.0.0.1")
    assert loop.origin_allowed("http://localhost:8000", "localhost:8000")
    # The Origin must be the page on the very Host asked for, not merely some allowed name.
    assert not loop.origin_allowed("http://localhost:8000", "127.0.0.1:8000")
    every = AccessPolicy("0.0.0.0", 80, token="t")
    assert every.host_allowed("192.0.2.7") and every.host_allowed("[2001:db8::1]:80")
    assert not every.host_allowed("evil.example")  # a name could be a rebinding
    proxy = parse_origin("https://Plugs.Example.net/")
    assert proxy == Origin("https", "plugs.example.net", 443)
    behind = AccessPolicy("127.0.0.1", 8000, allow_origins=[proxy], token="t")
    assert behind.host_allowed("plugs.example.net") and behind.host_allowed("plugs.example.net:443")
    assert not behind.host_allowed("plugs.example.net:8443")
    assert behind.origin_allowed(PROXY, "127.0.0.1:8000")
    assert not behind.origin_allowed("http://plugs.example.net", "plugs.example.net")
    assert behind.token_ok("t") and not behind.token_ok("T") and not behind.token_ok(None)
