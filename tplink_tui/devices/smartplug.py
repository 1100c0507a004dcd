"""``SmartPlug``: the synchronous facade of the old Python API wrapper.

It runs the async client on a private event loop, so a script can write
``SmartPlug("127.0.0.1").turn_on()`` and the connection is still reused between
calls. Inside a running event loop, use ``DeviceClient`` instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import datetime
from typing import Any, TypeVar

from ..errors import TplinkError
from ..transport import DEFAULT_PORT, DEFAULT_TIMEOUT
from .client import DeviceClient, OutletSpec
from .models import EnergyReading, OutletInfo, SysInfo

T = TypeVar("T")


class SmartPlug:
    """A plug or strip, driven synchronously. Properties read the device each time."""

    def __init__(self, host: str, port: int = DEFAULT_PORT, timeout: float = DEFAULT_TIMEOUT):
        self.client = DeviceClient(host, port, timeout)
        self._loop: asyncio.AbstractEventLoop | None = None

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
        if self._loop is None or self._loop.is_closed():
            self._loop = asyncio.new_event_loop()
        return self._loop.run_until_complete(coro)

    def close(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.run_until_complete(self.client.close())
            self._loop.close()

    def __enter__(self) -> SmartPlug:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        loop = getattr(self, "_loop", None)
        if loop is not None and not loop.is_closed() and not loop.is_running():
            self.client.connection.abort()
            loop.close()

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
        """The realtime reading, or None for a device without a meter."""
        if not self.sysinfo.has_emeter:
            return None
        if self.client.sysinfo is not None and self.client.sysinfo.is_strip:
            state = self._run(self.client.update())
            total = sum(r.power_w or 0.0 for r in state.outlet_energy.values())
            return EnergyReading(power_w=total)
        return self._run(self.client.energy())

    @property
    def outlets(self) -> tuple[OutletInfo, ...]:
        return self.sysinfo.children

    def turn_on(self, outlet: OutletSpec = None) -> None:
        self._run(self.client.turn_on(outlet))

    def turn_off(self, outlet: OutletSpec = None) -> None:
        self._run(self.client.turn_off(outlet))

    def toggle(self, outlet: OutletSpec = None) -> bool:
        return self._run(self.client.toggle(outlet))
