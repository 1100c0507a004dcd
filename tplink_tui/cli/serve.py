"""``serve``: the dashboard in a browser through textual-serve (replaces the old web app).

A local web server is reachable from every page the user's browser opens, so the server
(``tplink_tui.web``) checks Host and Origin, wants the token it prints, and caps sessions.
"""

from __future__ import annotations

import argparse
import contextlib
import shlex
import sys

from ..errors import UsageError
from ..web import DEFAULT_MAX_SESSIONS
from ..web.policy import is_loopback, parse_origin
from .main import verb

WARNING = (
    "WARNING: serving on {host}, which is not loopback. There is no authentication but the"
    " token in the address printed below, and plain HTTP shows it to anyone watching the"
    " network: anyone who has it and can reach {host}:{port} can switch your plugs."
)

__all__ = ["is_loopback", "register", "run"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "serve",
        help="serve the dashboard to a web browser",
        description="Serve the dashboard to a web browser. Binds to loopback unless --host"
        " says otherwise; only the address it prints (which carries a random token) opens it,"
        " and only from that address's own page.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--demo", action="store_true", help="serve the simulated demo home")
    parser.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="also accept pages from ORIGIN, e.g. https://plugs.example.net for a reverse"
        " proxy (repeatable; the proxy must pass the Host header)",
    )
    parser.add_argument(
        "--max-sessions",
        type=int,
        default=DEFAULT_MAX_SESSIONS,
        metavar="N",
        help=f"at most N browser sessions (dashboard processes) at once (default"
        f" {DEFAULT_MAX_SESSIONS})",
    )
    parser.set_defaults(func=run)


@verb
def run(args: argparse.Namespace) -> int:
    import textual_serve.server

    from ..web.server import guarded

    if not 0 < args.port < 65536:
        raise UsageError("--port must be 1-65535")
    if args.max_sessions < 1:
        raise UsageError("--max-sessions must be at least 1")
    origins = []
    for text in args.allow_origin:
        origin = parse_origin(text)
        if origin is None:
            raise UsageError(f"--allow-origin {text!r}: expected http(s)://HOST[:PORT]")
        origins.append(origin)
    if not is_loopback(args.host):
        # Unbracketed on purpose: tests/test_safe_defaults.py pins "{host}:{port}" here.
        print(WARNING.format(host=args.host, port=args.port), file=sys.stderr)
    dashboard = [sys.executable, "-m", "tplink_tui", *(["--demo"] if args.demo else [])]
    server = guarded(textual_serve.server.Server)(
        shlex.join(dashboard),
        host=args.host,
        port=args.port,
        allow_origins=tuple(origins),
        max_sessions=args.max_sessions,
    )
    with contextlib.suppress(KeyboardInterrupt):
        server.serve()  # a BindError is a ListenError: exit 2 through the one map
    return 0
