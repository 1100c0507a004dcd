"""``tplink-tui``: the dashboard with no verb, or a command-line verb.

Exit codes (also in --help and the README) come from the error classes
(``tplink_tui.errors``: each carries ``exit_code``); ``run_verb`` here is the one
place that turns an exception into its code and its one line on stderr:
  0 success
  1 the device answered with an error, or lacks the feature (also: an unexpected
    error, which is a bug and says so)
  2 usage error (bad arguments, malformed host, unknown outlet, invalid JSON)
  3 the device is unreachable or timed out
  4 config or history storage error
  5 the device sent a reply we cannot understand
  6 authentication failed (a KLAP/AES device refused the credentials, or none given)
  130 interrupted
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import math
import os
import re
import sys
from collections.abc import Callable, Sequence

from ..errors import (
    EXIT_DEVICE,
    EXIT_PROTOCOL,
    EXIT_STORAGE,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    TplinkError,
    UsageError,
)
from ..lazy import TYPE_CHECKING
from ..untrusted import display

if TYPE_CHECKING:
    from typing import Any, NoReturn

__all__ = [
    "EXIT_CODES_HELP",
    "EXIT_DEVICE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_PROTOCOL",
    "EXIT_STORAGE",
    "EXIT_UNREACHABLE",
    "EXIT_USAGE",
    "UsageError",
    "add_common_options",
    "build_parser",
    "error_line",
    "exit_code_for",
    "main",
    "run_verb",
    "verb",
    "wanted",
]

EXIT_OK = 0
EXIT_INTERRUPTED = 130
ERROR_LIMIT = 500
"""Longest error line shown: it may quote a hostile name, and paths are long."""

VerbFunc = Callable[[argparse.Namespace], "int | None"]

EXIT_CODES_HELP = """\
exit codes:
  0  success
  1  the device answered with an error, or lacks the feature (or a bug)
  2  usage error (bad arguments, malformed host, unknown outlet, invalid JSON)
  3  the device is unreachable or timed out
  4  config or history storage error
  5  the device sent a reply that cannot be understood
  6  authentication failed (wrong or missing --username/--password)
"""


# -- the one map from exceptions to exit codes and error lines -----------------------


def exit_code_for(exc: BaseException) -> int:
    """The exit code an error carries by its class; 1 for anything unexpected (a bug)."""
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(exc, TplinkError):
        return exc.exit_code
    return EXIT_DEVICE  # what Python itself exits with on an uncaught exception


def error_line(exc: BaseException) -> str:
    """``tplink-tui: error: …``: one line, whatever the message holds."""
    if isinstance(exc, TplinkError):
        text = str(exc)
    else:
        text = f"unexpected {type(exc).__name__}: {exc} (a bug; -v shows the traceback)"
    return f"tplink-tui: error: {display(text, limit=ERROR_LIMIT)}"


def run_verb(func: VerbFunc, args: argparse.Namespace) -> int:
    """Run a verb: its own exit code, or the one line and the code of what it raised.

    Verbs raise and never pick an error's code. A closed stdout (``| head``) is not
    an error; Ctrl-C is 130.
    """
    try:
        return int(func(args) or 0)
    except KeyboardInterrupt:
        print("tplink-tui: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # Python flushes stdout at exit; point it at /dev/null so that is quiet too.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:
        if getattr(args, "verbose", False):
            import traceback

            traceback.print_exc()
        print(error_line(exc), file=sys.stderr)
        return exit_code_for(exc)


def verb(func: VerbFunc) -> Callable[[argparse.Namespace], int]:
    """Mark a verb's entry point: calling it returns an exit code, errors included.

    So ``args.func(args)`` behaves the same from ``main`` and from any other parser
    a verb module was registered on.
    """

    @functools.wraps(func)
    def entry(args: argparse.Namespace) -> int:
        return run_verb(func, args)

    return entry


# -- parsing ----------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def _get_formatter(self) -> argparse.HelpFormatter:
        # argparse makes a formatter for every add_argument, and a formatter given no
        # width imports shutil (with bz2 and lzma) to ask it: ask the same question here.
        make: Any = self.formatter_class
        formatter: argparse.HelpFormatter = make(prog=self.prog, width=_columns() - 2)
        return formatter

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        message = display(message, limit=500) + _suggestion(message)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _columns() -> int:
    """``shutil.get_terminal_size().columns``: $COLUMNS, else stdout's width, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns > 0:
        return columns
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 80


def _suggestion(message: str) -> str:
    """'; did you mean 'info'?' for a mistyped verb or choice."""
    match = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
    if match is None:
        return ""
    import difflib

    choices = re.findall(r"'([^']*)'", match.group(2)) or [
        c.strip() for c in match.group(2).split(",")
    ]
    close = difflib.get_close_matches(match.group(1), choices, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def build_parser(only: str | None = "*") -> argparse.ArgumentParser:
    """The command-line parser: every verb module registered ("*", the default).

    ``only`` names a verb: just its module is imported and registered, the other
    verbs are placeholders with the same one-line help (``index.VERB_INDEX``), so
    the listing in --help is the same; None registers placeholders only.
    """
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
    if only == "*":
        from . import VERB_MODULES

        for module in VERB_MODULES:
            module.register(sub)
    else:
        _register_lazily(sub, only)
    _add_common_everywhere(sub)
    return parser


def _register_lazily(sub: argparse._SubParsersAction[Any], only: str | None) -> None:
    from .index import VERB_INDEX

    stub: argparse.ArgumentParser | None = None
    for name, module, summary in VERB_INDEX:
        if name == only:  # the real parser, at its place in the list
            verb_module = importlib.import_module(f"{__package__}.{module}")
            verb_module.register(_OneVerb(sub, name))
            continue
        if stub is None:
            stub = _Parser(prog=f"{sub._prog_prefix} VERB", add_help=False)
            stub.add_argument("_rest", nargs=argparse.REMAINDER)
            stub.set_defaults(_placeholder=True)
        # What add_parser(name, help=summary) does, with one parser for all the
        # placeholders: each parser of its own cost --help ~0.2 ms of gettext look-ups.
        sub._choices_actions.append(sub._ChoicesPseudoAction(name, (), summary))
        sub._name_parser_map[name] = stub


class _OneVerb:
    """The subparsers as a verb module's ``register`` sees them when one verb is run.

    Only that verb's parser is added; the module's other verbs are "built" on a
    parser that discards everything (their placeholders are already in the list).
    ``wanted`` lets a module skip importing what another verb alone needs.
    """

    def __init__(self, sub: argparse._SubParsersAction[Any], verb: str) -> None:
        self._sub = sub
        self.verb = verb

    def add_parser(self, name: str, **kwargs: Any) -> Any:
        if name == self.verb:
            return self._sub.add_parser(name, **kwargs)
        return _DISCARD

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sub, name)


class _Discard:
    """Takes any parser-building call (add_argument, groups, set_defaults, nested
    subparsers) and drops it: a real parser per unused verb costs ~0.3 ms each."""

    def __getattr__(self, name: str) -> Callable[..., _Discard]:
        return self._drop

    def _drop(self, *args: Any, **kwargs: Any) -> _Discard:
        return self


_DISCARD = _Discard()


def wanted(sub: object, *verbs: str) -> bool:
    """Whether ``register`` should build any of ``verbs`` on ``sub`` (not when main
    runs another verb)."""
    return not isinstance(sub, _OneVerb) or sub.verb in verbs


def _verb_word(words: Sequence[str]) -> str | None:
    """The verb of a command line: the first word that names one and is not the
    value of an option before it (``--username info on HOST`` is ``on``)."""
    from .index import VERB_INDEX

    top = _Parser(add_help=False)
    add_common_options(top)
    takes_value = {o for a in top._actions if a.nargs != 0 for o in a.option_strings}
    names = {verb for verb, _, _ in VERB_INDEX}
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word == "--":
            break
        elif word in takes_value:
            skip = True
        elif word in names:
            return word
    return None


def _add_common_everywhere(sub: argparse._SubParsersAction[Any]) -> None:
    """Let --json, -v, --timeout and the credentials stand after the verb too, at any depth."""
    for child in set(sub.choices.values()):
        if child._defaults.get("_placeholder"):
            continue  # never parsed with: main parses again with the real verb
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
    from .auth import add_auth_options

    add_auth_options(parser)
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
    words = list(sys.argv[1:] if argv is None else argv)
    try:
        args = _arguments(words)
    except SystemExit as exc:  # --help, or a usage error: argparse has said it
        if argv is None and isinstance(exc.code, int | None):
            _quick_exit(exc.code or 0)
        raise
    code = run_verb(getattr(args, "func", None) or _dashboard, args)
    if argv is None and getattr(args, "quick_exit", False) and not args.verbose:
        _quick_exit(code)
    return code


def _arguments(words: list[str]) -> argparse.Namespace:
    """The parsed command line, with the defaults of the options given nowhere."""
    # Only the module of the verb given is imported (info in well under 0.1 s).
    parser = build_parser(_verb_word(words))
    args = _parse(parser, words)
    if getattr(args, "_placeholder", False):  # that word was an option's value
        parser = build_parser()
        args = _parse(parser, words)
    defaults = (("json", False), ("verbose", False), ("timeout", 5.0), ("transport", None))
    for name, default in (*defaults, ("username", None), ("password", None)):
        if not hasattr(args, name):
            setattr(args, name, default)
    if not (math.isfinite(args.timeout) and args.timeout > 0):
        parser.error("--timeout must be a positive number of seconds")
    if args.verbose:
        import logging  # only with -v: the traffic log

        logging.basicConfig(level=logging.DEBUG, format="%(name)s: %(message)s", stream=sys.stderr)
        logging.getLogger("asyncio").setLevel(logging.WARNING)
    return args


def _quick_exit(code: int) -> None:
    """End --help, a usage error or a one-shot device verb without tearing the
    interpreter down.

    Freeing every module and object at exit is a tenth of ``info``'s instructions.
    Only the program itself (``argv`` None: not a caller of ``main``) exits this way,
    only before any verb ran or after a verb that marks itself ``quick_exit`` (it
    talks to a device and writes nothing but stdout and stderr), without -v, and
    only when no other thread is left. What a normal exit does besides freeing is
    done here: the atexit handlers run (a coverage run, logging) and both streams
    are flushed. Anything unusual takes the normal exit.
    """
    import atexit
    import threading

    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)
    if run_exit_handlers is None or threading.active_count() > 1:
        return
    run_exit_handlers()
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):
        return  # a closed or broken stream: let the normal exit deal with it
    os._exit(code)


def _dashboard(args: argparse.Namespace) -> int:
    """No verb: the dashboard (imported late: Textual is slow to import)."""
    from ..tui.launch import run_dashboard

    return run_dashboard(demo=args.demo)
