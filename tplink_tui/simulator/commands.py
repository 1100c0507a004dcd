"""Request handlers, one function per module method, and the dispatcher.

A handler gets the device, the outlets named by ``context.child_ids`` (None when
there is no context) and the method's arguments (a dict); it returns the
method's result, or raises ``CommandError`` for an err_code. Several modules and
methods in one request are answered together, in request order.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .args import Args, CommandError, Handler, Reply, Targets, chosen, flag, int_arg
from .emeter import EMETER
from .profiles import Profile
from .rules import rule_handlers

if TYPE_CHECKING:
    from .device import SimulatedDevice

MODULE_NOT_SUPPORT = {"err_code": -1, "err_msg": "module not support"}
MEMBER_NOT_SUPPORT = {"err_code": -2, "err_msg": "member not support"}
INVALID = {"err_code": -3, "err_msg": "invalid argument"}
MAX_ALIAS = 31


# -- system ---------------------------------------------------------------------


def get_sysinfo(dev: SimulatedDevice, targets: Targets, args: Args) -> Reply:
    return dev.sysinfo()


def set_relay_state(dev: SimulatedDevice, targets: Targets, args: Args) -> Reply:
    dev.set_relay(flag(args, "state"), chosen(dev, targets))
    return {}


def set_led_off(dev: SimulatedDevice, targets: Targets, args: Args) -> Reply:
    dev.led_on = not flag(args, "off")
    return {}


def set_dev_alias(dev: SimulatedDevice, targets: Targets, args: Args) -> Reply:
    alias = args.get("alias")
    if not isinstance(alias, str) or not 0 < len(alias) <= MAX_ALIAS:
        raise CommandError()
    if targets is None:
        dev.alias = alias
    for outlet in targets or ():
        outlet.alias = alias
    return {}


def _delay(args: dict[str, Any]) -> float:
    value = args.get("delay", 1)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 3600:
        raise CommandError()
    return float(value)


def reboot(dev: SimulatedDevice, targets: Targets, args: Args) -> Reply:
    dev.schedule_reboot(_delay(args), reset=False)
    return {}


def reset(dev: SimulatedDevice, targets: Targets, args: Args) -> Reply:
    dev.schedule_reboot(_delay(args), reset=True)
    return {}


# -- time ------------------------------------------------------------------------


def get_time(dev: SimulatedDevice, targets: Targets, args: Args) -> Reply:
    t = dev.local_now()
    return {
        "year": t.year,
        "month": t.month,
        "mday": t.day,
        "hour": t.hour,
        "min": t.minute,
        "sec": t.second,
    }


def get_timezone(dev: SimulatedDevice, targets: Targets, args: Args) -> Reply:
    return {"index": dev.tz_index}


def set_timezone(dev: SimulatedDevice, targets: Targets, args: Args) -> Reply:
    index = int_arg(args, "index", 0, 109, default=dev.tz_index)
    if any(k in args for k in ("year", "month", "mday", "hour", "min", "sec")):
        year, month, mday = (int_arg(args, k, 0, 9999) for k in ("year", "month", "mday"))
        hour, minute, sec = (int_arg(args, k, 0, 59) for k in ("hour", "min", "sec"))
        try:
            wanted = datetime(year, month, mday, hour, minute, sec)
        except ValueError:
            raise CommandError() from None
        dev.clock_offset = wanted.timestamp() - time.time()
    dev.tz_index = index
    return {}


# -- cnCloud, netif ----------------------------------------------------------------


def cloud_info(dev: SimulatedDevice, targets: Targets, args: Args) -> Reply:
    bound = 1 if dev.cloud_user else 0
    return {
        "username": dev.cloud_user,
        "server": "n-devs.tplinkcloud.com",
        "binded": bound,
        "cld_connection": bound,
        "illegalType": 0,
        "stopConnect": 0,
        "tcspStatus": bound,
        "fwDlPage": "",
        "tcspInfo": "",
        "fwNotifyType": 0,
    }


def cloud_bind(dev: SimulatedDevice, targets: Targets, args: Args) -> Reply:
    user = args.get("username")
    if not isinstance(user, str) or not user or not isinstance(args.get("password"), str):
        raise CommandError()
    dev.cloud_user = user
    return {}


def cloud_unbind(dev: SimulatedDevice, targets: Targets, args: Args) -> Reply:
    dev.cloud_user = ""
    return {}


_SSIDS = ("HomeNet", "Linksys-5G", "NETGEAR42", "FRITZ!Box 7590", "Vodafone-A1B2", "TP-Link_2.4")


def get_scaninfo(dev: SimulatedDevice, targets: Targets, args: Args) -> Reply:
    refresh = args.get("refresh", 0)
    if refresh not in (0, 1):
        raise CommandError()
    count = 3 + dev.seed % 4
    ap_list = [
        {"ssid": _SSIDS[(dev.seed + i) % len(_SSIDS)], "key_type": (0, 2, 3, 3)[(dev.seed + i) % 4]}
        for i in range(count)
    ]
    return {"ap_list": ap_list, "wpa3_support": 0}


def get_stainfo(dev: SimulatedDevice, targets: Targets, args: Args) -> Reply:
    return {"ssid": "HomeNet", "key_type": 3, "rssi": dev.rssi(time.time())}


# -- registry and dispatch -----------------------------------------------------------

BASE: dict[str, dict[str, Handler]] = {
    "system": {
        "get_sysinfo": get_sysinfo,
        "set_relay_state": set_relay_state,
        "set_led_off": set_led_off,
        "set_dev_alias": set_dev_alias,
        "reboot": reboot,
        "reset": reset,
    },
    "time": {"get_time": get_time, "get_timezone": get_timezone, "set_timezone": set_timezone},
    "schedule": rule_handlers("schedule"),
    "count_down": rule_handlers("count_down"),
    "anti_theft": rule_handlers("anti_theft"),
    "cnCloud": {
        "get_info": cloud_info,
        "bind": cloud_bind,
        "unbind": cloud_unbind,
        "get_intl_fw_list": lambda d, t, a: {"fw_list": []},
    },
    "netif": {"get_scaninfo": get_scaninfo, "get_stainfo": get_stainfo},
}


def modules_for(profile: Profile) -> dict[str, dict[str, Handler]]:
    return {**BASE, "emeter": EMETER} if profile.meter else BASE


def _targets(dev: SimulatedDevice, context: Any) -> Targets:
    """Outlets named by the context; a plug ignores context as real ones do."""
    if context is None or not dev.profile.is_strip:
        return None
    ids = context.get("child_ids") if isinstance(context, dict) else None
    if not isinstance(ids, list) or not ids:
        raise CommandError()
    by_id = {o.id: o for o in dev.relays}
    chosen = []
    for child_id in ids:
        outlet = by_id.get(child_id) if isinstance(child_id, str) else None
        if outlet is None:
            raise CommandError()
        if outlet not in chosen:
            chosen.append(outlet)
    return chosen


def dispatch(dev: SimulatedDevice, request: dict[str, Any]) -> dict[str, Any]:
    """Answer every module and method of a request."""
    context_error: CommandError | None = None
    targets: Targets = None
    try:
        targets = _targets(dev, request.get("context"))
    except CommandError as exc:
        context_error = exc
    reply: dict[str, Any] = {}
    for module, methods in request.items():
        if module == "context":
            continue
        handlers = dev.modules.get(module)
        if handlers is None:
            reply[module] = dict(MODULE_NOT_SUPPORT)
            continue
        if methods is None:
            methods = {}
        if not isinstance(methods, dict):
            reply[module] = dict(INVALID)
            continue
        out: dict[str, Any] = {}
        for method, args in methods.items():
            handler = handlers.get(method)
            if handler is None:
                out[method] = dict(MEMBER_NOT_SUPPORT)
            elif context_error is not None or not isinstance(args, (dict, type(None))):
                out[method] = dict(INVALID)
            else:
                try:
                    result = handler(dev, targets, args or {})
                except CommandError as exc:
                    result = {"err_code": exc.code, "err_msg": exc.msg}
                else:
                    result.setdefault("err_code", 0)
                out[method] = result
        reply[module] = out
    return reply
