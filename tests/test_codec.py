"""The XOR autokey cipher and framing: known answers, round trips, a naive reference."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tplink_tui import codec
from tplink_tui.errors import ProtocolError, TplinkError

SYSINFO = '{"system":{"get_sysinfo":{}}}'


def naive_encrypt(plaintext: bytes) -> bytes:
    """The cipher as DESIGN.md states it, one byte at a time."""
    key, out = 171, bytearray()
    for byte in plaintext:
        key ^= byte
        out.append(key)
    return bytes(out)


def naive_decrypt(ciphertext: bytes) -> bytes:
    key, out = 171, bytearray()
    for byte in ciphertext:
        out.append(byte ^ key)
        key = byte  # the running key is the ciphertext byte
    return bytes(out)


def test_known_answer() -> None:
    cipher = codec.encrypt(SYSINFO)
    assert len(cipher) == 29
    assert cipher[:8].hex() == "d0f281f88bff9af7"
    assert cipher == naive_encrypt(SYSINFO.encode())
    assert codec.decrypt(cipher) == SYSINFO.encode()


def test_known_answer_framed_and_datagram() -> None:
    framed = codec.frame(SYSINFO)
    assert framed[:4] == (29).to_bytes(4, "big")
    assert framed[4:12].hex() == "d0f281f88bff9af7"
    assert codec.unframe(framed) == SYSINFO.encode()
    assert codec.datagram(json.loads(SYSINFO)) == codec.encrypt(SYSINFO)


def test_running_key_is_the_ciphertext_byte() -> None:
    # With "plaintext as key" the second byte would differ: 'x' ^ '{' vs c0 ^ 'x'.
    cipher = codec.encrypt(b"{x")
    assert cipher[0] == ord("{") ^ 171
    assert cipher[1] == ord("x") ^ cipher[0]
    assert codec.decrypt(bytes([cipher[0] ^ 1, cipher[1]]))[1] != ord("x")  # autokey chains


def test_empty() -> None:
    assert codec.encrypt(b"") == b""
    assert codec.decrypt(b"") == b""
    assert codec.frame(b"") == b"\x00\x00\x00\x00"
    assert codec.unframe(b"\x00\x00\x00\x00") == b""


@given(st.binary(max_size=4096))
def test_round_trip_bytes(data: bytes) -> None:
    assert codec.decrypt(codec.encrypt(data)) == data


@given(st.text(max_size=512))
def test_round_trip_text_including_non_ascii(text: str) -> None:
    try:
        raw = text.encode()
    except UnicodeEncodeError:  # lone surrogates are not UTF-8
        return
    assert codec.decrypt(codec.encrypt(text)) == raw
    assert codec.unframe(codec.frame(text)) == raw


@given(st.binary(max_size=2048))
def test_matches_naive_reference(data: bytes) -> None:
    assert codec.encrypt(data) == naive_encrypt(data)
    assert codec.decrypt(data) == naive_decrypt(data)


def test_70kb_payload() -> None:
    payload = os.urandom(70_000)
    cipher = codec.encrypt(payload)
    assert len(cipher) == 70_000
    assert cipher == naive_encrypt(payload)
    assert codec.decrypt(cipher) == payload
    framed = codec.frame(payload)
    assert int.from_bytes(framed[:4], "big") == 70_000
    assert codec.unframe(framed) == payload


def test_70kb_json_reply_decodes() -> None:
    reply = {
        "netif": {"get_scaninfo": {"ap_list": [{"ssid": f"Wi-Fi ☕ {i}"} for i in range(3000)]}}
    }
    text = json.dumps(reply, ensure_ascii=False)
    assert len(text.encode()) > 70_000
    assert codec.decode_json(codec.unframe(codec.frame(text))) == reply


def test_frame_length_counts_utf8_bytes_not_characters() -> None:
    text = '{"system":{"set_dev_alias":{"alias":"Küche ☕ 電気"}}}'
    framed = codec.frame(text)
    assert int.from_bytes(framed[:4], "big") == len(text.encode()) > len(text)
    assert len(framed) == 4 + len(text.encode())
    request = json.loads(text)
    encoded = codec.encode_request(request)
    assert json.loads(encoded) == request
    assert int.from_bytes(codec.frame(encoded)[:4], "big") == len(encoded)


def test_unframe_errors() -> None:
    with pytest.raises(ProtocolError, match="too short"):
        codec.unframe(b"\x00\x00")
    with pytest.raises(ProtocolError, match="length prefix"):
        codec.unframe(b"\x00\x00\x00\x05abc")
    with pytest.raises(ProtocolError, match="incomplete header"):
        codec.parse_header(b"\x00\x01")
    assert codec.parse_header(b"\x00\x01\x00\x00") == 65536


@pytest.mark.parametrize(
    ("plaintext", "match"),
    [
        (b'{"a":"\xff\xfe"}', "UTF-8"),
        (b"hello", "not JSON"),
        (b"", "not JSON"),
        (b"[1, 2]", "JSON list"),
        (b'"text"', "JSON str"),
        (b"null", "JSON NoneType"),
        (b"[" * 100_000 + b"]" * 100_000, "JSON|nested"),
        (b'{"a":' + b"1" * 5000 + b"}", "JSON"),  # over Python's int digit limit
    ],
    ids=["utf8", "text", "empty", "list", "str", "null", "deep", "huge-int"],
)
def test_decode_json_errors(plaintext: bytes, match: str) -> None:
    with pytest.raises(ProtocolError, match=match):
        codec.decode_json(plaintext)


def test_decode_json_accepts_objects() -> None:
    assert codec.decode_json(b'{"system":{"err_code":0}}') == {"system": {"err_code": 0}}
    assert codec.decode_json('{"a":"ü"}'.encode()) == {"a": "ü"}


def test_errors_share_one_base() -> None:
    assert issubclass(ProtocolError, TplinkError)


@pytest.fixture
def fresh_json_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    """The codec as in a new process: no request or reply seen, orjson not chosen yet."""
    monkeypatch.setattr(codec, "_orjson", None)
    monkeypatch.setattr(codec, "_json_calls", 0)


@pytest.mark.usefixtures("fresh_json_choice")
def test_orjson_takes_over_from_the_few_th_call_on() -> None:
    import orjson

    reply = b'{"system":{"get_sysinfo":{"alias":"Lamp","relay_state":1}}}'
    for _ in range(codec.FAST_JSON_AFTER - 1):
        assert codec.decode_json(reply) == json.loads(reply)
    assert codec._orjson is None  # a one-shot verb's few calls: json alone
    assert codec.decode_json(reply) == json.loads(reply)
    assert codec._orjson is orjson
    assert codec.encode_request({"a": "é"}) == '{"a":"é"}'.encode()


AWKWARD_REPLIES = [
    b'{"a":1}',
    b'{"id":123456789012345678901234567890}',  # beyond 64 bits: json's exact int
    b'{"t":"\\ud800x"}',  # a lone surrogate, repaired
    b'{"n":NaN}',
    b'{"a":' * 50 + b"1" + b"}" * 50,
    b"\xef\xbb\xbf{}",
    b"[1]",
    b'{"a":"\xff"}',
    b'{"alias":"\xe2\x98\x83 \\u00e9"}',
]


@pytest.mark.parametrize("plaintext", AWKWARD_REPLIES)
def test_json_and_orjson_read_every_reply_alike(
    monkeypatch: pytest.MonkeyPatch, plaintext: bytes
) -> None:
    import orjson

    def read(fast: object) -> object:
        monkeypatch.setattr(codec, "_orjson", fast)
        try:
            return codec.decode_json(plaintext)
        except ProtocolError as exc:
            return ("error", str(exc))

    assert read(False) == read(orjson)


@pytest.mark.usefixtures("fresh_json_choice")
def test_no_file_left_for_the_import_means_json(monkeypatch: pytest.MonkeyPatch) -> None:
    # A poller at its open-files limit cannot open orjson's files: json does the work.
    import builtins

    from tplink_tui import untrusted

    real_import = builtins.__import__

    def no_files(name: str, *args: object, **kwargs: object) -> object:
        if name == "orjson":
            raise OSError(24, "Too many open files")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(untrusted, "_orjson", None)
    monkeypatch.setattr(builtins, "__import__", no_files)
    codec.prefer_fast_json()
    assert codec._orjson is False
    assert codec.decode_json(b'{"a":1}') == {"a": 1}
    assert codec.encode_request({"a": 1}) == b'{"a":1}'
