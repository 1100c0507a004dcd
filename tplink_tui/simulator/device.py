"""One simulated device: its state, its sysinfo, and the request entry point.

The device knows nothing about sockets: ``handle(plaintext)`` takes one decrypted
request and returns the reply bytes. The server owns the transports and asks the
device whether it is ``online``. Request handlers live in ``commands``.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from ..address import format_address
from .clock import RuleRunner, location
from .commands import dispatch, modules_for
from .faults import Faults, inject_error
from .loads import DEFAULT_LOADS, LOADS, Meter, noise, smooth
from .outlet import RULE_KINDS, Outlet
from .profiles import (
    PLUG_TYPE,
    REGION_TIMEZONE,
    Profile,
    default_alias,
    derive_identity,
)
from .rules import RuleTable

__all__ = ["NO_ACTION", "RULE_KINDS", "Outlet", "SimulatedDevice"]

NO_ACTION = {"type": -1}
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


class SimulatedDevice:
    """State of one plug or strip, readable (and settable) from tests."""

    def __init__(
        self,
        profile: Profile,
        *,
        seed: int,
        alias: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: Faults | None = None,
        outlet_aliases: Sequence[str] | None = None,
        loads: Sequence[str] | None = None,
        on: bool | Sequence[bool] = True,
        room: str | None = None,
    ) -> None:
        self.profile = profile
        self.seed = seed
        self.identity = derive_identity(profile, seed)
        self.host = host
        self.port = port
        self.room = room
        self.alias = alias or default_alias(profile, self.identity)
        self.led_on = True
        self.tz_index = REGION_TIMEZONE[profile.region]
        self.clock_offset = 0.0  # seconds added to the host's clock by set_timezone
        self.cloud_user = ""
        self.requests = 0
        self.booting = False
        self.flap_down = False
        self.faults = faults if faults is not None else Faults()
        self.rng = random.Random(seed)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.timers: dict[str, asyncio.TimerHandle] = {}
        self.on_change: Callable[[], None] | None = None  # the server's online/offline sync
        self._outlets = self._make_outlets(outlet_aliases, loads, on)
        self.parent_rules = {k: RuleTable(k, self.identity.device_id) for k in RULE_KINDS}
        self.rule_runner = RuleRunner(self)  # schedule and away rules, by the local clock
        self._static = self._static_sysinfo()
        self.modules = modules_for(profile)

    # -- construction -----------------------------------------------------

    def _make_outlets(
        self,
        aliases: Sequence[str] | None,
        loads: Sequence[str] | None,
        on: bool | Sequence[bool],
    ) -> list[Outlet]:
        count = self.profile.outlets or 1
        now = time.time()
        outlets = []
        for i in range(count):
            if loads and i < len(loads):
                load = LOADS[loads[i]]
            else:
                load = LOADS[DEFAULT_LOADS[(self.seed + i) % len(DEFAULT_LOADS)]]
            meter = Meter(load, self.seed * 10 + i, now)
            is_on = on if isinstance(on, bool) else bool(on[i]) if i < len(on) else True
            if self.profile.is_strip:
                outlet_id = self.identity.child_id(i)
                alias = aliases[i] if aliases and i < len(aliases) else f"Plug {i + 1}"
            else:
                outlet_id, alias = self.identity.device_id, ""
            outlets.append(Outlet(i, outlet_id, alias, meter, is_on))
        return outlets

    def _static_sysinfo(self) -> dict[str, Any]:
        """Every sysinfo field in firmware order; dynamic ones are overwritten per request."""
        p, ident = self.profile, self.identity
        loc: dict[str, Any]
        if p.location == "int":
            loc = {
                "longitude_i": round(ident.longitude * 10_000),
                "latitude_i": round(ident.latitude * 10_000),
            }
        else:
            loc = {"latitude": ident.latitude, "longitude": ident.longitude}
        mac = {p.mac_key: ident.mac_as(p.mac_sep)}
        if p.is_strip:
            info: dict[str, Any] = {
                "sw_ver": p.sw_ver, "hw_ver": p.hw_ver, "model": p.model,
                "deviceId": ident.device_id, "oemId": ident.oem_id, "hwId": ident.hw_id,
                "rssi": 0, **loc, "alias": "", **dict(p.extra), p.type_key: PLUG_TYPE,
                "feature": p.feature, **mac, "updating": 0, "led_off": 0,
                "children": [], "child_num": p.outlets,
            }  # fmt: skip
        else:
            info = {
                "sw_ver": p.sw_ver, "hw_ver": p.hw_ver, p.type_key: PLUG_TYPE,
                "model": p.model, **mac, "dev_name": p.dev_name, "alias": "",
                "relay_state": 0, "on_time": 0, "feature": p.feature, "updating": 0,
                **dict(p.extra), "rssi": 0, "led_off": 0, **loc, "hwId": ident.hw_id,
                "fwId": "0" * 32, "deviceId": ident.device_id, "oemId": ident.oem_id,
                "next_action": NO_ACTION,
            }  # fmt: skip
            if p.dev_name is None:
                del info["dev_name"]
        info["err_code"] = 0
        return info

    # -- what tests read ----------------------------------------------------

    @property
    def model(self) -> str:
        return self.profile.model

    @property
    def device_id(self) -> str:
        return self.identity.device_id

    @property
    def mac(self) -> str:
        return self.identity.mac

    @property
    def outlets(self) -> list[Outlet]:
        """The sockets of a strip; empty for a single plug (it has no children)."""
        return self._outlets if self.profile.is_strip else []

    @property
    def relays(self) -> list[Outlet]:
        """Every relay, a plug's single one included."""
        return self._outlets

    @property
    def relay_on(self) -> bool:
        """A plug's relay; for a strip, whether any outlet is on."""
        return any(o.is_on for o in self._outlets)

    @property
    def online(self) -> bool:
        return not (self.faults.offline or self.flap_down or self.booting)

    @property
    def address(self) -> str:
        return format_address(self.host, self.port)

    def outlet(self, key: int | str) -> Outlet:
        """An outlet by index, id or alias."""
        for o in self._outlets:
            if key in (o.index, o.id, o.alias):
                return o
        raise KeyError(key)

    def power(self, outlet: Outlet | None = None) -> float:
        """Watts drawn right now (one outlet, or the whole device)."""
        now = time.time()
        chosen = [outlet] if outlet is not None else self._outlets
        return sum(o.meter.power(now, o.is_on) for o in chosen)

    def __repr__(self) -> str:
        return f"<SimulatedDevice {self.model} {self.alias!r} at {self.address}>"

    # -- state changes (also used by tests to set things up) -----------------

    def set_relay(self, on: bool, outlets: Sequence[Outlet] | None = None) -> None:
        now = time.time()
        for o in outlets if outlets is not None else self._outlets:
            o.meter.advance(now, o.is_on)
            if on and not o.is_on:
                o.on_since = now
            o.is_on = on

    def set_offline(self, offline: bool = True) -> None:
        """Refuse connections and ignore datagrams (or come back)."""
        self.faults.offline = offline

    def remove_outlet(self, key: int | str) -> Outlet:
        """A strip outlet vanishes from sysinfo (``restore_outlet`` brings it back)."""
        if not self.profile.is_strip:
            raise ValueError(f"{self.model} is not a strip")
        outlet = self.outlet(key)
        self._outlets.remove(outlet)
        self._static["child_num"] = len(self._outlets)
        return outlet

    def restore_outlet(self, outlet: Outlet) -> None:
        if outlet not in self._outlets:
            self._outlets.append(outlet)
            self._outlets.sort(key=lambda o: o.index)
            self._static["child_num"] = len(self._outlets)

    def local_now(self) -> datetime:
        return datetime.fromtimestamp(time.time() + self.clock_offset)

    def rssi(self, now: float) -> int:
        base = -42 - 25 * noise(self.seed, 1)
        return round(base + 4 * (smooth(self.seed, now, 30.0) - 0.5))

    def _notify(self) -> None:
        if self.on_change is not None:
            self.on_change()

    # -- timers: count_down rules, reboot --------------------------------------

    def _get_loop(self) -> asyncio.AbstractEventLoop | None:
        if self.loop is None:
            try:
                self.loop = asyncio.get_running_loop()
            except RuntimeError:
                return None
        return self.loop

    def arm_rule(self, table: RuleTable, rule: dict[str, Any], outlets: list[Outlet]) -> None:
        """(Re)start a count_down rule's timer; the others run by the clock (``clock``)."""
        loop = self._get_loop()
        if table.kind != "count_down":
            self.rule_runner.start()
            return
        rule_id = rule["id"]
        self.disarm(rule_id)
        table.deadlines.pop(rule_id, None)
        if not (rule.get("enable") and table.enable) or loop is None:
            return
        delay = float(rule["delay"])
        table.deadlines[rule_id] = time.monotonic() + delay
        self.timers[rule_id] = loop.call_later(delay, self._fire, table, rule_id, outlets)

    def disarm(self, rule_id: str) -> None:
        handle = self.timers.pop(rule_id, None)
        if handle is not None:
            handle.cancel()

    def _fire(self, table: RuleTable, rule_id: str, outlets: list[Outlet]) -> None:
        self.timers.pop(rule_id, None)
        table.deadlines.pop(rule_id, None)
        for rule in table.rules:
            if rule["id"] == rule_id:
                self.set_relay(bool(rule["act"]), outlets)
                rule["enable"] = 0

    def cancel_timers(self) -> None:
        for handle in self.timers.values():
            handle.cancel()
        self.timers.clear()
        for table in self._all_tables():
            table.deadlines.clear()
        self.rule_runner.stop()

    def _all_tables(self) -> list[RuleTable]:
        tables = list(self.parent_rules.values())
        for o in self._outlets:
            tables.extend(o.rules.values())
        return tables

    def schedule_reboot(self, delay: float, *, reset: bool) -> None:
        """Reply first, then drop every connection and stay down for ``delay`` seconds."""
        loop = self._get_loop()
        if loop is not None:
            loop.call_soon(self._go_down, delay, reset)

    def _go_down(self, delay: float, reset: bool) -> None:
        now = time.time()
        for o in self._outlets:
            o.meter.advance(now, o.is_on)
        self.cancel_timers()
        self.booting = True
        self._notify()
        assert self.loop is not None
        self.loop.call_later(max(delay, 0.05), self._come_up, reset)

    def _come_up(self, reset: bool) -> None:
        now = time.time()
        for o in self._outlets:
            o.meter.reboot(now)
            if o.is_on:
                o.on_since = now
        if reset:
            self._factory_reset()
        for table in self._all_tables():
            for rule in table.rules:
                rule["enable"] = 0 if table.kind == "count_down" else rule.get("enable", 1)
        self.booting = False
        self.rule_runner.start()
        self._notify()

    def _factory_reset(self) -> None:
        self.alias = default_alias(self.profile, self.identity)
        self.led_on = True
        self.tz_index = REGION_TIMEZONE[self.profile.region]
        self.clock_offset = 0.0
        self.cloud_user = ""
        for o in self._outlets:
            if self.profile.is_strip:
                o.alias = f"Plug {o.index + 1}"
            o.meter.erase()
            o.meter.erase_runtime()
        for table in self._all_tables():
            table.clear()
            table.enable = 1

    # -- the protocol ---------------------------------------------------------

    def sysinfo(self) -> dict[str, Any]:
        now = time.time()
        info = self._static.copy()
        info["alias"] = self.alias
        info["rssi"] = self.rssi(now)
        info["led_off"] = 0 if self.led_on else 1
        if self.profile.is_strip:
            info["children"] = [
                {
                    "id": o.id,
                    "state": 1 if o.is_on else 0,
                    "alias": o.alias,
                    "on_time": o.on_time(now),
                    "next_action": self._next_action(o.rules["schedule"]),
                }
                for o in self._outlets
            ]
        else:
            main = self._outlets[0]
            info["relay_state"] = 1 if main.is_on else 0
            info["on_time"] = main.on_time(now)
            info["next_action"] = self._next_action(main.rules["schedule"])
            if "active_mode" in info:
                info["active_mode"] = self._active_mode(main)
        return info

    @staticmethod
    def _active_mode(outlet: Outlet) -> str:
        if outlet.rules["count_down"].deadlines:
            return "count_down"
        schedule = outlet.rules["schedule"]
        if schedule.enable and any(r.get("enable", 1) for r in schedule.rules):
            return "schedule"
        return "none"

    def _next_action(self, table: RuleTable) -> dict[str, Any]:
        return table.next_action(self.local_now(), location(self)) if table.rules else NO_ACTION

    def handle(self, plaintext: bytes) -> bytes:
        """Answer one decrypted request with the reply's plaintext bytes."""
        self.requests += 1
        try:
            request = json.loads(plaintext.decode())
        except (ValueError, RecursionError):
            request = None
        if not isinstance(request, dict):
            return b'{"err_code":-1,"err_msg":"json format error"}'
        reply = dispatch(self, request)
        if self.faults.error is not None:
            inject_error(reply, request, self.faults.error)
        return _dumps(reply).encode()

    def handle_json(self, request: dict[str, Any]) -> dict[str, Any]:
        """Answer a request given as a dict, without any socket (handy in unit tests)."""
        return dict(json.loads(self.handle(json.dumps(request).encode())))
