"""Transport against tiny asyncio servers on 127.0.0.1 whose every byte the test controls.

Each fault gives its documented exception within the timeout, and the next request
on the same Connection / DeviceClient works once the server behaves again.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from wire_fakes import (
    FakeDevice,
    FakeState,
    close_after_header,
    close_inside_header,
    close_without_reply,
    hang_mid_body,
    hs100,
    no_reply,
    oversize,
    raw_body,
    refusing_port,
    reply_with,
    slow_reply,
    split_reply,
)

from tplink_tui import codec
from tplink_tui.devices import catalog
from tplink_tui.devices.client import DeviceClient
from tplink_tui.errors import (
    DeviceError,
    DeviceTimeout,
    DeviceUnreachable,
    FrameTooLarge,
    ProtocolError,
    TplinkError,
)
from tplink_tui.transport import Connection, is_read_only

TIMEOUT = 0.3
SYSINFO = codec.encode_request(catalog.sysinfo())
RELAY_ON = codec.encode_request(catalog.relay(True))


@pytest.fixture
async def dev() -> Any:
    async with FakeDevice() as device:
        yield device


async def sysinfo_via(conn: Connection) -> dict[str, Any]:
    return codec.decode_json(await conn.request(SYSINFO, retry_safe=True))


def assert_sysinfo(reply: dict[str, Any]) -> None:
    assert reply["system"]["get_sysinfo"]["model"] == hs100()["model"]


# -- the good path --------------------------------------------------------------------


async def test_reply_split_into_one_byte_segments(dev: FakeDevice) -> None:
    dev.plans = [split_reply]
    conn = Connection("127.0.0.1", dev.port, timeout=2.0)
    try:
        assert_sysinfo(await sysinfo_via(conn))
        assert_sysinfo(await sysinfo_via(conn))
    finally:
        await conn.close()
    assert dev.accepts == 1


async def test_large_reply_in_segments() -> None:
    state = FakeState(hs100())
    state.sysinfo["alias"] = "ü" * 40_000  # an 80 kB reply, more than one read buffer
    async with FakeDevice(state) as dev:
        dev.plans = [slow_reply(0.01)]
        conn = Connection("127.0.0.1", dev.port, timeout=2.0)
        try:
            reply = await sysinfo_via(conn)
        finally:
            await conn.close()
    assert reply["system"]["get_sysinfo"]["alias"] == "ü" * 40_000


async def test_slow_reply_within_timeout(dev: FakeDevice) -> None:
    dev.plans = [slow_reply(0.15)]
    conn = Connection("127.0.0.1", dev.port, timeout=TIMEOUT)
    try:
        assert_sysinfo(await sysinfo_via(conn))
    finally:
        await conn.close()


async def test_connection_is_reused_and_each_request_is_one_write(dev: FakeDevice) -> None:
    conn = Connection("127.0.0.1", dev.port, timeout=1.0)
    try:
        for _ in range(5):
            assert_sysinfo(await sysinfo_via(conn))
        # A big request too: header and body still arrive together.
        big = codec.encode_request(catalog.alias("x" * 4000))
        await conn.request(big)
    finally:
        await conn.close()
    assert dev.accepts == 1
    assert len(dev.requests) == 6
    assert dev.split_requests == 0
    assert conn.requests_sent == 6


async def test_one_request_in_flight_at_a_time() -> None:
    async with FakeDevice(reply_delay=0.05) as dev:
        client = DeviceClient("127.0.0.1", dev.port, timeout=2.0)
        try:
            infos = await asyncio.gather(*(client.get_sysinfo() for _ in range(5)))
        finally:
            await client.close()
    assert [i.model for i in infos] == ["HS100(EU)"] * 5
    assert len(dev.requests) == 5
    assert dev.overlaps == 0, "a request was written before the previous reply"
    assert dev.accepts == 1


async def test_kept_alive_connection_closed_by_server_is_reopened(dev: FakeDevice) -> None:
    dev.close_after_reply = True
    client = DeviceClient("127.0.0.1", dev.port, timeout=1.0)
    try:
        await client.get_sysinfo()
        await asyncio.sleep(0.05)  # the server has closed the idle connection
        await client.get_sysinfo()
        await client.turn_on()  # a write after an idle close goes on a fresh connection
    finally:
        await client.close()
    assert dev.accepts == 3
    assert dev.count("set_relay_state") == 1


async def test_read_only_request_retried_once_when_reused_socket_dies(dev: FakeDevice) -> None:
    conn = Connection("127.0.0.1", dev.port, timeout=1.0)
    try:
        assert_sysinfo(await sysinfo_via(conn))
        dev.plans = [close_without_reply]  # the server dies with our request in hand
        assert_sysinfo(await sysinfo_via(conn))
    finally:
        await conn.close()
    assert dev.accepts == 2
    assert dev.count("get_sysinfo") == 3


async def test_relay_request_never_sent_twice(dev: FakeDevice) -> None:
    client = DeviceClient("127.0.0.1", dev.port, timeout=1.0)
    try:
        await client.get_sysinfo()  # the connection is now kept alive
        dev.plans = [close_without_reply]
        with pytest.raises(DeviceUnreachable):
            await client.turn_on()
        assert dev.count("set_relay_state") == 1
        # And on a fresh connection, a dying first request is not resent either.
        await client.close()
        dev.plans = [close_without_reply]
        with pytest.raises(DeviceUnreachable):
            await client.turn_off()
        assert dev.count("set_relay_state") == 2
        # Raw bytes are never assumed safe to resend.
        await client.get_sysinfo()
        dev.plans = [close_without_reply]
        with pytest.raises(DeviceUnreachable):
            await client.raw(RELAY_ON)
        assert dev.count("set_relay_state") == 3
        await client.turn_on()  # and the client still works
    finally:
        await client.close()
    assert dev.count("set_relay_state") == 4


def test_is_read_only() -> None:
    assert is_read_only(catalog.sysinfo())
    assert is_read_only({**catalog.realtime(), "context": {"child_ids": ["00"]}})
    assert not is_read_only(catalog.relay(True))
    assert not is_read_only({"system": {"get_sysinfo": {}, "set_relay_state": {"state": 1}}})
    assert not is_read_only({"system": None})


# -- faults: the documented error, within the timeout, and recovery --------------------

FAULTS = [
    pytest.param(no_reply, DeviceTimeout, "no reply", id="no-reply"),
    pytest.param(close_after_header, ProtocolError, "closed after 0 of 100", id="closed-after-hdr"),
    pytest.param(close_inside_header, ProtocolError, "inside the header", id="closed-in-header"),
    pytest.param(hang_mid_body, DeviceTimeout, "no reply", id="hang-mid-body"),
    pytest.param(oversize, FrameTooLarge, "1048577 bytes", id="oversize"),
    pytest.param(close_without_reply, DeviceUnreachable, "closed", id="closed-no-reply"),
]


@pytest.mark.parametrize(("plan", "error", "match"), FAULTS)
async def test_connection_fault_then_recovery(
    dev: FakeDevice, plan: Any, error: type[Exception], match: str
) -> None:
    dev.plans = [plan]
    conn = Connection("127.0.0.1", dev.port, timeout=TIMEOUT)
    try:
        start = time.monotonic()
        with pytest.raises(error, match=match):
            await sysinfo_via(conn)
        assert time.monotonic() - start < TIMEOUT + 0.2
        assert not conn.is_open
        assert_sysinfo(await sysinfo_via(conn))
    finally:
        await conn.close()


async def test_oversize_frame_closes_the_connection(dev: FakeDevice) -> None:
    dev.plans = [oversize]
    conn = Connection("127.0.0.1", dev.port, timeout=TIMEOUT)
    with pytest.raises(FrameTooLarge) as info:
        await sysinfo_via(conn)
    assert isinstance(info.value, ProtocolError)
    assert "1 MiB" in str(info.value) or "1048576" in str(info.value)
    await asyncio.wait_for(dev.client_closed.wait(), 1.0)
    assert_sysinfo(await sysinfo_via(conn))
    await conn.close()


async def test_max_frame_is_configurable(dev: FakeDevice) -> None:
    conn = Connection("127.0.0.1", dev.port, timeout=TIMEOUT, max_frame=100)
    with pytest.raises(FrameTooLarge):
        await sysinfo_via(conn)
    await conn.close()


BAD_BODIES = [
    pytest.param(raw_body(bytes(range(7, 250, 3)), encrypt=False), "UTF-8|JSON", id="garbage"),
    pytest.param(raw_body(b"hello, world"), "not JSON", id="non-json"),
    pytest.param(raw_body(b'[{"system": {}}]'), "JSON list", id="json-list"),
    pytest.param(raw_body(b"42"), "JSON int", id="json-int"),
    pytest.param(raw_body(b'{"system": "\xff\xfe"}'), "UTF-8", id="invalid-utf8"),
    pytest.param(raw_body(b""), "not JSON", id="empty-body"),
    pytest.param(reply_with({"system": []}), "'system'", id="wrong-shape"),
    pytest.param(reply_with({"emeter": {}}), "system", id="no-system"),
    pytest.param(reply_with({"system": {"get_sysinfo": {"model": 5}}}), "'model'", id="bad-model"),
]


@pytest.mark.parametrize(("plan", "match"), BAD_BODIES)
async def test_bad_reply_body_then_recovery(dev: FakeDevice, plan: Any, match: str) -> None:
    dev.plans = [plan]
    client = DeviceClient("127.0.0.1", dev.port, timeout=TIMEOUT)
    try:
        with pytest.raises(ProtocolError, match=match):
            await client.get_sysinfo()
        assert (await client.get_sysinfo()).model == "HS100(EU)"
    finally:
        await client.close()


async def test_connection_refused_then_device_appears() -> None:
    with refusing_port() as port:
        client = DeviceClient("127.0.0.1", port, timeout=TIMEOUT)
        start = time.monotonic()
        with pytest.raises(DeviceUnreachable, match="cannot connect"):
            await client.get_sysinfo()
        assert time.monotonic() - start < TIMEOUT
    dev = await FakeDevice().start(port)  # the device comes up on that port
    try:
        assert (await client.get_sysinfo()).model == "HS100(EU)"
    finally:
        await client.close()
        await dev.stop()


async def test_refused_is_not_retried() -> None:
    attempts = 0

    class Counting(Connection):
        async def _connect(self) -> None:
            nonlocal attempts
            attempts += 1
            await super()._connect()

    with refusing_port() as port:
        conn = Counting("127.0.0.1", port, timeout=TIMEOUT)
        with pytest.raises(DeviceUnreachable):
            await conn.request(SYSINFO, retry_safe=True)
    assert attempts == 1


async def test_unresolvable_host_is_unreachable() -> None:
    conn = Connection("no-such-host.invalid", 9999, timeout=TIMEOUT)
    with pytest.raises(DeviceUnreachable):
        await conn.request(SYSINFO)


async def test_connect_timeout_is_separate(dev: FakeDevice) -> None:
    conn = Connection("127.0.0.1", dev.port, timeout=TIMEOUT, connect_timeout=1.5)
    assert conn.connect_timeout == 1.5
    assert Connection("127.0.0.1", timeout=2.0).connect_timeout == 2.0
    assert_sysinfo(await sysinfo_via(conn))
    await conn.close()


@pytest.mark.parametrize(
    ("reply", "code", "module", "method"),
    [
        pytest.param({"emeter": {"err_code": -1, "err_msg": "module not support"}}, -1,
                     "emeter", None, id="module-level"),
        pytest.param({"system": {"set_dev_alias": {"err_code": -3, "err_msg": "invalid argument"}}},
                     -3, "system", "set_dev_alias", id="method-level"),
    ],
)  # fmt: skip
async def test_err_code_is_a_device_error(
    dev: FakeDevice, reply: dict[str, Any], code: int, module: str, method: str | None
) -> None:
    dev.plans = [reply_with(reply)]
    client = DeviceClient("127.0.0.1", dev.port, timeout=TIMEOUT)
    try:
        request = {module: {method or "get_realtime": {}}}
        with pytest.raises(DeviceError) as info:
            await client.query(request)
        error = info.value
        assert (error.err_code, error.module, error.method) == (code, module, method)
        assert error.err_msg in str(error)
        assert isinstance(error, TplinkError)
        # The reply was complete and well framed: the same connection goes on.
        assert (await client.get_sysinfo()).model == "HS100(EU)"
    finally:
        await client.close()
    assert dev.accepts == 1


async def test_err_code_zero_is_success(dev: FakeDevice) -> None:
    dev.plans = [reply_with({"system": {"set_led_off": {"err_code": 0}}})]
    client = DeviceClient("127.0.0.1", dev.port, timeout=TIMEOUT)
    try:
        await client.set_led(False)
    finally:
        await client.close()


async def test_cancelled_request_does_not_desynchronise_the_connection(dev: FakeDevice) -> None:
    """A caller giving up mid-reply must not leave the old reply for the next request."""
    dev.plans = [slow_reply(0.2)]
    client = DeviceClient("127.0.0.1", dev.port, timeout=2.0)
    try:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(client.query(catalog.relay(True)), 0.05)
        await asyncio.sleep(0.3)  # the late reply to set_relay_state has arrived by now
        info = await client.get_sysinfo()
        assert info.model == "HS100(EU)"
    finally:
        await client.close()


async def test_traffic_listener_sees_both_directions(dev: FakeDevice) -> None:
    from tplink_tui import transport

    seen: list[tuple[str, str]] = []

    def listener(direction: str, host: str, port: int, text: str) -> None:
        seen.append((direction, text))

    transport.add_traffic_listener(listener)
    try:
        conn = Connection("127.0.0.1", dev.port, timeout=TIMEOUT)
        await sysinfo_via(conn)
        await conn.close()
    finally:
        transport.remove_traffic_listener(listener)
    assert [d for d, _ in seen] == ["->", "<-"]
    assert json.loads(seen[0][1]) == catalog.sysinfo()


# -- UDP --------------------------------------------------------------------------------


async def test_udp_probe_collects_replies() -> None:
    from tplink_tui.transport import udp_probe

    loop = asyncio.get_running_loop()
    got: list[bytes] = []

    class Echo(asyncio.DatagramProtocol):
        def connection_made(self, transport: Any) -> None:
            self.transport = transport

        def datagram_received(self, data: bytes, addr: Any) -> None:
            self.transport.sendto(b"re:" + data, addr)

    transport, _ = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
    port = transport.get_extra_info("sockname")[1]
    try:
        await udp_probe([(b"ping", ("127.0.0.1", port))], 0.2, lambda d, a: got.append(d))
    finally:
        transport.close()
    assert got and set(got) == {b"re:ping"}
    assert len(got) == 2  # the probe is repeated once, UDP may drop one
