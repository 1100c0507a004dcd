"""AES securePassthrough: known answers from python-kasa's functions, then real HTTP."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tplink_tui.errors import DeviceUnreachable, ProtocolError
from tplink_tui.simulator.newer import TEST_PASSWORD, TEST_USERNAME, NewerSimulator
from tplink_tui.transports import AuthenticationError, Credentials
from tplink_tui.transports.aes import (
    HANDSHAKE_LENGTH,
    AesCipher,
    AesTransport,
    handshake_body,
    login_params,
)
from tplink_tui.transports.http import redact

VECTORS = json.loads((Path(__file__).parent / "vectors" / "newer_protocols.json").read_text())
AES = VECTORS["aes"]
CREDS = Credentials(TEST_USERNAME, TEST_PASSWORD)
INFO = b'{"method":"get_device_info","params":null}'


def _private_key() -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(AES["private_key_pem"].encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def test_handshake_key_known_answer() -> None:
    cipher = AesCipher.from_handshake(_private_key(), base64.b64decode(AES["handshake_key_b64"]))
    assert cipher.key.hex() == AES["aes_key"]
    assert cipher.iv.hex() == AES["aes_iv"]


def test_handshake_body_matches_the_app_byte_for_byte() -> None:
    body = handshake_body(_private_key())
    assert len(body) == HANDSHAKE_LENGTH == AES["handshake_body_length"]
    assert body.decode() == AES["handshake_body"]


@pytest.mark.parametrize("version", [1, 2])
def test_login_known_answer(version: int) -> None:
    v = AES[f"login_v{version}"]
    assert login_params(version, Credentials(**VECTORS["credentials"])) == v["params"]
    cipher = AesCipher(bytes.fromhex(AES["aes_key"]), bytes.fromhex(AES["aes_iv"]))
    assert cipher.encrypt(v["request_plaintext"].encode()) == v["request_b64"]
    assert cipher.decrypt(v["request_b64"]) == v["request_plaintext"].encode()


def test_redaction_hides_credentials_and_token() -> None:
    login = AES["login_v2"]["request_plaintext"].encode()
    text = redact(login).decode()
    assert AES["login_v2"]["params"]["password2"] not in text
    assert AES["login_v2"]["params"]["username"] not in text
    assert "login_device" in text
    assert "abc123" not in redact(b'{"result":{"token":"abc123"}}').decode()


@pytest.fixture
async def sim() -> AsyncIterator[NewerSimulator]:
    async with NewerSimulator() as simulator:
        yield simulator


def _info(reply: bytes) -> dict[str, Any]:
    data = json.loads(reply)
    assert data["error_code"] == 0
    return dict(data["result"])


@pytest.mark.parametrize("version", [1, 2])
async def test_login_version_detected_over_http(sim: NewerSimulator, version: int) -> None:
    dev = await sim.add("ep25", login_version=version)
    t = AesTransport(dev.host, dev.port, credentials=CREDS)
    try:
        assert _info(await t.request(INFO, retry_safe=True))["model"] == "EP25"
        assert t.login_version == version
        await t.request(INFO)
        assert t.handshakes == (1 if version == 2 else 2)  # v2 tried first
    finally:
        await t.close()


async def test_wrong_password_then_fresh_handshake_works(sim: NewerSimulator) -> None:
    dev = await sim.add("ep25")
    t = AesTransport(dev.host, dev.port, credentials=Credentials(TEST_USERNAME, "nope"))
    with pytest.raises(AuthenticationError) as info:
        await t.request(INFO)
    assert f"127.0.0.1:{dev.port}" in str(info.value) and "nope" not in str(info.value)
    before = t.handshakes
    t.credentials = CREDS
    assert _info(await t.request(INFO))["model"] == "EP25"
    assert t.handshakes > before  # a refused login spoils the session: new handshake
    await t.close()


async def test_forgotten_session_renewed_once(sim: NewerSimulator) -> None:
    dev = await sim.add("ep25")
    t = AesTransport(dev.host, dev.port, credentials=CREDS, login_version=2)
    await t.request(INFO)
    dev.forget_sessions()
    off = b'{"method":"set_device_info","params":{"device_on":false}}'
    assert json.loads(await t.request(off))["error_code"] == 0
    assert t.handshakes == 2
    assert dev.state.outlets[0].on is False  # type: ignore[union-attr]
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
    dev = await sim.add("ep25")
    setattr(dev.faults, fault, 1)
    t = AesTransport(dev.host, dev.port, timeout=2.0, credentials=CREDS, login_version=2)
    with pytest.raises(error) as info:
        await t.request(INFO, retry_safe=True)
    assert f"127.0.0.1:{dev.port}" in str(info.value)
    assert _info(await t.request(INFO, retry_safe=True))["model"] == "EP25"
    await t.close()


async def test_login_is_redacted_in_traffic(sim: NewerSimulator) -> None:
    from tplink_tui import transport

    seen: list[str] = []
    dev = await sim.add("ep25", login_version=1)  # v1 sends base64(password) itself
    t = AesTransport(dev.host, dev.port, credentials=CREDS, login_version=1)

    def listener(direction: str, host: str, port: int, text: str) -> None:
        seen.append(text)

    transport.add_traffic_listener(listener)
    try:
        await t.request(INFO)
    finally:
        transport.remove_traffic_listener(listener)
        await t.close()
    assert any("login_device" in text for text in seen)
    secret = base64.b64encode(TEST_PASSWORD.encode()).decode()
    assert all(secret not in text and TEST_PASSWORD not in text for text in seen)


async def test_one_key_for_every_session_made_off_the_event_loop(
    sim: NewerSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Making an RSA key takes ~10-20 ms: a thousand devices trying AES must not make
    a thousand, nor stall the event loop while the one is made."""
    import threading

    from tplink_tui.transports import aes

    made: list[bool] = []
    real = aes.new_private_key

    def counted() -> rsa.RSAPrivateKey:
        made.append(threading.current_thread() is threading.main_thread())
        return real()

    monkeypatch.setattr(aes, "new_private_key", counted)
    monkeypatch.setattr(aes, "_shared_key", None)
    devices = [await sim.add("ep25") for _ in range(3)]
    transports = [AesTransport(d.host, d.port, credentials=CREDS) for d in devices]
    try:
        for t in transports:
            assert _info(await t.request(INFO))["model"] == "EP25"
    finally:
        for t in transports:
            await t.close()
    assert made == [False]  # one key, made on a worker thread
