"""Property and fuzz tests: bad input never escapes as anything but a TplinkError.

Targets: codec round trips, the frame reader fed arbitrary byte streams in
arbitrary segments, and the reply parsers (models and the client) fed arbitrary
JSON. Hypothesis' default example counts keep this fast in CI; the long run
(``python benchmarks/fuzz_long.py``) drives the same ``check_*`` functions with
100,000+ inputs.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wire_fakes import hs100, hs110_v1, hs300, kp115, kp303, new_meter, old_meter

from tplink_tui import codec
from tplink_tui.devices.client import DeviceClient, find_error
from tplink_tui.devices.models import parse_realtime, parse_stats, parse_sysinfo
from tplink_tui.errors import TplinkError
from tplink_tui.transport import MAX_FRAME, Connection, _Framer

CALLS: Counter[str] = Counter()  # inputs checked per target (read by fuzz_long)
_LOOP: asyncio.AbstractEventLoop | None = None


def run(coro: Any) -> Any:
    """Run a coroutine on one private loop reused across examples (far cheaper than asyncio.run)."""
    global _LOOP
    if _LOOP is None or _LOOP.is_closed():
        _LOOP = asyncio.new_event_loop()
    return _LOOP.run_until_complete(coro)


FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- strategies ---------------------------------------------------------------------------

SAMPLES = [hs100(), hs110_v1(), kp115(), hs300(), kp303()]
KEYS = sorted(
    {key for sample in SAMPLES for key in sample}
    | set(old_meter()) | set(new_meter(slot_id=0))
    | {"system", "get_sysinfo", "emeter", "get_realtime", "get_daystat", "get_monthstat",
       "day_list", "month_list", "year", "month", "day", "energy", "energy_wh", "err_msg",
       "time", "get_time", "mday", "hour", "min", "sec", "id", "state", "context",
       "child_ids", "rule_list", "ap_list", "cnCloud", "get_info", "netif", "get_scaninfo",
       "schedule", "get_rules", "mic_mac", "ethernet_mac", "latitude", "longitude"}
)  # fmt: skip

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), children, max_size=5)
    ),
    max_leaves=20,
)


@st.composite
def mutated_samples(draw: st.DrawFn) -> dict[str, Any]:
    """A real sysinfo or meter reading with some fields replaced by arbitrary JSON."""
    base = dict(draw(st.sampled_from([*SAMPLES, old_meter(), new_meter(slot_id=1)])))
    for key in draw(st.lists(st.sampled_from(KEYS), max_size=4)):
        base[key] = draw(json_values)
    original = base.get("children")
    usable = isinstance(original, list) and all(isinstance(c, dict) for c in original)
    if usable and original and draw(st.booleans()):
        children = [dict(c) for c in original]
        index = draw(st.integers(0, len(children) - 1))
        children[index][draw(st.sampled_from(["id", "state", "alias", "on_time"]))] = draw(
            json_values
        )
        base["children"] = children
    return base


replies = json_values | mutated_samples()


@st.composite
def byte_streams(draw: st.DrawFn) -> bytes:
    """Arbitrary bytes, or something shaped like one frame (good, short, long, huge)."""
    kind = draw(st.sampled_from(["raw", "frame", "json-frame", "bad-length"]))
    if kind == "raw":
        return draw(st.binary(max_size=300))
    if kind == "json-frame":
        value = draw(replies)
        return codec.frame(json.dumps(value, allow_nan=True).encode())
    body = draw(st.binary(max_size=200))
    if kind == "frame":
        return codec.frame(body) + draw(st.binary(max_size=8))
    length = draw(
        st.integers(0, len(body) + 8)
        | st.integers(MAX_FRAME - 2, MAX_FRAME + 2)
        | st.integers(0, 2**32 - 1)
    )
    return length.to_bytes(4, "big") + body


@st.composite
def segmented(draw: st.DrawFn) -> tuple[bytes, list[bytes]]:
    stream = draw(byte_streams())
    cuts = sorted(set(draw(st.lists(st.integers(0, len(stream)), max_size=12))))
    bounds = [0, *cuts, len(stream)]
    return stream, [stream[a:b] for a, b in itertools.pairwise(bounds)]


# -- checks (also driven by benchmarks/fuzz_long.py) ------------------------------------


def check_round_trip(data: bytes) -> None:
    CALLS["codec"] += 1
    cipher = codec.encrypt(data)
    assert len(cipher) == len(data)
    assert codec.decrypt(cipher) == data
    framed = codec.frame(data)
    assert int.from_bytes(framed[:4], "big") == len(data)
    assert codec.unframe(framed) == data


def check_text_round_trip(text: str) -> None:
    CALLS["codec"] += 1
    raw = text.encode("utf-8", "surrogatepass")
    assert codec.decrypt(codec.encrypt(raw)) == raw
    try:
        value = {"system": {"set_dev_alias": {"alias": text}}}
        encoded = codec.encode_request(value)
    except UnicodeEncodeError:  # lone surrogates: not representable in UTF-8
        return
    assert codec.decode_json(codec.decrypt(codec.encrypt(encoded))) == value


class _NullTransport(asyncio.Transport):
    """Enough of a socket transport for Connection: it swallows the request."""

    def __init__(self, protocol: asyncio.Protocol) -> None:
        super().__init__()
        self.protocol = protocol
        self.closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        pass

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        if not self.closing:
            self.closing = True
            asyncio.get_running_loop().call_soon(self.protocol.connection_lost, None)

    def abort(self) -> None:
        self.close()


class StreamConnection(Connection):
    """A Connection whose peer is an in-memory stream fed segment by segment."""

    def __init__(self, segments: list[bytes]) -> None:
        super().__init__("127.0.0.1", 9999, timeout=1.0)
        self.segments = segments
        self.feeder: asyncio.Task[None] | None = None

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        protocol = _Framer(self.address, self.max_frame, loop)
        protocol.connection_made(_NullTransport(protocol))
        self._protocol = protocol
        self.feeder = loop.create_task(self._feed(protocol))

    async def _feed(self, protocol: _Framer) -> None:
        for segment in self.segments:
            if segment:  # a socket never delivers an empty read
                protocol.data_received(segment)
            await asyncio.sleep(0)
        if protocol.eof_received() is not True:
            protocol.connection_lost(None)


async def _read_stream(segments: list[bytes]) -> tuple[bytes | None, dict[str, Any] | None]:
    conn = StreamConnection(segments)
    try:
        plaintext = await conn.request(b"{}", retry_safe=True)
    except TplinkError:
        return None, None
    finally:
        if conn.feeder is not None:
            conn.feeder.cancel()
    try:
        return plaintext, codec.decode_json(plaintext)
    except TplinkError:
        return plaintext, None


def check_frame_reader(stream: bytes, segments: list[bytes]) -> None:
    CALLS["frame reader"] += 1
    assert b"".join(segments) == stream
    plaintext, _ = run(_read_stream(segments))
    if len(stream) >= 4:
        length = int.from_bytes(stream[:4], "big")
        if length <= MAX_FRAME and len(stream) >= 4 + length:
            assert plaintext == codec.decrypt(stream[4 : 4 + length])
            return
    assert plaintext is None
    # The pure functions agree and raise nothing but ProtocolError either.
    for function in (codec.unframe, codec.decode_json, codec.parse_header):
        with contextlib.suppress(TplinkError):
            function(stream)


class ScriptedConnection:
    """Replaces DeviceClient.connection: every request gets the same reply bytes."""

    def __init__(self, reply: bytes) -> None:
        self.reply = reply
        self.requests = 0

    async def request(self, payload: bytes, *, retry_safe: bool = False) -> bytes:
        self.requests += 1
        return self.reply

    async def close(self) -> None:
        pass


def _envelopes(value: Any) -> list[Any]:
    return [
        value,
        {"system": {"get_sysinfo": value}},
        {"system": {"get_sysinfo": value}, "emeter": {"get_realtime": value}},
        {"emeter": {"get_realtime": value, "get_daystat": value, "get_monthstat": value}},
        {"time": {"get_time": value, "get_timezone": value}},
        {"schedule": {"get_rules": value}, "cnCloud": {"get_info": value}},
        {"netif": {"get_scaninfo": value}},
    ]


async def _drive_client(reply: bytes, sysinfo: Any) -> None:
    client = DeviceClient("127.0.0.1", 9999)
    client.connection = ScriptedConnection(reply)  # type: ignore[assignment]
    try:
        client.sysinfo = parse_sysinfo(sysinfo)
    except TplinkError:
        client.sysinfo = None
    calls = [
        client.update,
        client.update,
        client.get_sysinfo,
        client.get_time,
        client.sync_time,
        client.energy,
        lambda: client.energy(outlet=0),
        lambda: client.day_stats(2024, 5),
        lambda: client.month_stats(2024),
        lambda: client.rules("schedule"),
        client.cloud_info,
        client.wlan_scan,
        lambda: client.turn_on(outlet="Socket 1"),
        client.toggle,
        lambda: client.raw({"system": {"get_sysinfo": None}}),
    ]
    for call in calls:
        with contextlib.suppress(TplinkError):
            await call()


def check_parsers(value: Any) -> None:
    CALLS["parsers"] += 1
    for parse in (
        parse_sysinfo,
        parse_realtime,
        lambda v: parse_stats(v, "day_list"),
        lambda v: parse_stats(v, "month_list"),
    ):
        with contextlib.suppress(TplinkError):
            parse(value)
    for reply in _envelopes(value):
        if isinstance(reply, dict):
            error = find_error(reply)
            assert error is None or isinstance(error, TplinkError)
    sysinfo = value if isinstance(value, dict) and "model" in value else hs300()
    payloads = [json.dumps(reply, allow_nan=True).encode() for reply in _envelopes(value)]

    async def drive_all() -> None:
        for payload in payloads:
            await _drive_client(payload, sysinfo)

    run(drive_all())


def check_client_bytes(data: bytes) -> None:
    """Arbitrary decrypted reply bytes given to the client."""
    CALLS["parsers"] += 1
    run(_drive_client(data, hs110_v1()))


# -- the tests ----------------------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=2048))
def test_codec_round_trip(data: bytes) -> None:
    check_round_trip(data)


@FUZZ
@given(st.text(max_size=200))
def test_codec_text_round_trip(text: str) -> None:
    check_text_round_trip(text)


@FUZZ
@given(segmented())
def test_frame_reader(case: tuple[bytes, list[bytes]]) -> None:
    check_frame_reader(*case)


@FUZZ
@given(replies)
def test_reply_parsers(value: Any) -> None:
    check_parsers(value)


@FUZZ
@given(st.binary(max_size=200) | st.text(max_size=100).map(lambda t: t.encode("utf-8", "replace")))
def test_client_with_arbitrary_reply_bytes(data: bytes) -> None:
    check_client_bytes(data)


def teardown_module() -> None:
    if _LOOP is not None:
        _LOOP.close()


def test_known_nasty_values() -> None:
    """Values that once escaped as raw exceptions (kept as a regression list)."""
    for value in (
        {"model": "HS110", "feature": "TIM:ENE", "latitude_i": 10**400},
        {"power_mw": 10**400},
        {"power": -(10**309)},
        {"year": 10**30, "month": 1, "mday": 1, "hour": 0, "min": 0, "sec": 0, "index": math.inf},
        {"index": 10**400, "year": 2024, "month": 13, "mday": 1, "hour": 0, "min": 0, "sec": 0},
    ):
        check_parsers(value)
    check_client_bytes(b'{"system": ' + b"7" * 5000 + b"}")
