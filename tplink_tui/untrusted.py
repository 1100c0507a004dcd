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

import functools
import math
import re

from .lazy import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

_orjson: Any = None  # imported at the first dumps(): --help and friends never need it
_json: Any = None  # likewise json, at the first loads() or dumps()

DEFAULT_LIMIT = 80
ELLIPSIS = "…"
LINE_BREAK = "⏎"
REPLACEMENT = "\ufffd"

_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_LINE_BREAKS = "\n\r\x0b\x0c\x85\u2028\u2029"
# Anything display() must change. Every such character is also one str.isprintable()
# refuses (Cc, Cf, Cs, Zl, Zp), so clean text never needs the pattern; it and the
# tables below are made on first need (compiling them was 2 ms of every start).
_UNSAFE_CLASS = f"[\x00-\x1f\x7f-\x9f{_BIDI}\u2028\u2029\ud800-\udfff]"
# For JSON output: characters json.dumps(ensure_ascii=False) leaves raw but a
# terminal may act on (C1, bidi overrides, line/paragraph separators, surrogates).
_JSON_UNSAFE_CLASS = f"[\x7f-\x9f{_BIDI}\u2028\u2029\ud800-\udfff]"


@functools.cache
def _unsafe() -> re.Pattern[str]:
    return re.compile(_UNSAFE_CLASS)


@functools.cache
def _json_unsafe() -> re.Pattern[str]:
    return re.compile(_JSON_UNSAFE_CLASS)


@functools.cache
def _repairs() -> tuple[re.Pattern[str], dict[int, str]]:
    """Runs of line breaks, and the translation of every other unsafe character:
    C0 and DEL to their Unicode control pictures (␀ … ␟, ␡), tab to a space."""
    table: dict[int, str] = {code: chr(0x2400 + code) for code in range(0x20)}
    table[0x09] = " "
    table[0x7F] = "\u2421"
    table.update({code: REPLACEMENT for code in range(0x80, 0xA0)})
    table.update({code: REPLACEMENT for code in (0x61C, 0x200E, 0x200F, *range(0x202A, 0x202F))})
    table.update({code: REPLACEMENT for code in range(0x2066, 0x206A)})
    table.update({code: REPLACEMENT for code in range(0xD800, 0xE000)})
    return re.compile(f"[{_LINE_BREAKS}]+"), table


def _std_json() -> Any:
    global _json
    if _json is None:
        import json

        _json = json
    return _json


def display(value: object, limit: int | None = DEFAULT_LIMIT) -> str:
    """``value`` as one safe line of text, at most ``limit`` characters (None: no cap)."""
    text = value if isinstance(value, str) else _str(value)
    if not text.isprintable() and _unsafe().search(text) is not None:
        breaks, table = _repairs()
        text = breaks.sub(LINE_BREAK, text).translate(table)
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
    return text.isprintable() or _unsafe().search(text) is None


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
    value = (_json or _std_json()).loads(raw)
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
    if compact and indent is None and fast_json() is not None:
        try:
            text = _orjson.dumps(value).decode()
        except TypeError:
            pass
        else:
            return _escape_unsafe(text)
    separators = (",", ":") if compact else None
    json = _json or _std_json()
    try:
        text = json.dumps(
            value, ensure_ascii=False, indent=indent, separators=separators, allow_nan=False
        )
    except ValueError:
        text = json.dumps(
            finite(value), ensure_ascii=False, indent=indent, separators=separators, allow_nan=False
        )
    return _escape_unsafe(text)


def fast_json() -> Any:
    global _orjson
    if _orjson is None:
        try:
            import orjson
        except (ImportError, OSError):  # not installed, or no file left to open: json
            _orjson = False
        else:
            _orjson = orjson
    return _orjson or None


def _escape_unsafe(text: str) -> str:
    if text.isascii() and "\x7f" not in text:  # the usual line: two C scans, no regex
        return text
    unsafe = _json_unsafe()
    if unsafe.search(text) is not None:
        text = unsafe.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return text
