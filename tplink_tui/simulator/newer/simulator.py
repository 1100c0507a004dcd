"""``NewerSimulator``: start newer simulated devices, each on its own loopback port."""

from __future__ import annotations

import itertools
from types import TracebackType

from aiohttp import web

from .profiles import get_newer_profile
from .server import TEST_PASSWORD, TEST_USERNAME, NewerDevice, check_loopback


class NewerSimulator:
    """Runs newer devices in the current event loop; ``async with`` stops them all."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        check_loopback(host)
        self.host = host
        self.devices: list[NewerDevice] = []
        self._runners: list[web.AppRunner] = []
        self._seeds = itertools.count(1)

    async def add(
        self,
        model: str,
        *,
        alias: str | None = None,
        username: str = TEST_USERNAME,
        password: str = TEST_PASSWORD,
        login_version: int | None = None,
        seed: int | None = None,
        port: int = 0,
        night_light: bool = False,
    ) -> NewerDevice:
        """Start one device of ``model`` (a key of NEWER_PROFILES); its port is set."""
        device = NewerDevice(
            get_newer_profile(model),
            seed=next(self._seeds) if seed is None else seed,
            alias=alias,
            username=username,
            password=password,
            login_version=login_version,
            night_light=night_light,
        )
        runner = web.AppRunner(device.app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, port, reuse_address=True)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        device.host = self.host
        device.port = sockets[0].getsockname()[1] if sockets else port
        self._runners.append(runner)
        self.devices.append(device)
        return device

    async def stop(self) -> None:
        runners, self._runners = self._runners, []
        for runner in runners:
            await runner.cleanup()

    async def __aenter__(self) -> NewerSimulator:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
