"""Rule tables of the schedule, count_down and anti_theft modules, and their verbs.

All three share the verbs (get_rules, add_rule, edit_rule, delete_rule,
delete_all_rules, set_overall_enable); they differ in which fields a rule must
have. Timers (count_down firing) are armed by the device, which owns the loop;
schedule and away-mode rules run by its clock (``clock.RuleRunner``).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .args import Args, CommandError, Handler, Reply, Targets, flag
from .clock import Location, events, location
from .emeter import RUNTIME

if TYPE_CHECKING:
    from .device import Outlet, SimulatedDevice


def _int(args: dict[str, Any], key: str, low: int, high: int, required: bool = True) -> None:
    value = args.get(key)
    if value is None and not required:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise CommandError()


def _check_days(rule: dict[str, Any]) -> None:
    wday = rule.get("wday", [1] * 7)
    if not isinstance(wday, list) or len(wday) != 7 or any(d not in (0, 1) for d in wday):
        raise CommandError()
    _int(rule, "repeat", 0, 1, required=False)
    if rule.get("repeat", 1) == 0:
        try:
            date(rule["year"], rule["month"], rule["day"])
        except (KeyError, TypeError, ValueError):
            raise CommandError() from None
    elif not any(wday):
        raise CommandError()


def _check_time(rule: dict[str, Any], prefix: str, options: tuple[int, ...]) -> None:
    option = rule.get(f"{prefix}time_opt", 0)
    if isinstance(option, bool) or option not in options:
        raise CommandError()
    if option == 0:
        _int(rule, f"{prefix}min", 0, 1439)
    elif option in (1, 2):
        _int(rule, f"{prefix}offset", -720, 720, required=False)


def _check_schedule(rule: dict[str, Any]) -> None:
    _int(rule, "sact", -1, 1)
    _int(rule, "eact", -1, 1, required=False)
    _int(rule, "enable", 0, 1, required=False)
    _check_time(rule, "s", (0, 1, 2))
    if rule.get("eact", -1) != -1:
        _check_time(rule, "e", (0, 1, 2))
    _check_days(rule)


def _check_countdown(rule: dict[str, Any]) -> None:
    _int(rule, "enable", 0, 1)
    _int(rule, "act", 0, 1)
    # Whole seconds on real plugs; fractions are accepted so tests can be quick.
    delay = rule.get("delay")
    if isinstance(delay, bool) or not isinstance(delay, (int, float)) or not 0 < delay <= 86400:
        raise CommandError()


def _check_anti_theft(rule: dict[str, Any]) -> None:
    _int(rule, "smin", 0, 1439)
    _int(rule, "emin", 0, 1439)
    _int(rule, "enable", 0, 1, required=False)
    _int(rule, "frequency", 1, 30, required=False)
    _check_time(rule, "s", (0,))
    _check_time(rule, "e", (0,))
    _check_days(rule)


CHECKS: dict[str, Callable[[dict[str, Any]], None]] = {
    "schedule": _check_schedule,
    "count_down": _check_countdown,
    "anti_theft": _check_anti_theft,
}


class RuleTable:
    """One module's rules for one target (a plug, a strip outlet, or a strip parent)."""

    def __init__(self, kind: str, salt: str) -> None:
        self.kind = kind
        self.rules: list[dict[str, Any]] = []
        self.enable = 1
        self._salt = salt
        self._counter = 0
        self.deadlines: dict[str, float] = {}  # count_down: rule id -> monotonic deadline

    def _new_id(self) -> str:
        self._counter += 1
        text = f"{self._salt}/{self.kind}/{self._counter}"
        return hashlib.md5(text.encode()).hexdigest().upper()

    def find(self, rule_id: Any) -> dict[str, Any]:
        for rule in self.rules:
            if rule["id"] == rule_id:
                return rule
        raise CommandError(-14, "entry not exist")

    def get_rules(self) -> Reply:
        rules = self.rules
        if self.kind == "count_down":
            now = time.monotonic()
            rules = [
                {**r, "remain": max(0, round(self.deadlines.get(r["id"], now) - now))}
                for r in rules
            ]
        return {"rule_list": rules, "enable": self.enable, "version": 2}

    def add(self, args: dict[str, Any]) -> dict[str, Any]:
        if self.kind == "count_down" and self.rules:
            raise CommandError(-10, "table is full")
        if len(self.rules) >= 32:
            raise CommandError(-10, "table is full")
        rule = {k: v for k, v in args.items() if k != "id"}
        CHECKS[self.kind](rule)
        rule = {"id": self._new_id(), **rule}
        self.rules.append(rule)
        return rule

    def edit(self, args: dict[str, Any]) -> dict[str, Any]:
        rule = self.find(args.get("id"))
        merged = {**rule, **args}
        CHECKS[self.kind](merged)
        rule.update(merged)
        return rule

    def delete(self, args: dict[str, Any]) -> str:
        rule = self.find(args.get("id"))
        self.rules.remove(rule)
        self.deadlines.pop(rule["id"], None)
        return str(rule["id"])

    def clear(self) -> None:
        self.rules.clear()
        self.deadlines.clear()

    def next_action(self, now: datetime, where: Location = None) -> Reply:
        """The next schedule action from local time ``now``, as get_next_action reports it."""
        if self.kind != "schedule" or not self.enable or not self.rules:
            return {"type": -1}
        best: tuple[datetime, int, dict[str, Any]] | None = None
        for rule in self.rules:
            if rule.get("enable", 1):
                found = next(events(rule, now, now + timedelta(days=8), where), None)
                if found is not None and (best is None or found[0] < best[0]):
                    best = (found[0], found[1], rule)
        if best is None:
            return {"type": -1}
        at, action, rule = best
        seconds = at.hour * 3600 + at.minute * 60
        return {"type": 1, "schd_sec": seconds, "action": action, "id": rule["id"]}


# -- the verbs ------------------------------------------------------------------


def _tables(
    dev: SimulatedDevice, targets: Targets, kind: str
) -> list[tuple[RuleTable, list[Outlet]]]:
    """Rule tables addressed by the request, each with the outlets its rules switch."""
    if targets:
        return [(o.rules[kind], [o]) for o in targets]
    if dev.profile.is_strip:
        return [(dev.parent_rules[kind], dev.relays)]
    return [(dev.relays[0].rules[kind], dev.relays)]


def rule_handlers(kind: str) -> dict[str, Handler]:
    def get_rules(dev: SimulatedDevice, targets: Targets, args: Args) -> Reply:
        return _tables(dev, targets, kind)[0][0].get_rules()

    def add_rule(dev: SimulatedDevice, targets: Targets, args: Args) -> Reply:
        rule_id = ""
        for table, outlets in _tables(dev, targets, kind):
            rule = table.add(args)
            rule_id = rule["id"]
            dev.arm_rule(table, rule, outlets)
        return {"id": rule_id}

    def edit_rule(dev: SimulatedDevice, targets: Targets, args: Args) -> Reply:
        for table, outlets in _tables(dev, targets, kind):
            dev.arm_rule(table, table.edit(args), outlets)
        return {}

    def delete_rule(dev: SimulatedDevice, targets: Targets, args: Args) -> Reply:
        for table, _ in _tables(dev, targets, kind):
            dev.disarm(table.delete(args))
        return {}

    def delete_all_rules(dev: SimulatedDevice, targets: Targets, args: Args) -> Reply:
        for table, _ in _tables(dev, targets, kind):
            for rule in table.rules:
                dev.disarm(rule["id"])
            table.clear()
        return {}

    def set_overall_enable(dev: SimulatedDevice, targets: Targets, args: Args) -> Reply:
        enable = flag(args, "enable")
        for table, outlets in _tables(dev, targets, kind):
            table.enable = int(enable)
            for rule in table.rules:
                dev.arm_rule(table, rule, outlets)
        return {}

    handlers: dict[str, Handler] = {
        "get_rules": get_rules,
        "add_rule": add_rule,
        "edit_rule": edit_rule,
        "delete_rule": delete_rule,
        "delete_all_rules": delete_all_rules,
        "set_overall_enable": set_overall_enable,
    }
    if kind == "schedule":

        def get_next_action(dev: SimulatedDevice, targets: Targets, args: Args) -> Reply:
            table = _tables(dev, targets, kind)[0][0]
            return table.next_action(dev.local_now(), location(dev))

        handlers["get_next_action"] = get_next_action
        handlers.update(RUNTIME)
    return handlers
