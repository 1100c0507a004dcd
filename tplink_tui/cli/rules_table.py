"""``schedule`` and ``antitheft``: list, add, edit, enable, disable, delete, delete-all.

``schedule HOST add --at 07:30 --days mon-fri --action on [--outlet N]`` and its
siblings. Every rule is checked (``devices.rules.validate``) before anything is
sent; ids may be given as the rule's number in the list, its id, or an id prefix.
Newer (smart) devices say NotSupported: their schedules are another format.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from ..devices import rules as model
from ..devices import rules_input as typed
from ..devices.client import DeviceClient
from ..devices.models import OutletInfo
from ..devices.rules import AWAY, SCHEDULE, Rule
from .common import (
    OUTLET_HELP,
    add_yes,
    confirm,
    describe_target,
    on_off,
    outlet_ref,
    print_json,
    resolve,
    run_with_info,
    safe,
    stdout,
)
from .common import table as new_table
from .main import verb

Namespace = argparse.Namespace
AddVerb = Callable[..., argparse.ArgumentParser]
_LABEL = {SCHEDULE: "schedule", AWAY: "away mode"}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], add: AddVerb) -> None:
    """The two verbs, each with its actions (no action: list the rules)."""
    for name, kind, summary in (
        ("schedule", SCHEDULE, "list, add, edit, enable, disable or delete schedule rules"),
        ("antitheft", AWAY, "away mode: list, add, edit, enable, disable or delete windows"),
    ):
        parser = add(sub, name, summary, run_rules, outlet=True, description=_description(kind))
        parser.set_defaults(module=kind, rule_op="list")
        ops = parser.add_subparsers(dest="rule_op", metavar="ACTION")
        for op, help_text in (
            ("list", "show the rules (the default)"),
            ("add", "add a rule"),
            ("edit", "change a rule: only the options given"),
            ("enable", "resume a rule"),
            ("disable", "pause a rule (it stays stored)"),
            ("delete", "delete a rule"),
            ("delete-all", "delete every rule of this table (asks first)"),
        ):
            child = ops.add_parser(op, help=help_text, description=help_text)
            child.add_argument(
                "-o", "--outlet", metavar="N|ID|NAME", help=OUTLET_HELP, default=argparse.SUPPRESS
            )
            if op in ("edit", "enable", "disable", "delete"):
                child.add_argument("rule", metavar="ID", help="the rule's number, id or id prefix")
            if op in ("add", "edit"):
                _rule_options(child, kind, required=op == "add")
            if op == "delete-all":
                add_yes(child)


def _description(kind: str) -> str:
    if kind == SCHEDULE:
        return (
            "Schedule rules switch the device (or one outlet) at a time of day.\n"
            "  schedule HOST                        list, in plain words\n"
            "  schedule HOST add --at 07:30 --days mon-fri --action on\n"
            "  schedule HOST add --at sunset-15 --action on --until 23:00\n"
            "  schedule HOST edit 2 --at 07:45      (the rule's number, id or id prefix)\n"
            "  schedule HOST disable 2 | enable 2 | delete 2 | delete-all"
        )
    return (
        "Away mode switches the device on and off at random in a window, so the home\n"
        "looks lived in.\n"
        "  antitheft HOST add --at 18:00 --until 23:00 --days weekends\n"
        "  antitheft HOST edit 1 --until 23:30 | disable 1 | delete 1 | delete-all"
    )


def _rule_options(parser: argparse.ArgumentParser, kind: str, *, required: bool) -> None:
    parser.add_argument("--at", required=required, metavar="TIME", help=f"start: {typed.AT_HELP}")
    parser.add_argument("--days", metavar="DAYS", help=f"{typed.DAYS_HELP} (default every day)")
    parser.add_argument("--date", metavar="YYYY-MM-DD", help="once, on this date (not weekly)")
    if kind == SCHEDULE:
        parser.add_argument(
            "--action", choices=("on", "off"), required=required, help="switch on or off"
        )
        parser.add_argument("--until", metavar="TIME", help="switch back at TIME (optional)")
        parser.add_argument(
            "--then", choices=("on", "off"), help="what --until does (default: the opposite)"
        )
        parser.add_argument("--no-until", action="store_true", help="edit: drop the end time")
    else:
        parser.add_argument("--until", required=required, metavar="TIME", help="end of the window")
    parser.add_argument("--name", help=f"a label (at most {model.NAME_LIMIT} characters)")
    state = parser.add_mutually_exclusive_group()
    state.add_argument("--disabled", action="store_true", help="store it paused")
    state.add_argument("--enabled", action="store_true", help="edit: resume it too")


def rule_from_args(args: Namespace, kind: str, base: Rule | None = None) -> Rule:
    """The rule the options describe (on top of ``base`` when editing); no I/O."""
    schedule = kind == SCHEDULE
    rule = typed.change(
        base or Rule(kind, model.At()),
        at=args.at,
        days=args.days,
        once=args.date,
        action=None if not schedule or args.action is None else args.action == "on",
        until=args.until,
        then=None if not schedule or args.then is None else args.then == "on",
        drop_end=getattr(args, "no_until", False),
        name=args.name,
        enabled=True if args.enabled else False if args.disabled else None,
    )
    return model.validate(rule, sun=True)  # whether the device knows the sun: asked later


def _rule_dict(rule: Rule, number: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": rule.id, "summary": rule.words(), "enabled": rule.enabled}
    if number is not None:
        out["number"] = number
    return {**out, "name": rule.name, "rule": rule.args()}


@verb
def run_rules(args: Namespace) -> int:
    target = resolve(args.host)
    kind, op = args.module, args.rule_op or "list"
    fresh = rule_from_args(args, kind) if op == "add" else None
    if op == "delete-all":
        where = f"{target.label}{' outlet ' + str(args.outlet) if args.outlet else ''}"
        confirm(args, f"Delete every {_LABEL[kind]} rule of {where}")

    async def action(client: DeviceClient) -> tuple[OutletInfo | None, Any, list[Rule]]:
        outlet = await client.resolve_outlet(args.outlet) if args.outlet is not None else None
        spec = outlet.id if outlet is not None else None
        done: Any = None
        if fresh is not None:
            done = await model.add_rule(client, fresh, spec)
        elif op == "delete-all":
            await model.delete_all(client, kind, spec)
        elif op != "list":
            rule = typed.find_rule(await model.list_rules(client, kind, spec), args.rule)
            if op == "edit":
                done = await model.edit_rule(client, rule_from_args(args, kind, rule), spec)
            elif op in ("enable", "disable"):
                done = await model.set_enabled(client, rule, op == "enable", spec)
            else:
                await model.delete_rule(client, rule, spec)
                done = rule
        return outlet, done, await model.list_rules(client, kind, spec)

    (outlet, done, rules), seen = run_with_info(args, target, action)
    if args.json:
        data: dict[str, Any] = {"host": target.host, "port": target.port}
        data.update(outlet=outlet_ref(outlet), module=kind)
        if op == "delete" and done is not None:
            data["deleted"] = done.id
        elif op == "delete-all":
            data["deleted_all"] = True
        elif done is not None:
            data[{"add": "added", "edit": "edited"}.get(op, op + "d")] = _rule_dict(done)
        data["rules"] = [_rule_dict(r, i) for i, r in enumerate(rules, 1)]
        print_json(data)
        return 0
    where = describe_target(target, outlet, seen)
    console = stdout()
    if op != "list":
        what = {"add": "added", "edit": "changed", "enable": "enabled", "disable": "paused"}
        if op == "delete-all":
            console.print(f"{where}: every {_LABEL[kind]} rule deleted")
        elif done is not None:
            verb_text = what.get(op, "deleted")
            console.print(f"{where}: {verb_text} [bold]{safe(done.words())}[/]")
    if not rules:
        console.print(f"{where}: no {_LABEL[kind]} rules")
        return 0
    table = new_table(f"{where}  [dim]{_LABEL[kind]}[/]")
    for column in ("#", "rule", "enabled", "name", "id"):
        table.add_column(column, style="dim" if column in ("#", "id") else None)
    for number, rule in enumerate(rules, 1):
        table.add_row(
            str(number), safe(rule.words()), on_off(rule.enabled), safe(rule.name), safe(rule.id)
        )
    console.print(table)
    return 0
