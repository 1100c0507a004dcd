"""Command-line front end. Each verb module has ``register(subparsers)``."""

from __future__ import annotations

import importlib
from types import ModuleType

_VERBS = (
    "verbs",
    "send",
    "discover",
    "codec_cmd",
    "devices",
    "history",
    "watch",
    "simulate",
    "usage",
    "serve",
    "bridge",
    "tddp",
)


def _load() -> list[ModuleType]:
    modules = []
    for name in _VERBS:
        try:
            modules.append(importlib.import_module(f"{__name__}.{name}"))
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
    return modules


def __getattr__(name: str) -> list[ModuleType]:
    # Loaded on first use: ``main`` imports only the module of the verb it runs.
    if name == "VERB_MODULES":
        modules = globals()["VERB_MODULES"] = _load()
        return modules
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
