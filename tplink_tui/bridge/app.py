"""The bridge's HTTP server (aiohttp): routes, and the guard every request passes.

The guard, in order:
- CORS, as the old web app allowed it: any origin may GET and POST (preflights answered).
- Without a token (loopback only) the Host header must name this server: a web page
  cannot reach the bridge through a DNS name it controls (DNS rebinding).
- With a token, every route wants it (``Authorization: Bearer T`` or ``?token=T``),
  except ``/metrics`` under ``--metrics-open``; compared in constant time.
- Every error is JSON ``{"error": ..., "code": ...}`` with its HTTP status.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .. import untrusted
from ..devices.outlets import AmbiguousOutlet
from ..errors import (
    AuthenticationError,
    ConnectionFailure,
    DeviceTimeout,
    OutletNotFound,
    TplinkError,
    UsageError,
)
from ..store.history import HistoryUnavailable
from ..web.policy import AccessPolicy
from .hub import Hub, UnknownDevice
from .options import HttpOptions

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


HUB = web.AppKey("hub", Hub)
OPTIONS = web.AppKey("options", HttpOptions)

CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Authorization",
    "Access-Control-Max-Age": "600",
}

# (error class, HTTP status, code): the first that matches wins.
_STATUSES: tuple[tuple[type[BaseException], int, str], ...] = (
    (UnknownDevice, 404, "unknown_device"),
    (AmbiguousOutlet, 400, "ambiguous_outlet"),
    (OutletNotFound, 404, "unknown_outlet"),
    (UsageError, 400, "bad_request"),
    (DeviceTimeout, 504, "device_timeout"),
    (AuthenticationError, 502, "device_refused_login"),
    (ConnectionFailure, 502, "device_unreachable"),
    (HistoryUnavailable, 503, "history_unavailable"),
    (TplinkError, 502, "device_error"),
)


def json_response(value: Any, status: int = 200) -> web.Response:
    """Strict JSON (device text as data; no NaN)."""
    text = untrusted.dumps(value, compact=True)
    return web.Response(text=text, status=status, content_type="application/json")


def error_response(status: int, code: str, message: str) -> web.Response:
    return json_response({"error": untrusted.display(message, 300), "code": code}, status)


def status_of(exc: TplinkError) -> tuple[int, str]:
    for kind, status, code in _STATUSES:
        if isinstance(exc, kind):
            return status, code
    return 502, "device_error"  # pragma: no cover - TplinkError is the last row


def _token_of(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return request.query.get("token")


def make_guard(options: HttpOptions) -> Any:
    policy = AccessPolicy(options.host, options.port, token=options.token or "")

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await _guarded(request, handler)
        response.headers.update(CORS)
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    async def _guarded(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method == "OPTIONS":
            return web.Response(status=204)
        if options.token is None and not policy.host_allowed(request.host):
            return error_response(421, "wrong_host", "this server does not answer to that Host")
        open_route = options.metrics_open and request.path == "/metrics"
        if options.token is not None and not open_route and not policy.token_ok(_token_of(request)):
            return error_response(401, "unauthorized", "a valid token is needed")
        try:
            return await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return error_response(exc.status, exc.reason.lower().replace(" ", "_"), exc.reason)
        except TplinkError as exc:
            status, code = status_of(exc)
            return error_response(status, code, str(exc))

    return guard


def build_app(hub: Hub, options: HttpOptions) -> web.Application:
    """The application with every front end's routes."""
    from . import legacy, metrics, page, rest

    app = web.Application(middlewares=[make_guard(options)], client_max_size=64 * 1024)
    app[HUB] = hub
    app[OPTIONS] = options
    legacy.add_routes(app)
    rest.add_routes(app)
    page.add_routes(app)
    metrics.add_routes(app)
    return app
