"""The async device client: one object per device, used by the CLI, TUI and SmartPlug.

It owns one persistent ``Connection`` and turns protocol replies into typed
models and project errors. Every request comes from the ``catalog``. Strip
outlets are addressed with ``outlet=`` given as a 0-based index, a full child id,
its 2-character short id, or the outlet name (see ``outlets``).

Every reply is checked against its request before it is used: a module or method
that was not asked for (or an asked module missing) means the reply belongs to
another request, so it is a ``ProtocolError`` and the connection is dropped. The
check lives here, not in the transport, because the transport moves frames and
knows nothing of modules, while the client parses each reply once anyway: the
check costs no second parse. It runs right after the request returns, before any
other task can use the connection (no ``await`` in between).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from .. import codec
from ..errors import DeviceError, NotSupported, OutletNotFound, ProtocolError
from ..transport import DEFAULT_TIMEOUT, is_read_only
from ..transports.errors import Credentials
from . import catalog
from .link import TRANSPORTS, DeviceLink, both_dialects
from .models import (
    DeviceState,
    EnergyReading,
    EnergyStat,
    OutletInfo,
    SysInfo,
    parse_realtime,
    parse_stats,
    parse_sysinfo,
)
from .outlets import AmbiguousOutlet, OutletSpec, find_outlet, unique
from .replies import (
    MODULE_NOT_SUPPORTED,
    Expected,
    expected,
    expected_from_bytes,
    find_error,
    foreign_part,
)

__all__ = [
    "MODULE_NOT_SUPPORTED",
    "TRANSPORTS",
    "AmbiguousOutlet",
    "DeviceClient",
    "Expected",
    "OutletSpec",
    "expected",
    "find_error",
    "foreign_part",
]

_SYSINFO_REQUEST = catalog.sysinfo()
_REALTIME_REQUEST = catalog.realtime()
_BOTH_REQUEST = {**_SYSINFO_REQUEST, **_REALTIME_REQUEST}
# The poll requests, encoded once: update() runs every few seconds for every device.
_SYSINFO = codec.encode_request(_SYSINFO_REQUEST)
_REALTIME = codec.encode_request(_REALTIME_REQUEST)
_SYSINFO_AND_REALTIME = codec.encode_request(_BOTH_REQUEST)
_EXPECT_SYSINFO = expected(_SYSINFO_REQUEST)
_EXPECT_REALTIME = expected(_REALTIME_REQUEST)
_EXPECT_BOTH = expected(_BOTH_REQUEST)


class DeviceClient(DeviceLink):
    """Talk to one plug or strip. Safe to share: requests are serialised per device.

    ``transport`` is "auto", "xor", "klap" or "aes"; ``port`` None means the
    transport's own (9999, or 80 for KLAP/AES); see ``link`` for how auto decides.
    A smart-dialect device is served by ``smart_client.SmartSide`` behind the same
    methods."""

    def __init__(
        self,
        host: str,
        port: int | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        *,
        connect_timeout: float | None = None,
        transport: str = "auto",
        credentials: Credentials | None = None,
    ) -> None:
        opts = {"connect_timeout": connect_timeout, "credentials": credentials}
        super().__init__(host, port, timeout, transport=transport, **opts)  # type: ignore[arg-type]
        self.sysinfo: SysInfo | None = None
        self._outlet_requests: dict[str, bytes] = {}

    # -- the request path ---------------------------------------------------

    @both_dialects
    async def raw(self, request: dict[str, Any] | bytes) -> dict[str, Any]:
        """Send a request and return the reply object, without checking err_code.

        The reply must still answer the request (see the module docstring)."""
        asked: Expected | None
        if isinstance(request, dict):
            retry_safe = is_read_only(request)
            payload = codec.encode_request(request)
            asked = expected(request)
        else:
            retry_safe, payload = False, request
            asked = expected_from_bytes(payload)
        reply = codec.decode_json(await self._request(payload, retry_safe))
        if asked is not None:
            self._check(reply, asked)
        return reply

    def _drop_connection(self) -> None:
        """Abort the socket at once: nothing more read from it can be trusted.

        Synchronous, so no other task can send on it first. (A stand-in connection
        without ``abort``, as tests use, has no socket to drop.)"""
        abort = getattr(self.connection, "abort", None)
        if abort is not None:
            abort()

    def _check(self, reply: dict[str, Any], asked: Expected) -> None:
        """Refuse (and drop the connection on) a reply that answers another request."""
        foreign = foreign_part(reply, asked)
        if foreign is not None:
            self._drop_connection()
            raise ProtocolError(
                f"{self.address}: the reply holds {foreign}: it belongs to another"
                " request (connection dropped)"
            )

    @both_dialects
    async def query(self, request: dict[str, Any], outlet: OutletSpec = None) -> dict[str, Any]:
        """Send a request (to one outlet when given) and raise on any err_code."""
        if outlet is not None:
            target = await self.resolve_outlet(outlet)
            request = catalog.to_outlet(request, target.id)
        reply = await self.raw(request)
        error = find_error(reply, self.address)
        if error is not None:
            raise error
        return reply

    def _part(self, reply: dict[str, Any], module: str, method: str) -> Any:
        """Extract one method's result, raising DeviceError or ProtocolError."""
        body = reply.get(module)
        if not isinstance(body, dict):
            raise ProtocolError(f"{self.address}: reply has no {module!r} section")
        if find_error({module: body}) is not None:  # the address only for the message
            error = find_error({module: body}, self.address)
            assert error is not None
            raise error
        result = body.get(method)
        if not isinstance(result, dict):
            raise ProtocolError(f"{self.address}: reply has no {module}.{method} result")
        return result

    # -- state ----------------------------------------------------------------

    @both_dialects
    async def get_sysinfo(self) -> SysInfo:
        reply = await self._read(_SYSINFO, _EXPECT_SYSINFO)
        self.sysinfo = self._parse_sysinfo(self._part(reply, "system", "get_sysinfo"))
        return self.sysinfo

    def _parse_sysinfo(self, data: Any) -> SysInfo:
        try:
            return parse_sysinfo(data, self.sysinfo)
        except ProtocolError as exc:
            raise ProtocolError(f"{self.address}: {exc}") from None

    @both_dialects
    async def update(self) -> DeviceState:
        """Read sysinfo and meters: one batched request, plus one per metered outlet."""
        known = self.sysinfo
        batch_meter = known is not None and known.has_emeter and not known.is_strip
        if batch_meter:
            reply = await self._read(_SYSINFO_AND_REALTIME, _EXPECT_BOTH)
        else:
            reply = await self._read(_SYSINFO, _EXPECT_SYSINFO)
        sysinfo = self._parse_sysinfo(self._part(reply, "system", "get_sysinfo"))
        self.sysinfo = sysinfo
        energy: EnergyReading | None = None
        outlet_energy: dict[int, EnergyReading] = {}
        if sysinfo.has_emeter and not sysinfo.is_strip:
            if "emeter" not in reply:
                reply = await self._read(_REALTIME, _EXPECT_REALTIME)
            energy = self._reading_or_none(reply)
        elif sysinfo.has_emeter:
            shared = sysinfo.duplicate_ids
            for outlet in sysinfo.children:
                if outlet.id in shared:
                    continue  # whose reading would it be? none, rather than a wrong one
                reply = await self._outlet_realtime(outlet.id)
                self._check_slot(reply, outlet)
                reading = self._reading_or_none(reply)
                if reading is not None:
                    outlet_energy[outlet.index] = reading
        return DeviceState(sysinfo, energy, outlet_energy, time.time())

    async def _outlet_realtime(self, child_id: str) -> dict[str, Any]:
        payload = self._outlet_requests.get(child_id)
        if payload is None:
            request = catalog.to_outlet(_REALTIME_REQUEST, child_id)
            payload = self._outlet_requests[child_id] = codec.encode_request(request)
        return await self._read(payload, _EXPECT_REALTIME)

    async def _read(self, payload: bytes, asked: Expected) -> dict[str, Any]:
        """Send an encoded read-only request (safe to resend) and parse the reply."""
        reply = codec.decode_json(await self._request(payload, True))
        self._check(reply, asked)
        return reply

    def _check_slot(self, reply: dict[str, Any], outlet: OutletInfo) -> None:
        """A strip meter names its outlet (``slot_id``): another outlet's is a stray reply.

        Both conventions seen are accepted: the position in ``children`` and the
        number in the id's last two digits (HS300: the same)."""
        body = reply.get("emeter")
        result = body.get("get_realtime") if isinstance(body, dict) else None
        slot = result.get("slot_id") if isinstance(result, dict) else None
        if not isinstance(slot, int) or isinstance(slot, bool) or slot == outlet.index:
            return
        if outlet.short_id.isdigit() and slot == int(outlet.short_id):
            return
        self._drop_connection()
        raise ProtocolError(
            f"{self.address}: a reading for outlet slot {slot} came in answer to outlet"
            f" {outlet.index}: it belongs to another request (connection dropped)"
        )

    def _reading_or_none(self, reply: dict[str, Any]) -> EnergyReading | None:
        try:
            result = self._part(reply, "emeter", "get_realtime")  # errors name the address
        except DeviceError as exc:
            if exc.err_code == MODULE_NOT_SUPPORTED:
                return None
            raise
        try:
            return parse_realtime(result)
        except ProtocolError as exc:
            raise ProtocolError(f"{self.address}: {exc}") from None

    async def resolve_outlet(self, spec: OutletSpec) -> OutletInfo:
        """Find an outlet by 0-based index, full id, 2-character short id or name.

        AmbiguousOutlet when the spec, or the outlet's id, fits several outlets.

        A miss against a cached sysinfo re-reads it once: the outlet may have been
        renamed (or the strip changed) since the last poll.
        """
        cached = self.sysinfo is not None
        sysinfo = self.sysinfo or await self.get_sysinfo()
        found = find_outlet(sysinfo.children, spec)
        if found is None and cached:
            sysinfo = await self.get_sysinfo()
            found = find_outlet(sysinfo.children, spec)
        if found is not None:
            return unique(sysinfo, found)
        outlets = sysinfo.children
        if not outlets:
            raise OutletNotFound(f"{self.address}: {sysinfo.model} has no outlets to choose from")
        raise OutletNotFound(
            f"{self.address}: no outlet {spec!r}; {sysinfo.model} has {len(outlets)} outlets"
            f" (index 0-{len(outlets) - 1}, id, short id or name)"
        )

    # -- actions -------------------------------------------------------------

    @both_dialects
    async def set_relay(self, on: bool, outlet: OutletSpec = None) -> None:
        await self.query(catalog.relay(on), outlet)

    async def turn_on(self, outlet: OutletSpec = None) -> None:
        await self.set_relay(True, outlet)

    async def turn_off(self, outlet: OutletSpec = None) -> None:
        await self.set_relay(False, outlet)

    @both_dialects
    async def toggle(self, outlet: OutletSpec = None) -> bool:
        """Flip the device (or one outlet) from its current state; returns the new state."""
        sysinfo = await self.get_sysinfo()
        if outlet is not None:
            current = (await self.resolve_outlet(outlet)).is_on
        else:
            current = sysinfo.is_on
        await self.set_relay(not current, outlet)
        return not current

    @both_dialects
    async def set_led(self, on: bool) -> None:
        await self.query(catalog.led(on))

    @both_dialects
    async def set_alias(self, alias: str, outlet: OutletSpec = None) -> None:
        await self.query(catalog.alias(alias), outlet)

    @both_dialects
    async def reboot(self, delay: int = 1) -> None:
        await self.query(catalog.reboot(delay))

    @both_dialects
    async def reset(self, delay: int = 1) -> None:
        await self.query(catalog.reset(delay))

    # -- time -----------------------------------------------------------------

    @both_dialects
    async def get_time(self) -> datetime:
        reply = await self.query(catalog.time())
        data = self._part(reply, "time", "get_time")
        try:
            return datetime(
                data["year"], data["month"], data["mday"], data["hour"], data["min"], data["sec"]
            )
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise ProtocolError(f"{self.address}: unusable time reply ({exc})") from None

    @both_dialects
    async def sync_time(self, now: datetime | None = None) -> datetime:
        """Set the device clock to ``now`` (local time), keeping its timezone index."""
        now = now or datetime.now()
        index = 0
        try:
            reply = await self.query(catalog.timezone())
            index = int(self._part(reply, "time", "get_timezone").get("index", 0))
        except (DeviceError, ValueError, TypeError, OverflowError):
            pass
        await self.query(
            catalog.set_time(now.year, now.month, now.day, now.hour, now.minute, now.second, index)
        )
        return now

    # -- energy ----------------------------------------------------------------

    def _require_meter(self, sysinfo: SysInfo) -> None:
        if not sysinfo.has_emeter:
            raise NotSupported(f"{self.address}: {sysinfo.model} has no energy meter")

    @both_dialects
    async def energy(self, outlet: OutletSpec = None) -> EnergyReading:
        self._require_meter(self.sysinfo or await self.get_sysinfo())
        reply = await self.query(catalog.realtime(), outlet)
        if outlet is not None:
            self._check_slot(reply, await self.resolve_outlet(outlet))
        return parse_realtime(self._part(reply, "emeter", "get_realtime"))

    @both_dialects
    async def day_stats(self, year: int, month: int, outlet: OutletSpec = None) -> list[EnergyStat]:
        self._require_meter(self.sysinfo or await self.get_sysinfo())
        reply = await self.query(catalog.daystat(year, month), outlet)
        return parse_stats(self._part(reply, "emeter", "get_daystat"), "day_list")

    @both_dialects
    async def month_stats(self, year: int, outlet: OutletSpec = None) -> list[EnergyStat]:
        self._require_meter(self.sysinfo or await self.get_sysinfo())
        reply = await self.query(catalog.monthstat(year), outlet)
        return parse_stats(self._part(reply, "emeter", "get_monthstat"), "month_list")

    @both_dialects
    async def erase_energy(self, outlet: OutletSpec = None) -> None:
        self._require_meter(self.sysinfo or await self.get_sysinfo())
        await self.query(catalog.erase_energy(), outlet)

    # -- rules and other modules -----------------------------------------------

    @both_dialects
    async def rules(self, module: str, outlet: OutletSpec = None) -> list[dict[str, Any]]:
        """Rules of ``schedule``, ``count_down`` or ``anti_theft``."""
        reply = await self.query(catalog.rules(module), outlet)
        rules = self._part(reply, module, "get_rules").get("rule_list", [])
        if not isinstance(rules, list):
            raise ProtocolError(f"{self.address}: {module}.rule_list should be a list")
        return [r for r in rules if isinstance(r, dict)]

    @both_dialects
    async def set_countdown(self, minutes: float, on: bool, outlet: OutletSpec = None) -> None:
        """Switch on/off after ``minutes``; replaces any existing timer."""
        await self.query(catalog.countdown_set(round(minutes * 60), on), outlet)

    @both_dialects
    async def clear_countdown(self, outlet: OutletSpec = None) -> None:
        await self.query(catalog.countdown_clear(), outlet)

    @both_dialects
    async def cloud_info(self) -> dict[str, Any]:
        return dict(self._part(await self.query(catalog.cloud_info()), "cnCloud", "get_info"))

    @both_dialects
    async def wlan_scan(self) -> list[dict[str, Any]]:
        reply = await self.query(catalog.wlan_scan())
        networks = self._part(reply, "netif", "get_scaninfo").get("ap_list", [])
        return [n for n in networks if isinstance(n, dict)] if isinstance(networks, list) else []
