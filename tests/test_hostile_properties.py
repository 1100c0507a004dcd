"""Property tests: any text from outside renders without exception and emits no
control byte, in a widget, a CLI line or JSON output."""

from __future__ import annotations

import io
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from textual.content import Content

from tplink_tui import untrusted
from tplink_tui.cli.common import safe
from tplink_tui.tui import safe as tui_safe

DANGEROUS = {chr(c) for c in (*range(0x20), *range(0x7F, 0xA0))}
DANGEROUS |= {chr(c) for c in (0x61C, 0x200E, 0x200F, 0x2028, 0x2029)}
DANGEROUS |= {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}
NASTY = st.sampled_from(
    ["\x1b", "\x1b]2;", "\x07", "\x9b", "\u202e", "\ud800", "\udfff", "[/]", "[@click=quit]",
     "\n", "\r\n", "\x00", "\x7f", "\u2028", "\t", "[", "]", "\\", "$", "😀", "\u0301"]
)  # fmt: skip
HOSTILE_TEXT = st.lists(
    st.one_of(st.text(st.characters(codec=None, exclude_categories=())), NASTY), max_size=12
).map("".join)


def has_surrogate(text: str) -> bool:
    return any(0xD800 <= ord(c) <= 0xDFFF for c in text)


@given(HOSTILE_TEXT, st.one_of(st.none(), st.integers(min_value=1, max_value=200)))
def test_display_is_one_safe_line(text: str, limit: int | None) -> None:
    shown = untrusted.display(text, limit)
    assert not DANGEROUS & set(shown)
    assert not has_surrogate(shown)
    shown.encode("utf-8")  # always encodable
    if limit is not None:
        assert len(shown) <= limit
    assert untrusted.display(shown, None) == shown  # idempotent


@given(HOSTILE_TEXT)
@settings(max_examples=200)
def test_cli_lines_render_without_control_bytes(text: str) -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, color_system=None, width=500)
    console.print(f"[bold]{safe(text)}[/] [dim]{safe(text)}[/]", soft_wrap=True)
    lines = buffer.getvalue().splitlines()
    assert len(lines) == 1
    assert not DANGEROUS & set(lines[0])


@given(HOSTILE_TEXT)
@settings(max_examples=200)
def test_widget_content_renders_without_control_characters(text: str) -> None:
    for visual in (tui_safe.content(text), Content.from_rich_text(tui_safe.text(text, "bold"))):
        painted = "".join(segment.text for segment in visual.render_segments())
        assert not DANGEROUS & set(painted)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | HOSTILE_TEXT,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(HOSTILE_TEXT, children, max_size=4)
    ),
    max_leaves=20,
)


@given(JSON_VALUES, st.booleans())
@settings(max_examples=200)
def test_json_output_is_strict_exact_and_terminal_safe(value: Any, compact: bool) -> None:
    text = untrusted.dumps(value, compact=compact, indent=None if compact else 2)
    assert not (DANGEROUS - {"\n"}) & set(text)

    def reject(name: str) -> None:
        raise AssertionError(f"non-standard constant {name}")

    assert json.loads(text, parse_constant=reject) == json.loads(
        json.dumps(untrusted.finite(value))
    )


@given(JSON_VALUES)
def test_decoded_json_never_holds_a_lone_surrogate(value: Any) -> None:
    raw = json.dumps({"v": value}).encode()  # ensure_ascii: surrogates as \\ud800 escapes
    decoded = untrusted.loads(raw)
    untrusted.dumps(decoded).encode("utf-8")  # would raise on a lone surrogate
    json.dumps(decoded, ensure_ascii=False).encode("utf-8")
