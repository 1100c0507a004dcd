"""``NewerSimulator``: start newer simulated devices, each on its own loopback port."""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
from types import TracebackType
from typing import Any

from aiohttp import web

from ...transports.discovery_packet import parse_packet
from ..server import udp_socket
from .discovery import discovery_answer
from .faults import Listener
from .profiles import get_newer_profile
from .server import TEST_PASSWORD, TEST_USERNAME, NewerDevice, check_loopback

LOOPBACK_BROADCAST = "127.255.255.255"
STOP_GRACE = 1.0  # seconds stop() waits for a reply still on its way (a stalled one: not long)


class _Discovery(asyncio.DatagramProtocol):
    """Hands every datagram to the simulator, which answers for each device."""

    def __init__(self, simulator: NewerSimulator) -> None:
        self.simulator = simulator

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.simulator.answer_discovery(data, addr)


class NewerSimulator:
    """Runs newer devices in the current event loop; ``async with`` stops them all."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        check_loopback(host)
        self.host = host
        self.devices: list[NewerDevice] = []
        self._runners: list[tuple[web.AppRunner, Listener]] = []
        self._seeds = itertools.count(1)
        self.broadcast = LOOPBACK_BROADCAST
        self.discovery_port: int | None = None
        """The UDP port answering 20002-style discovery (None until listen_discovery)."""
        self.discovery_requests = 0
        self._udp: list[asyncio.DatagramTransport] = []
        self._reply: asyncio.DatagramTransport | None = None

    async def listen_discovery(self, port: int | None = 0) -> int | None:
        """Answer 20002 discovery on ``port`` (0: a free one; None: not at all).

        Two sockets share the port: one on the simulator's host (unicast, and the
        one answers leave from) and one on 127.255.255.255 (on Linux only a socket
        bound to the broadcast address receives a loopback broadcast)."""
        if port is None or self.discovery_port is not None:
            return self.discovery_port
        loop = asyncio.get_running_loop()
        sock = udp_socket(self.host, port)
        port = int(sock.getsockname()[1])
        unicast, _ = await loop.create_datagram_endpoint(lambda: _Discovery(self), sock=sock)
        self._udp.append(unicast)
        self._reply = unicast
        try:
            wide = udp_socket(self.broadcast, port, reuse=True)
        except OSError:
            pass  # unicast discovery still works
        else:
            transport, _ = await loop.create_datagram_endpoint(lambda: _Discovery(self), sock=wide)
            self._udp.append(transport)
        self.discovery_port = port
        return port

    def answer_discovery(self, data: bytes, addr: Any) -> None:
        """One answer per running device, each naming its own HTTP port."""
        if self._reply is None or not data or data[0] != 2:
            return
        try:
            if not ipaddress.ip_address(addr[0]).is_loopback:
                return
        except ValueError:
            return
        self.discovery_requests += 1
        try:
            serial, _ = parse_packet(data)
        except ValueError:
            serial = 0
        for device in self.devices:
            if not device.online() or device.faults.no_reply:
                continue  # an offline device does not answer discovery either
            self._reply.sendto(discovery_answer(device, serial), addr)

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
        runner = web.AppRunner(
            device.app, access_log=None, handle_signals=False, shutdown_timeout=STOP_GRACE
        )
        await runner.setup()
        listener = Listener(runner, self.host, port, device.faults)
        device.host = self.host
        device.port = await listener.start()
        device.online = lambda: listener.online
        self._runners.append((runner, listener))
        self.devices.append(device)
        return device

    async def stop(self) -> None:
        udp, self._udp, self._reply = self._udp, [], None
        for transport in udp:
            transport.close()
        runners, self._runners = self._runners, []
        for runner, listener in runners:
            await listener.stop()
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
