"""The command catalog: every named request, in one place for the CLI and the client.

The names are the old command-line client's shortcuts, so ``send -c NAME`` keeps
working; the client builds its requests from the same functions.
"""

from __future__ import annotations

from typing import Any

Request = dict[str, Any]


def sysinfo() -> Request:
    return {"system": {"get_sysinfo": {}}}


def relay(on: bool) -> Request:
    return {"system": {"set_relay_state": {"state": int(on)}}}


def led(on: bool) -> Request:
    return {"system": {"set_led_off": {"off": int(not on)}}}


def alias(name: str) -> Request:
    return {"system": {"set_dev_alias": {"alias": name}}}


def reboot(delay: int = 1) -> Request:
    return {"system": {"reboot": {"delay": delay}}}


def reset(delay: int = 1) -> Request:
    return {"system": {"reset": {"delay": delay}}}


def realtime() -> Request:
    return {"emeter": {"get_realtime": {}}}


def daystat(year: int, month: int) -> Request:
    return {"emeter": {"get_daystat": {"year": year, "month": month}}}


def monthstat(year: int) -> Request:
    return {"emeter": {"get_monthstat": {"year": year}}}


def erase_energy() -> Request:
    return {"emeter": {"erase_emeter_stat": {}}}


def runtime_daystat(year: int, month: int) -> Request:
    """Minutes on per day of a month (the ``schedule`` module keeps runtime)."""
    return {"schedule": {"get_daystat": {"year": year, "month": month}}}


def runtime_monthstat(year: int) -> Request:
    return {"schedule": {"get_monthstat": {"year": year}}}


def erase_runtime() -> Request:
    return {"schedule": {"erase_runtime_stat": {}}}


def time() -> Request:
    return {"time": {"get_time": {}}}


def timezone() -> Request:
    return {"time": {"get_timezone": {}}}


def set_time(
    year: int, month: int, mday: int, hour: int, minute: int, sec: int, index: int
) -> Request:
    args = {
        "year": year,
        "month": month,
        "mday": mday,
        "hour": hour,
        "min": minute,
        "sec": sec,
        "index": index,
    }
    return {"time": {"set_timezone": args}}


def rules(module: str) -> Request:
    return {module: {"get_rules": {}}}


def add_rule(module: str, rule: dict[str, Any]) -> Request:
    """A new ``schedule`` or ``anti_theft`` rule (the device answers its ``id``)."""
    return {module: {"add_rule": rule}}


def edit_rule(module: str, rule: dict[str, Any]) -> Request:
    """Replace the rule whose ``id`` is in ``rule`` (the device wants the whole rule)."""
    return {module: {"edit_rule": rule}}


def delete_rule(module: str, rule_id: str) -> Request:
    return {module: {"delete_rule": {"id": rule_id}}}


def delete_all_rules(module: str) -> Request:
    return {module: {"delete_all_rules": {}}}


def to_outlet(request: Request, child_id: str) -> Request:
    """``request`` addressed to one strip outlet (the ``context`` beside the module)."""
    return {**request, "context": {"child_ids": [child_id]}}


def countdown_set(seconds: int, on: bool, name: str = "tplink-tui timer") -> Request:
    rule = {"enable": 1, "delay": seconds, "act": int(on), "name": name}
    return {"count_down": {"delete_all_rules": {}, "add_rule": rule}}


def countdown_clear() -> Request:
    return delete_all_rules("count_down")


def cloud_info() -> Request:
    return {"cnCloud": {"get_info": {}}}


def wlan_scan(refresh: bool = True) -> Request:
    return {"netif": {"get_scaninfo": {"refresh": int(refresh)}}}


# The old client's ``-c`` shortcuts, name -> request.
COMMANDS: dict[str, Request] = {
    "info": sysinfo(),
    "on": relay(True),
    "off": relay(False),
    "ledon": led(True),
    "ledoff": led(False),
    "cloudinfo": cloud_info(),
    "wlanscan": wlan_scan(),
    "time": time(),
    "schedule": rules("schedule"),
    "countdown": rules("count_down"),
    "antitheft": rules("anti_theft"),
    "reboot": reboot(),
    "reset": reset(),
    "energy": realtime(),
    "energy_reset": erase_energy(),
    "runtime_reset": erase_runtime(),
}

# Shortcuts that need an explicit confirmation from a person.
DANGEROUS = frozenset({"reboot", "reset", "energy_reset", "runtime_reset"})
