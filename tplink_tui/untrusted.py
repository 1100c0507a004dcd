"""Text from outside (devices, discovery answers, config and import files, the command
line) is data: this module is the one place that decides how it is shown.

- ``display`` makes any value one line of harmless text for a terminal or a widget:
  control characters (C0 but tab, DEL, C1, ESC), bidi overrides and lone surrogates
  become visible placeholders, line breaks collapse to one ``⏎``, tabs to a space,
  and the length is capped. It never raises. Front ends add markup escaping on top
  (``rich.markup.escape`` or a ``rich.text.Text``): markup is theirs, not ours.
- ``repair_surrogates`` is applied at JSON decode time, so no model or file ever
  holds a lone surrogate (they cannot be encoded as UTF-8).
- ``dumps`` writes strict, exact JSON for ``--json`` output: non-finite numbers
  become ``null``, and code points a terminal could act on are ``\\u`` escaped
  (the decoded value is unchanged).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

_orjson: Any = None  # imported at the first dumps(): --help and friends never need it

DEFAULT_LIMIT = 80
ELLIPSIS = "…"
LINE_BREAK = "⏎"
REPLACEMENT = "\ufffd"

_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_LINE_BREAKS = "\n\r\x0b\x0c\x85\u2028\u2029"
# Anything display() must change; the common case (clean, short text) is one search.
_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}\u2028\u2029\ud800-\udfff]")
_BREAK_RUN = re.compile(f"[{_LINE_BREAKS}]+")
# C0 and DEL to their Unicode control pictures (␀ … ␟, ␡); tab to a space.
_TRANSLATE: dict[int, str] = {code: chr(0x2400 + code) for code in range(0x20)}
_TRANSLATE[0x09] = " "
_TRANSLATE[0x7F] = "\u2421"
_TRANSLATE.update({code: REPLACEMENT for code in range(0x80, 0xA0)})
_TRANSLATE.update({code: REPLACEMENT for code in (0x61C, 0x200E, 0x200F, *range(0x202A, 0x202F))})
_TRANSLATE.update({code: REPLACEMENT for code in range(0x2066, 0x206A)})
_TRANSLATE.update({code: REPLACEMENT for code in range(0xD800, 0xE000)})

# For JSON output: characters json.dumps(ensure_ascii=False) leaves raw but a
# terminal may act on (C1, bidi overrides, line/paragraph separators, surrogates).
_JSON_UNSAFE = re.compile(f"[\x7f-\x9f{_BIDI}\u2028\u2029\ud800-\udfff]")


def display(value: object, limit: int | None = DEFAULT_LIMIT) -> str:
    """``value`` as one safe line of text, at most ``limit`` characters (None: no cap)."""
    text = value if isinstance(value, str) else _str(value)
    if _UNSAFE.search(text) is not None:
        text = _BREAK_RUN.sub(LINE_BREAK, text).translate(_TRANSLATE)
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 1, 0)] + ELLIPSIS
    return text


def _str(value: object) -> str:
    try:
        return str(value)
    except Exception:  # a hostile __str__ must not take the screen down
        return f"<{type(value).__name__}>"


def is_safe(text: str) -> bool:
    """True when ``display`` would leave ``text`` as it is (apart from the cap)."""
    return _UNSAFE.search(text) is None


def repair_surrogates(value: Any) -> Any:
    """Replace lone surrogates (valid in JSON, not in UTF-8) anywhere in a decoded value."""
    if isinstance(value, str):
        if _has_surrogate(value):
            return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return value
    if isinstance(value, dict):
        return {repair_surrogates(k): repair_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [repair_surrogates(item) for item in value]
    return value


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def may_hold_surrogates(raw: bytes | str) -> bool:
    """Cheap pre-check on JSON text: lone surrogates only come from ``\\uD8..`` escapes."""
    if isinstance(raw, str):
        return "\\ud" in raw or "\\uD" in raw or _has_surrogate(raw)
    return b"\\ud" in raw or b"\\uD" in raw


def loads(raw: bytes | str) -> Any:
    """``json.loads`` whose strings never hold a lone surrogate."""
    value = json.loads(raw)
    return repair_surrogates(value) if may_hold_surrogates(raw) else value


def finite(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by None (strict JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(item) for item in value]
    return value


def dumps(value: Any, *, indent: int | None = None, compact: bool = False) -> str:
    """Strict JSON (no NaN/Infinity) that is safe to write to a terminal, value unchanged.

    Compact output (``watch --json``, a line per reading) goes through orjson when
    it can: it writes NaN and infinities as null itself, and refuses what json
    would write differently (integers over 64 bits, lone surrogates, non-string
    keys), which then takes the json way."""
    if compact and indent is None and _fast_json() is not None:
        try:
            text = _orjson.dumps(value).decode()
        except TypeError:
            pass
        else:
            return _escape_unsafe(text)
    separators = (",", ":") if compact else None
    try:
        text = json.dumps(
            value, ensure_ascii=False, indent=indent, separators=separators, allow_nan=False
        )
    except ValueError:
        text = json.dumps(
            finite(value), ensure_ascii=False, indent=indent, separators=separators, allow_nan=False
        )
    return _escape_unsafe(text)


def _fast_json() -> Any:
    global _orjson
    if _orjson is None:
        try:
            import orjson
        except ImportError:  # pragma: no cover - a dependency; json alone still works
            _orjson = False
        else:
            _orjson = orjson
    return _orjson or None


def _escape_unsafe(text: str) -> str:
    if text.isascii() and "\x7f" not in text:  # the usual line: two C scans, no regex
        return text
    if _JSON_UNSAFE.search(text) is not None:
        text = _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return text
