"""Checking a reply against its request: that it answers it, and its ``err_code``.

Kept apart from the client because ``send`` (raw JSON from the command line) needs
the same checks without a ``DeviceClient`` method for every request.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import DeviceError

Expected = dict[str, frozenset[str]]
"""What a reply may hold: each asked module with the methods asked of it."""
MODULE_NOT_SUPPORTED = -1
_ERROR_KEYS = frozenset(("err_code", "err_msg"))


def expected(request: dict[str, Any]) -> Expected:
    """The modules and methods a reply to ``request`` may contain."""
    return {
        module: frozenset(methods) if isinstance(methods, dict) else frozenset()
        for module, methods in request.items()
        if module != "context"
    }


def expected_from_bytes(payload: bytes) -> Expected | None:
    """What a raw (already encoded) request asks for; None if it is not a JSON object."""
    try:
        request = json.loads(payload)
    except (ValueError, RecursionError):
        return None
    return expected(request) if isinstance(request, dict) else None


def foreign_part(reply: dict[str, Any], asked: Expected) -> str | None:
    """What in ``reply`` cannot answer the request described by ``asked`` (None: fine)."""
    for module in asked:
        if module not in reply:
            return f"no {module!r} section, which was asked for"
    for module, body in reply.items():
        methods = asked.get(module)
        if methods is None:
            if module == "context":
                continue
            return f"module {module!r}, which was not asked for"
        if isinstance(body, dict):
            for name in body:
                if name not in methods and name not in _ERROR_KEYS:
                    return f"{module}.{name}, which was not asked for"
    return None


def find_error(reply: dict[str, Any], host: str | None = None) -> DeviceError | None:
    """The first non-zero err_code in a reply, at module or method level.

    The one place an ``err_code`` is read: the client runs it on a whole reply
    (``query``) and on the one module it takes a result from (``_part``)."""
    for module, body in reply.items():
        if not isinstance(body, dict):
            continue
        error = _error(body, module, None, host)
        if error is not None:
            return error
        for method, result in body.items():
            if isinstance(result, dict):
                error = _error(result, module, method, host)
                if error is not None:
                    return error
    return None


def _error(
    body: dict[str, Any], module: str, method: str | None, host: str | None
) -> DeviceError | None:
    code = body.get("err_code")
    if isinstance(code, int) and code != 0:
        return DeviceError(code, str(body.get("err_msg", "")), module, method, host)
    return None
