"""Tiny Kasa-speaking test doubles: sample sysinfos and an asyncio server on 127.0.0.1.

Independent of the simulator on purpose: these tests check the client side against
servers whose every byte is under the test's control (split replies, hangs,
garbage, oversize frames). ``FakeState`` answers requests; ``FakeDevice`` serves it
over TCP and records what arrived (accepts, requests, how each request was read).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import socket
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from tplink_tui import codec

# -- sample sysinfos, one per model family (shapes taken from real firmware) ------------


def hs100() -> dict[str, Any]:
    """HS100/HS105/HS103 family: relay only, ``type``, ``mac`` with colons."""
    return {
        "sw_ver": "1.5.6 Build 191125 Rel.083657",
        "hw_ver": "2.0",
        "type": "IOT.SMARTPLUGSWITCH",
        "model": "HS100(EU)",
        "mac": "50:C7:BF:00:00:01",
        "dev_name": "Smart Wi-Fi Plug",
        "alias": "Desk lamp",
        "relay_state": 0,
        "on_time": 0,
        "active_mode": "none",
        "feature": "TIM",
        "updating": 0,
        "icon_hash": "",
        "rssi": -61,
        "led_off": 0,
        "longitude_i": 49000,
        "latitude_i": 523700,
        "hwId": "HWID0001",
        "fwId": "00000000000000000000000000000000",
        "deviceId": "8006A1B2C3D4E5F60718293A4B5C6D7E8F901234",
        "oemId": "OEM0001",
        "next_action": {"type": -1},
        "err_code": 0,
    }


def hs105() -> dict[str, Any]:
    info = hs100()
    info.update(model="HS105(US)", alias="Fan", dev_name="Smart Wi-Fi Plug Mini")
    return info


def hs103() -> dict[str, Any]:
    info = hs100()
    info.update(model="HS103(US)", alias="Kettle", relay_state=1, on_time=42)
    info.pop("dev_name")
    return info


def hs110_v1() -> dict[str, Any]:
    """HS110 hardware 1: meter with float A/V/W/kWh, plain ``latitude``/``longitude``."""
    info = hs100()
    for key in ("latitude_i", "longitude_i"):
        info.pop(key)
    info.update(
        model="HS110(EU)",
        hw_ver="1.0",
        sw_ver="1.2.6 Build 200727 Rel.121701",
        alias="Washing machine",
        feature="TIM:ENE",
        relay_state=1,
        latitude=52.37,
        longitude=4.9,
        mac="50:C7:BF:00:01:10",
        dev_name="Wi-Fi Smart Plug With Energy Monitoring",
    )
    return info


def kp115() -> dict[str, Any]:
    """KP115 / HS110 v4: integer meter, ``mic_type``, ``mic_mac`` with dashes."""
    info = hs100()
    for key in ("type", "mac"):
        info.pop(key)
    info.update(
        model="KP115(EU)",
        hw_ver="1.0",
        alias="Dishwasher",
        feature="TIM:ENE",
        relay_state=1,
        mic_type="IOT.SMARTPLUGSWITCH",
        mic_mac="1c-3b-f3-00-01-15",
    )
    return info


STRIP_ID = "8006A1B2C3D4E5F60718293A4B5C6D7E8F905678"


def hs300(child_ids: list[str] | None = None) -> dict[str, Any]:
    """HS300: 6 metered outlets, no ``relay_state`` at the parent, ``mic_type``."""
    ids = child_ids or [f"{STRIP_ID}{i:02d}" for i in range(6)]
    info = hs100()
    for key in ("type", "relay_state", "on_time", "dev_name", "active_mode", "icon_hash"):
        info.pop(key)
    info.update(
        model="HS300(US)",
        hw_ver="2.0",
        sw_ver="1.0.6 Build 200821 Rel.090909",
        alias="Media strip",
        mic_type="IOT.SMARTPLUGSWITCH",
        feature="TIM:ENE",
        mac="B0:BE:76:00:03:00",
        deviceId=STRIP_ID,
        child_num=len(ids),
        children=[
            {
                "id": child_id,
                "state": index % 2,
                "alias": f"Socket {index + 1}",
                "on_time": 100 * index,
                "next_action": {"type": -1},
            }
            for index, child_id in enumerate(ids)
        ],
    )
    return info


def kp303() -> dict[str, Any]:
    """KP303 (and HS107, KP400): 2-3 outlets, no meter."""
    info = hs300([f"{STRIP_ID}{i:02d}" for i in range(3)])
    info.update(model="KP303(UK)", alias="Desk strip", feature="TIM")
    return info


def hs107() -> dict[str, Any]:
    info = hs300([f"{STRIP_ID}{i:02d}" for i in range(2)])
    info.update(model="HS107(US)", alias="Porch", feature="TIM")
    return info


def old_meter(power: float = 12.5) -> dict[str, Any]:
    return {"current": 0.11, "voltage": 231.5, "power": power, "total": 1.234, "err_code": 0}


def new_meter(power_mw: int = 12500, slot_id: int | None = None) -> dict[str, Any]:
    reading = {
        "current_ma": 110,
        "voltage_mv": 231500,
        "power_mw": power_mw,
        "total_wh": 1234,
        "err_code": 0,
    }
    if slot_id is not None:
        reading["slot_id"] = slot_id
    return reading


NOT_SUPPORTED = {"err_code": -1, "err_msg": "module not support"}


# -- a device's answers, independent of the transport ----------------------------------


class FakeState:
    """Answers requests like a plug or strip would, mutating its sysinfo."""

    def __init__(
        self,
        sysinfo: dict[str, Any] | None = None,
        realtime: dict[str, Any] | None = None,
    ) -> None:
        self.sysinfo = sysinfo if sysinfo is not None else hs100()
        self.realtime = realtime
        self.day_list: list[dict[str, Any]] = [
            {"year": 2024, "month": 5, "day": 1, "energy_wh": 250},
            {"year": 2024, "month": 5, "day": 2, "energy_wh": 500},
        ]

    @property
    def children(self) -> list[dict[str, Any]]:
        return list(self.sysinfo.get("children") or [])

    def child(self, child_id: str) -> dict[str, Any] | None:
        return next((c for c in self.children if c["id"] == child_id), None)

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        context = request.get("context") or {}
        child_ids = context.get("child_ids") or []
        reply: dict[str, Any] = {}
        for module, methods in request.items():
            if module == "context":
                continue
            handler = getattr(self, f"_{module}", None)
            if handler is None or not isinstance(methods, dict):
                reply[module] = dict(NOT_SUPPORTED)
                continue
            reply[module] = handler(methods, child_ids)
        return reply

    def _system(self, methods: dict[str, Any], child_ids: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for method, args in methods.items():
            args = args or {}
            targets = [self.child(i) for i in child_ids]
            if any(t is None for t in targets):
                out[method] = {"err_code": -14, "err_msg": "entry not exist"}
                continue
            if method == "get_sysinfo":
                out[method] = copy.deepcopy(self.sysinfo)
            elif method == "set_relay_state":
                state = int(args["state"])
                if targets:
                    for target in targets:
                        target["state"] = state  # type: ignore[index]
                elif self.children:
                    for child in self.sysinfo["children"]:
                        child["state"] = state
                else:
                    self.sysinfo["relay_state"] = state
                out[method] = {"err_code": 0}
            elif method == "set_led_off":
                self.sysinfo["led_off"] = int(args["off"])
                out[method] = {"err_code": 0}
            elif method == "set_dev_alias":
                if targets:
                    for target in targets:
                        target["alias"] = args["alias"]  # type: ignore[index]
                else:
                    self.sysinfo["alias"] = args["alias"]
                out[method] = {"err_code": 0}
            else:
                out[method] = {"err_code": -2, "err_msg": "member not support"}
        return out

    def _emeter(self, methods: dict[str, Any], child_ids: list[str]) -> dict[str, Any]:
        if "ENE" not in self.sysinfo.get("feature", ""):
            return dict(NOT_SUPPORTED)
        out: dict[str, Any] = {}
        for method in methods:
            if method == "get_realtime":
                if child_ids:
                    index = [c["id"] for c in self.children].index(child_ids[0])
                    out[method] = new_meter(1000 * (index + 1), slot_id=index)
                else:
                    out[method] = dict(self.realtime or old_meter())
            elif method == "get_daystat":
                out[method] = {"day_list": self.day_list, "err_code": 0}
            else:
                out[method] = {"err_code": -2, "err_msg": "member not support"}
        return out

    def _time(self, methods: dict[str, Any], child_ids: list[str]) -> dict[str, Any]:
        now = {"year": 2024, "month": 5, "mday": 17, "hour": 13, "min": 45, "sec": 9}
        return {m: {**now, "err_code": 0} for m in methods}


# -- the asyncio server -----------------------------------------------------------------

Plan = Callable[
    ["FakeDevice", asyncio.StreamReader, asyncio.StreamWriter, dict[str, Any]], Awaitable[bool]
]
"""A one-shot misbehaviour for the next request; returns False to drop the connection."""


def frame_json(obj: Any) -> bytes:
    return codec.frame(json.dumps(obj).encode())


class FakeDevice:
    """A framed TCP server on 127.0.0.1 (port 0) around a ``FakeState``."""

    def __init__(self, state: FakeState | None = None, *, reply_delay: float = 0.0) -> None:
        self.state = state or FakeState()
        self.reply_delay = reply_delay
        self.plans: list[Plan | None] = []  # consumed one per request; None = behave
        self.requests: list[dict[str, Any]] = []
        self.accepts = 0
        self.split_requests = 0  # requests that needed more than one read
        self.overlaps = 0  # bytes of a next request arrived before our reply
        self.client_closed = asyncio.Event()
        self.close_after_reply = False
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self.port = 0

    async def start(self, port: int = 0) -> FakeDevice:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._handlers):
            task.cancel()
        if self._handlers:
            await asyncio.wait(self._handlers, timeout=1)

    async def __aenter__(self) -> FakeDevice:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def count(self, method: str) -> int:
        return sum(
            1
            for request in self.requests
            for methods in request.values()
            if isinstance(methods, dict) and method in methods
        )

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self.accepts += 1
        buffer = b""
        try:
            while True:
                reads = 0
                while len(buffer) < 4 or len(buffer) < 4 + int.from_bytes(buffer[:4], "big"):
                    data = await reader.read(65536)
                    if not data:
                        self.client_closed.set()
                        return
                    buffer += data
                    reads += 1
                if reads > 1:
                    self.split_requests += 1
                length = int.from_bytes(buffer[:4], "big")
                body, buffer = buffer[4 : 4 + length], buffer[4 + length :]
                request = json.loads(codec.decrypt(body))
                self.requests.append(request)
                plan = self.plans.pop(0) if self.plans else None
                if plan is not None:
                    if not await plan(self, reader, writer, request):
                        return
                    continue
                if self.reply_delay:
                    try:
                        extra = await asyncio.wait_for(reader.read(65536), self.reply_delay)
                    except TimeoutError:
                        pass
                    else:
                        self.overlaps += 1
                        buffer += extra
                writer.write(frame_json(self.state.answer(request)))
                await writer.drain()
                if self.close_after_reply:
                    return
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
            self._handlers.discard(task)


# -- plans: one misbehaviour each ---------------------------------------------------------


async def _until_client_closes(reader: asyncio.StreamReader, dev: FakeDevice) -> None:
    while await reader.read(65536):
        pass
    dev.client_closed.set()


async def split_reply(dev: FakeDevice, reader: Any, writer: Any, request: dict[str, Any]) -> bool:
    """The normal reply, one byte per write, draining and yielding after each."""
    for byte in frame_json(dev.state.answer(request)):
        writer.write(bytes((byte,)))
        await writer.drain()
        await asyncio.sleep(0)
    return True


def slow_reply(delay: float) -> Plan:
    async def plan(dev: FakeDevice, reader: Any, writer: Any, request: dict[str, Any]) -> bool:
        await asyncio.sleep(delay)
        writer.write(frame_json(dev.state.answer(request)))
        return True

    return plan


async def no_reply(dev: FakeDevice, reader: Any, writer: Any, request: dict[str, Any]) -> bool:
    await _until_client_closes(reader, dev)
    return False


async def close_without_reply(dev: FakeDevice, reader: Any, writer: Any, req: Any) -> bool:
    return False


async def close_after_header(dev: FakeDevice, reader: Any, writer: Any, req: Any) -> bool:
    writer.write((100).to_bytes(4, "big"))
    await writer.drain()
    return False


async def close_inside_header(dev: FakeDevice, reader: Any, writer: Any, req: Any) -> bool:
    writer.write(b"\x00\x00")
    await writer.drain()
    return False


async def hang_mid_body(dev: FakeDevice, reader: Any, writer: Any, req: Any) -> bool:
    writer.write(frame_json(dev.state.answer(req))[:20])
    await writer.drain()
    await _until_client_closes(reader, dev)
    return False


async def oversize(dev: FakeDevice, reader: Any, writer: Any, req: Any) -> bool:
    writer.write(((1 << 20) + 1).to_bytes(4, "big") + b"\x00" * 64)
    await writer.drain()
    await _until_client_closes(reader, dev)
    return False


def raw_body(plaintext: bytes, *, encrypt: bool = True) -> Plan:
    """Reply with this body (framed; encrypted unless told otherwise) and keep going."""

    async def plan(dev: FakeDevice, reader: Any, writer: Any, req: Any) -> bool:
        body = codec.encrypt(plaintext) if encrypt else plaintext
        writer.write(len(body).to_bytes(4, "big") + body)
        await writer.drain()
        return True

    return plan


def reply_with(obj: Any) -> Plan:
    return raw_body(json.dumps(obj).encode())


@contextlib.contextmanager
def refusing_port() -> Iterator[int]:
    """A loopback port where connect is refused, for as long as the block runs.

    The port stays bound (not listening, no SO_REUSEADDR): connects get a reset,
    and no other server, from this test run or a suite running beside it, can
    take the port and answer in its place. Closing a socket and handing out its
    number would leave that window open.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])
