"""The synchronous SmartPlug facade against a tiny threaded server on 127.0.0.1."""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from wire_fakes import FakeState, hs100, hs110_v1, hs300, kp115, new_meter, refusing_port

from tplink_tui import SmartPlug, codec
from tplink_tui.errors import DeviceUnreachable, TplinkError


class ThreadedDevice(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, state: FakeState) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.accepts = 0

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class _Handler(socketserver.BaseRequestHandler):
    server: ThreadedDevice

    def handle(self) -> None:
        with self.server.lock:
            self.server.accepts += 1
        stream = self.request.makefile("rb")
        while True:
            header = stream.read(4)
            if len(header) < 4:
                return
            body = stream.read(int.from_bytes(header, "big"))
            request = json.loads(codec.decrypt(body))
            with self.server.lock:
                self.server.requests.append(request)
                reply = self.server.state.answer(request)
            self.request.sendall(codec.frame(json.dumps(reply)))


def run(state: FakeState) -> Iterator[ThreadedDevice]:
    server = ThreadedDevice(state)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(2)


@pytest.fixture
def plug_server() -> Iterator[ThreadedDevice]:
    yield from run(FakeState(hs100()))


def test_properties(plug_server: ThreadedDevice) -> None:
    with SmartPlug("127.0.0.1", port=plug_server.port, timeout=1.0) as plug:
        assert plug.name == "Desk lamp"
        assert plug.model == "HS100(EU)"
        assert plug.mac == "50:C7:BF:00:00:01"
        assert plug.rssi == -61
        assert plug.led is True
        assert plug.is_on is False
        assert plug.time == datetime(2024, 5, 17, 13, 45, 9)
        assert plug.energy is None  # no meter
        assert plug.outlets == ()
    assert plug_server.accepts == 1  # one connection, reused between calls


def test_turn_on_off_and_setters(plug_server: ThreadedDevice) -> None:
    with SmartPlug("127.0.0.1", port=plug_server.port, timeout=1.0) as plug:
        plug.turn_on()
        assert plug.is_on is True
        assert plug_server.state.sysinfo["relay_state"] == 1
        plug.turn_off()
        assert plug.is_on is False
        assert plug.toggle() is True
        plug.name = "Reading lamp"
        assert plug.name == "Reading lamp"
        plug.led = False
        assert plug.led is False
        assert plug_server.state.sysinfo["led_off"] == 1


def test_energy_old_and_new_meter() -> None:
    for state, power in ((FakeState(hs110_v1()), 12.5), (FakeState(kp115(), new_meter(7300)), 7.3)):
        for server in run(state):
            plug = SmartPlug("127.0.0.1", port=server.port, timeout=1.0)
            try:
                reading = plug.energy
                assert reading is not None
                assert reading.power_w == pytest.approx(power)
                assert reading.voltage_v == pytest.approx(231.5)
                assert reading.current_a == pytest.approx(0.11)
                assert reading.total_kwh == pytest.approx(1.234)
            finally:
                plug.close()


def test_strip_outlets_and_energy() -> None:
    for server in run(FakeState(hs300())):
        with SmartPlug("127.0.0.1", port=server.port, timeout=1.0) as strip:
            assert [o.alias for o in strip.outlets][:2] == ["Socket 1", "Socket 2"]
            strip.turn_on("Socket 1")
            assert strip.outlets[0].is_on
            strip.turn_off(1)
            assert not strip.outlets[1].is_on
            reading = strip.energy
            assert reading is not None and reading.power_w == pytest.approx(21.0)


def test_unreachable_raises_project_error() -> None:
    with refusing_port() as port:
        plug = SmartPlug("127.0.0.1", port=port, timeout=0.3)
        with pytest.raises(DeviceUnreachable):
            _ = plug.is_on
        plug.close()


async def test_inside_a_running_loop_is_a_clear_error(plug_server: ThreadedDevice) -> None:
    plug = SmartPlug("127.0.0.1", port=plug_server.port, timeout=1.0)
    with pytest.raises(TplinkError, match="DeviceClient"):
        _ = plug.is_on
    with pytest.raises(TplinkError, match="event loop"):
        plug.turn_on()
    assert plug_server.requests == []
    assert plug_server.state.sysinfo["relay_state"] == 0
