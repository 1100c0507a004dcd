"""TDDP, the TP-Link Device Debug Protocol: the 28-byte header, DES, the digest. No I/O.

The header (big-endian, ``>BBBBIHBB16s``): version, type, code (1 request, 2 reply),
reply info (0 = ok), packet length (of the data that follows), packet id, subtype,
reserved, MD5 digest. Version 1 carries its data in plain text with no digest;
version 2 encrypts it with DES-ECB, zero-padded to 8 bytes, under the first 8 bytes
of MD5(username + password) (admin/admin out of the box).

The digest is MD5 over the header (digest field zeroed) and the *plain* data as
padded: whoever decrypts with the wrong key gets other plain text, so a digest
mismatch is how a wrong password shows. Some clients digest the ciphertext instead;
a reply digested that way is accepted too, but it cannot prove the key
(``Packet.key_verified``). DES comes from ``cryptography``: TripleDES with the
8-byte key repeated three times is single DES (EDE with K1 = K2 = K3).
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, replace

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes

from ..errors import AuthenticationError, ProtocolError

HEADER = struct.Struct(">BBBBIHBB16s")
HEADER_SIZE = HEADER.size  # 28
BLOCK = 8
NO_DIGEST = bytes(16)

VERSION_PLAIN = 1
VERSION_DES = 2

TYPE_SET_USR_CFG = 0x01  # write configuration
TYPE_GET_SYS_INF = 0x02  # read configuration
TYPE_CMD_SPE_OPR = 0x03  # special operations (the reads the old client sent)
TYPE_HEART_BEAT = 0x04
TYPE_NAMES = {1: "SET_USR_CFG", 2: "GET_SYS_INF", 3: "CMD_SPE_OPR", 4: "HEART_BEAT"}

CODE_REQUEST = 0x01
CODE_REPLY = 0x02
REPLY_OK = 0x00
# Non-zero reply info is an error; devices differ in the codes. These are the
# simulator's (and a hint for what a device may mean by them).
REPLY_ERROR = 0x01
REPLY_BAD_DIGEST = 0x02
REPLY_UNSUPPORTED = 0x03
REPLY_NAMES = {
    REPLY_OK: "ok",
    REPLY_ERROR: "error",
    REPLY_BAD_DIGEST: "digest mismatch (wrong user/password)",
    REPLY_UNSUPPORTED: "unsupported type or subtype",
}

REQUEST_PORT = 1040
REPLY_PORT = 61000
DEFAULT_USER = "admin"
DEFAULT_PASSWORD = "admin"
MAX_DATA = 60_000  # one UDP datagram


class DigestMismatch(AuthenticationError):
    """The digest does not match the data as decrypted: another key (password) made it."""


@dataclass(frozen=True, slots=True)
class Header:
    version: int
    type: int
    code: int
    reply_info: int
    length: int
    packet_id: int
    subtype: int
    reserved: int = 0
    digest: bytes = NO_DIGEST

    def pack(self) -> bytes:
        return HEADER.pack(
            self.version,
            self.type,
            self.code,
            self.reply_info,
            self.length,
            self.packet_id,
            self.subtype,
            self.reserved,
            self.digest,
        )

    @classmethod
    def unpack(cls, data: bytes) -> Header:
        if len(data) < HEADER_SIZE:
            raise ProtocolError(f"TDDP packet of {len(data)} bytes, shorter than its header")
        return cls(*HEADER.unpack_from(data))


@dataclass(frozen=True, slots=True)
class Packet:
    """A parsed packet: its header and its data in plain text (padding included)."""

    header: Header
    data: bytes
    key_verified: bool = False


def des_key(username: str, password: str) -> bytes:
    """The DES key: the first 8 bytes of MD5(username + password), UTF-8."""
    return hashlib.md5((username + password).encode()).digest()[:BLOCK]


def pad(data: bytes) -> bytes:
    """Zero padding up to a multiple of 8 (nothing added when already a multiple)."""
    return data + bytes(-len(data) % BLOCK)


def _cipher(key: bytes) -> Cipher[modes.ECB]:
    if len(key) != BLOCK:
        raise ValueError("a DES key is 8 bytes")
    return Cipher(TripleDES(key * 3), modes.ECB())


def des_encrypt(key: bytes, data: bytes) -> bytes:
    encryptor = _cipher(key).encryptor()
    return encryptor.update(pad(data)) + encryptor.finalize()


def des_decrypt(key: bytes, data: bytes) -> bytes:
    if len(data) % BLOCK:
        raise ProtocolError(f"TDDP data of {len(data)} bytes is not whole DES blocks")
    decryptor = _cipher(key).decryptor()
    return decryptor.update(data) + decryptor.finalize()


def digest(header: Header, data: bytes) -> bytes:
    """MD5 over the header with its digest field zeroed, then ``data``."""
    return hashlib.md5(replace(header, digest=NO_DIGEST).pack() + data).digest()


def build(header: Header, data: bytes, key: bytes | None) -> bytes:
    """A packet: version 1 sends ``data`` as is; version 2 pads, digests and encrypts.

    ``header.length`` and ``header.digest`` are filled in here.
    """
    if len(data) > MAX_DATA:
        raise ProtocolError(f"TDDP data of {len(data)} bytes does not fit one datagram")
    if header.version == VERSION_PLAIN:
        return replace(header, length=len(data), digest=NO_DIGEST).pack() + data
    if key is None:
        raise ValueError("version 2 needs a key")
    plain = pad(data)
    header = replace(header, length=len(plain))
    return replace(header, digest=digest(header, plain)).pack() + des_encrypt(key, plain)


def parse(raw: bytes, key: bytes | None) -> Packet:
    """Header and plain data of a received packet; ``DigestMismatch`` for another key."""
    header = Header.unpack(raw)
    body = raw[HEADER_SIZE:]
    if header.version not in (VERSION_PLAIN, VERSION_DES):
        raise ProtocolError(f"TDDP version {header.version} is not 1 or 2")
    if header.length != len(body):
        raise ProtocolError(
            f"TDDP header announces {header.length} data bytes, the packet has {len(body)}"
        )
    if header.version == VERSION_PLAIN:
        return Packet(header, body)
    if key is None:
        raise ValueError("version 2 needs a key")
    plain = des_decrypt(key, body)
    if header.digest == digest(header, plain):
        return Packet(header, plain, key_verified=True)
    if header.digest == digest(header, body):
        return Packet(header, plain)  # digested as sent: sound, but the key is unproven
    raise DigestMismatch(
        "TDDP", "digest mismatch: the data was encrypted with another user/password"
    )
