"""Fault injection for the newer devices: the old vocabulary, over HTTP.

``NewerFaults`` is the old simulator's ``Faults`` (same fields, same ``--fault``
parser) plus three one-shot counters that only an HTTP device can have. The
wire faults that make sense over HTTP are honoured here: ``delay`` (every reply
late), ``no_reply`` (read the request, never answer), ``hang_mid_frame``
(headers and half the body, then stall), ``close_mid_frame`` (headers, then
close), ``garbage`` (an encrypted body that does not decrypt; the device's
handlers do that one), ``offline`` and ``flap`` (``Listener`` closes and reopens
the listening socket). The JSON-body faults of the XOR protocol (bad_length,
non_utf8, non_json, not_object, err_code) have no HTTP meaning and are refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Middleware

from ..faults import Faults

NEWER_ONE_SHOTS = ("drop_handshake", "garbage_handshake", "http_500")
"""Faults only the newer devices have: ``NAME`` or ``NAME=N`` (strikes N times)."""
NEWER_WIRE_FAULTS = (
    "delay",
    "no_reply",
    "hang_mid_frame",
    "close_mid_frame",
    "garbage",
    "offline",
    "flap",
    "flap_offline",
)
"""The old ``Faults`` names a newer device honours."""
STALL_POLL = 0.05  # how often a stalled reply checks whether its client gave up


@dataclass
class NewerFaults(Faults):
    """The old faults plus one-shot counters: each is how many more times it strikes."""

    drop_handshake: int = 0  # close the connection without answering a handshake
    garbage_handshake: int = 0  # answer a handshake with junk
    http_500: int = 0  # answer any request with HTTP 500

    def take(self, name: str) -> bool:
        left = getattr(self, name)
        if left > 0:
            setattr(self, name, left - 1)
        return bool(left > 0)

    def set(self, spec: str) -> None:
        """One ``--fault`` spec; the old parser for the old names."""
        name, _, count = spec.strip().partition("=")
        name = name.strip().replace("-", "_")
        if name in NEWER_ONE_SHOTS:
            if count and not count.isdigit():
                raise ValueError(f"fault {name} takes a count, got {count!r}")
            setattr(self, name, int(count or 1))
            return
        if name not in NEWER_WIRE_FAULTS:
            known = ", ".join((*NEWER_WIRE_FAULTS, *NEWER_ONE_SHOTS))
            raise ValueError(f"not a fault of the newer devices (they know: {known})")
        super().set(spec)


def is_newer_spec(spec: str) -> bool:
    """Whether a newer device accepts this spec (without applying it)."""
    try:
        NewerFaults().set(spec)
    except ValueError:
        return False
    return True


async def stall(request: web.Request) -> None:
    """Wait until the client gives up (or the server goes away), then drop it."""
    transport = request.transport
    while transport is not None and not transport.is_closing():
        await asyncio.sleep(STALL_POLL)
    if transport is not None:
        transport.abort()


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def wire_middleware(faults: NewerFaults, online: Callable[[], bool]) -> Middleware:
    """The aiohttp middleware for delay, no_reply, hang/close mid-frame and offline."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not online():
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=503)  # never reaches the client
        if faults.no_reply:
            await stall(request)
            return web.Response(status=504)  # never reaches the client
        if faults.http_500 and faults.take("http_500"):
            return web.Response(status=500, text="Internal Server Error")
        response = await handler(request)
        if faults.delay > 0:
            await asyncio.sleep(faults.delay)
        if (faults.hang_mid_frame or faults.close_mid_frame) and isinstance(response, web.Response):
            return await _cut_short(request, response, hang=faults.hang_mid_frame)
        return response

    return middleware


async def _cut_short(
    request: web.Request, response: web.Response, *, hang: bool
) -> web.StreamResponse:
    """Send the status line, the headers and (hanging) half the body; never the rest."""
    body = bytes(response.body) if isinstance(response.body, bytes | bytearray) else b""
    partial = web.StreamResponse(status=response.status, headers=response.headers)
    partial.content_length = max(len(body), 2)
    with contextlib.suppress(ConnectionError, RuntimeError):
        await partial.prepare(request)
        if hang:
            await partial.write(body[: len(body) // 2])
    if hang:
        await stall(request)
    elif request.transport is not None:
        request.transport.close()
    return partial  # already sent as far as it goes


class Listener:
    """Keeps one device's listening socket in step with ``offline`` and ``flap``."""

    def __init__(self, runner: web.AppRunner, host: str, port: int, faults: NewerFaults) -> None:
        self.runner = runner
        self.host = host
        self.port = port
        self.faults = faults
        self.flap_down = False
        self.closed = False
        self._site: web.TCPSite | None = None
        self._flapper: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = 0
        self._busy: asyncio.Task[None] | None = None

    @property
    def online(self) -> bool:
        return not (self.faults.offline or self.flap_down) and not self.closed

    async def start(self) -> int:
        """Listen (on ``port``, 0 for a free one); returns the port; follows the faults."""
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        await self._open()
        self.faults.subscribe(self._faults_changed)
        self._apply()
        return self.port

    async def _open(self) -> None:
        site = web.TCPSite(self.runner, self.host, self.port, reuse_address=True)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        self._site = site

    async def _close(self) -> None:
        site, self._site = self._site, None
        if site is not None:
            await site.stop()
        server = self.runner.server
        for handler in server.connections if server is not None else []:
            handler.force_close()
            if handler.transport is not None:
                handler.transport.abort()

    def _faults_changed(self) -> None:
        if self._loop is None or self.closed:
            return
        if threading.get_ident() == self._thread:
            self._apply()
        else:
            self._loop.call_soon_threadsafe(self._apply)

    def _apply(self) -> None:
        assert self._loop is not None
        flap = self.faults.flap
        if flap and self._flapper is None:
            self._flapper = self._loop.create_task(self._flap())
        elif not flap and self._flapper is not None:
            self._flapper.cancel()
            self._flapper = None
            self.flap_down = False
        self._sync_soon()

    def _sync_soon(self) -> None:
        assert self._loop is not None
        previous = self._busy
        self._busy = self._loop.create_task(self._sync(previous))

    async def _sync(self, previous: asyncio.Task[None] | None) -> None:
        if previous is not None:
            with contextlib.suppress(Exception):
                await previous
        if self.online and self._site is None:
            await self._open()
        elif not self.online and self._site is not None:
            await self._close()

    async def _flap(self) -> None:
        while (period := self.faults.flap) and not self.closed:
            if self.flap_down:
                period = self.faults.flap_offline or period
            await asyncio.sleep(period)
            self.flap_down = not self.flap_down
            self._sync_soon()

    async def stop(self) -> None:
        self.closed = True
        self.faults.subscribe(None)
        for task in (self._flapper, self._busy):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        await self._close()
