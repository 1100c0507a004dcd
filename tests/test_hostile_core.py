"""Hostile devices against the core layers (issue 11): transport, client, models,
monitor and history, over real TCP/UDP on 127.0.0.1.

- a device answering every request with two frames never shifts a reply: a refused
  switch is not reported done, strip readings stay on their own outlet;
- lone surrogates are repaired at decode time (TCP and discovery);
- NaN, infinities, 1e300 and very long integers never crash a parser;
- one device with absurd readings never costs another device its history, and a
  locked history database does not hold up the caller;
- a subscriber that raises is logged, and polling goes on;
- an address answering as another device is flagged;
- an outlet id reported twice is never used; a strip may list at most 32 outlets.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import math
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from wire_fakes import (
    STRIP_ID,
    FakeDevice,
    FakeState,
    frame_json,
    hs100,
    hs110_v1,
    hs300,
    old_meter,
)

from tplink_tui import codec
from tplink_tui.devices.client import AmbiguousOutlet, DeviceClient
from tplink_tui.devices.models import MAX_OUTLETS, parse_realtime, parse_sysinfo
from tplink_tui.discovery import discover
from tplink_tui.errors import DeviceError, ProtocolError, TplinkError
from tplink_tui.monitor import Identity, Monitor, Snapshot, Status
from tplink_tui.recorder import HistoryRecorder, start_recording
from tplink_tui.store.history import HistoryStore, HistoryWriter, Reading
from tplink_tui.store.history_db import BOUNDS

TIMEOUT = 1.0


# -- a device that answers every request with two frames -------------------------------------


class TwoFrames:
    """Answers each request with its reply twice: in one write (``gap`` 0), or the
    copy ``gap`` seconds later, after the client has already sent its next request."""

    def __init__(self, state: FakeState, gap: float = 0.0) -> None:
        self.state = state
        self.gap = gap
        self.requests: list[dict[str, Any]] = []
        self.accepts = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> TwoFrames:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()

    def count(self, method: str) -> int:
        return sum(
            1 for r in self.requests for m in r.values() if isinstance(m, dict) and method in m
        )

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepts += 1
        try:
            while True:
                header = await reader.readexactly(4)
                body = await reader.readexactly(int.from_bytes(header, "big"))
                request = json.loads(codec.decrypt(body))
                self.requests.append(request)
                frame = frame_json(self.state.answer(request))
                if self.gap:
                    writer.write(frame)
                    await writer.drain()
                    await asyncio.sleep(self.gap)
                    writer.write(frame)
                else:
                    writer.write(frame + frame)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


class RefusingState(FakeState):
    """A plug that refuses every switch (err_code -3), like a locked-out device."""

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        reply = super().answer(request)
        system = reply.get("system", {})
        if "set_relay_state" in system:
            system["set_relay_state"] = {"err_code": -3, "err_msg": "refused"}
            self.sysinfo["relay_state"] = 0  # nothing switched
        return reply


@pytest.fixture
async def two_frames(request: pytest.FixtureRequest) -> AsyncIterator[TwoFrames]:
    state, gap = request.param
    dev = await TwoFrames(state(), gap).start()
    yield dev
    await dev.stop()


@pytest.mark.parametrize(
    "two_frames",
    [(lambda: RefusingState(hs100()), 0.0), (lambda: RefusingState(hs100()), 0.05)],
    ids=["same-write", "late-copy"],
    indirect=True,
)
async def test_toggle_is_not_reported_done_from_a_stale_frame(two_frames: TwoFrames) -> None:
    client = DeviceClient("127.0.0.1", two_frames.port, timeout=TIMEOUT)
    try:
        # Without the checks, set_relay_state reads the second sysinfo frame: no
        # err_code in it, so the refused switch would be reported as done.
        with pytest.raises((DeviceError, ProtocolError)) as caught:
            await client.toggle()
        if isinstance(caught.value, ProtocolError):
            assert "not asked for" in str(caught.value)
        else:
            assert caught.value.err_code == -3
        assert two_frames.count("set_relay_state") == 1  # a switch is never resent
        # Both frames were in the buffer at once: the socket was replaced before the
        # switch went out, and the device's own refusal is what we report.
        if two_frames.gap == 0:
            assert isinstance(caught.value, DeviceError)
            assert client.connection.stale_discarded >= 1
        assert (await client.get_sysinfo()).is_on is False
    finally:
        await client.close()


@pytest.mark.parametrize(
    "two_frames",
    [(lambda: FakeState(hs300()), 0.0), (lambda: FakeState(hs300()), 0.03)],
    ids=["same-write", "late-copy"],
    indirect=True,
)
async def test_strip_readings_never_shift_to_another_outlet(two_frames: TwoFrames) -> None:
    client = DeviceClient("127.0.0.1", two_frames.port, timeout=TIMEOUT)
    good = 0
    try:
        for _ in range(6):
            try:
                state = await client.update()
            except ProtocolError as exc:
                assert "another request" in str(exc)
                continue
            good += 1
            # The fake meters outlet i at (i + 1) W: any shift shows at once.
            for index, reading in state.outlet_energy.items():
                assert reading.power_w == pytest.approx(index + 1.0)
            assert state.sysinfo.model == "HS300(US)"
        if two_frames.gap == 0:
            assert good == 6 and client.connection.stale_discarded >= 6
        else:
            assert two_frames.accepts > 1  # stray frames cost the connection
    finally:
        await client.close()


async def test_a_reply_with_a_module_not_asked_for_drops_the_connection() -> None:
    dev = await FakeDevice(FakeState(hs100())).start()
    dev.plans = [_reply({"emeter": {"get_realtime": old_meter()}})]
    client = DeviceClient("127.0.0.1", dev.port, timeout=TIMEOUT)
    try:
        with pytest.raises(ProtocolError, match="no 'system' section"):
            await client.turn_on()
        assert not client.connection.is_open
        dev.plans = [_reply({"system": {"set_relay_state": {"err_code": 0}}, "cnCloud": {}})]
        with pytest.raises(ProtocolError, match="module 'cnCloud', which was not asked for"):
            await client.turn_off()
        await client.turn_on()  # a proper reply on a fresh connection works
        assert dev.accepts == 3 and dev.state.sysinfo["relay_state"] == 1
    finally:
        await client.close()
        await dev.stop()


def _reply(obj: Any) -> Any:
    async def plan(dev: FakeDevice, reader: Any, writer: Any, request: Any) -> bool:
        writer.write(frame_json(obj))
        await writer.drain()
        return True

    return plan


# -- surrogates ------------------------------------------------------------------------------


def test_decode_json_repairs_lone_surrogates() -> None:
    raw = json.dumps({"system": {"get_sysinfo": {**hs100(), "alias": "a\ud800b"}}}).encode()
    assert b"\\ud800" in raw
    reply = codec.decode_json(raw)
    alias = reply["system"]["get_sysinfo"]["alias"]
    assert alias == "a\ufffdb"
    alias.encode("utf-8")  # would raise with a lone surrogate
    emoji = codec.decode_json(json.dumps({"a": "\U0001f600"}).encode())  # a valid pair stays
    assert emoji == {"a": "\U0001f600"}


async def test_surrogates_never_reach_models_over_tcp() -> None:
    info = hs300()
    info["alias"] = "\udfff strip"
    info["children"][0]["alias"] = "\ud83d"
    info["mac"] = "\ud800"
    dev = await FakeDevice(FakeState(info)).start()
    client = DeviceClient("127.0.0.1", dev.port, timeout=TIMEOUT)
    try:
        sysinfo = await client.get_sysinfo()
        for text in (sysinfo.alias, sysinfo.mac, sysinfo.children[0].alias):
            text.encode("utf-8")
            assert "\ufffd" in text
        json.dumps(sysinfo.raw, ensure_ascii=False).encode("utf-8")
    finally:
        await client.close()
        await dev.stop()


class _Answer(asyncio.DatagramProtocol):
    def __init__(self, reply: bytes) -> None:
        self.reply = reply
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        self.transport.sendto(self.reply, addr)


async def test_discovery_answer_with_surrogates_and_huge_numbers() -> None:
    info = {**hs100(), "alias": "\ud800\u202e", "rssi": 10**4000, "on_time": -(10**300)}
    text = json.dumps({"system": {"get_sysinfo": info}})
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: _Answer(codec.encrypt(text)), local_addr=("127.0.0.1", 0)
    )
    port = transport.get_extra_info("sockname")[1]
    try:
        result = await discover("127.0.0.1", port, 0.3, new_protocol_port=None)
    finally:
        transport.close()
    assert [d.host for d in result.devices] == ["127.0.0.1"] and not result.invalid
    found = result.devices[0].sysinfo
    found.alias.encode("utf-8")
    assert found.alias.startswith("\ufffd")
    assert found.rssi is None and found.on_time is None  # beyond 64 bits: unknown


# -- non-finite and huge numbers -------------------------------------------------------------

NASTY_NUMBERS = [math.nan, math.inf, -math.inf, 1e300, -1e300, 10**4000, -(10**4000), 0]


@pytest.mark.parametrize("value", NASTY_NUMBERS, ids=repr)
def test_parsers_survive_any_number(value: Any) -> None:
    for key in ("power", "power_mw", "voltage", "voltage_mv", "current_ma", "total_wh"):
        try:
            reading = parse_realtime({key: value})
        except ProtocolError:
            continue
        for number in reading.as_dict().values():
            assert number is None or math.isfinite(number)
    for key in ("rssi", "on_time", "led_off", "relay_state", "latitude", "longitude_i"):
        info = hs100()
        info[key] = value
        with contextlib.suppress(ProtocolError):
            parse_sysinfo(info)
    strip = hs300()
    strip["children"][0]["on_time"] = value
    strip["children"][1]["state"] = value
    with_child = None
    with contextlib.suppress(ProtocolError):
        with_child = parse_sysinfo(strip)
    if with_child is not None:
        assert -(2**63) <= with_child.children[0].on_time < 2**63


async def test_client_survives_nonfinite_json_and_long_integers() -> None:
    """The device's JSON literally says NaN / Infinity / a 4000-digit integer."""
    dev = await FakeDevice(FakeState(hs110_v1(), realtime=old_meter())).start()
    client = DeviceClient("127.0.0.1", dev.port, timeout=TIMEOUT)
    try:
        dev.state.realtime = {"power": math.nan, "voltage": math.inf, "current": -math.inf}
        state = await client.update()
        assert state.energy is not None and state.energy.power_w is None
        assert state.energy.voltage_v is None and state.power_w is None
        dev.state.sysinfo["rssi"] = int("9" * 4000)
        assert (await client.update()).sysinfo.rssi is None
        dev.plans = [_raw(b'{"system": {"get_sysinfo": {"rssi": ' + b"7" * 5000 + b"}}}")]
        with pytest.raises(ProtocolError, match="not usable JSON"):
            await client.update()
        dev.state.realtime = {"power_mw": 10**400}
        with pytest.raises(ProtocolError, match="out of range"):
            await client.update()
    finally:
        await client.close()
        await dev.stop()


def _raw(plaintext: bytes) -> Any:
    async def plan(dev: FakeDevice, reader: Any, writer: Any, request: Any) -> bool:
        body = codec.encrypt(plaintext)
        writer.write(len(body).to_bytes(4, "big") + body)
        await writer.drain()
        return True

    return plan


# -- history: one bad device never costs another its readings --------------------------------

POLLS = 5


@pytest.mark.parametrize("bad", [1e300, -1e300, math.nan, math.inf, 5e4], ids=repr)
async def test_absurd_readings_never_drop_a_sane_devices_history(
    bad: float, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sane = await FakeDevice(FakeState(hs110_v1(), realtime=old_meter(12.5))).start()
    broken_info = hs110_v1()
    broken_info["mac"] = "50:C7:BF:00:0B:AD"
    broken = await FakeDevice(FakeState(broken_info, realtime=old_meter(bad))).start()
    monitor = Monitor(timeout=TIMEOUT)
    monitor.add("sane", "127.0.0.1", sane.port)
    monitor.add("broken", "127.0.0.1", broken.port)
    writer = HistoryWriter(tmp_path / "history.sqlite3", batch_interval=30.0)
    monitor.subscribe(HistoryRecorder(writer, min_spacing=0.0))  # every reading is stored
    caplog.set_level(logging.WARNING, logger="tplink_tui.store")
    try:
        for _ in range(POLLS):
            for key in ("broken", "sane"):  # the bad one first in every batch
                snap = await monitor.poll_once(key)
                assert snap.status is Status.ONLINE
            await asyncio.sleep(0.003)  # distinct millisecond timestamps
        assert writer.flush()
    finally:
        writer.close()
        await monitor.stop()
        await sane.stop()
        await broken.stop()
    with HistoryStore(tmp_path / "history.sqlite3") as store:
        rows = list(store.export(device="sane"))
        assert len(rows) == POLLS and all(r.power_w == 12.5 for r in rows)
        low, high = BOUNDS["power_w"]
        kept = list(store.export(device="broken"))
        assert all(r.power_w is None or low <= r.power_w <= high for r in kept)
    if math.isfinite(bad):
        assert kept == []  # an absurd reading is dropped whole
        warnings = [r for r in caplog.records if "broken" in r.getMessage()]
        assert len(warnings) == 1  # once per device, not once per reading
    else:
        assert len(kept) == POLLS and all(r.voltage_v == 231.5 for r in kept)


def test_an_absurd_row_in_a_batch_keeps_its_batch_mates(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "h.sqlite3") as store:
        written = store.insert(
            [
                Reading("a", None, 1e9, 10.0, 230.0),
                Reading("b", None, 1e9, 1e300, 230.0),
                Reading("b", None, 1e9 + 1, 10.0, 1e9),
                Reading("b", 0, 1e9 + 2, 10.0, 230.0, 25.0),
                Reading("b", None, 1e300, 1.0),  # a timestamp beyond any date
                Reading("a", None, 1e9 + 1, 11.0, 230.0, 0.05, 1e7),
                Reading("a", None, 1e9 + 2, 12.0, 230.0, 0.05, 2.5),
            ]
        )
        assert written == 2
        assert [(r.device, r.power_w) for r in store.export()] == [("a", 10.0), ("a", 12.0)]


async def test_a_locked_history_does_not_hold_up_the_start(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    HistoryStore(path).close()
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    monitor = Monitor()
    try:
        started = time.perf_counter()
        recorder, problem = start_recording(monitor, path=path)
        store = HistoryStore(path, background=True)
        elapsed = time.perf_counter() - started
        assert elapsed < 1.0, f"start took {elapsed:.2f} s"  # was about 5 s (twice)
        assert recorder is not None and problem is None
        assert not recorder.writer.opened.is_set() and not store.is_open
        assert recorder.writer.error is not None and "locked" in str(recorder.writer.error)
        recorder.writer.add("dev", None, 1e9, 5.0)  # queued while locked
        await asyncio.sleep(0.3)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert await asyncio.to_thread(recorder.writer.opened.wait, 5.0)
    assert await asyncio.to_thread(recorder.writer.flush)
    assert await asyncio.to_thread(store.wait_open, 5.0)
    assert [r.power_w for r in store.export()] == [5.0]
    assert store.series() == [("dev", None)]
    recorder.close()
    store.close()


def test_a_background_store_closed_while_locked_ends_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    HistoryStore(path).close()
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        store = HistoryStore(path, background=True)
        writer = HistoryWriter(path)
        writer.add("dev", None, 1e9, 5.0)
        started = time.perf_counter()
        store.close()
        writer.close(timeout=2.0)
        assert time.perf_counter() - started < 2.5
        assert not store.wait_open(1.0) and writer.dropped == 1
        with pytest.raises(TplinkError):
            store.series()
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()


# -- monitor: subscribers are isolated; identity changes are flagged -------------------------


async def test_a_raising_subscriber_never_stops_polling(caplog: pytest.LogCaptureFixture) -> None:
    dev = await FakeDevice(FakeState(hs100())).start()
    monitor = Monitor(interval=0.02, timeout=TIMEOUT)
    monitor.add("plug", "127.0.0.1", dev.port)
    errors: list[Exception] = []
    seen: list[Snapshot] = []

    def broken(snapshot: Snapshot) -> None:
        raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")

    monitor.subscribe(broken, on_error=errors.append)
    monitor.subscribe(seen.append)
    caplog.set_level(logging.DEBUG, logger="tplink_tui.monitor")
    monitor.start()
    try:
        deadline = time.monotonic() + 3
        while len(seen) < 5 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
    finally:
        await monitor.stop()
        await dev.stop()
    assert len(seen) >= 5 and all(s.status is Status.ONLINE for s in seen)
    assert len(errors) >= 5 and isinstance(errors[0], UnicodeEncodeError)
    assert monitor.subscriber_errors == len(errors)
    tracebacks = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(tracebacks) == 1 and tracebacks[0].exc_info is not None  # logged once


async def test_an_address_answering_as_another_device_is_flagged() -> None:
    dev = await FakeDevice(FakeState(hs110_v1())).start()
    monitor = Monitor(timeout=TIMEOUT)
    monitor.add("washer", "127.0.0.1", dev.port)
    try:
        first = await monitor.poll_once("washer")
        assert first.identity_change is None and not first.identity_changed
        dev.state.sysinfo["mac"] = "AA:BB:CC:DD:EE:FF"  # another plug took the address
        changed = await monitor.poll_once("washer")
        assert changed.identity_changed and changed.identity_change is not None
        assert changed.identity_change.before == Identity("50:C7:BF:00:01:10", "HS110(EU)")
        assert changed.identity_change.after.mac == "AA:BB:CC:DD:EE:FF"
        assert "MAC 50:C7:BF:00:01:10 → AA:BB:CC:DD:EE:FF" in changed.identity_change.describe()
        again = await monitor.poll_once("washer")
        assert again.identity_change == changed.identity_change and not again.identity_changed
        monitor.accept_identity("washer")
        assert monitor.snapshot("washer").identity_change is None
        assert (await monitor.poll_once("washer")).identity_change is None
        dev.state.sysinfo["model"] = "HS100(UK)"
        by_model = await monitor.poll_once("washer")
        assert by_model.identity_changed and "model HS110(EU) → HS100(UK)" in (
            by_model.identity_change.describe() if by_model.identity_change else ""
        )
    finally:
        await monitor.stop()
        await dev.stop()


async def test_a_saved_identity_flags_from_the_first_poll() -> None:
    dev = await FakeDevice(FakeState(hs100())).start()
    monitor = Monitor(timeout=TIMEOUT)
    monitor.add("desk", "127.0.0.1", dev.port, identity=Identity(mac="50:C7:BF:99:99:99"))
    monitor.add("same", "127.0.0.1", dev.port, identity=Identity(mac="50:C7:BF:00:00:01"))
    try:
        snap = await monitor.poll_once("desk")
        assert snap.identity_changed and snap.identity_change is not None
        assert (await monitor.poll_once("same")).identity_change is None
    finally:
        await monitor.stop()
        await dev.stop()


# -- strips: duplicate ids and absurd outlet counts ------------------------------------------


async def test_an_outlet_id_reported_twice_is_never_switched() -> None:
    shared = f"{STRIP_ID}00"
    info = hs300([shared, shared, *(f"{STRIP_ID}{i:02d}" for i in range(2, 6))])
    dev = await FakeDevice(FakeState(info)).start()
    client = DeviceClient("127.0.0.1", dev.port, timeout=TIMEOUT)
    try:
        for spec in (0, 1, "1", shared, "00"):
            with pytest.raises(AmbiguousOutlet, match=shared[-2:]) as caught:
                await client.turn_on(outlet=spec)
            assert "refusing" in str(caught.value)
        assert dev.count("set_relay_state") == 0  # nothing was switched
        await client.turn_on(outlet=2)
        assert dev.state.sysinfo["children"][2]["state"] == 1
        state = await client.update()
        assert sorted(state.outlet_energy) == [2, 3, 4, 5]  # no reading of unknown owner
        named = copy.deepcopy(info)
        named["children"][3]["alias"] = named["children"][4]["alias"] = "Lamp"
        dev.state.sysinfo = named
        client.sysinfo = None
        with pytest.raises(AmbiguousOutlet, match=r"(?i)name 'lamp'.*3, 4"):
            await client.turn_off(outlet="lamp")
    finally:
        await client.close()
        await dev.stop()


async def test_a_strip_with_absurdly_many_outlets_is_refused() -> None:
    many = hs300([f"{STRIP_ID}{i:04d}" for i in range(1000)])
    dev = await FakeDevice(FakeState(many)).start()
    client = DeviceClient("127.0.0.1", dev.port, timeout=TIMEOUT)
    try:
        started = time.perf_counter()
        with pytest.raises(ProtocolError, match=f"1000 outlets, more than the {MAX_OUTLETS}"):
            await client.update()
        assert time.perf_counter() - started < 1.0
        dev.state.sysinfo = hs300([f"{STRIP_ID}{i:02d}" for i in range(MAX_OUTLETS)])
        assert len((await client.update()).sysinfo.children) == MAX_OUTLETS
    finally:
        await client.close()
        await dev.stop()
