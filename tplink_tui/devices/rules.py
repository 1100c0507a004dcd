"""Schedule and away-mode rules: one model, plain words, validation, and the verbs.

The old protocol keeps both in rule tables (``schedule``, ``anti_theft``) whose rows
are loose JSON: ``wday`` (seven 0/1 flags, Sunday first), ``stime_opt`` (0 clock
time, 1 sunrise, 2 sunset; -1 none), ``smin`` (minutes after midnight), ``soffset``
(minutes from sunrise/sunset), ``sact`` (1 on, 0 off), the same with ``e`` for an
end, and ``repeat`` 0 with ``year/month/day`` for a one-off. ``Rule`` reads that
tolerantly, says it in words ("weekdays 07:30 → on"), and checks a rule before it
is sent, so a wrong rule is one clear line here rather than ``-3`` from the plug
(what people type is read in ``rules_input``).
Fields we do not model are kept and sent back on edit. No Textual, no wire format
beyond the catalog: the CLI and the dashboard both call the functions at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import TYPE_CHECKING, Any

from ..errors import NotSupported, ProtocolError, UsageError
from . import catalog
from .models import SysInfo

if TYPE_CHECKING:
    from .client import DeviceClient
    from .outlets import OutletSpec

SCHEDULE, AWAY = "schedule", "anti_theft"
KINDS = (SCHEDULE, AWAY)
CLOCK, SUNRISE, SUNSET = 0, 1, 2
NAME_LIMIT = 32
OFFSET_LIMIT = 720  # minutes before or after sunrise/sunset
DEFAULT_FREQUENCY = 5  # away mode: how often the device switches in a window (Kasa's default)

# Sunday first, as the device counts; shown Monday first.
DAY_NAMES = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
_SHOWN_ORDER = (1, 2, 3, 4, 5, 6, 0)
ALL_DAYS = (True,) * 7
WEEKDAYS = (False, True, True, True, True, True, False)
WEEKENDS = (True, False, False, False, False, False, True)
DASH, MINUS = "\u2013", "\u2212"  # en dash for spans, a true minus for offsets


@dataclass(frozen=True)
class At:
    """When in a day: a clock time (minutes after midnight) or sunrise/sunset ± minutes."""

    basis: int = CLOCK
    minutes: int = 0

    def entry(self) -> str:
        """What one would type for it: ``07:30``, ``sunset-15``, ``sunrise+75``."""
        if self.basis == CLOCK:
            return self.words()
        sun = "sunrise" if self.basis == SUNRISE else "sunset"
        return f"{sun}{self.minutes:+d}" if self.minutes else sun

    def words(self) -> str:
        if self.basis == CLOCK:
            return f"{self.minutes // 60:02d}:{self.minutes % 60:02d}"
        sun = "sunrise" if self.basis == SUNRISE else "sunset"
        if not self.minutes:
            return sun
        size = abs(self.minutes)
        hours, minutes = divmod(size, 60)
        amount = f"{hours} h {minutes} min" if hours and minutes else f"{hours} h" if hours else ""
        amount = amount or f"{minutes} min"
        return f"{sun} {'+' if self.minutes > 0 else MINUS}{amount}"


@dataclass(frozen=True)
class Rule:
    """One rule of ``kind`` (schedule: ``action`` at ``start``; away mode: a window)."""

    kind: str
    start: At
    action: bool | None = None  # schedule: on/off at start; away mode: None
    end: At | None = None  # away mode: the window's end; schedule: an optional second switch
    end_action: bool | None = None
    days: tuple[bool, ...] = ALL_DAYS
    once: date | None = None  # a one-off rule (repeat 0) on this date
    enabled: bool = True
    name: str = ""
    id: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def uses_sun(self) -> bool:
        return any(at is not None and at.basis != CLOCK for at in (self.start, self.end))

    def words(self) -> str:
        """``weekdays 07:30 → on``; ``weekends 18:00-23:00 away`` (with an en dash)."""
        when = f"once {self.once.isoformat()}" if self.once else days_words(self.days)
        if self.kind == AWAY:
            until = self.end.words() if self.end else "?"
            return f"{when} {self.start.words()}{DASH}{until} away (random on/off)"
        text = f"{when} {self.start.words()} → {_on_off(self.action)}"
        if self.end is not None:
            text += f", {self.end.words()} → {_on_off(self.end_action)}"
        return text

    def args(self) -> dict[str, Any]:
        """The rule as ``add_rule``/``edit_rule`` take it (kept fields first)."""
        once = self.once
        out: dict[str, Any] = {**self.extra, "name": self.name, "enable": int(self.enabled)}
        out["wday"] = [int(d) for d in self.days]
        out["repeat"] = 0 if once else 1
        out.update(year=once.year if once else 0, month=once.month if once else 0)
        out["day"] = once.day if once else 0
        _put(out, "s", self.start)
        _put(out, "e", self.end)
        if self.kind == SCHEDULE:
            out["sact"] = _act(self.action)
            out["eact"] = _act(self.end_action) if self.end else -1
        else:
            out.setdefault("frequency", DEFAULT_FREQUENCY)
        if self.id:
            out["id"] = self.id
        return out


def _on_off(action: bool | None) -> str:
    return "?" if action is None else "on" if action else "off"


def _act(action: bool | None) -> int:
    return -1 if action is None else int(action)


def _put(out: dict[str, Any], prefix: str, at: At | None) -> None:
    """``stime_opt``/``smin``/``soffset`` (or the ``e`` ones) for ``at``."""
    if at is None:
        out.update({f"{prefix}time_opt": -1, f"{prefix}min": 0})
        out.pop(f"{prefix}offset", None)
        return
    out[f"{prefix}time_opt"] = at.basis
    out[f"{prefix}min"] = at.minutes if at.basis == CLOCK else 0
    if at.basis == CLOCK:
        out.pop(f"{prefix}offset", None)
    else:
        out[f"{prefix}offset"] = at.minutes


# -- words ----------------------------------------------------------------------------


def days_words(days: tuple[bool, ...]) -> str:
    """``every day``, ``weekdays``, ``weekends``, ``Mon-Thu`` (en dash), ``Mon Wed``, ``no day``."""
    for words, flags in (("every day", ALL_DAYS), ("weekdays", WEEKDAYS), ("weekends", WEEKENDS)):
        if days == flags:
            return words
    shown = [i for i in _SHOWN_ORDER if days[i]]
    if not shown:
        return "no day"
    positions = [_SHOWN_ORDER.index(i) for i in shown]
    if len(shown) >= 3 and positions == list(range(positions[0], positions[-1] + 1)):
        return f"{_short(shown[0])}{DASH}{_short(shown[-1])}"
    return " ".join(_short(i) for i in shown)


def _short(index: int) -> str:
    return DAY_NAMES[index][:3].capitalize()


def supports_sun(sysinfo: SysInfo | None) -> bool:
    """Sunrise and sunset need the device's location (set by the Kasa app)."""
    if sysinfo is None or sysinfo.latitude is None or sysinfo.longitude is None:
        return False
    return (sysinfo.latitude, sysinfo.longitude) != (0.0, 0.0)


def validate(rule: Rule, *, sun: bool) -> Rule:
    """The rule if the device can take it; otherwise a ``UsageError`` saying why."""
    if rule.kind not in KINDS:
        raise UsageError(f"unknown rule kind {rule.kind!r}")
    if len(rule.name) > NAME_LIMIT:
        raise UsageError(f"name: at most {NAME_LIMIT} characters")
    if len(rule.days) != 7:
        raise UsageError("days: seven flags, Sunday first")
    if not rule.once and not any(rule.days):
        raise UsageError("days: choose at least one day (or a date for a one-off rule)")
    if rule.once is not None and not 2000 <= rule.once.year <= 2099:
        raise UsageError("date: the device takes years 2000-2099")
    for at in (rule.start, rule.end):
        if at is None:
            continue
        if at.basis == CLOCK and not 0 <= at.minutes <= 1439:
            raise UsageError("time: 00:00 to 23:59")
        if at.basis != CLOCK and not sun:
            raise UsageError(
                "sunrise/sunset: this device has no location set, so it cannot know when"
                " the sun rises; use a clock time"
            )
        if at.basis != CLOCK and abs(at.minutes) > OFFSET_LIMIT:
            raise UsageError("time: at most 12 h before or after the sun")
    if rule.kind == SCHEDULE:
        if rule.action is None:
            raise UsageError("action: on or off")
        if rule.end is not None and rule.end_action is None:
            raise UsageError("the end time needs its action too (on or off)")
        if rule.end is not None and rule.end == rule.start:
            raise UsageError("the end time is the start time")
    else:
        if rule.end is None:
            raise UsageError("away mode needs an end time (--until)")
        if rule.end == rule.start:
            raise UsageError("away mode: the window is empty (start = end)")
    return rule


# -- reading what the device sent --------------------------------------------------------


def _int(raw: dict[str, Any], key: str, default: int) -> int:
    value = raw.get(key, default)
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _at(raw: dict[str, Any], prefix: str, missing: int = CLOCK) -> At | None:
    basis = _int(raw, f"{prefix}time_opt", missing)
    if basis in (SUNRISE, SUNSET):
        return At(basis, _int(raw, f"{prefix}offset", 0))
    if basis == CLOCK:
        return At(CLOCK, min(max(_int(raw, f"{prefix}min", 0), 0), 1439))
    return None


def parse_rule(kind: str, raw: dict[str, Any]) -> Rule:
    """A device's rule row as a ``Rule``; odd fields fall back, unknown ones are kept."""
    wday = raw.get("wday")
    days: tuple[bool, ...] = ALL_DAYS
    if isinstance(wday, list) and len(wday) == 7:
        days = tuple(bool(d) for d in wday)
    once: date | None = None
    if raw.get("repeat", 1) == 0:
        try:
            once = date(int(raw["year"]), int(raw["month"]), int(raw["day"]))
        except (KeyError, TypeError, ValueError, OverflowError):
            once = None
    start = _at(raw, "s") or At()
    end = _at(raw, "e", CLOCK if kind == AWAY else -1)  # a window always has an end
    action = end_action = None
    if kind == SCHEDULE:
        action = {1: True, 0: False}.get(_int(raw, "sact", -1))
        end_action = {1: True, 0: False}.get(_int(raw, "eact", -1))
        if end_action is None:
            end = None
    rule_id, name = raw.get("id", ""), raw.get("name", "")
    return Rule(
        kind,
        start,
        action,
        end,
        end_action,
        days,
        once,
        bool(_int(raw, "enable", 1)),
        name if isinstance(name, str) else "",
        rule_id if isinstance(rule_id, str) else str(rule_id),
        {k: v for k, v in raw.items() if k not in _MODELLED},
    )


_MODELLED = frozenset(
    {"id", "name", "enable", "wday", "repeat", "year", "month", "day", "stime_opt", "smin"}
    | {"soffset", "sact", "etime_opt", "emin", "eoffset", "eact"}
)


# -- the verbs, on one client -------------------------------------------------------------


async def old_dialect(client: DeviceClient) -> SysInfo:
    """The device's sysinfo; ``NotSupported`` on a newer (smart) device, which keeps
    its schedules in another form this client does not speak yet."""
    if await client.smart_side() is not None:
        raise NotSupported(
            f"{client.address}: schedules and away mode are not available for the newer"
            " (smart protocol) devices yet"
        )
    return client.sysinfo or await client.get_sysinfo()


async def list_rules(client: DeviceClient, kind: str, outlet: OutletSpec = None) -> list[Rule]:
    await old_dialect(client)
    return [parse_rule(kind, raw) for raw in await client.rules(kind, outlet)]


async def add_rule(client: DeviceClient, rule: Rule, outlet: OutletSpec = None) -> Rule:
    """Validate, add, and return the rule with the id the device gave it."""
    validate(rule, sun=supports_sun(await old_dialect(client)))
    reply = await client.query(catalog.add_rule(rule.kind, rule.args()), outlet)
    result = reply.get(rule.kind, {}).get("add_rule")
    rule_id = result.get("id") if isinstance(result, dict) else None
    if not isinstance(rule_id, str) or not rule_id:
        raise ProtocolError(f"{client.address}: add_rule gave no rule id")
    return replace(rule, id=rule_id)


async def edit_rule(client: DeviceClient, rule: Rule, outlet: OutletSpec = None) -> Rule:
    if not rule.id:
        raise UsageError("edit: the rule has no id")
    validate(rule, sun=supports_sun(await old_dialect(client)))
    await client.query(catalog.edit_rule(rule.kind, rule.args()), outlet)
    return rule


async def set_enabled(
    client: DeviceClient, rule: Rule, enabled: bool, outlet: OutletSpec = None
) -> Rule:
    """Pause or resume one rule (the device takes the whole rule back)."""
    await old_dialect(client)
    changed = replace(rule, enabled=enabled)
    await client.query(catalog.edit_rule(rule.kind, changed.args()), outlet)
    return changed


async def delete_rule(client: DeviceClient, rule: Rule, outlet: OutletSpec = None) -> None:
    await old_dialect(client)
    await client.query(catalog.delete_rule(rule.kind, rule.id), outlet)


async def delete_all(client: DeviceClient, kind: str, outlet: OutletSpec = None) -> None:
    await old_dialect(client)
    await client.query(catalog.delete_all_rules(kind), outlet)
