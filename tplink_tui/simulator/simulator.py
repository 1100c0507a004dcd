"""The ``Simulator``: many simulated devices in one event loop, plus discovery.

Broadcast on loopback (Linux): a socket bound to 127.0.0.x does *not* receive a
datagram sent to 127.255.255.255, but a socket bound to ('127.255.255.255', P)
does, and with SO_REUSEADDR every such socket on port P gets its own copy. So the
simulator binds one broadcast listener per port in use (never 0.0.0.0); a
datagram it receives is handed to each device on that port, and each device
answers through its own socket, so the reply comes from the device's own
address:port. One extra listener on ``discovery_port`` reaches *every* device,
whatever its port: this is what makes "distinct ports of 127.0.0.1" discoverable
with one datagram. KLAP-only devices answer on ``klap_port`` instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ipaddress
import resource
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .device import SimulatedDevice
from .faults import Faults
from .profiles import get_profile
from .server import DeviceServer, _Datagrams, is_loopback, udp_socket
from .tddp import TddpConfig, serve_tddp

LOOPBACK_BROADCAST = "127.255.255.255"
_FANOUT_BATCH = 1  # replies per loop turn: a receiver in the same loop reads one per turn


def raise_fd_limit(wanted: int = 65536) -> None:
    """Allow many sockets: 500 devices need about 1,500 descriptors, plus clients."""
    with contextlib.suppress(ValueError, OSError):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        if soft != resource.RLIM_INFINITY and soft < target:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def _check_host(host: str) -> None:
    """Warn (once, as a UserWarning only: a log line as well printed it twice) off loopback."""
    if not is_loopback(host):
        message = f"simulated device bound to {host}, outside loopback: reachable from the network"
        warnings.warn(message, stacklevel=3)


class Simulator:
    """Simulated plugs and strips on loopback. Use ``async with Simulator() as sim``."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        *,
        seed: int = 0,
        discovery_port: int | None = 0,
        klap_port: int | None = 0,
        broadcast: str = LOOPBACK_BROADCAST,
        tddp: TddpConfig | None = None,
    ) -> None:
        """``tddp``: every device also answers TDDP on a UDP port of its own."""
        self.host = host
        self.tddp = tddp
        self._tddp: dict[int, tuple[asyncio.DatagramTransport, int]] = {}
        self.seed = seed
        self.broadcast = broadcast
        self.discovery_port = discovery_port
        self.klap_port = klap_port
        self.devices: list[SimulatedDevice] = []
        self._servers: dict[int, DeviceServer] = {}  # id(device) -> server
        self._listeners: dict[int, asyncio.DatagramTransport] = {}
        self._by_port: dict[int, list[DeviceServer]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._counter = 0
        self._started = False

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Bind the discovery and KLAP broadcast listeners (ports 0: free ones)."""
        if self._started:
            return
        self._loop = asyncio.get_running_loop()
        raise_fd_limit()
        if self.discovery_port is not None:
            self.discovery_port = await self._listen_broadcast(
                self.discovery_port, self._all_servers
            )
        if self.klap_port is not None:
            self.klap_port = await self._listen_broadcast(
                self.klap_port, self._klap_servers, klap=True
            )
        self._started = True

    async def _listen_broadcast(
        self, port: int, targets: Callable[[], list[DeviceServer]], klap: bool = False
    ) -> int:
        assert self._loop is not None
        sock = udp_socket(self.broadcast, port, reuse=True)
        port = sock.getsockname()[1]

        def fan_out(data: bytes, addr: Any) -> None:
            if is_loopback(addr[0]):
                self._fan_out(targets(), data, addr, klap)

        transport, _ = await self._loop.create_datagram_endpoint(
            lambda: _Datagrams(fan_out), sock=sock
        )
        self._listeners[port] = transport
        return int(port)

    def _fan_out(self, servers: list[DeviceServer], data: bytes, addr: Any, klap: bool) -> None:
        batch, rest = servers[:_FANOUT_BATCH], servers[_FANOUT_BATCH:]
        for server in batch:
            if klap:
                server.answer_klap(data, addr)
            else:
                server.answer_datagram(data, addr)
        if rest and self._loop is not None:
            self._loop.call_soon(self._fan_out, rest, data, addr, klap)

    def _all_servers(self) -> list[DeviceServer]:
        servers = self._servers.values()
        return [s for s in servers if s.broadcastable and not s.device.profile.klap_only]

    def _klap_servers(self) -> list[DeviceServer]:
        servers = self._servers.values()
        return [s for s in servers if s.broadcastable and s.device.profile.klap_only]

    # -- devices ------------------------------------------------------------------

    async def add(
        self,
        model: str,
        alias: str | None = None,
        *,
        host: str | None = None,
        port: int = 0,
        seed: int | None = None,
        faults: Faults | Iterable[str] | None = None,
        outlets: Sequence[str] | None = None,
        loads: Sequence[str] | None = None,
        on: bool | Sequence[bool] = True,
        room: str | None = None,
        klap_only: bool = False,
    ) -> SimulatedDevice:
        """Start one device and return it (its ``port`` is the bound one).

        ``klap_only`` makes any model behave like newer firmware: no answer on
        TCP or UDP 9999, only a discovery record on the simulator's ``klap_port``.
        """
        await self.start()
        assert self._loop is not None
        profile = get_profile(model)
        if klap_only:
            profile = dataclasses.replace(profile, klap_only=True)
        host = host or self.host
        _check_host(host)
        if seed is None:
            self._counter += 1
            seed = self.seed * 100_003 + self._counter
        if faults is not None and not isinstance(faults, Faults):
            faults = Faults.from_specs(faults)
        elif faults is not None and getattr(faults, "_listener", None) is not None:
            faults = dataclasses.replace(faults)  # already another device's: copy it
        if loads is not None:
            from .loads import LOADS

            unknown = [name for name in loads if name not in LOADS]
            if unknown:
                raise ValueError(f"unknown load {unknown[0]!r} (known: {', '.join(LOADS)})")
        device = SimulatedDevice(
            profile,
            seed=seed,
            alias=alias,
            host=host,
            port=port,
            faults=faults,
            outlet_aliases=outlets,
            loads=loads,
            on=on,
            room=room,
        )
        server = DeviceServer(device, self._loop)
        if profile.klap_only and self.klap_port is None:
            raise ValueError("a KLAP-only device needs the simulator's klap_port")
        await server.start(udp_port=self.klap_port)
        self.devices.append(device)
        self._servers[id(device)] = server
        if self.tddp is not None and not profile.klap_only:
            self._tddp[id(device)] = await serve_tddp(device, self.tddp)
        if not profile.klap_only:
            self._by_port.setdefault(device.port, []).append(server)
            # A wildcard-bound device hears broadcasts on its own port already (and a
            # listener there would collide with its socket): only the discovery port fans out.
            own = server.broadcastable and not server.wildcard
            if own and device.port not in self._listeners:
                peers = self._by_port[device.port]
                await self._listen_broadcast(device.port, lambda: peers)
        return device

    async def start_many(
        self,
        models: str | Sequence[str],
        count: int | None = None,
        *,
        addr_base: str | None = None,
        port: int = 0,
        base_port: int | None = None,
        aliases: Sequence[str | None] | None = None,
        **options: Any,
    ) -> list[SimulatedDevice]:
        """Start several devices: ``count`` of one model, or one per model in a list.

        ``addr_base`` places them on consecutive addresses (127.0.0.2, .3, ...)
        sharing ``port`` (a free one if 0), like a LAN; ``base_port`` on
        consecutive ports of the simulator's host; otherwise on free ports.
        """
        kinds = [models] * (count or 1) if isinstance(models, str) else list(models)
        if count is not None and not isinstance(models, str):
            kinds = [kinds[i % len(kinds)] for i in range(count)]
        names = list(aliases or [])
        names += [None] * (len(kinds) - len(names))
        if addr_base is not None and base_port is not None:
            raise ValueError("choose addr_base (one port) or base_port (one address), not both")
        devices: list[SimulatedDevice] = []
        if addr_base is not None:
            first = ipaddress.ip_address(addr_base)
            for i, kind in enumerate(kinds):
                host = str(first + i)
                shared = devices[0].port if devices else port
                devices.append(await self.add(kind, names[i], host=host, port=shared, **options))
            return devices
        if base_port is not None:
            for i, kind in enumerate(kinds):
                devices.append(await self.add(kind, names[i], port=base_port + i, **options))
            return devices
        # Sequential adds keep seeds (and so identities) in a stable order.
        for i, kind in enumerate(kinds):
            devices.append(await self.add(kind, names[i], port=port, **options))
        return devices

    def tddp_port(self, device: SimulatedDevice) -> int | None:
        """The UDP port where ``device`` answers TDDP (None without ``tddp``)."""
        entry = self._tddp.get(id(device))
        return entry[1] if entry else None

    def device(self, key: int | str) -> SimulatedDevice:
        """A device by index, alias, device id or host:port."""
        if isinstance(key, int):
            return self.devices[key]
        for dev in self.devices:
            if key in (dev.alias, dev.device_id, dev.address):
                return dev
        raise KeyError(key)

    async def remove(self, device: SimulatedDevice) -> None:
        server = self._servers.pop(id(device), None)
        if server is None:
            return
        self.devices.remove(device)
        tddp = self._tddp.pop(id(device), None)
        if tddp is not None:
            tddp[0].close()
        peers = self._by_port.get(device.port, [])
        if server in peers:
            peers.remove(server)
        await server.close()

    async def stop(self) -> None:
        """Close every socket; devices' count_down timers are cancelled."""
        for server in list(self._servers.values()):
            await server.close()
        self._servers.clear()
        for transport, _ in self._tddp.values():
            transport.close()
        self._tddp.clear()
        self._by_port.clear()
        self.devices.clear()
        for transport in self._listeners.values():
            transport.close()
        self._listeners.clear()
        self._started = False
        await asyncio.sleep(0)
