"""TDDP: known answers (vectors from pycryptodome, tests/vectors/tddp.json) and the
``tddp`` verb end to end over UDP against ``simulate --tddp`` devices on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import cli, error_line

from tplink_tui.errors import ListenError
from tplink_tui.simulator import SimulatedDevice, Simulator, ThreadedSimulator
from tplink_tui.simulator.tddp import TddpConfig, TddpDevice
from tplink_tui.tddp import protocol
from tplink_tui.tddp.client import Request, request
from tplink_tui.tddp.protocol import DigestMismatch, Header

VECTORS = json.loads((Path(__file__).parent / "vectors" / "tddp.json").read_text())
ADMIN = protocol.des_key("admin", "admin")


# -- known answers ------------------------------------------------------------------


def test_header_layout() -> None:
    fields = dict(VECTORS["header"]["fields"])
    fields["digest"] = bytes.fromhex(fields["digest"])
    header = Header(**fields)
    assert protocol.HEADER_SIZE == 28
    assert header.pack().hex() == VECTORS["header"]["hex"]
    assert Header.unpack(bytes.fromhex(VECTORS["header"]["hex"])) == header


@pytest.mark.parametrize("case", VECTORS["keys"], ids=lambda c: c["password"])
def test_des_key_derivation(case: dict[str, str]) -> None:
    assert protocol.des_key(case["username"], case["password"]).hex() == case["key"]


def test_single_des_from_cryptography() -> None:
    fips = VECTORS["des_fips"]  # the classic "Now is the time for all " example
    key, plain = bytes.fromhex(fips["key"]), bytes.fromhex(fips["plain"])
    assert protocol.des_encrypt(key, plain).hex() == fips["cipher"]
    assert protocol.des_decrypt(key, bytes.fromhex(fips["cipher"])) == plain


def test_encrypted_exchange() -> None:
    vec = VECTORS["exchange"]
    ask = Header(2, protocol.TYPE_CMD_SPE_OPR, protocol.CODE_REQUEST, 0, 0, 0x1234, 0x0A)
    assert protocol.build(ask, b"", ADMIN).hex() == vec["request"]
    answer = replace(ask, code=protocol.CODE_REPLY)
    text = vec["reply_text"].encode()
    assert protocol.build(answer, text, ADMIN).hex() == vec["reply"]
    parsed = protocol.parse(bytes.fromhex(vec["reply"]), ADMIN)
    assert parsed.key_verified and parsed.data.rstrip(b"\0") == text
    assert parsed.header.length == 32 and parsed.header.packet_id == 0x1234
    with pytest.raises(DigestMismatch):
        protocol.parse(bytes.fromhex(vec["reply"]), protocol.des_key("admin", "nope"))
    write = Header(2, protocol.TYPE_SET_USR_CFG, protocol.CODE_REQUEST, 0, 0, 0x42, 0x14)
    data = bytes.fromhex(vec["write_data"])
    assert protocol.build(write, data, ADMIN).hex() == vec["write_request"]
    plain = Header(1, protocol.TYPE_CMD_SPE_OPR, protocol.CODE_REQUEST, 0, 0, 7, 0x0E)
    assert protocol.build(plain, b"", None).hex() == vec["plain_request_v1"]


def test_simulated_device_answers_the_vector_request(simulator_device: SimulatedDevice) -> None:
    answer = TddpDevice(simulator_device, TddpConfig()).answer(
        bytes.fromhex(VECTORS["exchange"]["request"])
    )
    assert answer is not None
    reply = protocol.parse(answer, ADMIN)
    assert reply.header.code == protocol.CODE_REPLY and reply.header.packet_id == 0x1234
    assert f"alias {simulator_device.alias}\n".encode() in reply.data


def test_malformed_packets() -> None:
    raw = bytes.fromhex(VECTORS["exchange"]["reply"])
    with pytest.raises(protocol.ProtocolError, match="shorter than its header"):
        protocol.parse(raw[:20], ADMIN)
    with pytest.raises(protocol.ProtocolError, match="announces 32 data bytes"):
        protocol.parse(raw[:-8], ADMIN)
    with pytest.raises(protocol.ProtocolError, match="version 7"):
        protocol.parse(b"\x07" + raw[1:], ADMIN)


# -- end to end over UDP -------------------------------------------------------------


@pytest.fixture
def simulator_device() -> Iterator[SimulatedDevice]:
    with ThreadedSimulator(seed=5) as sim:
        yield sim.add("hs110", "Fridge")


@pytest.fixture
def tddp_sim() -> Iterator[tuple[ThreadedSimulator, SimulatedDevice, int]]:
    with ThreadedSimulator(seed=5, tddp=TddpConfig("admin", "s3cret")) as sim:
        device = sim.add("hs110", "Fridge")
        port = sim.sim.tddp_port(device)
        assert port is not None
        yield sim, device, port


def tddp(capsys: pytest.CaptureFixture[str], port: int, *argv: str) -> tuple[int, str, str]:
    return cli(
        capsys,
        "tddp",
        "127.0.0.1",
        "--port",
        str(port),
        "--reply-port",
        "0",
        "--timeout",
        "2",
        *argv,
    )


def test_read_v2_text_and_json(
    tddp_sim: tuple[ThreadedSimulator, SimulatedDevice, int], capsys: pytest.CaptureFixture[str]
) -> None:
    _, device, port = tddp_sim
    code, out, err = tddp(capsys, port, "--password", "s3cret", "--read", "0A")
    assert code == 0, err
    assert "version 2  type 03 (CMD_SPE_OPR)  code 02  reply info 00 (ok)" in out
    assert f"  model {device.model}" in out and f"  mac {device.mac}" in out
    code, out, err = tddp(capsys, port, "--password", "s3cret", "--read", "0x0e", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["reply"]["subtype"] == 0x0E and report["reply"]["version"] == 2
    assert report["request"]["code"] == 1 and report["reply"]["code"] == 2
    assert report["key_verified"] is True and report["text"].startswith("wlan_link 1\nrssi -")
    assert report["reply_from"] == f"127.0.0.1:{port}"


def test_read_v1_plain_binary_and_write(
    tddp_sim: tuple[ThreadedSimulator, SimulatedDevice, int], capsys: pytest.CaptureFixture[str]
) -> None:
    _, device, port = tddp_sim
    code, out, err = tddp(capsys, port, "--version", "1", "--read", "0A", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["reply"]["version"] == 1 and report["reply"]["digest"] == "00" * 16
    assert f"alias {device.alias}" in report["text"]
    code, out, err = tddp(capsys, port, "--password", "s3cret", "--read", "12")
    assert code == 0, err
    assert "data (20 bytes, hex):" in out
    new = b"cloud_server example.test\n"
    code, out, err = tddp(
        capsys, port, "--password", "s3cret", "--write", "14", "--data", new.hex()
    )
    assert code == 0 and "type 01 (SET_USR_CFG)" in out and "no data" in out, err
    code, out, err = tddp(capsys, port, "--password", "s3cret", "--read", "14", "--json")
    assert json.loads(out)["text"] == new.decode()


def test_wrong_password_is_a_digest_mismatch(
    tddp_sim: tuple[ThreadedSimulator, SimulatedDevice, int], capsys: pytest.CaptureFixture[str]
) -> None:
    _, _, port = tddp_sim
    code, out, err = tddp(capsys, port, "--read", "0A")  # admin/admin, device has s3cret
    assert code == 6 and out == ""
    assert "digest mismatch" in error_line(err) and "--password" in err
    code, out, err = tddp(capsys, port, "--write", "14", "--data", "00ff")
    assert code == 6 and "the device found a TDDP digest mismatch" in error_line(err)
    code, out, err = tddp(capsys, port, "--password", "s3cret", "--read", "77")
    assert code == 1 and "reply info 03 (unsupported" in out
    assert "device error 3 in tddp" in error_line(err)


def test_silent_device_is_a_timeout(capsys: pytest.CaptureFixture[str]) -> None:
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    try:
        port = silent.getsockname()[1]
        code, out, err = cli(
            capsys, "tddp", "127.0.0.1", "--port", str(port), "--reply-port", "0",
            "--timeout", "0.3", "--read", "0A",
        )  # fmt: skip
        assert silent.recv(100)[:1] == b"\x02"  # the request did arrive
    finally:
        silent.close()
    assert code == 3 and out == ""
    assert "no TDDP reply on UDP port" in error_line(err)


async def test_default_reply_port_and_a_busy_one() -> None:
    """Replies are received on 61000 by default (and requests sent from it)."""
    async with Simulator(seed=3, tddp=TddpConfig()) as sim:
        device = await sim.add("hs105")
        port = sim.tddp_port(device)
        assert port is not None
        try:
            exchange = await request("127.0.0.1", Request(0x0C), port=port, timeout=2)
        except ListenError:
            pytest.skip("UDP 61000 is taken on this machine")
        assert exchange.reply_port == protocol.REPLY_PORT == 61000
        assert exchange.reply.data.startswith(b"time 20")
        busy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        busy.bind(("127.0.0.1", 0))
        try:
            with pytest.raises(ListenError, match="is busy"):
                await request(
                    "127.0.0.1", Request(0x0C), port=port, reply_port=busy.getsockname()[1]
                )
        finally:
            busy.close()


def test_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "tddp", "127.0.0.1", "--write", "14")
    assert code == 2 and "--write needs --data" in error_line(err)
    code, _, err = cli(capsys, "tddp", "127.0.0.1", "--write", "14", "--data", "xyz")
    assert code == 2 and "not hex" in error_line(err)
    code, _, err = cli(capsys, "tddp", "127.0.0.1", "--read", "1FF")
    assert code == 2 and "out of range" in err
    code, _, err = cli(capsys, "tddp", "127.0.0.1")
    assert code == 2 and "--read" in err


def test_simulate_tddp_subprocess(capsys: pytest.CaptureFixture[str]) -> None:
    """``tplink-tui simulate --tddp --tddp-password``: the port is printed, the password used."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    argv = [sys.executable, "-m", "tplink_tui", "simulate", "kp115=Desk", "--tddp"]
    proc = subprocess.Popen(
        [*argv, "--tddp-user", "root", "--tddp-password", "pw"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line: dict[str, Any] = json.loads(proc.stdout.readline())
        assert json.loads(proc.stdout.readline()) == {"ready": True}
        port = line["tddp_port"]
        code, out, err = tddp(capsys, port, "--user", "root", "--password", "pw", "--read", "0A")
        assert code == 0 and "  alias Desk" in out, err
        code, _, err = tddp(capsys, port, "--user", "root", "--read", "0A")
        assert code == 6
    finally:
        proc.terminate()
        proc.wait(10)


def test_tddp_client_runs_in_its_own_loop() -> None:
    """The client is plain asyncio: usable from a script with asyncio.run."""
    with ThreadedSimulator(seed=9, tddp=TddpConfig()) as sim:
        device = sim.add("hs110")
        port = sim.sim.tddp_port(device)
        assert port is not None
        exchange = asyncio.run(request("127.0.0.1", Request(0x0A), port=port, reply_port=0))
    assert exchange.reply.key_verified and device.device_id.encode() in exchange.reply.data


async def test_a_reply_from_elsewhere_is_ignored() -> None:
    """Only the device's own reply counts (even if it does not echo the packet id)."""
    loop = asyncio.get_running_loop()
    stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    stranger.bind(("127.0.0.2", 0))

    class Device(asyncio.DatagramProtocol):
        def connection_made(self, transport: Any) -> None:
            self.transport = transport

        def datagram_received(self, data: bytes, addr: Any) -> None:
            asked = Header.unpack(data)
            forged = Header(2, asked.type, protocol.CODE_REPLY, 0, 0, asked.packet_id ^ 1, 0x0A)
            stranger.sendto(protocol.build(forged, b"forged\n", ADMIN), addr)
            own = Header(2, asked.type, protocol.CODE_REPLY, 0, 0, 1, asked.subtype)
            loop.call_later(0.05, self.transport.sendto, protocol.build(own, b"own\n", ADMIN), addr)

    transport, _ = await loop.create_datagram_endpoint(Device, local_addr=("127.0.0.1", 0))
    try:
        port = transport.get_extra_info("sockname")[1]
        exchange = await request("127.0.0.1", Request(0x0A), port=port, reply_port=0, timeout=2)
    finally:
        transport.close()
        stranger.close()
    assert exchange.reply.data.rstrip(b"\0") == b"own\n"
    assert exchange.reply_from == ("127.0.0.1", port)
