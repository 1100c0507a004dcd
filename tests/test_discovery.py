"""UDP discovery against tiny responders on loopback.

Loopback broadcast works on Linux: a datagram to 127.255.255.255 reaches every
socket bound to 127.255.255.255 (or 0.0.0.0) on that port, but not sockets bound
to 127.0.0.x. So each responder listens on 127.255.255.255:PORT and answers from its
own socket on 127.0.0.x:PORT, like a plug answering from its own address.

The sockets share the port with SO_REUSEPORT, not SO_REUSEADDR: every member still
gets its copy of a broadcast, but Linux's port-0 autobind counts a port whose
sockets all have SO_REUSEADDR as free for another SO_REUSEADDR socket, so other
processes' loopback responders (the simulator's, running at the same time) could
land on our port and answer our probe. A SO_REUSEPORT group refuses them.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable
from typing import Any

import pytest
from wire_fakes import hs100, hs110_v1, hs300

from tplink_tui import codec
from tplink_tui.devices import catalog
from tplink_tui.discovery import discover

BROADCAST = "127.255.255.255"
Reply = Callable[[bytes], list[bytes]]


def sysinfo_reply(sysinfo: dict[str, Any]) -> Reply:
    def reply(query: bytes) -> list[bytes]:
        if json.loads(codec.decrypt(query)) != catalog.sysinfo():
            return []
        return [codec.encrypt(json.dumps({"system": {"get_sysinfo": sysinfo}}))]

    return reply


def constant(*datagrams: bytes) -> Reply:
    return lambda query: list(datagrams)


def _udp(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.setblocking(False)
    return sock


class Responders:
    """Loopback 'plugs' answering discovery; closed at the end of the test."""

    def __init__(self) -> None:
        self.sockets: list[socket.socket] = []
        self.received: dict[str, list[bytes]] = {}

    def free_port(self) -> int:
        probe = _udp(BROADCAST, 0)
        self.sockets.append(probe)  # keeps the port ours for the whole test
        return int(probe.getsockname()[1])

    def add(self, address: str, port: int, reply: Reply, *, broadcast: bool = True) -> None:
        loop = asyncio.get_running_loop()
        answer = _udp(address, port)
        listen = _udp(BROADCAST, port) if broadcast else answer
        self.sockets += [answer] if listen is answer else [answer, listen]
        got = self.received.setdefault(address, [])

        def readable() -> None:
            try:
                data, source = listen.recvfrom(65536)
            except BlockingIOError:
                return
            got.append(data)
            for datagram in reply(data):
                answer.sendto(datagram, source)

        loop.add_reader(listen.fileno(), readable)

    def close(self) -> None:
        loop = asyncio.get_running_loop()
        for sock in self.sockets:
            loop.remove_reader(sock.fileno())
            sock.close()


@pytest.fixture
async def responders() -> Any:
    group = Responders()
    yield group
    group.close()


async def test_broadcast_finds_several_devices(responders: Responders) -> None:
    port = responders.free_port()
    responders.add("127.0.0.2", port, sysinfo_reply(hs100()))
    responders.add("127.0.0.3", port, sysinfo_reply(hs110_v1()))
    responders.add("127.0.0.4", port, sysinfo_reply(hs300()))
    result = await discover(BROADCAST, port, timeout=0.25, new_protocol_port=None)
    assert [(d.host, d.port) for d in result.devices] == [
        ("127.0.0.2", port),
        ("127.0.0.3", port),
        ("127.0.0.4", port),
    ]
    assert [d.sysinfo.model for d in result.devices] == ["HS100(EU)", "HS110(EU)", "HS300(US)"]
    assert len(result.devices[2].sysinfo.children) == 6
    assert result.invalid == [] and result.new_protocol_hosts == []
    # The probe is sent more than once (UDP may drop one): de-dup by address.
    assert all(len(got) >= 2 for got in responders.received.values())


async def test_unicast_to_one_host(responders: Responders) -> None:
    port = responders.free_port()
    responders.add("127.0.0.1", port, sysinfo_reply(hs100()), broadcast=False)
    result = await discover("127.0.0.1", port, timeout=0.15, new_protocol_port=None)
    assert [(d.host, d.sysinfo.alias) for d in result.devices] == [("127.0.0.1", "Desk lamp")]


async def test_duplicate_replies_are_merged(responders: Responders) -> None:
    port = responders.free_port()
    datagram = sysinfo_reply(hs100())(codec.datagram(catalog.sysinfo()))[0]
    responders.add("127.0.0.2", port, constant(datagram, datagram, datagram))
    result = await discover(BROADCAST, port, timeout=0.15, new_protocol_port=None)
    assert len(result.devices) == 1


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x00\x01\x02 not a kasa reply",
        codec.encrypt(b"not json"),
        codec.encrypt(b"[1, 2, 3]"),
        codec.encrypt(b'{"system": {"get_sysinfo": {"model": 42}}}'),
        codec.encrypt(b'{"system": {"get_sysinfo": {"alias": "no model"}}}'),
        codec.encrypt(b'{"emeter": {}}'),
        codec.encrypt(b'{"a": ' + b"9" * 5000 + b"}"),
        b"",
    ],
    ids=["raw", "text", "list", "bad-model", "no-model", "no-system", "huge-int", "empty"],
)
async def test_invalid_reply_is_skipped_and_reported(
    responders: Responders, garbage: bytes
) -> None:
    port = responders.free_port()
    responders.add("127.0.0.2", port, sysinfo_reply(hs100()))
    responders.add("127.0.0.3", port, constant(garbage))
    result = await discover(BROADCAST, port, timeout=0.15, new_protocol_port=None)
    assert [d.host for d in result.devices] == ["127.0.0.2"]
    assert len(result.invalid) == 1
    where, reason = result.invalid[0]
    assert where == f"127.0.0.3:{port}"
    assert reason


async def test_garbage_first_does_not_hide_a_valid_reply(responders: Responders) -> None:
    port = responders.free_port()
    valid = sysinfo_reply(hs100())(codec.datagram(catalog.sysinfo()))
    responders.add("127.0.0.2", port, constant(b"garbage", *[b"\xff" * 10] * 20, *valid))
    result = await discover(BROADCAST, port, timeout=0.15, new_protocol_port=None)
    assert [d.host for d in result.devices] == ["127.0.0.2"]
    assert result.invalid == []


async def test_flood_of_garbage_from_many_sources(responders: Responders) -> None:
    port = responders.free_port()
    responders.add("127.0.0.2", port, sysinfo_reply(hs110_v1()))
    for last in range(10, 30):
        responders.add(f"127.0.0.{last}", port, constant(*[bytes([last]) * 64] * 4))
    result = await discover(BROADCAST, port, timeout=0.25, new_protocol_port=None)
    assert [d.sysinfo.model for d in result.devices] == ["HS110(EU)"]
    assert len(result.invalid) == 20  # one report per address, not per datagram


async def test_new_protocol_port_is_reported(responders: Responders) -> None:
    port, new_port = responders.free_port(), responders.free_port()
    responders.add("127.0.0.2", port, sysinfo_reply(hs100()))
    responders.add("127.0.0.5", new_port, constant(b"\x02\x00\x00\x01opaque new-protocol reply"))
    # A host that speaks both is a legacy device, not a new-protocol one.
    responders.add("127.0.0.2", new_port, constant(b"\x02\x00\x00\x01"))
    result = await discover(BROADCAST, port, timeout=0.25, new_protocol_port=new_port)
    assert [d.host for d in result.devices] == ["127.0.0.2"]
    assert result.new_protocol_hosts == ["127.0.0.5"]
    assert result.invalid == []
    assert responders.received["127.0.0.5"], "the new-protocol probe was sent"


async def test_nobody_answers(responders: Responders) -> None:
    port = responders.free_port()
    result = await discover(BROADCAST, port, timeout=0.15, new_protocol_port=None)
    assert result.devices == [] and result.invalid == [] and result.new_protocol_hosts == []


async def test_guard_stops_a_non_loopback_target() -> None:
    with pytest.raises(AssertionError, match="network guard"):
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("10.0.0.1", 9))
