"""What people type for a rule: times, days, dates, a change to a rule, a rule's number.

The CLI's options and the dashboard's rule dialog both go through here, so
``--at sunset-15 --days mon-fri`` and the same words typed in the dialog mean the
same rule, and fail with the same one-line message.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from typing import Any

from ..errors import UsageError
from .rules import (
    ALL_DAYS,
    CLOCK,
    DASH,
    DAY_NAMES,
    MINUS,
    OFFSET_LIMIT,
    SCHEDULE,
    SUNRISE,
    SUNSET,
    WEEKDAYS,
    WEEKENDS,
    At,
    Rule,
)

_DAY_WORDS = {
    "daily": ALL_DAYS,
    "everyday": ALL_DAYS,
    "every day": ALL_DAYS,
    "all": ALL_DAYS,
    "weekdays": WEEKDAYS,
    "weekends": WEEKENDS,
    "weekend": WEEKENDS,
}
DAYS_HELP = "every day, weekdays, weekends, mon-fri, sat,sun, mon wed fri"
AT_HELP = "HH:MM, sunrise, sunset, sunset-30, sunrise+1:15"


def parse_days(text: str) -> tuple[bool, ...]:
    """``mon-fri``, ``weekdays``, ``sat,sun``, ``mon wed fri``, ``fri-mon`` (wraps)."""
    cleaned = " ".join(text.casefold().replace(DASH, "-").split())
    if cleaned in _DAY_WORDS:
        return _DAY_WORDS[cleaned]
    chosen = [False] * 7
    parts = [p for p in re.split(r"[,\s]+", cleaned) if p]
    if not parts:
        raise UsageError(f"days: nothing given (for example {DAYS_HELP})")
    for part in parts:
        if part in _DAY_WORDS:
            for i, on in enumerate(_DAY_WORDS[part]):
                chosen[i] = chosen[i] or on
            continue
        first, _, last = part.partition("-")
        start = _day(first)
        end = _day(last) if last else start
        i = start
        while True:
            chosen[i] = True
            if i == end:
                break
            i = (i + 1) % 7
    return tuple(chosen)


def _day(word: str) -> int:
    if len(word) >= 2:
        found = [i for i, name in enumerate(DAY_NAMES) if name.startswith(word)]
        if len(found) == 1:
            return found[0]
    raise UsageError(f"days: {word!r} is not a day (for example {DAYS_HELP})")


_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")
_SUN = re.compile(r"(sunrise|sunset)\s*(?:([+-])\s*(\d{1,3})(?::(\d{2}))?)?")


def parse_at(text: str) -> At:
    """``07:30``; ``sunrise``; ``sunset-30`` (minutes); ``sunrise+1:15``."""
    cleaned = text.strip().casefold().replace(MINUS, "-")
    clock = _CLOCK.fullmatch(cleaned)
    if clock:
        hour, minute = int(clock.group(1)), int(clock.group(2))
        if hour > 23 or minute > 59:
            raise UsageError(f"time {text.strip()!r}: hours go 0-23 and minutes 0-59")
        return At(CLOCK, hour * 60 + minute)
    sun = _SUN.fullmatch(cleaned)
    if sun is None:
        raise UsageError(f"time {text.strip()!r} not understood (for example {AT_HELP})")
    basis = SUNRISE if sun.group(1) == "sunrise" else SUNSET
    offset = 0
    if sun.group(2):
        first, second = int(sun.group(3)), sun.group(4)
        offset = first * 60 + int(second) if second is not None else first
        offset = -offset if sun.group(2) == "-" else offset
    if abs(offset) > OFFSET_LIMIT:
        raise UsageError(f"time {text.strip()!r}: at most 12 h before or after the sun")
    return At(basis, offset)


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"date {text.strip()!r}: expected YYYY-MM-DD") from None


def change(
    rule: Rule,
    *,
    at: str | None = None,
    days: str | None = None,
    once: str | None = None,
    action: bool | None = None,
    until: str | None = None,
    then: bool | None = None,
    drop_end: bool = False,
    name: str | None = None,
    enabled: bool | None = None,
) -> Rule:
    """``rule`` with what the user typed (None: keep it); no I/O, not yet validated.

    A schedule's ``until`` switches back to the opposite of ``action`` unless ``then``
    says otherwise."""
    changes: dict[str, Any] = {}
    if at is not None:
        changes["start"] = parse_at(at)
    if days is not None and once is not None:
        raise UsageError("days and date: a rule is weekly or once, not both")
    if days is not None:
        changes.update(days=parse_days(days), once=None)
    if once is not None:
        day = changes["once"] = parse_date(once)
        changes["days"] = tuple(i == (day.weekday() + 1) % 7 for i in range(7))  # its weekday
    if action is not None and rule.kind == SCHEDULE:
        changes["action"] = action
    start_action = changes.get("action", rule.action)
    if drop_end:
        changes.update(end=None, end_action=None)
    elif until is not None:
        changes["end"] = parse_at(until)
    if rule.kind == SCHEDULE and not drop_end and (until is not None or then is not None):
        fallback = rule.end_action if rule.end_action is not None and action is None else None
        if fallback is None and start_action is not None:
            fallback = not start_action
        changes["end_action"] = then if then is not None else fallback
    if name is not None:
        changes["name"] = name.strip()
    if enabled is not None:
        changes["enabled"] = enabled
    return replace(rule, **changes)


def find_rule(rules: list[Rule], ref: str) -> Rule:
    """A rule by id, a unique id prefix (4+ characters), or its number in the list (1-based)."""
    ref = ref.strip()
    exact = [r for r in rules if r.id == ref]
    if exact:
        return exact[0]
    if ref.isdigit() and len(ref) < 4 and 1 <= int(ref) <= len(rules):
        return rules[int(ref) - 1]
    if len(ref) >= 4:
        found = [r for r in rules if r.id.upper().startswith(ref.upper())]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise UsageError(f"rule {ref!r} fits {len(found)} rules: give more of the id")
    raise UsageError(f"no rule {ref!r} (give its number in the list, or its id)")
