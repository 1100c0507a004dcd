"""Rule tables of the schedule, count_down and anti_theft modules, and their verbs.

All three share the verbs (get_rules, add_rule, edit_rule, delete_rule,
delete_all_rules, set_overall_enable); they differ in which fields a rule must
have. Timers (count_down firing) are armed by the device, which owns the loop.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .args import Args, CommandError, Handler, Reply, Targets, flag
from .emeter import RUNTIME

if TYPE_CHECKING:
    from .device import Outlet, SimulatedDevice


def _int(args: dict[str, Any], key: str, low: int, high: int, required: bool = True) -> None:
    value = args.get(key)
    if value is None and not required:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise CommandError()


def _check_schedule(rule: dict[str, Any]) -> None:
    _int(rule, "sact", -1, 1)
    _int(rule, "smin", 0, 1439)
    _int(rule, "enable", 0, 1, required=False)
    wday = rule.get("wday", [1] * 7)
    if not isinstance(wday, list) or len(wday) != 7:
        raise CommandError()


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

    def next_action(self, now: datetime) -> Reply:
        """The next schedule action from local time ``now``, as get_next_action reports it."""
        if self.kind != "schedule" or not self.enable or not self.rules:
            return {"type": -1}
        best: tuple[datetime, dict[str, Any]] | None = None
        for rule in self.rules:
            if not rule.get("enable", 1):
                continue
            wday = rule.get("wday") or [1] * 7
            for ahead in range(8):
                day = now + timedelta(days=ahead)
                # Kasa's wday list starts on Sunday.
                if not wday[(day.weekday() + 1) % 7]:
                    continue
                minute = int(rule["smin"])
                at = day.replace(hour=minute // 60, minute=minute % 60, second=0, microsecond=0)
                if at > now:
                    if best is None or at < best[0]:
                        best = (at, rule)
                    break
        if best is None:
            return {"type": -1}
        at, rule = best
        seconds = at.hour * 3600 + at.minute * 60
        return {"type": 1, "schd_sec": seconds, "action": rule.get("sact", -1), "id": rule["id"]}


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
            return _tables(dev, targets, kind)[0][0].next_action(dev.local_now())

        handlers["get_next_action"] = get_next_action
        handlers.update(RUNTIME)
    return handlers
