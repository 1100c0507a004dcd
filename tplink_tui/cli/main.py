"""``tplink-tui``: the dashboard with no verb, or a command-line verb.

Exit codes (also in --help and the README):
  0 success
  1 the device answered with an error, or lacks the feature
  2 usage error (bad arguments, malformed host, unknown outlet, invalid JSON)
  3 the device is unreachable or timed out
  4 config or history storage error
  5 the device sent a reply we cannot understand
  130 interrupted
"""

from __future__ import annotations

import argparse
import difflib
import logging
import math
import re
import sys
import traceback
from collections.abc import Sequence

from ..errors import (
    ConfigError,
    ConnectionFailure,
    DeviceError,
    NotSupported,
    OutletNotFound,
    ProtocolError,
    TplinkError,
)
from ..untrusted import display

EXIT_OK, EXIT_DEVICE, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_STORAGE, EXIT_PROTOCOL = range(6)
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = """\
exit codes:
  0  success
  1  the device answered with an error, or lacks the feature
  2  usage error (bad arguments, malformed host, unknown outlet, invalid JSON)
  3  the device is unreachable or timed out
  4  config or history storage error
  5  the device sent a reply that cannot be understood
"""


class UsageError(TplinkError):
    """Bad input from the command line that argparse could not catch."""


def exit_code_for(exc: BaseException) -> int:
    if isinstance(exc, (UsageError, OutletNotFound, ValueError)):
        return EXIT_USAGE
    if isinstance(exc, (DeviceError, NotSupported)):
        return EXIT_DEVICE
    if isinstance(exc, ConnectionFailure):
        return EXIT_UNREACHABLE
    if isinstance(exc, ConfigError):
        return EXIT_STORAGE
    if isinstance(exc, ProtocolError):
        return EXIT_PROTOCOL
    return EXIT_DEVICE


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        message = display(message, limit=500) + _suggestion(message)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _suggestion(message: str) -> str:
    """'; did you mean 'info'?' for a mistyped verb or choice."""
    match = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
    if match is None:
        return ""
    choices = re.findall(r"'([^']*)'", match.group(2)) or [
        c.strip() for c in match.group(2).split(",")
    ]
    close = difflib.get_close_matches(match.group(1), choices, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def build_parser() -> argparse.ArgumentParser:
    from . import VERB_MODULES

    parser = _Parser(
        prog="tplink-tui",
        description="Dashboard and command line for TP-Link Kasa smart plugs and power strips."
        " With no verb, opens the dashboard on the saved devices.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common_options(parser)
    parser.add_argument(
        "--demo", action="store_true", help="open the dashboard on a built-in simulated home"
    )
    sub = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=_Parser)
    for module in VERB_MODULES:
        module.register(sub)
    _add_common_everywhere(sub)
    return parser


def _add_common_everywhere(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Let --json, -v and --timeout stand after the verb too, at any depth."""
    for child in set(sub.choices.values()):
        if not any("--json" in a.option_strings for a in child._actions):
            add_common_options(child)
        for action in child._actions:
            if isinstance(action, argparse._SubParsersAction):
                _add_common_everywhere(action)


def add_common_options(parser: argparse.ArgumentParser, *, timeout: bool = True) -> None:
    """Options every verb accepts, before or after the verb."""
    parser.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="log every request and reply, decrypted, on stderr; show tracebacks",
    )
    if not timeout:
        return
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="S",
        default=argparse.SUPPRESS,
        help="connect and reply timeout in seconds (default 5)",
    )


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """``parse_args``, letting an optional last positional follow the options.

    argparse gives ``alias HOST --outlet 2 NAME`` no NAME (the optional positional
    was matched, empty, before ``--outlet``); a verb that sets ``late_positional``
    takes the one leftover word there.
    """
    args, extra = parser.parse_known_args(argv)
    slot = getattr(args, "late_positional", None)
    if slot and len(extra) == 1 and getattr(args, slot) is None and not extra[0].startswith("-"):
        setattr(args, slot, extra.pop())
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = _parse(parser, argv)
    for name, default in (("json", False), ("verbose", False), ("timeout", 5.0)):
        if not hasattr(args, name):
            setattr(args, name, default)
    if not (math.isfinite(args.timeout) and args.timeout > 0):
        parser.error("--timeout must be a positive number of seconds")
    if args.verbose:
        logging.basicConfig(level=logging.DEBUG, format="%(name)s: %(message)s", stream=sys.stderr)
        logging.getLogger("asyncio").setLevel(logging.WARNING)
    func = getattr(args, "func", None)
    try:
        if func is None:
            from ..tui.launch import run_dashboard

            return run_dashboard(demo=args.demo)
        return int(func(args) or 0)
    except KeyboardInterrupt:
        print("tplink-tui: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except TplinkError as exc:
        if args.verbose:
            traceback.print_exc()
        print(f"tplink-tui: error: {display(exc, limit=500)}", file=sys.stderr)
        return exit_code_for(exc)
