"""A simulated device speaking the "smart" JSON dialect (``{"method", "params"}``).

It knows nothing about HTTP or ciphers: ``handle(plaintext)`` answers one
decrypted request. Meter readings come from the same seeded loads as the old
simulator's, so a P316M outlet draws what an HS300 outlet would.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from ..loads import DEFAULT_LOADS, LOADS, Meter, noise, voltage
from ..profiles import REGION_LOCATION, REGION_VOLTAGE, derive_identity
from .energy import energy_spans
from .profiles import NewerProfile

UNKNOWN_METHOD = -1002
INVALID_PARAMS = -1008
CHILD_NOT_FOUND = -1012  # hypothetical firmware code for an unknown device_id
Reply = dict[str, Any]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


class SmartOutlet:
    """One relay: the plug itself, or one socket of a strip."""

    def __init__(self, position: int, device_id: str, nickname: str, meter: Meter) -> None:
        self.position = position  # 1-based, as strips report it
        self.device_id = device_id
        self.nickname = nickname
        self.meter = meter
        self.on = True
        self.on_since = time.time() - 3600 * (1 + 20 * noise(meter.seed, 99))

    def set_on(self, on: bool) -> None:
        now = time.time()
        self.meter.advance(now, self.on)
        if on and not self.on:
            self.on_since = now
        self.on = on

    def on_time(self) -> int:
        return int(time.time() - self.on_since) if self.on else 0


class SmartDevice:
    """State of one newer plug or strip, readable and settable from tests."""

    def __init__(
        self,
        profile: NewerProfile,
        *,
        seed: int,
        alias: str | None = None,
        loads: Sequence[str] | None = None,
        night_light: bool = False,
    ) -> None:
        self.profile = profile
        self.seed = seed
        self.identity = derive_identity(profile.identity_profile(), seed)
        self.device_id = self.identity.device_id
        self.mac = self.identity.mac_as("-")
        tail = self.identity.mac.replace(":", "")[-4:]
        self.nickname = alias or f"{profile.model} {tail}"
        self.night_light = night_light and profile.is_strip
        self.requests = 0
        self.reboots = 0
        self.led_rule = "always"
        self.has_led = True  # tests turn it off to see NotSupported
        now = time.time()
        outlets = []
        for i in range(profile.outlets or 1):
            load = LOADS[
                loads[i]
                if loads and i < len(loads)
                else DEFAULT_LOADS[(seed + i) % len(DEFAULT_LOADS)]
            ]
            child_id = self.identity.child_id(i) if profile.is_strip else self.device_id
            outlets.append(
                SmartOutlet(i + 1, child_id, f"Plug {i + 1}", Meter(load, seed * 10 + i, now))
            )
        self.outlets = outlets
        self._methods: dict[str, Callable[[SmartOutlet | None, Any], Reply]] = {
            "get_device_info": self._device_info,
            "set_device_info": self._set_device_info,
            "component_nego": self._components,
            "get_device_time": self._time,
            "get_energy_usage": self._energy_usage,
            "get_current_power": self._current_power,
            "get_emeter_data": self._emeter_data,
            "get_energy_data": self._energy_data,
            "get_child_device_list": self._child_list,
            "get_child_device_component_list": self._child_components,
            "device_reboot": self._reboot,
            "get_led_info": self._led_info,
            "set_led_info": self._set_led_info,
        }

    # -- what tests read --------------------------------------------------------

    def outlet(self, key: int | str) -> SmartOutlet:
        """An outlet by 0-based index or device_id."""
        if isinstance(key, int):
            return self.outlets[key]
        return next(o for o in self.outlets if o.device_id == key)

    def power(self, outlet: SmartOutlet) -> float:
        return outlet.meter.power(time.time(), outlet.on)

    # -- the protocol -----------------------------------------------------------

    def handle(self, plaintext: bytes) -> bytes:
        """Answer one decrypted smart request with the reply's plaintext bytes."""
        self.requests += 1
        try:
            request = json.loads(plaintext)
        except (ValueError, RecursionError):
            request = None
        if not isinstance(request, dict):
            return b'{"error_code":-1003,"msg":"JSON formatting error"}'
        return json.dumps(self.call(request, None), separators=(",", ":")).encode()

    def call(self, request: dict[str, Any], outlet: SmartOutlet | None) -> Reply:
        """One request (maybe a multipleRequest or control_child) as a reply object."""
        method, params = request.get("method"), request.get("params")
        if method == "multipleRequest":
            requests = params.get("requests") if isinstance(params, dict) else None
            if not isinstance(requests, list):
                return {"error_code": INVALID_PARAMS, "msg": "Invalid params"}
            responses = []
            for sub in requests:
                answer = self.call(sub if isinstance(sub, dict) else {}, outlet)
                responses.append(
                    {"method": sub.get("method") if isinstance(sub, dict) else None, **answer}
                )
                if answer["error_code"] != 0:
                    break  # firmware stops at the first error
            return {"error_code": 0, "result": {"responses": responses}}
        if method == "control_child" and outlet is None and self.profile.is_strip:
            return self._control_child(params)
        handler = self._methods.get(method) if isinstance(method, str) else None
        if handler is None or (outlet is not None and str(method).startswith("get_child")):
            return {"error_code": UNKNOWN_METHOD, "msg": "Module not support"}
        try:
            result = handler(outlet, params if isinstance(params, dict) else {})
        except (KeyError, TypeError, ValueError):
            return {"error_code": INVALID_PARAMS, "msg": "Invalid params"}
        return {"error_code": 0, "result": result}

    def _control_child(self, params: Any) -> Reply:
        if not isinstance(params, dict) or not isinstance(params.get("requestData"), dict):
            return {"error_code": INVALID_PARAMS, "msg": "Invalid params"}
        child = next((o for o in self.outlets if o.device_id == params.get("device_id")), None)
        if child is None:
            return {"error_code": CHILD_NOT_FOUND, "msg": "Child device not found"}
        return {
            "error_code": 0,
            "result": {"responseData": self.call(params["requestData"], child)},
        }

    def _info_common(self) -> Reply:
        p, ident = self.profile, self.identity
        lat, lon = REGION_LOCATION[p.region]
        return {
            "device_id": self.device_id,
            "fw_ver": p.fw_ver,
            "hw_ver": p.hw_ver,
            "type": p.device_type,
            "model": p.model,
            "mac": self.mac,
            "hw_id": ident.hw_id,
            "fw_id": "0" * 32,
            "oem_id": ident.oem_id,
            "ip": "127.0.0.1",
            "time_diff": 0,
            "ssid": b64("Simulated Wi-Fi"),
            "rssi": -40 - int(10 * noise(self.seed, 7)),
            "signal_level": 3,
            "latitude": round(lat * 10_000),
            "longitude": round(lon * 10_000),
            "lang": "en_US",
            "avatar": "plug",
            "region": "Europe/Berlin",
            "specs": "",
            "nickname": b64(self.nickname),
            "has_set_location_info": True,
            "overheated": False,
        }

    def _device_info(self, outlet: SmartOutlet | None, params: Any) -> Reply:
        if outlet is not None:
            return self._child_info(outlet)
        info = self._info_common()
        if not self.profile.is_strip:
            main = self.outlets[0]
            info.update(
                device_on=main.on, on_time=main.on_time(), default_states={"type": "last_states"}
            )
        return info

    def _child_info(self, o: SmartOutlet) -> Reply:
        p = self.profile
        return {
            "device_id": o.device_id,
            "position": o.position,
            "slot_number": p.outlets,
            "nickname": b64(o.nickname),
            "device_on": o.on,
            "on_time": o.on_time(),
            "model": p.model,
            "type": p.device_type,
            "category": "plug.powerstrip.sub-plug",
            "original_device_id": self.device_id,
            "fw_ver": p.fw_ver,
            "hw_ver": p.hw_ver,
            "mac": self.mac.replace("-", ""),
            "overheat_status": "normal",
        }

    def _set_device_info(self, outlet: SmartOutlet | None, params: dict[str, Any]) -> Reply:
        target = outlet or (None if self.profile.is_strip else self.outlets[0])
        if "device_on" in params:
            if target is None or not isinstance(params["device_on"], bool):
                raise ValueError("device_on")
            target.set_on(params["device_on"])
        if "nickname" in params:
            name = base64.b64decode(params["nickname"], validate=True).decode()
            if target is not None and outlet is not None:
                target.nickname = name
            else:
                self.nickname = name
        return {}

    def _components(self, outlet: SmartOutlet | None, params: Any) -> Reply:
        names = [
            "device",
            "firmware",
            "quick_setup",
            "time",
            "wireless",
            "schedule",
            "countdown",
            *(["led"] if self.has_led and outlet is None else []),
            "default_states",
            "device_local_time",
            "iot_cloud",
        ]
        if self.profile.metered:
            names += ["energy_monitoring", "power_protection", "current_protection"]
        if self.profile.is_strip and outlet is None:
            names += ["child_device", "control_child"]
        return {"component_list": [{"id": name, "ver_code": 1} for name in names]}

    def _reboot(self, outlet: SmartOutlet | None, params: Any) -> Reply:
        if outlet is not None:
            raise KeyError("outlets do not reboot")
        self.reboots += 1
        return {}

    def _led_info(self, outlet: SmartOutlet | None, params: Any) -> Reply:
        if not self.has_led or outlet is not None:
            raise KeyError("no LED")
        return {"led_rule": self.led_rule, "led_status": self.led_rule != "never"}

    def _set_led_info(self, outlet: SmartOutlet | None, params: dict[str, Any]) -> Reply:
        if (
            not self.has_led
            or outlet is not None
            or params["led_rule"]
            not in (
                "always",
                "never",
                "auto",
            )
        ):
            raise KeyError("no LED")
        self.led_rule = params["led_rule"]
        return {}

    def _time(self, outlet: SmartOutlet | None, params: Any) -> Reply:
        return {"timestamp": int(time.time()), "time_diff": 0, "region": "Europe/Berlin"}

    def _metered(self, outlet: SmartOutlet | None) -> SmartOutlet:
        if not self.profile.metered or (self.profile.is_strip and outlet is None):
            raise KeyError("no meter")
        return outlet or self.outlets[0]

    def _energy_usage(self, outlet: SmartOutlet | None, params: Any) -> Reply:
        o = self._metered(outlet)
        now = time.time()
        o.meter.advance(now, o.on)
        today = date.today()
        month = sum(wh for _, wh in o.meter.days(today.year, today.month, today, o.meter.day_wh))
        minutes = sum(
            m for _, m in o.meter.days(today.year, today.month, today, o.meter.day_minutes)
        )
        return {
            "today_runtime": o.meter.day_minutes(today),
            "month_runtime": minutes,
            "today_energy": round(o.meter.day_wh(today)),
            "month_energy": round(month),
            "local_time": datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
            "electricity_charge": [0, 0, 0],
            "current_power": round(self.power(o) * 1000),
        }

    def _current_power(self, outlet: SmartOutlet | None, params: Any) -> Reply:
        return {"current_power": round(self.power(self._metered(outlet)))}  # W, an integer

    def _emeter_data(self, outlet: SmartOutlet | None, params: Any) -> Reply:
        o = self._metered(outlet)
        now = time.time()
        o.meter.advance(now, o.on)
        volts = voltage(REGION_VOLTAGE[self.profile.region], self.seed, now)
        watts = self.power(o)
        amps = watts / volts / o.meter.load.power_factor
        return {
            "current_ma": round(amps * 1000),
            "voltage_mv": round(volts * 1000),
            "power_mw": round(watts * 1000),
            "energy_wh": round(o.meter.total_wh),
        }

    def _energy_data(self, outlet: SmartOutlet | None, params: dict[str, Any]) -> Reply:
        """Wh per hour, day or month, over the spans the firmware takes (else -1008)."""
        o = self._metered(outlet)
        o.meter.advance(time.time(), o.on)
        start, end = int(params["start_timestamp"]), int(params["end_timestamp"])
        interval = int(params["interval"])
        first = datetime.fromtimestamp(start, UTC).date()
        last = datetime.fromtimestamp(max(start, end), UTC).date()
        data = energy_spans(o.meter, first, last, interval, date.today())
        return {
            "local_time": datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
            "data": data,
            "start_timestamp": start,
            "end_timestamp": end,
            "interval": interval,
        }

    def _child_list(self, outlet: SmartOutlet | None, params: Any) -> Reply:
        if not self.profile.is_strip:
            raise KeyError("not a strip")
        # Real strips do not list children in position order: rotate by the seed.
        shift = self.seed % len(self.outlets) or 1
        children = [self._child_info(o) for o in self.outlets[shift:] + self.outlets[:shift]]
        if self.night_light:
            children.insert(
                1,
                {
                    "device_id": self.device_id + "NL",
                    "position": 0,
                    "model": self.profile.model,
                    "type": "SMART.TAPOBULB",
                    "category": "plug.powerstrip.sub-bulb",
                    "nickname": b64("Night light"),
                    "device_on": False,
                    "brightness": 50,
                },
            )
        return {"child_device_list": children, "start_index": 0, "sum": len(children)}

    def _child_components(self, outlet: SmartOutlet | None, params: Any) -> Reply:
        if not self.profile.is_strip:
            raise KeyError("not a strip")
        parts = [
            {"device_id": o.device_id, "component_list": self._components(o, {})["component_list"]}
            for o in self.outlets
        ]
        return {"child_component_list": parts, "start_index": 0, "sum": len(parts)}
