"""The smart-dialect half of ``DeviceClient``: the same methods, for Tapo/newer Kasa.

``DeviceClient`` hands a call here once it knows the device speaks the smart
dialect; the results are the models an HS100/HS300 gives (``SysInfo``,
``OutletInfo``, ``EnergyReading``), so nothing above the client tells them apart.
A strip's outlets are reached through ``control_child``. A 9999 ("session timed
out") means the device did nothing: the session is reset and the request sent
once more, even a switch. What the dialect cannot do raises ``NotSupported``.
"""

from __future__ import annotations

import contextlib
import time
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from ..errors import DeviceError, NotSupported, ProtocolError
from . import smart, smart_energy
from .models import DeviceState, EnergyReading, EnergyStat, OutletInfo, SysInfo, summed_stats

if TYPE_CHECKING:
    from .client import DeviceClient
    from .outlets import OutletSpec

UNKNOWN_METHOD = (-1001, -1002)
"""Codes for 'this firmware has no such method': try the next way of asking."""
METER_METHODS = ("get_emeter_data", "get_energy_usage", "get_current_power")
METER_PARSERS = {
    "get_emeter_data": smart.parse_emeter_data,
    "get_energy_usage": smart.parse_energy_usage,
    "get_current_power": smart.parse_current_power,
}
MAX_PAGES = 10


class SmartSide:
    """Smart-dialect implementations of the client's public methods."""

    def __init__(self, client: DeviceClient) -> None:
        self.client = client
        self._meter_methods = list(METER_METHODS)  # the first that works is kept first
        self._batching = True  # until the firmware refuses multipleRequest

    @property
    def address(self) -> str:
        return self.client.address

    @property
    def components(self) -> dict[str, int]:
        return self.client.components

    # -- the request path ---------------------------------------------------------

    async def send(self, body: dict[str, Any] | bytes, retry_safe: bool | None = None) -> Any:
        """One request; its decoded reply object, after one renewal on a lost session."""
        payload = body if isinstance(body, bytes) else smart.encode(body)
        safe = (
            retry_safe
            if retry_safe is not None
            else (isinstance(body, dict) and smart.is_read_only(body))
        )
        data = await self.client.exchange(payload, safe)
        reply = smart.decode(data)
        if reply.get("error_code") in smart.SESSION_CODES:
            self.client.connection.reset()  # refused unseen: sending again repeats nothing
            reply = smart.decode(await self.client.exchange(payload, safe))
        return reply

    async def call(self, body: dict[str, Any]) -> Any:
        """One request's ``result``, or the project error for its ``error_code``."""
        method = str(body.get("method", ""))
        reply = await self.send(body)
        if method == "control_child":
            return smart.child_result(reply, self.address)
        return smart.check(reply, method, self.address)

    async def child(self, outlet: OutletSpec, inner: dict[str, Any]) -> Any:
        target = await self.client.resolve_outlet(outlet)
        return await self.call(smart.control_child(target.id, inner))

    # -- state ----------------------------------------------------------------------

    async def get_sysinfo(self) -> SysInfo:
        sysinfo, _ = await self._read_state(meter=False)
        return sysinfo

    async def _read_state(self, meter: bool) -> tuple[SysInfo, Any]:
        """Device info, a strip's first page of outlets and a plug's meter, batched.

        One ``multipleRequest`` when the firmware takes it; the meter's result (or
        None when it was not asked or not answered) comes back for ``update``."""
        if not self.components:
            with contextlib.suppress(DeviceError):
                nego = await self.call(smart.component_nego())
                self.client.components = smart.parse_components(nego)
        strip = "child_device" in self.components
        bodies = [smart.get_device_info()]
        if strip:
            bodies.append(smart.get_child_device_list(0))
        metered = meter and not strip and "energy_monitoring" in self.components
        if metered:
            bodies.append(smart.request(self._meter_methods[0]))
        results = await self._batch(bodies)
        info = results.get("get_device_info")
        if isinstance(info, DeviceError):
            raise info
        children: tuple[OutletInfo, ...] = ()
        if strip:
            children = await self._children(results.get("get_child_device_list"))
        try:
            sysinfo = smart.parse_device_info(info, children, self.components)
        except ProtocolError as exc:
            raise ProtocolError(f"{self.address}: {exc}") from None
        self.client.sysinfo = sysinfo
        reading = results.get(self._meter_methods[0]) if metered else None
        if isinstance(reading, DeviceError):
            if reading.err_code not in UNKNOWN_METHOD:
                raise reading
            if len(self._meter_methods) > 1:
                del self._meter_methods[0]  # this firmware lacks it: ask the next way
            reading = None
        return sysinfo, reading

    async def _batch(self, bodies: list[dict[str, Any]]) -> dict[str, Any]:
        """{method: result or its DeviceError}; one request when batching works."""
        if len(bodies) == 1 or not self._batching:
            return {str(b["method"]): await self._result_or_error(b) for b in bodies}
        try:
            result = smart.check(
                await self.send(smart.multiple_request(bodies)), "multipleRequest", self.address
            )
        except DeviceError as exc:
            if exc.err_code not in UNKNOWN_METHOD:
                raise
            self._batching = False  # firmware without multipleRequest: one at a time
            return await self._batch(bodies)
        responses = result.get("responses") if isinstance(result, dict) else None
        if not isinstance(responses, list):
            raise ProtocolError(f"{self.address}: multipleRequest reply has no 'responses' list")
        asked = {str(b["method"]) for b in bodies}
        answers: dict[str, Any] = {}
        for response in responses:
            method = response.get("method") if isinstance(response, dict) else None
            if method not in asked:
                raise ProtocolError(
                    f"{self.address}: the batch reply answers {method!r}, which was not asked"
                )
            try:
                answers[str(method)] = smart.check(response, str(method), self.address)
            except DeviceError as exc:
                answers[str(method)] = exc
        for body in bodies:  # the device stopped at an error: ask the rest alone
            method = str(body["method"])
            if method not in answers:
                answers[method] = await self._result_or_error(body)
        return answers

    async def _result_or_error(self, body: dict[str, Any]) -> Any:
        try:
            return await self.call(body)
        except DeviceError as exc:
            return exc

    async def _children(self, first: Any = None) -> tuple[OutletInfo, ...]:
        """Every page of ``get_child_device_list`` (10 children a page on real strips)."""
        if isinstance(first, DeviceError):
            raise first
        items: list[Any] = []
        result = first
        for _ in range(MAX_PAGES):
            if result is None:
                result = await self.call(smart.get_child_device_list(len(items)))
            page = result.get("child_device_list") if isinstance(result, dict) else None
            if not isinstance(page, list):
                break
            items += page
            total = result.get("sum")
            if not page or not isinstance(total, int) or len(items) >= total:
                break
            result = None
        try:
            return smart.parse_children({"child_device_list": items})
        except ProtocolError as exc:
            raise ProtocolError(f"{self.address}: {exc}") from None

    async def update(self) -> DeviceState:
        sysinfo, result = await self._read_state(meter=True)
        energy: EnergyReading | None = None
        outlet_energy: dict[int, EnergyReading] = {}
        if sysinfo.has_emeter and not sysinfo.is_strip:
            energy = (
                self._parse(self._meter_methods[0], result)
                if result is not None
                else (await self._reading(None))
            )
        elif sysinfo.has_emeter:
            for outlet in sysinfo.children:
                reading = await self._reading(outlet.id)
                if reading is not None:
                    outlet_energy[outlet.index] = reading
        return DeviceState(sysinfo, energy, outlet_energy, time.time())

    def _parse(self, method: str, result: Any) -> EnergyReading:
        try:
            return METER_PARSERS[method](result)
        except ProtocolError as exc:
            raise ProtocolError(f"{self.address}: {exc}") from None

    async def _reading(self, child_id: str | None) -> EnergyReading | None:
        """The fullest reading the firmware gives: emeter data, else usage, else power."""
        for method in list(self._meter_methods):
            body = smart.request(method)
            if child_id is not None:
                body = smart.control_child(child_id, body)
            try:
                result = await self.call(body)
            except DeviceError as exc:
                if exc.err_code in UNKNOWN_METHOD and len(self._meter_methods) > 1:
                    self._meter_methods.remove(method)
                    continue
                raise
            return self._parse(method, result)
        return None

    # -- actions ------------------------------------------------------------------

    async def set_relay(self, on: bool, outlet: OutletSpec = None) -> None:
        switch = smart.set_device_info(device_on=on)
        if outlet is not None:
            await self.child(outlet, switch)
            return
        sysinfo = self.client.sysinfo or await self.get_sysinfo()
        if not sysinfo.is_strip:
            await self.call(switch)
            return
        for child in sysinfo.children:  # the whole strip, as an HS300 does
            await self.call(smart.control_child(child.id, switch))

    async def toggle(self, outlet: OutletSpec = None) -> bool:
        sysinfo = await self.get_sysinfo()
        current = (
            (await self.client.resolve_outlet(outlet)).is_on
            if outlet is not None
            else (sysinfo.is_on)
        )
        await self.set_relay(not current, outlet)
        return not current

    async def set_alias(self, alias: str, outlet: OutletSpec = None) -> None:
        rename = smart.set_device_info(nickname=alias)
        if outlet is not None:
            await self.child(outlet, rename)
        else:
            await self.call(rename)

    async def set_led(self, on: bool) -> None:
        self._require("led", "an LED to switch")
        rule = "always" if on else "never"
        await self.call(smart.request("set_led_info", {"led_rule": rule, "led_status": on}))

    async def reboot(self, delay: int = 1) -> None:
        await self.call(smart.request("device_reboot", {"delay": int(delay)}))

    async def get_time(self) -> datetime:
        if "time" not in self.components and "device_local_time" not in self.components:
            raise NotSupported(f"{self.address}: the device has no clock to read")
        result = await self.call(smart.request("get_device_time"))
        try:
            stamp = int(result["timestamp"])
            offset = timedelta(minutes=int(result.get("time_diff", 0)))
            return datetime.fromtimestamp(stamp, timezone(offset)).replace(tzinfo=None)
        except (KeyError, TypeError, ValueError, OverflowError, OSError) as exc:
            raise ProtocolError(f"{self.address}: unusable time reply ({exc})") from None

    async def raw(self, request: dict[str, Any] | bytes) -> dict[str, Any]:
        """Send a smart request as is and return the reply, ``error_code`` unchecked."""
        reply: dict[str, Any] = await self.send(request)
        return reply

    # -- energy ---------------------------------------------------------------------

    def _require(self, component: str, what: str) -> None:
        if component not in self.components:
            model = self.client.sysinfo.model if self.client.sysinfo else "the device"
            raise NotSupported(f"{self.address}: {model} has no {what}")

    async def energy(self, outlet: OutletSpec = None) -> EnergyReading:
        sysinfo = self.client.sysinfo or await self.get_sysinfo()
        self._require("energy_monitoring", "energy meter")
        child_id = None
        if outlet is not None:
            child_id = (await self.client.resolve_outlet(outlet)).id
        elif sysinfo.is_strip:
            raise NotSupported(f"{self.address}: {sysinfo.model} meters each outlet: name one")
        reading = await self._reading(child_id)
        if reading is None:
            raise NotSupported(f"{self.address}: {sysinfo.model} gives no reading")
        return reading

    async def day_stats(self, year: int, month: int, outlet: OutletSpec = None) -> list[EnergyStat]:
        """A month's days from ``get_energy_data``; a strip with no outlet named: summed."""
        smart_energy.check_period(year, month)
        first, last = smart_energy.quarter_span(year, month)
        request = smart_energy.get_energy_data(first, last, smart_energy.DAILY)
        per_outlet = [
            smart_energy.daily_stats(values, first, year, month)
            for values in await self._energy_data(request, outlet)
        ]
        return per_outlet[0] if len(per_outlet) == 1 else summed_stats(per_outlet)

    async def month_stats(self, year: int, outlet: OutletSpec = None) -> list[EnergyStat]:
        """A year's months from ``get_energy_data``; a strip with no outlet named: summed."""
        smart_energy.check_period(year)
        request = smart_energy.get_energy_data(
            date(year, 1, 1), date(year, 12, 1), smart_energy.MONTHLY
        )
        per_outlet = [
            smart_energy.monthly_stats(values, year)
            for values in await self._energy_data(request, outlet)
        ]
        return per_outlet[0] if len(per_outlet) == 1 else summed_stats(per_outlet)

    async def _energy_data(self, request: dict[str, Any], outlet: OutletSpec) -> list[list[float]]:
        """The Wh values of one request: for the plug, the outlet named, or every outlet."""
        sysinfo = self.client.sysinfo or await self.get_sysinfo()
        self._require("energy_monitoring", "energy meter")
        targets: list[str | None]
        if outlet is not None:
            targets = [(await self.client.resolve_outlet(outlet)).id]
        elif sysinfo.is_strip:
            targets = [child.id for child in sysinfo.children]
        else:
            targets = [None]
        lists = []
        for child_id in targets:
            body = request if child_id is None else smart.control_child(child_id, request)
            try:
                result = await self.call(body)
            except DeviceError as exc:
                if exc.err_code not in UNKNOWN_METHOD:
                    raise
                raise NotSupported(
                    f"{self.address}: {sysinfo.model} keeps no energy statistics"
                ) from None
            try:
                lists.append(smart_energy.energy_values(result))
            except ProtocolError as exc:
                raise ProtocolError(f"{self.address}: {exc}") from None
        return lists
