"""Who may talk to ``serve``: checks on Host, Origin and a per-start token.

Binding to loopback does not protect a local web server: any page the user opens can
make the browser connect to ``127.0.0.1`` (cross-site WebSockets are not blocked by
the same-origin policy), and DNS rebinding makes a foreign name resolve to loopback.
So every request must

- carry a ``Host`` naming this server (a rebinding page sends its own name),
- carry, if it has an ``Origin`` (a WebSocket always must), this server's own origin
  or one given with ``--allow-origin`` (a reverse proxy),
- prove it knows the random token printed at start: ``?token=`` once, then an
  HttpOnly, SameSite=Strict cookie (textual-serve's page builds the WebSocket URL
  itself, so the token cannot ride in it; the browser sends the cookie instead).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import hdrs, web
from aiohttp.typedefs import Middleware

from ..untrusted import display
from .policy import AccessPolicy

log = logging.getLogger("tplink_tui.web")

TOKEN_PARAM = "token"
_REPEAT_QUIET_S = 60.0
_LOG_MEMORY = 256

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class _QuietLog:
    """Log each distinct refusal once a minute: a hostile page can retry in a loop."""

    def __init__(self) -> None:
        self._last: dict[str, float] = {}

    def warning(self, message: str) -> None:
        now = time.monotonic()
        if now - self._last.get(message, -_REPEAT_QUIET_S) < _REPEAT_QUIET_S:
            return
        if len(self._last) >= _LOG_MEMORY:
            self._last.clear()
        self._last[message] = now
        log.warning("%s", message)


def _is_websocket(request: web.Request) -> bool:
    return request.headers.get(hdrs.UPGRADE, "").lower() == "websocket"


def guard_middleware(policy: AccessPolicy) -> Middleware:
    """An aiohttp middleware refusing (403) any request that fails the policy."""
    quiet = _QuietLog()

    def refuse(request: web.Request, reason: str, hint: str) -> web.Response:
        peer = request.remote or "?"
        quiet.warning(f"refused {request.method} {display(request.path, 60)} from {peer}: {reason}")
        return web.Response(status=403, text=f"tplink-tui: refused: {reason}. {hint}\n")

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        host = request.headers.get(hdrs.HOST, "")
        if not policy.host_allowed(host):
            return refuse(
                request,
                f"Host {display(host, 60)!r} is not this server's address",
                "Open the address tplink-tui serve printed (or pass --allow-origin).",
            )
        origin = request.headers.get(hdrs.ORIGIN)
        if origin is None and _is_websocket(request):
            return refuse(request, "a WebSocket without Origin", "Use a web browser.")
        if origin is not None and not policy.origin_allowed(origin, host):
            return refuse(
                request,
                f"Origin {display(origin, 60)!r} is not allowed",
                "Only the page tplink-tui serve printed may connect"
                " (a reverse proxy needs --allow-origin).",
            )
        from_query = policy.token_ok(request.query.get(TOKEN_PARAM))
        if not from_query and not policy.token_ok(request.cookies.get(policy.cookie_name)):
            return refuse(
                request,
                "missing or wrong token",
                "Open the address with ?token=... that tplink-tui serve printed at start"
                " (the token changes every start; cookies must be enabled).",
            )
        if from_query and request.method == "GET" and not _is_websocket(request):
            # Trade the token for a cookie and drop it from the address bar and history.
            location = request.rel_url.without_query_params(TOKEN_PARAM)
            response = web.Response(status=303, headers={hdrs.LOCATION: str(location)})
            response.set_cookie(
                policy.cookie_name, policy.token, httponly=True, samesite="Strict", path="/"
            )
            return response
        return await handler(request)

    return guard


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """No framing by other sites, no token in a Referer, no cached pages."""
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if not request.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-store")
