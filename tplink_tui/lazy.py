"""Names a package exports but imports only on first use (PEP 562).

So ``import tplink_tui`` (or ``tplink_tui.store``) costs little, and a verb that
needs one piece does not import asyncio, SQLite or the client with it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

TYPE_CHECKING = False
"""``typing.TYPE_CHECKING`` without importing typing, a tenth of ``--help``'s start-up:
the modules ``--help`` loads take it from here (mypy reads any ``TYPE_CHECKING`` as
true)."""

if TYPE_CHECKING:
    from typing import Any


def lazy_exports(
    package: str, names: dict[str, str], namespace: dict[str, Any]
) -> Callable[[str], Any]:
    """A module ``__getattr__``: ``names`` maps each name to the submodule holding it."""

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{module}", package), name)
        namespace[name] = value  # found once: later lookups skip this function
        return value

    return __getattr__
