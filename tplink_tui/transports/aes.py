"""AES "securePassthrough": RSA key exchange, login_device, then wrapped requests.

The handshake body is built byte for byte like the official app's (one-line PEM,
compact JSON, 314 bytes), since some firmware rejects other lengths. The outer
``error_code`` is checked before anything is decrypted: an error reply carries no
ciphertext. A refused login spoils the session on the device, so the next attempt
starts with a fresh handshake.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import padding, serialization
from cryptography.hazmat.primitives.asymmetric import padding as rsa_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ..errors import ConnectionFailure, DeviceError, DeviceUnreachable, ProtocolError
from .errors import AUTH_CODES, SESSION_CODES, AuthenticationError, Credentials, SessionGone
from .http import (
    DEFAULT_HTTP_PORT,
    DEFAULT_TIMEOUT,
    SESSION_COOKIE,
    TIMEOUT_COOKIE,
    HttpReply,
    HttpSession,
    trace,
)
from .klap import _lifetime

HEADERS = {"Content-Type": "application/json", "requestByApp": "true", "Accept": "application/json"}
HANDSHAKE_LENGTH = 314


def new_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)


_shared_key: rsa.RSAPrivateKey | None = None
_shared_key_lock = threading.Lock()


def shared_private_key() -> rsa.RSAPrivateKey:
    """The one RSA key every AES session of this process offers, made on first need.

    A key takes ~10-20 ms to make: one per device would stall a dashboard whose
    thousand unreachable devices all try AES. The key only carries each session's
    own AES key to us and never leaves this process, so sharing it costs nothing."""
    global _shared_key
    with _shared_key_lock:
        if _shared_key is None:
            _shared_key = new_private_key()
        return _shared_key


def handshake_body(key: rsa.RSAPrivateKey) -> bytes:
    """The handshake request: the public key as a one-line PEM, compact JSON."""
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    pem = (
        f"-----BEGIN PUBLIC KEY-----\n{base64.b64encode(der).decode()}\n-----END PUBLIC KEY-----\n"
    )
    return _dumps({"method": "handshake", "params": {"key": pem}})


def login_params(version: int, credentials: Credentials) -> dict[str, str]:
    """login_device params: base64(sha1 hex(user)) and the password in v1 or v2 form."""
    user = _b64(_sha1_hex(credentials.username))
    if version == 2:
        return {"password2": _b64(_sha1_hex(credentials.password)), "username": user}
    return {"password": _b64(credentials.password), "username": user}


class AesCipher:
    """AES-128-CBC with the session's fixed key and IV; base64 on the wire."""

    def __init__(self, key: bytes, iv: bytes) -> None:
        self.key, self.iv = key, iv

    @classmethod
    def from_handshake(cls, private_key: rsa.RSAPrivateKey, encrypted: bytes) -> AesCipher:
        """Decrypt the device's RSA-PKCS#1 v1.5 blob: 16 bytes of key, 16 of IV."""
        material = private_key.decrypt(encrypted, rsa_padding.PKCS1v15())
        if len(material) != 32:
            raise ValueError(f"handshake key of {len(material)} bytes, not 32")
        return cls(material[:16], material[16:])

    def encrypt(self, plaintext: bytes) -> str:
        padder = padding.PKCS7(128).padder()
        enc = Cipher(algorithms.AES(self.key), modes.CBC(self.iv)).encryptor()
        data = enc.update(padder.update(plaintext) + padder.finalize()) + enc.finalize()
        return base64.b64encode(data).decode()

    def decrypt(self, text: str) -> bytes:
        """ValueError when ``text`` is not base64 of a valid ciphertext."""
        data = base64.b64decode(text, validate=True)
        if not data or len(data) % 16:
            raise ValueError(f"ciphertext of {len(data)} bytes")
        dec = Cipher(algorithms.AES(self.key), modes.CBC(self.iv)).decryptor()
        unpadder = padding.PKCS7(128).unpadder()
        return unpadder.update(dec.update(data) + dec.finalize()) + unpadder.finalize()


class AesTransport:
    """A logged-in securePassthrough session to one device, one request in flight."""

    def __init__(
        self,
        host: str,
        port: int = DEFAULT_HTTP_PORT,
        timeout: float = DEFAULT_TIMEOUT,
        *,
        credentials: Credentials,
        login_version: int | None = None,
        key_factory: Callable[[], rsa.RSAPrivateKey] = shared_private_key,
    ) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.credentials = credentials
        self.login_version = login_version  # None: try 2, then 1; the winner is kept
        self.handshakes = 0
        self.requests_sent = 0
        self._http = HttpSession(host, port, timeout)
        self._key_factory = key_factory
        self._private_key: rsa.RSAPrivateKey | None = None
        self._cipher: AesCipher | None = None
        self._token: str | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()

    @property
    def address(self) -> str:
        return self._http.address

    @property
    def has_session(self) -> bool:
        return self._token is not None and time.monotonic() < self._expires

    async def request(self, payload: bytes, *, retry_safe: bool = False) -> bytes:
        """Send one plaintext JSON payload wrapped in securePassthrough; return the reply."""
        async with self._lock:
            try:
                return await self._request(payload, retry_safe)
            except BaseException:
                self._token = self._cipher = None  # state unknown: start afresh next time
                raise

    async def _request(self, payload: bytes, retry_safe: bool) -> bytes:
        fresh = False
        if not self.has_session:
            await self._connect()
            fresh = True
        trace("->", self.host, self.port, payload)
        try:
            reply = await self._passthrough(payload, {"token": self._token or ""})
        except SessionGone:
            await self._connect()  # refused unseen: resending cannot repeat an action
            try:
                reply = await self._passthrough(payload, {"token": self._token or ""})
            except SessionGone:
                raise ProtocolError(f"{self.address}: the device refused a fresh session") from None
        except DeviceUnreachable:
            if fresh or not retry_safe:
                raise
            await self._http.close()
            await self._connect()
            reply = await self._passthrough(payload, {"token": self._token or ""})
        trace("<-", self.host, self.port, reply)
        return reply

    async def _connect(self) -> None:
        """Handshake and log in; with no known login version try 2, then 1."""
        versions = [self.login_version] if self.login_version else [2, 1]
        for attempt, version in enumerate(versions):
            await self._handshake()
            try:
                await self._login(version)
            except AuthenticationError:
                self._token = self._cipher = None
                if attempt == len(versions) - 1:
                    raise
                continue
            self.login_version = version
            return

    async def _handshake(self) -> None:
        self._token = self._cipher = None
        self._http.cookie = None
        self.handshakes += 1
        if self._private_key is None:  # off the event loop (the key maker frees the GIL)
            self._private_key = await asyncio.to_thread(self._key_factory)
        reply = await self._http.post("/app", handshake_body(self._private_key), headers=HEADERS)
        result = self._outer(reply, "handshake")
        try:
            self._cipher = AesCipher.from_handshake(
                self._private_key, base64.b64decode(str(result["key"]), validate=True)
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ProtocolError(f"{self.address}: garbage handshake answer ({exc})") from None
        self._http.cookie = reply.cookies.get(SESSION_COOKIE) or reply.cookies.get("SESSIONID")
        self._expires = time.monotonic() + _lifetime(reply.cookies.get(TIMEOUT_COOKIE))

    async def _login(self, version: int) -> None:
        request = {
            "method": "login_device",
            "params": login_params(version, self.credentials),
            "request_time_milis": int(time.time() * 1000),
        }
        trace("->", self.host, self.port, _dumps(request))
        try:
            reply = await self._passthrough(_dumps(request), None)
        except SessionGone:
            raise ProtocolError(f"{self.address}: the device dropped a new session") from None
        trace("<-", self.host, self.port, reply)
        inner = _object(reply, self.address, "login_device")
        _check_code(inner, self.address, "login_device")
        token = (
            inner.get("result", {}).get("token") if isinstance(inner.get("result"), dict) else None
        )
        if not isinstance(token, str) or not token:
            raise ProtocolError(f"{self.address}: login_device answered without a token")
        self._token = token

    async def _passthrough(self, payload: bytes, params: dict[str, str] | None) -> bytes:
        cipher = self._cipher
        assert cipher is not None
        body = _dumps(
            {"method": "securePassthrough", "params": {"request": cipher.encrypt(payload)}}
        )
        self.requests_sent += 1
        reply = await self._http.post("/app", body, params=params, headers=HEADERS)
        if self._cipher is not cipher:  # aborted (closed, cancelled) while on the wire
            raise ConnectionFailure(f"{self.address}: the session was closed during a request")
        if reply.status in (401, 403):
            raise SessionGone
        result = self._outer(reply, "securePassthrough")
        try:
            return cipher.decrypt(str(result["response"]))
        except (KeyError, ValueError) as exc:
            raise ProtocolError(
                f"{self.address}: undecryptable passthrough reply ({exc})"
            ) from None

    def _outer(self, reply: HttpReply, method: str) -> dict[str, Any]:
        """The outer reply's ``result``, after its status and ``error_code`` are checked."""
        if reply.status != 200:
            raise ProtocolError(f"{self.address}: HTTP {reply.status} to {method}")
        outer = _object(reply.body, self.address, method)
        _check_code(outer, self.address, method)
        result = outer.get("result")
        if not isinstance(result, dict):
            raise ProtocolError(f"{self.address}: {method} answer has no result object")
        return result

    async def close(self) -> None:
        async with self._lock:
            self._token = self._cipher = None
            await self._http.close()

    def reset(self) -> None:
        """Forget the session (after a smart 9999): the next request shakes hands."""
        self._token = self._cipher = None

    def abort(self) -> None:
        self._token = self._cipher = None
        self._http.abort()


def _check_code(reply: dict[str, Any], address: str, method: str) -> None:
    code = reply.get("error_code", 0)
    if code == 0:
        return
    if not isinstance(code, int) or isinstance(code, bool):
        raise ProtocolError(f"{address}: {method} error_code is not a number: {code!r}")
    if code in AUTH_CODES:
        raise AuthenticationError(address, f"error {code} to {method}")
    if code in SESSION_CODES:
        raise SessionGone
    message = reply.get("msg") or reply.get("message") or ""
    raise DeviceError(code, str(message), method=method, host=address)


def _object(data: bytes, address: str, method: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        raise ProtocolError(f"{address}: {method} answer is not JSON") from None
    if not isinstance(value, dict):
        raise ProtocolError(f"{address}: {method} answer is not an object")
    return value


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _sha1_hex(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()
