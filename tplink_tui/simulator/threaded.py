"""A ``Simulator`` in a background thread with its own event loop.

For code under test that runs ``asyncio.run`` itself (a synchronous CLI
``main()``, the ``SmartPlug`` facade): the devices keep serving while the
caller blocks. Every method is synchronous and runs its work on the
simulator's loop, so state changes are complete when the call returns.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from .device import SimulatedDevice
from .simulator import Simulator

T = TypeVar("T")


class ThreadedSimulator:
    """Use as ``with ThreadedSimulator() as sim: dev = sim.add("hs110")``."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._sim: Simulator | None = None

    def __enter__(self) -> ThreadedSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def sim(self) -> Simulator:
        if self._sim is None:
            raise RuntimeError("the threaded simulator is not running")
        return self._sim

    def start(self) -> ThreadedSimulator:
        if self._thread is not None:
            return self
        loop = self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=loop.run_forever, name="tplink-tui-simulator", daemon=True
        )
        self._thread.start()

        async def make() -> Simulator:
            sim = Simulator(**self._options)
            await sim.start()
            return sim

        self._sim = self.run(make())
        return self

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        """Run a coroutine on the simulator's loop and wait for its result."""
        if self.loop is None:
            coro.close()
            raise RuntimeError("the threaded simulator is not running")
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call ``fn`` on the simulator's loop (awaiting it if it is async); return its result."""

        async def invoke() -> Any:
            result = fn(*args, **kwargs)
            if inspect.isawaitable(result):
                result = await result
            return result

        return self.run(invoke())

    def add(self, model: str, alias: str | None = None, **options: Any) -> SimulatedDevice:
        return self.run(self.sim.add(model, alias, **options))

    def start_many(self, models: Any, count: int | None = None, **options: Any) -> list:
        return self.run(self.sim.start_many(models, count, **options))

    def remove(self, device: SimulatedDevice) -> None:
        self.run(self.sim.remove(device))

    def set_offline(self, device: SimulatedDevice, offline: bool = True) -> None:
        """Switch a device offline (or back) and wait until its sockets follow."""
        self.call(device.set_offline, offline)
        self.call(lambda: asyncio.sleep(0.01))

    @property
    def devices(self) -> list[SimulatedDevice]:
        return self.sim.devices

    @property
    def discovery_port(self) -> int | None:
        return self.sim.discovery_port

    @property
    def klap_port(self) -> int | None:
        return self.sim.klap_port

    def device(self, key: int | str) -> SimulatedDevice:
        return self.sim.device(key)

    def stop(self) -> None:
        loop, thread = self.loop, self._thread
        if loop is None or thread is None:
            return
        if self._sim is not None:
            self.run(self._sim.stop())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
        self.loop = self._thread = self._sim = None
