"""``serve``: the dashboard in a browser through textual-serve (replaces the old web app)."""

from __future__ import annotations

import argparse
import ipaddress
import shlex
import sys

WARNING = (
    "WARNING: serving on {host}, which is not loopback. The dashboard has no"
    " authentication: anyone who can reach {host}:{port} can switch your plugs."
)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "serve",
        help="serve the dashboard to a web browser",
        description="Serve the dashboard to a web browser (loopback only unless --host says"
        " otherwise: there is no authentication).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--demo", action="store_true", help="serve the simulated demo home")
    parser.set_defaults(func=run)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run(args: argparse.Namespace) -> int:
    from textual_serve.server import Server

    if not 0 < args.port < 65536:
        print("tplink-tui: error: --port must be 1-65535", file=sys.stderr)
        return 2
    if not is_loopback(args.host):
        print(WARNING.format(host=args.host, port=args.port), file=sys.stderr)
    command = shlex.join([sys.executable, "-m", "tplink_tui", *(["--demo"] if args.demo else [])])
    Server(command, host=args.host, port=args.port, title="tplink-tui").serve()
    return 0
