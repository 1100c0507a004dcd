"""How the dashboard shows text from outside: always through here.

Device replies, discovery answers, saved names and error messages reach widgets
only as ``rich.text.Text`` or ``textual.content.Content`` built from
``untrusted.display``: never parsed as markup (so ``[/]`` cannot crash a widget
and ``[@click=…]`` cannot run an action) and never carrying a control character
to the terminal. Toasts go through ``TplinkApp.notify``, which does the same.
"""

from __future__ import annotations

from rich.text import Text
from textual.content import Content

from ..untrusted import DEFAULT_LIMIT, display

TOAST_LIMIT = 300  # a toast holds our words plus an error message from the device


def text(
    value: object, style: str = "", *, limit: int | None = DEFAULT_LIMIT, **kw: object
) -> Text:
    """A ``Text`` (never markup) of ``value`` made safe to show."""
    return Text(display(value, limit), style=style, **kw)  # type: ignore[arg-type]


def content(value: object, *, limit: int | None = DEFAULT_LIMIT) -> Content:
    """Textual ``Content`` (never markup) of ``value``, for APIs that parse plain strings."""
    return Content(display(value, limit))


def plain(value: object, *, limit: int | None = DEFAULT_LIMIT) -> str:
    """Safe plain text, for places that take a ``str`` and do not parse markup."""
    return display(value, limit)
