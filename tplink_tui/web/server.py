"""textual-serve's ``Server``, guarded: Host/Origin/token checks, a session cap, clean exits.

textual-serve has no options for any of this, so this subclass uses its seams: the
aiohttp app from ``_make_app`` gets the guard middleware, and the index page, the
WebSocket handler and ``serve`` are our own (the page's WebSocket URL follows the
Host the browser used, so the cookie is sent; sessions are counted, and each one's
dashboard is a ``session.SessionService`` that ends when its socket goes, even when
``serve`` is stopping; a busy port is one line, not a traceback).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp_jinja2
from aiohttp import WSCloseCode, web
from textual_serve.server import Server

from ..errors import ListenError
from . import DEFAULT_MAX_SESSIONS
from .guard import guard_middleware, security_headers
from .policy import AccessPolicy, Origin, new_token
from .session import KILL_AT_S, KILL_WAIT_S, TERM_AT_S, Ended, SessionService

log = logging.getLogger("tplink_tui.web")

HEARTBEAT_S = 15.0
"""A browser that vanished without closing (sleep, lost network) is noticed within this."""
SHUTDOWN_WAIT_S = KILL_AT_S + KILL_WAIT_S + 2.0
REFUSED_HOLD_S = 300.0
REFUSED_HOLD_LIMIT = 8
MAX_CELLS = 1000
ANNOUNCE_WAIT_S = 5.0


class BindError(ListenError):
    """The server could not listen on the address it was given (busy port, no permission):
    a problem with --host/--port, so a usage error (exit 2) by its class."""


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _sessions(count: int) -> str:
    return f"{count} session" + ("" if count == 1 else "s")


def _size(value: str | None, default: int) -> int:
    try:
        return min(max(int(value or default), 1), MAX_CELLS)
    except ValueError:
        return default


class GuardMixin:
    """The guard over textual-serve's ``Server``: mixed in by ``guarded``, never used alone."""

    host: str
    port: int
    title: str
    command: str
    debug: bool
    download_manager: Any
    _process_messages: Callable[[web.WebSocketResponse, SessionService], Awaitable[None]]

    def __init__(
        self,
        command: str,
        host: str = "127.0.0.1",
        port: int = 8000,
        *,
        title: str = "tplink-tui",
        allow_origins: tuple[Origin, ...] = (),
        max_sessions: int = DEFAULT_MAX_SESSIONS,
        token: str | None = None,
    ) -> None:
        super().__init__(command, host=host, port=port, title=title)  # type: ignore[call-arg]
        token = token or new_token()
        self.policy = AccessPolicy(host, port, allow_origins=allow_origins, token=token)
        self.max_sessions = max_sessions
        self.sessions: set[web.WebSocketResponse] = set()
        self._refused_open = 0
        self._announcer: asyncio.Task[None] | None = None
        self._ending: set[asyncio.Future[None]] = set()

    @property
    def url(self) -> str:
        """The address to open, with the token (loopback when bound to every address)."""
        host = _url_host(self.host)
        if self.policy.any_ip:  # asyncio binds "::" as IPv6 only
            host = "[::1]" if ":" in self.host else "127.0.0.1"
        port = "" if self.port == 80 else f":{self.port}"
        return f"http://{host}{port}/?token={self.policy.token}"

    def serve(self, debug: bool = False) -> None:
        """textual-serve's loop (Ctrl+C / SIGTERM stop it); BindError if the port is unusable."""
        try:
            super().serve(debug)  # type: ignore[misc]
        except OSError as exc:
            raise _bind_error(self.host, self.port, exc) from None

    def initialize_logging(self) -> None:
        """Plain one-line logs (textual-serve's rich handler prints locals on errors)."""
        if not logging.getLogger().handlers:
            logging.basicConfig(level=logging.INFO, format="tplink-tui serve: %(message)s")
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)  # URLs carry the token

    async def _make_app(self) -> web.Application:
        app: web.Application = await super()._make_app()  # type: ignore[misc]
        app.middlewares.append(guard_middleware(self.policy))
        app.on_response_prepare.append(security_headers)
        app.on_shutdown.append(self._close_sessions)
        return app

    async def on_startup(self, app: web.Application) -> None:
        """Check the address is free before printing it: a busy port is one error line."""
        loop = asyncio.get_running_loop()
        try:
            probe = await loop.create_server(asyncio.Protocol, self.host, self.port)
        except OSError as exc:
            raise _bind_error(self.host, self.port, exc) from None
        probe.close()
        await probe.wait_closed()
        # aiohttp binds right after the startup signals: announce once it has.
        self._announcer = asyncio.create_task(self._announce())

    async def _announce(self) -> None:
        """Print the address once the port is really listening (scripts may open it at once)."""
        for _ in range(int(ANNOUNCE_WAIT_S / 0.01)):
            if _listening(self.host, self.port):
                break
            await asyncio.sleep(0.01)
        print(f"tplink-tui: serving the dashboard on {self.url}", flush=True)
        print("  (the token in that address is this run's password; Ctrl+C stops)", flush=True)

    @aiohttp_jinja2.template("app_index.html")
    async def handle_index(self, request: web.Request) -> dict[str, Any]:
        """textual-serve's page, with URLs on the Host the browser used (the cookie's host)."""
        scheme = "wss" if self.policy.secure_origin_for(request.host) else "ws"
        return {
            "font_size": _size(request.query.get("fontsize"), 16),
            "app_websocket_url": f"{scheme}://{request.host}/ws",
            "config": {"static": {"url": "/static/"}},
            "application": {"name": self.title},
        }

    async def handle_websocket(self, request: web.Request) -> web.StreamResponse:
        """One dashboard process per WebSocket, at most ``max_sessions`` at once."""
        if len(self.sessions) >= self.max_sessions:
            return await self._refuse_session(request)
        websocket = web.WebSocketResponse(heartbeat=HEARTBEAT_S)
        self.sessions.add(websocket)  # before any await: the count cannot be raced
        service: SessionService | None = None
        try:
            await websocket.prepare(request)
            service = SessionService(
                self.command,
                write_bytes=websocket.send_bytes,
                write_str=websocket.send_str,
                close=functools.partial(_close, websocket),
                download_manager=self.download_manager,
                debug=self.debug,
            )
            width = _size(request.query.get("width"), 80)
            height = _size(request.query.get("height"), 24)
            await service.start(width, height)
            log.info(
                "session started (%s open, dashboard pid %s) from %s",
                _sessions(len(self.sessions)),
                service.pid,
                request.remote,
            )
            await self._process_messages(websocket, service)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception as error:
            log.warning("session ended with an error: %s", type(error).__name__)
        finally:
            # The socket is gone: end its dashboard in a task of its own, so a cancelled
            # handler (serve stopping) cannot leave the process behind half-stopped.
            ending = asyncio.ensure_future(self._end_session(websocket, service))
            self._ending.add(ending)
            ending.add_done_callback(self._ending.discard)
            await asyncio.shield(ending)
        return websocket

    async def _end_session(
        self, websocket: web.WebSocketResponse, service: SessionService | None
    ) -> None:
        try:
            if service is not None:
                pid = service.pid
                ended = await service.end()
                if ended is not Ended.QUIT:
                    log.warning(
                        "dashboard pid %s did not quit within %g s: %s",
                        pid,
                        TERM_AT_S,
                        ended.value,
                    )
        finally:
            self.sessions.discard(websocket)
            log.info("session ended (%s open)", _sessions(len(self.sessions)))

    async def _refuse_session(self, request: web.Request) -> web.StreamResponse:
        """Say why in the browser's terminal, spawning nothing; HTTP 503 past a small limit."""
        message = (
            f"tplink-tui: {_sessions(len(self.sessions))} already open"
            f" (--max-sessions {self.max_sessions}). Close one, then reload this page."
        )
        log.warning("refused a session: %s", message.removeprefix("tplink-tui: "))
        if self._refused_open >= REFUSED_HOLD_LIMIT:
            return web.Response(status=503, text=message + "\n")
        websocket = web.WebSocketResponse(heartbeat=HEARTBEAT_S)
        self._refused_open += 1
        try:
            await websocket.prepare(request)
            await websocket.send_bytes(f"\r\n  {message}\r\n".encode())
            # Stay open so the page keeps showing the message (closing covers it).
            with contextlib.suppress(asyncio.TimeoutError):
                async with asyncio.timeout(REFUSED_HOLD_S):
                    async for _ in websocket:
                        pass
            await websocket.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"too many sessions")
        finally:
            self._refused_open -= 1
        return websocket

    async def _close_sessions(self, _app: web.Application | None) -> None:
        """On shutdown, end every session and wait until its dashboard process is gone."""
        for websocket in list(self.sessions):
            with contextlib.suppress(Exception):
                await websocket.close(code=WSCloseCode.GOING_AWAY, message=b"server stopping")
        deadline = asyncio.get_running_loop().time() + SHUTDOWN_WAIT_S
        while self.sessions or self._ending:
            if self._ending:
                remaining = deadline - asyncio.get_running_loop().time()
                await asyncio.wait(set(self._ending), timeout=max(remaining, 0.05))
            else:
                await asyncio.sleep(0.05)
            if asyncio.get_running_loop().time() >= deadline:
                log.warning("%s still open at shutdown", _sessions(len(self.sessions)))
                return


async def _close(websocket: web.WebSocketResponse) -> None:
    await websocket.close()


def _listening(host: str, port: int) -> bool:
    """Is something listening on (host, port)? A plain bind fails if so."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        probe = socket.socket(family, socket.SOCK_STREAM)
    except OSError:
        return True  # cannot tell: do not hold the announcement back
    with probe:
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def _bind_error(host: str, port: int, exc: OSError) -> BindError:
    reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)
    if exc.errno == errno.EADDRINUSE:
        reason = "address already in use"
    return BindError(f"{_url_host(host)}:{port}: {reason}")


@functools.cache
def guarded(base: type[Server]) -> type[GuardMixin]:
    """``base`` (textual-serve's Server, looked up when ``serve`` runs) with the guard."""
    return type("GuardedServer", (GuardMixin, base), {})


GuardedServer = guarded(Server)
