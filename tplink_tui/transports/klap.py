"""KLAP: the two-step HTTP handshake and the AES-128-CBC session of newer plugs.

Both login versions are tried against the device's handshake1 answer, because
devices switched version with firmware updates; the one that matches is kept.
A session is renewed before its ``TIMEOUT`` cookie runs out and once after the
device refuses it (403): a refused request was not carried out, so resending it is
safe even when it switches a relay. A request that failed in flight is resent only
when the caller says it is read-only.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import Callable

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ..errors import ConnectionFailure, DeviceUnreachable, ProtocolError
from .errors import AuthenticationError, Credentials, SessionGone
from .http import (
    DEFAULT_HTTP_PORT,
    DEFAULT_TIMEOUT,
    SESSION_COOKIE,
    TIMEOUT_COOKIE,
    HttpSession,
    trace,
)

RENEW_EARLY = 20 * 60  # seconds before TIMEOUT at which we shake hands again
DEFAULT_SESSION = 86400  # what we assume when the device sends no TIMEOUT cookie
SEED_SIZE = 16
HASH_SIZE = 32
VERSIONS = (2, 1)


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def auth_hash(version: int, credentials: Credentials) -> bytes:
    """v1: md5(md5(user) + md5(password)); v2: sha256(sha1(user) + sha1(password))."""
    user, password = credentials.username.encode(), credentials.password.encode()
    if version == 1:
        md5 = hashlib.md5
        return md5(md5(user).digest() + md5(password).digest()).digest()
    sha1 = hashlib.sha1
    return _sha256(sha1(user).digest() + sha1(password).digest())


def server_hash(version: int, local: bytes, remote: bytes, auth: bytes) -> bytes:
    """What the device proves in handshake1 that it knows the credentials."""
    return _sha256(local + auth) if version == 1 else _sha256(local + remote + auth)


def client_hash(version: int, local: bytes, remote: bytes, auth: bytes) -> bytes:
    """What we prove in handshake2."""
    return _sha256(remote + auth) if version == 1 else _sha256(remote + local + auth)


def _seq_bytes(seq: int) -> bytes:
    return seq.to_bytes(4, "big", signed=True)


class KlapCipher:
    """Key, IV prefix, sequence and signature key of one session (seeds + auth hash)."""

    def __init__(self, local: bytes, remote: bytes, auth: bytes) -> None:
        material = local + remote + auth
        self.key = _sha256(b"lsk" + material)[:16]
        full_iv = _sha256(b"iv" + material)
        self.iv_prefix = full_iv[:12]
        self.seq = int.from_bytes(full_iv[-4:], "big", signed=True)
        self.sig = _sha256(b"ldk" + material)[:28]

    def iv(self, seq: int) -> bytes:
        return self.iv_prefix + _seq_bytes(seq)

    def encrypt(self, plaintext: bytes) -> tuple[int, bytes]:
        """Advance the sequence; return it and signature + ciphertext."""
        self.seq = self.seq + 1 if self.seq < 2**31 - 1 else -(2**31)
        return self.seq, self.seal(self.seq, plaintext)

    def seal(self, seq: int, plaintext: bytes) -> bytes:
        """Signature + ciphertext of ``plaintext`` under ``seq`` (the device's reply too)."""
        padder = padding.PKCS7(128).padder()
        padded = padder.update(plaintext) + padder.finalize()
        enc = Cipher(algorithms.AES(self.key), modes.CBC(self.iv(seq))).encryptor()
        ciphertext = enc.update(padded) + enc.finalize()
        return self.sign(seq, ciphertext) + ciphertext

    def sign(self, seq: int, ciphertext: bytes) -> bytes:
        return _sha256(self.sig + _seq_bytes(seq) + ciphertext)

    def decrypt(self, seq: int, body: bytes) -> bytes:
        """Decrypt a body (32-byte signature, then ciphertext) sent under ``seq``.

        ValueError when it is not a valid ciphertext. The signature is not checked:
        firmware is not known to sign replies the way requests are signed.
        """
        ciphertext = body[HASH_SIZE:]
        if not ciphertext or len(ciphertext) % 16:
            raise ValueError(f"ciphertext of {len(ciphertext)} bytes")
        dec = Cipher(algorithms.AES(self.key), modes.CBC(self.iv(seq))).decryptor()
        padded = dec.update(ciphertext) + dec.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        return unpadder.update(padded) + unpadder.finalize()


class KlapTransport:
    """An authenticated KLAP session to one device, one request in flight."""

    def __init__(
        self,
        host: str,
        port: int = DEFAULT_HTTP_PORT,
        timeout: float = DEFAULT_TIMEOUT,
        *,
        credentials: Credentials,
        version: int | None = None,
        seed: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.credentials = credentials
        self.version = version  # learned from the first handshake when None
        self.handshakes = 0
        self.requests_sent = 0
        self._seed = seed
        self._http = HttpSession(host, port, timeout)
        self._cipher: KlapCipher | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()

    @property
    def address(self) -> str:
        return self._http.address

    @property
    def has_session(self) -> bool:
        return self._cipher is not None and time.monotonic() < self._expires

    async def request(self, payload: bytes, *, retry_safe: bool = False) -> bytes:
        """Send one plaintext JSON payload, return the decrypted reply."""
        async with self._lock:
            try:
                return await self._request(payload, retry_safe)
            except BaseException:
                self._cipher = None  # state unknown: shake hands afresh next time
                raise

    async def _request(self, payload: bytes, retry_safe: bool) -> bytes:
        fresh = False
        if not self.has_session:
            await self._handshake()
            fresh = True
        trace("->", self.host, self.port, payload)
        try:
            reply = await self._send(payload)
        except SessionGone:
            await self._handshake()  # the device forgot us before it did anything
            try:
                reply = await self._send(payload)
            except SessionGone:
                raise ProtocolError(f"{self.address}: the device refused a fresh session") from None
        except DeviceUnreachable:
            if fresh or not retry_safe:
                raise
            await self._http.close()
            await self._handshake()
            reply = await self._send(payload)
        trace("<-", self.host, self.port, reply)
        return reply

    async def _send(self, payload: bytes) -> bytes:
        cipher = self._cipher
        assert cipher is not None
        seq, body = cipher.encrypt(payload)
        self.requests_sent += 1
        reply = await self._http.post("/app/request", body, params={"seq": str(seq)})
        if self._cipher is not cipher:  # aborted (closed, cancelled) while on the wire
            raise ConnectionFailure(f"{self.address}: the session was closed during a request")
        if reply.status in (401, 403):
            raise SessionGone
        if reply.status != 200:
            raise ProtocolError(f"{self.address}: HTTP {reply.status} to a KLAP request")
        try:
            return cipher.decrypt(seq, reply.body)
        except ValueError as exc:
            raise ProtocolError(f"{self.address}: undecryptable KLAP reply ({exc})") from None

    async def _handshake(self) -> None:
        """handshake1 + handshake2; sets the cipher, the version and the expiry."""
        self._cipher = None
        self._http.cookie = None
        self.handshakes += 1
        local = self._seed(SEED_SIZE)
        first = await self._http.post("/app/handshake1", local)
        if first.status != 200:
            raise ProtocolError(f"{self.address}: HTTP {first.status} to handshake1")
        if len(first.body) != SEED_SIZE + HASH_SIZE:
            raise ProtocolError(
                f"{self.address}: garbage handshake1 answer ({len(first.body)} bytes, not 48)"
            )
        remote, proof = first.body[:SEED_SIZE], first.body[SEED_SIZE:]
        order = (self.version, *VERSIONS) if self.version else VERSIONS
        for version in dict.fromkeys(order):
            auth = auth_hash(version, self.credentials)
            if server_hash(version, local, remote, auth) == proof:
                break
        else:
            raise AuthenticationError(self.address, "KLAP handshake1 matches neither version")
        self._http.cookie = first.cookies.get(SESSION_COOKIE)
        second = await self._http.post("/app/handshake2", client_hash(version, local, remote, auth))
        if second.status in (401, 403):
            raise AuthenticationError(self.address, f"HTTP {second.status} to handshake2")
        if second.status != 200:
            raise ProtocolError(f"{self.address}: HTTP {second.status} to handshake2")
        self.version = version
        self._cipher = KlapCipher(local, remote, auth)
        self._expires = time.monotonic() + _lifetime(first.cookies.get(TIMEOUT_COOKIE))

    async def close(self) -> None:
        async with self._lock:
            self._cipher = None
            await self._http.close()

    def reset(self) -> None:
        """Forget the session (after a smart 9999): the next request shakes hands."""
        self._cipher = None

    def abort(self) -> None:
        self._cipher = None
        self._http.abort()


def _lifetime(cookie: str | None) -> float:
    """How long to use a session: TIMEOUT minus 20 min (half of a short TIMEOUT)."""
    try:
        timeout = int(cookie) if cookie is not None else DEFAULT_SESSION
    except ValueError:
        timeout = DEFAULT_SESSION
    timeout = max(timeout, 0)
    return timeout - RENEW_EARLY if timeout > 2 * RENEW_EARLY else timeout / 2
