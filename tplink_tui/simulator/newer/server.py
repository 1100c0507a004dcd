"""Newer simulated devices served over real HTTP on 127.0.0.1 (aiohttp.web).

Each device gets its own port and speaks KLAP (v1 or v2) or AES on it, with its
own credentials, sessions that can be forgotten on demand (``forget_sessions``)
and the old simulator's faults (``faults.py``). The protocol logic is the device's;
this module only seals and unseals. Like every server of ours it binds loopback only.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import os
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding as rsa_padding
from cryptography.hazmat.primitives.asymmetric import rsa

from ...transports.aes import HANDSHAKE_LENGTH, AesCipher
from ...transports.errors import Credentials
from ...transports.klap import KlapCipher, auth_hash, client_hash, server_hash
from ..device import SimulatedDevice
from ..profiles import PROFILES
from .faults import NewerFaults, wire_middleware
from .profiles import NewerProfile
from .smart_device import SmartDevice

TEST_USERNAME = "test@example.com"
TEST_PASSWORD = "test-password"
SESSION_TIMEOUT = 86400


@dataclass
class _AesSession:
    cipher: AesCipher
    token: str | None = None
    spoiled: bool = False  # a refused login: the device wants a new handshake


class NewerDevice:
    """One simulated newer device: state, credentials, sessions, faults and its HTTP app."""

    def __init__(
        self,
        profile: NewerProfile,
        *,
        seed: int,
        alias: str | None = None,
        username: str = TEST_USERNAME,
        password: str = TEST_PASSWORD,
        login_version: int | None = None,
        night_light: bool = False,
    ) -> None:
        self.profile = profile
        self.encrypt_type = profile.encrypt_type
        self.login_version = login_version or profile.login_version
        self.credentials = Credentials(username, password)
        self.session_timeout = SESSION_TIMEOUT
        self.faults = NewerFaults()
        self.host = "127.0.0.1"
        self.port = 0
        self.handshakes = 0
        self.online: Callable[[], bool] = lambda: True  # the Listener's, once it listens
        self.rng = random.Random(seed)
        self.state: SmartDevice | SimulatedDevice
        if profile.dialect == "iot":
            self.state = SimulatedDevice(PROFILES["hs100"], seed=seed, alias=alias)
        else:
            self.state = SmartDevice(profile, seed=seed, alias=alias, night_light=night_light)
        self._klap_pending: dict[str, tuple[bytes, bytes, bytes]] = {}
        self._klap: dict[str, KlapCipher] = {}
        self._aes: dict[str, _AesSession] = {}
        middleware = wire_middleware(self.faults, lambda: self.online())
        self.app = web.Application(middlewares=[middleware])
        if self.encrypt_type == "KLAP":
            self.app.router.add_post("/app/handshake1", self._handshake1)
            self.app.router.add_post("/app/handshake2", self._handshake2)
            self.app.router.add_post("/app/request", self._klap_request)
        else:
            self.app.router.add_post("/app", self._aes_app)

    @property
    def device_id(self) -> str:
        return self.state.device_id

    def forget_sessions(self) -> None:
        """Lose every session, as a device does when it reboots or its timer runs out."""
        self._klap_pending.clear()
        self._klap.clear()
        self._aes.clear()

    def handle(self, plaintext: bytes) -> bytes:
        return self.state.handle(plaintext)

    # -- faults -----------------------------------------------------------------

    def _handshake_fault(self, request: web.Request) -> web.StreamResponse | None:
        self.handshakes += 1
        if self.faults.take("drop_handshake"):
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=500)  # never reaches the client
        if self.faults.take("garbage_handshake"):
            junk = os.urandom(21)
            body = (
                junk
                if self.encrypt_type == "KLAP"
                else b'{"error_code":0,"result":{"key":"' + base64.b64encode(junk) + b'"}}'
            )
            return web.Response(body=body)
        return None

    @staticmethod
    def _set_cookie(response: web.Response, sid: str, timeout: int) -> None:
        # One header, both values, as the firmware sends it.
        response.headers["Set-Cookie"] = f"TP_SESSIONID={sid};TIMEOUT={timeout}"

    # -- KLAP -------------------------------------------------------------------

    async def _handshake1(self, request: web.Request) -> web.StreamResponse:
        fault = self._handshake_fault(request)
        if fault is not None:
            return fault
        local = await request.read()
        if len(local) != 16:
            return web.Response(status=400)
        remote = os.urandom(16)
        auth = auth_hash(self.login_version, self.credentials)
        sid = secrets.token_hex(16).upper()
        self._klap_pending[sid] = (local, remote, auth)
        response = web.Response(body=remote + server_hash(self.login_version, local, remote, auth))
        self._set_cookie(response, sid, self.session_timeout)
        return response

    async def _handshake2(self, request: web.Request) -> web.StreamResponse:
        sid = request.cookies.get("TP_SESSIONID", "")
        pending = self._klap_pending.pop(sid, None)
        body = await request.read()
        if pending is None or body != client_hash(self.login_version, *pending):
            return web.Response(status=403)
        self._klap[sid] = KlapCipher(*pending)
        return web.Response(status=200)

    async def _klap_request(self, request: web.Request) -> web.StreamResponse:
        cipher = self._klap.get(request.cookies.get("TP_SESSIONID", ""))
        body = await request.read()
        try:
            seq = int(request.query["seq"])
        except (KeyError, ValueError):
            return web.Response(status=400)
        if cipher is None or cipher.sign(seq, body[32:]) != body[:32]:
            return web.Response(status=403)
        try:
            plaintext = cipher.decrypt(seq, body)
        except ValueError:
            return web.Response(status=400)
        sealed = cipher.seal(seq, self.handle(plaintext))
        if self.faults.garbage:  # the right length, but neither signed nor decryptable
            sealed = self.rng.randbytes(len(sealed))
        return web.Response(body=sealed)

    # -- AES --------------------------------------------------------------------

    async def _aes_app(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        try:
            outer = json.loads(body)
            method, params = outer["method"], outer["params"]
        except (ValueError, KeyError, TypeError):
            return _json({"error_code": -1003, "msg": "JSON formatting error"})
        if method == "handshake":
            fault = self._handshake_fault(request)
            if fault is not None:
                return fault
            if len(body) != HANDSHAKE_LENGTH:
                return web.Response(status=500)  # as firmware that checks the length
            return self._aes_handshake(params)
        if method != "securePassthrough":
            return _json({"error_code": -1002, "msg": "Request method not supported"})
        session = self._aes.get(request.cookies.get("TP_SESSIONID", ""))
        if session is None or session.spoiled:
            return _json({"error_code": 9999, "msg": "Session timeout"})
        try:
            inner = session.cipher.decrypt(str(params["request"]))
        except (KeyError, TypeError, ValueError):
            return _json({"error_code": -1005, "msg": "AES decode fail"})
        reply = self._aes_inner(session, inner, request.query.get("token"))
        if reply is None:
            return _json({"error_code": 9999, "msg": "Session timeout"})
        sealed = session.cipher.encrypt(reply)
        if self.faults.garbage:  # valid base64 that does not decrypt
            sealed = base64.b64encode(self.rng.randbytes(len(base64.b64decode(sealed)))).decode()
        return _json({"error_code": 0, "result": {"response": sealed}})

    def _aes_handshake(self, params: Any) -> web.StreamResponse:
        try:
            key = serialization.load_pem_public_key(str(params["key"]).encode())
        except (KeyError, TypeError, ValueError):
            return _json({"error_code": -1010, "msg": "Invalid public key"})
        if not isinstance(key, rsa.RSAPublicKey):
            return _json({"error_code": -1010, "msg": "Invalid public key"})
        material = os.urandom(32)
        sid = secrets.token_hex(16).upper()
        self._aes[sid] = _AesSession(AesCipher(material[:16], material[16:]))
        blob = base64.b64encode(key.encrypt(material, rsa_padding.PKCS1v15())).decode()
        response = _json({"error_code": 0, "result": {"key": blob}})
        self._set_cookie(response, sid, self.session_timeout)
        return response

    def _aes_inner(self, session: _AesSession, inner: bytes, token: str | None) -> bytes | None:
        """The decrypted request's answer; None when the token is not this session's."""
        try:
            request = json.loads(inner)
        except ValueError:
            request = None
        if isinstance(request, dict) and request.get("method") == "login_device":
            if self._login_ok(request.get("params")):
                session.token = secrets.token_hex(16)
                return _dumps({"error_code": 0, "result": {"token": session.token}})
            session.spoiled = True
            return _dumps({"error_code": -1501, "msg": "Login failed"})
        if session.token is None or token != session.token:
            return None
        return self.handle(inner)

    def _login_ok(self, params: Any) -> bool:
        if not isinstance(params, dict):
            return False
        creds = self.credentials
        user = _b64(hashlib.sha1(creds.username.encode()).hexdigest())
        if self.login_version == 2:
            ok = params.get("password2") == _b64(hashlib.sha1(creds.password.encode()).hexdigest())
        else:
            ok = params.get("password") == _b64(creds.password)
        return ok and params.get("username") == user


def check_loopback(host: str) -> None:
    """Our servers bind loopback only: refuse anything else outright."""
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"the newer simulator binds loopback only, not {host}")


def _json(value: Any) -> web.Response:
    return web.Response(body=_dumps(value), content_type="application/json")


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()
