"""KLAP: known answers from a second implementation, then real HTTP against the simulator.

The vectors in ``vectors/newer_protocols.json`` were written once by python-kasa's own
functions in a throwaway script outside the repo; only the numbers are committed.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tplink_tui.errors import DeviceUnreachable, ProtocolError
from tplink_tui.simulator.newer import TEST_PASSWORD, TEST_USERNAME, NewerSimulator
from tplink_tui.transports import AuthenticationError, Credentials
from tplink_tui.transports.klap import (
    KlapCipher,
    KlapTransport,
    auth_hash,
    client_hash,
    server_hash,
)

VECTORS = json.loads((Path(__file__).parent / "vectors" / "newer_protocols.json").read_text())
CREDS = Credentials(TEST_USERNAME, TEST_PASSWORD)
INFO = b'{"method":"get_device_info","params":null}'


@pytest.mark.parametrize("version", [1, 2])
def test_known_answers(version: int) -> None:
    v = VECTORS[f"klap_v{version}"]
    creds = Credentials(**VECTORS["credentials"])
    local, remote = bytes.fromhex(v["local_seed"]), bytes.fromhex(v["remote_seed"])
    auth = auth_hash(version, creds)
    assert auth.hex() == v["auth_hash"]
    assert server_hash(version, local, remote, auth).hex() == v["handshake1_server_hash"]
    assert client_hash(version, local, remote, auth).hex() == v["handshake2_client_hash"]
    cipher = KlapCipher(local, remote, auth)
    assert cipher.key.hex() == v["key"]
    assert cipher.iv_prefix.hex() == v["iv_prefix"]
    assert cipher.seq == v["initial_seq"]
    assert cipher.sig.hex() == v["sig"]
    seq, body = cipher.encrypt(v["request_plaintext"].encode())
    assert seq == v["request_seq"]
    assert body.hex() == v["request_body"]
    assert cipher.decrypt(seq, body) == v["request_plaintext"].encode()


def test_versions_differ_and_other_version_never_matches() -> None:
    v = VECTORS["klap_v2"]
    local, remote = bytes.fromhex(v["local_seed"]), bytes.fromhex(v["remote_seed"])
    proof = bytes.fromhex(v["handshake1_server_hash"])
    assert server_hash(1, local, remote, auth_hash(1, CREDS)) != proof


def test_sequence_wraps_as_signed_32_bit() -> None:
    cipher = KlapCipher(b"\0" * 16, b"\1" * 16, b"\2" * 32)
    cipher.seq = 2**31 - 1
    seq, _ = cipher.encrypt(b"{}")
    assert seq == -(2**31)


def test_decrypt_rejects_garbage() -> None:
    cipher = KlapCipher(b"\0" * 16, b"\1" * 16, b"\2" * 32)
    with pytest.raises(ValueError):
        cipher.decrypt(1, b"\0" * 32 + b"short")


@pytest.fixture
async def sim() -> AsyncIterator[NewerSimulator]:
    async with NewerSimulator() as simulator:
        yield simulator


def _info(reply: bytes) -> dict[str, Any]:
    data = json.loads(reply)
    assert data["error_code"] == 0
    return dict(data["result"])


@pytest.mark.parametrize("version", [1, 2])
async def test_both_versions_detected_over_http(sim: NewerSimulator, version: int) -> None:
    dev = await sim.add("kp125m", login_version=version)
    t = KlapTransport(dev.host, dev.port, credentials=CREDS)
    try:
        assert _info(await t.request(INFO, retry_safe=True))["model"] == "KP125M"
        assert t.version == version
        await t.request(INFO, retry_safe=True)
        assert t.handshakes == 1  # the session is reused
    finally:
        await t.close()


async def test_old_dialect_over_klap_v1(sim: NewerSimulator) -> None:
    dev = await sim.add("hs100v41")
    t = KlapTransport(dev.host, dev.port, credentials=CREDS)
    try:
        reply = json.loads(await t.request(b'{"system":{"get_sysinfo":{}}}', retry_safe=True))
        assert reply["system"]["get_sysinfo"]["model"] == "HS100(UK)"
        assert t.version == 1
    finally:
        await t.close()


async def test_wrong_password_names_the_host(sim: NewerSimulator) -> None:
    dev = await sim.add("p110")
    t = KlapTransport(dev.host, dev.port, credentials=Credentials(TEST_USERNAME, "wrong"))
    with pytest.raises(AuthenticationError) as info:
        await t.request(INFO)
    assert f"127.0.0.1:{dev.port}" in str(info.value)
    assert "authentication failed" in str(info.value)
    assert "wrong" not in str(info.value)
    assert info.value.exit_code == 6
    t.credentials = CREDS
    assert _info(await t.request(INFO))["model"] == "P110"
    await t.close()


async def test_forgotten_session_renewed_once_even_for_a_write(sim: NewerSimulator) -> None:
    dev = await sim.add("kp125m")
    t = KlapTransport(dev.host, dev.port, credentials=CREDS)
    await t.request(INFO)
    dev.forget_sessions()
    off = b'{"method":"set_device_info","params":{"device_on":false}}'
    reply = json.loads(await t.request(off, retry_safe=False))  # 403 = not done: safe to resend
    assert reply["error_code"] == 0
    assert t.handshakes == 2
    assert dev.state.outlets[0].on is False  # type: ignore[union-attr]
    await t.close()


async def test_short_timeout_cookie_renews_early(sim: NewerSimulator) -> None:
    dev = await sim.add("kp125m")
    dev.session_timeout = 0  # the session is already due for renewal
    t = KlapTransport(dev.host, dev.port, credentials=CREDS)
    await t.request(INFO)
    await t.request(INFO)
    assert t.handshakes == 2
    await t.close()


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("drop_handshake", DeviceUnreachable),
        ("garbage_handshake", ProtocolError),
        ("http_500", ProtocolError),
    ],
)
async def test_faults_give_their_error_then_work(
    sim: NewerSimulator, fault: str, error: type[Exception]
) -> None:
    dev = await sim.add("p316m")
    setattr(dev.faults, fault, 1)
    t = KlapTransport(dev.host, dev.port, timeout=2.0, credentials=CREDS)
    with pytest.raises(error) as info:
        await t.request(INFO, retry_safe=True)
    assert f"127.0.0.1:{dev.port}" in str(info.value)
    assert _info(await t.request(INFO, retry_safe=True))["model"] == "P316M"
    await t.close()


async def test_http_500_mid_session_then_works(sim: NewerSimulator) -> None:
    dev = await sim.add("p300")
    t = KlapTransport(dev.host, dev.port, credentials=CREDS)
    await t.request(INFO)
    dev.faults.http_500 = 1
    with pytest.raises(ProtocolError, match="HTTP 500"):
        await t.request(INFO)
    assert _info(await t.request(INFO))["model"] == "P300"
    await t.close()


async def test_refused_port_is_unreachable() -> None:
    t = KlapTransport("127.0.0.1", 1, credentials=CREDS)
    with pytest.raises(DeviceUnreachable, match="cannot connect"):
        await t.request(INFO)
    await t.close()


async def test_traffic_is_decrypted_for_listeners(sim: NewerSimulator) -> None:
    from tplink_tui import transport

    seen: list[tuple[str, str]] = []

    def listener(direction: str, host: str, port: int, text: str) -> None:
        seen.append((direction, text))

    dev = await sim.add("kp125m")
    t = KlapTransport(dev.host, dev.port, credentials=CREDS)
    transport.add_traffic_listener(listener)
    try:
        await t.request(INFO)
    finally:
        transport.remove_traffic_listener(listener)
        await t.close()
    assert seen[0] == ("->", INFO.decode())
    assert seen[1][0] == "<-" and "KP125M" in seen[1][1]
    assert all(TEST_PASSWORD not in text for _, text in seen)


@pytest.mark.parametrize("model", ["kp125m", "ep25"])
async def test_abort_while_a_reply_is_on_the_wire(sim: NewerSimulator, model: str) -> None:
    """An abort (the app closing, a cancel) between send and reply is a ConnectionFailure,
    never an AttributeError from a session that is gone; the next request shakes hands."""
    from tplink_tui.errors import ConnectionFailure
    from tplink_tui.transports.aes import AesTransport

    dev = await sim.add(model)
    t: Any = (KlapTransport if model == "kp125m" else AesTransport)(
        dev.host, dev.port, credentials=CREDS
    )
    try:
        await t.request(INFO, retry_safe=True)
        real_post = t._http.post

        async def post_then_abort(*args: Any, **kwargs: Any) -> Any:
            reply = await real_post(*args, **kwargs)
            t.abort()
            return reply

        t._http.post = post_then_abort
        with pytest.raises(ConnectionFailure, match="closed during a request"):
            await t.request(INFO, retry_safe=True)
        t._http.post = real_post
        assert _info(await t.request(INFO, retry_safe=True))["model"] == model.upper()
    finally:
        await t.close()
