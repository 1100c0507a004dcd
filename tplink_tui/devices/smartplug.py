"""``SmartPlug``: the synchronous facade of the old Python API wrapper.

It runs the async client on a private event loop, so a script can write
``SmartPlug("127.0.0.1").turn_on()`` and the connection is still reused between
calls. One lock serialises every call, so one ``SmartPlug`` may be shared by
threads (the device takes one request at a time anyway). Inside a running event
loop, use ``DeviceClient`` instead.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from datetime import datetime
from typing import Any, TypeVar

from ..address import parse_address
from ..errors import TplinkError
from ..transport import DEFAULT_PORT, DEFAULT_TIMEOUT
from ..transports.errors import Credentials
from .client import DeviceClient, OutletSpec
from .models import DeviceState, EnergyReading, OutletInfo, SysInfo

T = TypeVar("T")


def strip_reading(state: DeviceState) -> EnergyReading:
    """The whole strip from its outlets (see ``DeviceState.outlets_total``)."""
    return state.outlets_total() or EnergyReading(None, None, None, None)


class SmartPlug:
    """A plug or strip, driven synchronously. Properties read the device each time.

    ``host`` may carry the port (``"192.0.2.10:9999"``, ``"[::1]:9999"``); ``port``
    is then only needed when it is not there. ``transport``/``credentials`` as for
    ``DeviceClient`` (a Tapo or newer Kasa plug needs the cloud account pair).
    """

    def __init__(
        self,
        host: str,
        port: int | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        *,
        transport: str = "auto",
        credentials: Credentials | None = None,
    ) -> None:
        name, parsed = parse_address(host, DEFAULT_PORT if port is None else port)
        if port is not None and parsed != port:
            raise ValueError(f"{host!r} names port {parsed}, but port={port} was given")
        named = parse_address(host, 1)[1] == parse_address(host, 2)[1]  # host:port given
        chosen = parsed if port is not None or named else None  # None: the transport's own
        self.client = DeviceClient(
            name, chosen, timeout, transport=transport, credentials=credentials
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    @property
    def host(self) -> str:
        return self.client.host

    @property
    def port(self) -> int:
        return self.client.port

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            coro.close()
            raise TplinkError(
                "SmartPlug is synchronous and cannot run inside an event loop;"
                " use tplink_tui.DeviceClient with await instead"
            )
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                self._loop = asyncio.new_event_loop()
            return self._loop.run_until_complete(coro)

    def close(self) -> None:
        with self._lock:
            if self._loop is not None and not self._loop.is_closed():
                self._loop.run_until_complete(self.client.close())
                self._loop.close()

    def __enter__(self) -> SmartPlug:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        lock = getattr(self, "_lock", None)
        if lock is None or not lock.acquire(blocking=False):
            return  # in use right now (or half-built): nothing to tidy from here
        try:
            loop = getattr(self, "_loop", None)
            if loop is not None and not loop.is_closed() and not loop.is_running():
                self.client.connection.abort()
                loop.close()
        finally:
            lock.release()

    @property
    def sysinfo(self) -> SysInfo:
        return self._run(self.client.get_sysinfo())

    @property
    def name(self) -> str:
        return self.sysinfo.alias

    @name.setter
    def name(self, value: str) -> None:
        self._run(self.client.set_alias(value))

    @property
    def model(self) -> str:
        return self.sysinfo.model

    @property
    def mac(self) -> str:
        return self.sysinfo.mac

    @property
    def rssi(self) -> int | None:
        return self.sysinfo.rssi

    @property
    def is_on(self) -> bool:
        return self.sysinfo.is_on

    @property
    def led(self) -> bool | None:
        return self.sysinfo.led_on

    @led.setter
    def led(self, on: bool) -> None:
        self._run(self.client.set_led(on))

    @property
    def time(self) -> datetime:
        return self._run(self.client.get_time())

    @property
    def energy(self) -> EnergyReading | None:
        """The realtime reading, or None without a meter; a strip's is the sum of its outlets."""
        return self._run(self._energy())

    async def _energy(self) -> EnergyReading | None:
        sysinfo = await self.client.get_sysinfo()
        if not sysinfo.has_emeter:
            return None
        if sysinfo.is_strip:
            return strip_reading(await self.client.update())
        return await self.client.energy()

    def outlet_energy(self, outlet: OutletSpec) -> EnergyReading:
        """One strip outlet's reading (index, child id, short id or name)."""
        if outlet is None:
            raise ValueError("outlet_energy needs an outlet; use .energy for the whole device")
        return self._run(self.client.energy(outlet))

    @property
    def outlets(self) -> tuple[OutletInfo, ...]:
        return self.sysinfo.children

    def turn_on(self, outlet: OutletSpec = None) -> None:
        self._run(self.client.turn_on(outlet))

    def turn_off(self, outlet: OutletSpec = None) -> None:
        self._run(self.client.turn_off(outlet))

    def toggle(self, outlet: OutletSpec = None) -> bool:
        return self._run(self.client.toggle(outlet))
