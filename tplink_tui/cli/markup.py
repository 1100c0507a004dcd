"""Console markup written without importing rich: the verbs' one-line answers.

rich (console, markup, text, style and what they import) is a third of what
``info`` spends before it talks to the device. The verbs' lines are markup strings
with a few styles (``[bold]``, ``[dim]``, a colour, ``[/]``). ``Printer`` writes
those itself: plain text when the stream is not a terminal, byte for byte what rich
writes there, and the same SGR codes rich writes when it is a terminal. Everything
else goes to a rich ``Console`` made on first need: a table, a line rich would
wrap, a tag or a character this module does not handle, and the environment
variables rich obeys (FORCE_COLOR, NO_COLOR, TTY_COMPATIBLE, ...).

``escape`` is ``rich.markup.escape``'s rule, so ``safe()`` needs no rich either.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["Printer", "escape", "render"]

# rich's own patterns (rich.markup): a tag, and what escape() must protect.
_TAG = re.compile(r"(\\*)\[([a-z#/@][^[]*?)]")
_ESCAPE = re.compile(r"(\\*)(\[[a-z#/@][^[]*?])")
# The characters this module leaves to rich: C0 controls (tab, newline, the ones
# rich strips), DEL and C1. display() has already replaced them in device text.
_RICH_CHARS = re.compile("[\x00-\x1f\x7f-\x9f]")
_RICH_ENV = ("FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")

_ATTRIBUTES = {"bold": 1, "dim": 2, "italic": 3, "underline": 4, "reverse": 7, "strike": 9}
_COLOURS = ("black", "red", "green", "yellow", "blue", "magenta", "cyan", "white")
_COLOUR_CODES = {
    **{name: 30 + n for n, name in enumerate(_COLOURS)},
    **{f"bright_{name}": 90 + n for n, name in enumerate(_COLOURS)},
}

Style = tuple[frozenset[int], int | None]
"""SGR attribute codes, and a foreground colour code (the last one set wins)."""


def escape(markup: str) -> str:
    """Text for markup: every ``[`` that could open a tag is backslashed (rich's rule)."""
    markup = _ESCAPE.sub(lambda m: f"{m[1]}{m[1]}\\{m[2]}", markup)
    if markup.endswith("\\") and not markup.endswith("\\\\"):
        return markup + "\\"
    return markup


def _style(tag: str) -> Style | None:
    """``bold green`` as SGR codes; None for anything rich alone knows."""
    attributes: set[int] = set()
    colour = None
    for word in tag.split():
        if word in _ATTRIBUTES:
            attributes.add(_ATTRIBUTES[word])
        elif word in _COLOUR_CODES:
            colour = _COLOUR_CODES[word]
        else:
            return None
    return (frozenset(attributes), colour) if attributes or colour is not None else None


def _sgr(stack: list[Style]) -> str:
    """The SGR parameters of the open styles combined, in rich's order."""
    attributes: set[int] = set()
    colour = None
    for codes, fg in stack:
        attributes |= codes
        colour = fg if fg is not None else colour
    params = [str(code) for code in sorted(attributes)]
    if colour is not None:
        params.append(str(colour))
    return ";".join(params)


def render(markup: str) -> tuple[str, list[tuple[str, str]]] | None:
    """(plain text, [(text, SGR parameters), ...]) of a markup line, as rich parses it.

    None when rich must render it: an unknown, unbalanced or named closing tag, or a
    character rich treats specially.
    """
    runs: list[tuple[str, str]] = []
    stack: list[Style] = []
    chunk: list[str] = []
    sgr = ""

    def flush() -> None:
        text = "".join(chunk)
        if text:
            runs.append((text, sgr))
        chunk.clear()

    position = 0
    for match in _TAG.finditer(markup):
        escapes, tag = match[1], match[2]
        chunk.append(markup[position : match.start()].replace("\\[", "["))
        position = match.end()
        backslashes, escaped = divmod(len(escapes), 2)
        chunk.append("\\" * backslashes)
        if escaped:
            chunk.append(match[0][len(escapes) :])
            continue
        flush()
        if tag == "/":
            if not stack:
                return None
            stack.pop()
        else:
            style = None if tag.startswith("/") or "=" in tag else _style(tag)
            if style is None:
                return None
            stack.append(style)
        sgr = _sgr(stack)
    chunk.append(markup[position:].replace("\\[", "["))
    flush()
    plain = "".join(text for text, _ in runs)
    if _RICH_CHARS.search(plain):
        return None
    return plain, runs


class Printer:
    """``print(markup)`` on stdout or stderr, as rich's ``Console.print`` would.

    ``fallback`` makes the rich console for what this cannot write itself; it is
    called at most once, when first needed.
    """

    def __init__(
        self, fallback: Callable[[], Console], *, stderr: bool = False, pipe_width: int = 200
    ) -> None:
        self._fallback = fallback
        self._console: Console | None = None
        self._stderr = stderr
        self._pipe_width = pipe_width

    @property
    def file(self) -> TextIO:
        return sys.stderr if self._stderr else sys.stdout

    def rich(self) -> Console:
        """The rich console behind this printer (tables, prompts)."""
        if self._console is None:
            self._console = self._fallback()
        return self._console

    @property
    def is_terminal(self) -> bool:
        return self.rich().is_terminal

    def print(self, text: object = "", /, *, soft_wrap: bool = False, **options: Any) -> None:
        """One line of markup; anything else (or any other option) goes to rich."""
        line = self._line(text, soft_wrap) if isinstance(text, str) and not options else None
        if line is None:
            self.rich().print(text, soft_wrap=soft_wrap, **options)
            return
        file = self.file
        file.write(line + "\n")
        file.flush()

    def _line(self, markup: str, soft_wrap: bool) -> str | None:
        """The line rich would write, or None when that takes rich to know."""
        terminal = self._terminal()
        if terminal is None:
            return None
        parsed = render(markup)
        if parsed is None:
            return None
        plain, runs = parsed
        if not soft_wrap:
            width = self._width(terminal)
            cells = len(plain) if plain.isascii() else 2 * len(plain)  # at most
            if width is None or cells > width:
                return None  # rich wraps it (or knows the width)
        if not terminal:
            return plain
        return "".join(f"\x1b[{sgr}m{text}\x1b[0m" if sgr else text for text, sgr in runs)

    def _terminal(self) -> bool | None:
        """Whether the stream is a terminal rich would colour; None: ask rich."""
        if sys.platform == "win32" or self.file is None:  # rich discards: no stream
            return None
        if any(name in os.environ for name in _RICH_ENV) or "IPython" in sys.modules:
            return None
        try:
            terminal = self.file.isatty()
        except (AttributeError, ValueError):
            return None
        if terminal and os.environ.get("TERM", "").lower() in ("dumb", "unknown"):
            return None
        return terminal

    def _width(self, terminal: bool) -> int | None:
        columns = os.environ.get("COLUMNS")
        if columns is not None:
            return int(columns) if columns.isdigit() and int(columns) > 0 else None
        if not terminal:
            return self._pipe_width
        for fd in (0, 1, 2):  # rich's order
            try:
                return os.get_terminal_size(fd).columns or 80
            except (AttributeError, ValueError, OSError):
                continue
        return 80
