"""``tplink-tui decode FILE.pcap``: captures of real loopback traffic, decoded whole.

Every capture here is made from real TCP/UDP between our client and the simulator on
127.0.0.1: recorded by ``tcpdump -i lo``, or relayed through a proxy of ours and
written with dpkt (cut, retransmitted, reordered). What the decoder prints is checked
against what the client itself logged (``transport``'s traffic listeners).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import dpkt
import pytest
from cli_helpers import cli, error_line
from test_capture_support import Relay, Tcpdump, drop, retransmit_and_reorder, write_capture

from tplink_tui import transport
from tplink_tui.capture import decode_capture
from tplink_tui.devices.client import DeviceClient
from tplink_tui.discovery import discover
from tplink_tui.errors import TplinkError
from tplink_tui.simulator import Simulator

Logged = list[tuple[str, str, int, Any]]


@pytest.fixture
def logged() -> Any:
    """What our own client sent and received: (direction, host, port, JSON)."""
    seen: Logged = []

    def listener(direction: str, host: str, port: int, text: str) -> None:
        seen.append((direction, host, port, json.loads(text)))

    transport.add_traffic_listener(listener)
    yield seen
    transport.remove_traffic_listener(listener)


def decode_json_lines(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict[str, Any]]:
    code, out, err = cli(capsys, "decode", "--json", *argv)
    assert code == 0, err
    return [json.loads(line) for line in out.splitlines()]


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


async def strip_session(client: DeviceClient) -> None:
    """What the dashboard does with a strip: poll (one meter request per outlet), switch."""
    await client.update()
    await client.turn_off(outlet=1)
    await client.energy(outlet=2)
    await client.update()


async def plug_session(client: DeviceClient) -> None:
    await client.update()
    await client.turn_on()
    await client.get_sysinfo()


# -- tcpdump: what the kernel really carried ------------------------------------------


async def test_strip_and_plug_interleaved_with_discovery(
    simulator: Simulator,
    tmp_path: Path,
    logged: Logged,
    capsys: pytest.CaptureFixture[str],
) -> None:
    strip, plug = await simulator.start_many(["hs300", "hs110"], addr_base="127.0.0.2")
    port, disc = strip.port, simulator.discovery_port
    assert disc is not None
    path = tmp_path / "home.pcap"
    with Tcpdump(path, f"port {port} or port {disc}"):
        clients = DeviceClient(strip.host, port), DeviceClient(plug.host, port)
        await asyncio.gather(strip_session(clients[0]), plug_session(clients[1]))
        for client in clients:
            await client.close()
        found = await discover("127.255.255.255", disc, timeout=0.5, new_protocol_port=None)
    assert len(found.devices) == 2

    events = decode_json_lines(capsys, str(path), "--port", str(port), "--port", str(disc))
    tcp = [e for e in events if e["transport"] == "tcp"]
    assert all("undecodable" not in e for e in events)
    # Every message our client logged is in the capture, in the same order per device.
    for device in (strip, plug):
        mine = [(d, j) for d, h, _, j in logged if h == device.host]
        dev = [e for e in tcp if device.host in (e["src"].split(":")[0], e["dst"].split(":")[0])]
        directions = {"->": "client->device", "<-": "device->client"}
        assert [(directions[d], canonical(j)) for d, j in mine] == [
            (e["direction"], canonical(e["json"])) for e in dev
        ]
        assert all(e["port"] == port for e in dev)
    # Per-outlet requests carry the outlet's child id, one request per outlet.
    contexts = [e["json"]["context"]["child_ids"] for e in tcp if "context" in e["json"]]
    assert [[o.id] for o in strip.outlets] == contexts[:6]
    # The two devices' conversations interleave in time.
    order = [e["dst"] if e["direction"] == "client->device" else e["src"] for e in tcp]
    switches = sum(1 for a, b in itertools.pairwise(order) if a != b)
    assert switches > 2
    assert [e["time"] for e in events] == sorted(e["time"] for e in events)
    # Discovery: the broadcast probe and each device's sysinfo answer from its address.
    udp = [e for e in events if e["transport"] == "udp"]
    probes = [e for e in udp if e["direction"] == "client->device"]
    assert probes and all(e["dst"] == f"127.255.255.255:{disc}" for e in probes)
    assert probes[0]["json"] == {"system": {"get_sysinfo": {}}}
    answers = {
        e["src"]: e["json"]["system"]["get_sysinfo"]["alias"] for e in udp if e not in probes
    }
    assert answers == {f"{d.host}:{port}": d.alias for d in (strip, plug)}

    # --follow keeps one device; the text form shows time, direction and addresses.
    only = decode_json_lines(capsys, str(path), "--port", str(port), "--follow", plug.host)
    assert only and {e["dst"] for e in only if e["direction"] == "client->device"} == {
        f"{plug.host}:{port}"
    }
    code, out, err = cli(capsys, "decode", str(path), "--port", str(port))
    assert code == 0, err
    assert "client->device  127.0.0.1:" in out and f"→ {strip.host}:{port}  tcp" in out
    assert '"set_relay_state": {' in out and "messages decoded, 0 undecodable" in err


async def test_reply_split_over_many_segments(
    simulator: Simulator, tmp_path: Path, logged: Logged, capsys: pytest.CaptureFixture[str]
) -> None:
    strip = await simulator.add("hs300", "Office")
    relay = Relay((strip.host, strip.port), reply_piece=48)
    port = await relay.start()
    path = tmp_path / "split.pcap"
    try:
        with Tcpdump(path, f"tcp port {port}"):
            client = DeviceClient("127.0.0.1", port)
            info = await client.get_sysinfo()
            await client.close()
    finally:
        await relay.stop()
    # tcpdump really saw the sysinfo reply as many small segments.
    with path.open("rb") as handle:
        sizes = [
            len(dpkt.ethernet.Ethernet(frame).data.data.data)
            for _, frame in dpkt.pcap.Reader(handle)
        ]
    assert sum(1 for size in sizes if size == 48) >= 10
    events = decode_json_lines(capsys, str(path), "--port", str(port))
    assert [e["direction"] for e in events] == ["client->device", "device->client"]
    reply = events[1]["json"]["system"]["get_sysinfo"]
    assert reply["alias"] == info.alias == "Office"
    assert reply == next(j for d, _, _, j in logged if d == "<-")["system"]["get_sysinfo"]

    # A capture cut short inside the reply: the request still decodes, the reply is
    # reported as incomplete, and that is not a failure (exit 0).
    whole = path.read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(whole[: len(whole) - 700])
    events = decode_json_lines(capsys, str(cut), "--port", str(port))
    assert events[0]["json"] == {"system": {"get_sysinfo": {}}}
    assert events[-1]["json"] is None
    assert "incomplete message" in events[-1]["undecodable"]
    code, out, err = cli(capsys, "decode", str(cut), "--port", str(port))
    assert code == 0 and "undecodable: incomplete message" in out
    assert "the capture ends inside" in err.splitlines()[-1]
    # Cut inside the header of the record carrying the reply's last piece: the same,
    # and the summary says where reading stopped.
    cut.write_bytes(whole[: record_offsets(whole)[last_data_record(whole)] + 8])
    code, out, err = cli(capsys, "decode", str(cut), "--port", str(port))
    assert code == 0 and "undecodable:" in out and "ends inside a record" in err


def record_offsets(pcap: bytes) -> list[int]:
    """Where each packet record of a (little-endian, tcpdump) pcap file starts."""
    offsets, at = [], 24
    while at + 16 <= len(pcap):
        offsets.append(at)
        at += 16 + int.from_bytes(pcap[at + 8 : at + 12], "little")
    return offsets


def last_data_record(pcap: bytes) -> int:
    with io.BytesIO(pcap) as handle:
        frames = [frame for _, frame in dpkt.pcap.Reader(handle)]
    tcp = [dpkt.ethernet.Ethernet(f).data.data for f in frames]
    return max(i for i, t in enumerate(tcp) if isinstance(t, dpkt.tcp.TCP) and t.data)


# -- relayed and written with dpkt: loss, retransmission, reordering --------------------


async def relayed_session(simulator: Simulator) -> tuple[Relay, Any]:
    strip = await simulator.add("hs300", "Bench")
    relay = Relay((strip.host, strip.port))
    port = await relay.start()
    client = DeviceClient("127.0.0.1", port)
    try:
        await strip_session(client)
    finally:
        await client.close()
        await relay.stop()
    return relay, strip


def relayed_messages(relay: Relay) -> Counter[tuple[str, str]]:
    """Each direction's messages as the relay saw them (framed, decrypted by the codec)."""
    from tplink_tui import codec

    out: Counter[tuple[str, str]] = Counter()
    for conn in relay.peers:
        for to_device in (True, False):
            stream = b"".join(r.data for r in relay.stream(conn, to_device))
            while stream:
                length = codec.parse_header(stream[:4])
                body, stream = stream[4 : 4 + length], stream[4 + length :]
                direction = "client->device" if to_device else "device->client"
                out[(direction, canonical(codec.decode_json(codec.decrypt(body))))] += 1
    return out


@pytest.mark.parametrize("pcapng", [False, True], ids=["pcap", "pcapng"])
async def test_retransmitted_and_out_of_order_segments(
    simulator: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str], pcapng: bool
) -> None:
    relay, _ = await relayed_session(simulator)
    path = tmp_path / ("lossy.pcapng" if pcapng else "lossy.pcap")
    # 700-byte segments: several small messages share one; big ones span several.
    packets = write_capture(relay, path, size=700, mangle=retransmit_and_reorder, pcapng=pcapng)
    assert packets >= 10
    events = decode_json_lines(capsys, str(path), "--port", str(relay.port))
    assert all("undecodable" not in e for e in events)
    decoded = Counter((e["direction"], canonical(e["json"])) for e in events)
    assert decoded == relayed_messages(relay)
    # The same bytes cut into 40-byte segments (a message over many segments).
    write_capture(relay, path, size=40, mangle=retransmit_and_reorder, pcapng=pcapng)
    again = decode_json_lines(capsys, str(path), "--port", str(relay.port))
    assert Counter((e["direction"], canonical(e["json"])) for e in again) == decoded


async def test_lost_segment_is_one_undecodable_message(
    simulator: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    relay, _ = await relayed_session(simulator)
    path = tmp_path / "lost.pcap"
    write_capture(relay, path, size=40, mangle=drop(5))
    events = decode_json_lines(capsys, str(path), "--port", str(relay.port))
    bad = [e for e in events if "undecodable" in e]
    assert len(bad) == 1 and "40 bytes missing from the capture" in bad[0]["undecodable"]
    assert bad[0]["direction"] == "device->client"
    # Every other message is there: all the requests, the replies but the lost one(s).
    good = Counter((e["direction"], canonical(e["json"])) for e in events if e not in bad)
    sent = relayed_messages(relay)
    assert not good - sent
    requests = sum(n for (d, _), n in sent.items() if d == "client->device")
    assert sum(n for (d, _), n in good.items() if d == "client->device") == requests
    assert 1 <= sum((sent - good).values()) <= 2


async def test_capture_started_mid_conversation(
    simulator: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No SYN and the first segments missing: the bytes before the next frame are skipped."""
    relay, _ = await relayed_session(simulator)
    path = tmp_path / "late.pcap"
    write_capture(relay, path, size=40, mangle=drop(0), syn=False)
    events = decode_json_lines(capsys, str(path), "--port", str(relay.port))
    bad = [e for e in events if "undecodable" in e]
    assert len(bad) == 1 and "do not start a TP-Link frame were skipped" in bad[0]["undecodable"]
    good = Counter((e["direction"], canonical(e["json"])) for e in events if e not in bad)
    assert sum((relayed_messages(relay) - good).values()) == 1  # the first reply


async def test_stdin_and_newer_discovery(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async with Simulator(seed=7, klap_port=0) as sim:
        old = await sim.add("hs110", "Old")
        await sim.add("hs110", "New", klap_only=True)
        assert sim.discovery_port is not None and sim.klap_port is not None
        path = tmp_path / "disc.pcap"
        bpf = f"udp port {sim.discovery_port} or udp port {sim.klap_port} or udp port {old.port}"
        with Tcpdump(path, bpf):
            await discover(
                "127.255.255.255", sim.discovery_port, timeout=0.4, new_protocol_port=sim.klap_port
            )
    stdin = io.TextIOWrapper(io.BytesIO(path.read_bytes()))
    monkeypatch.setattr("sys.stdin", stdin)
    ports = ("--port", str(sim.discovery_port), "--port", str(sim.klap_port))
    events = decode_json_lines(capsys, "-", *ports)
    answers = [e["json"] for e in events if e["direction"] == "device->client"]
    assert any(a.get("system", {}).get("get_sysinfo", {}).get("alias") == "Old" for a in answers)
    newer = [a["result"] for a in answers if "result" in a]
    assert newer and newer[0]["mgt_encrypt_schm"]["encrypt_type"] in ("KLAP", "AES")
    probes = [e for e in events if e["direction"] == "client->device"]
    assert {e["dst"] for e in probes} == {
        f"127.255.255.255:{sim.discovery_port}",
        f"127.255.255.255:{sim.klap_port}",
    }
    assert {"system": {"get_sysinfo": {}}} in [e["json"] for e in probes]


async def test_linux_cooked_capture_and_ipv6(
    simulator: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``tcpdump -i any`` writes Linux cooked (SLL2) frames; IPv6 frames decode the same."""
    device = await simulator.add("hs105", "Lamp")
    path = tmp_path / "any.pcap"
    with Tcpdump(path, f"tcp port {device.port}", interface="any"):
        client = DeviceClient(device.host, device.port)
        await client.turn_off()
        await client.close()
    with path.open("rb") as handle:
        assert dpkt.pcap.Reader(handle).datalink() in (113, 276)  # SLL or SLL2
    events = decode_json_lines(capsys, str(path), "--port", str(device.port))
    assert [e["json"] for e in events][-2:] == [
        {"system": {"set_relay_state": {"state": 0}}},
        {"system": {"set_relay_state": {"err_code": 0}}},
    ]
    relay, _ = await relayed_session(simulator)
    write_capture(
        relay, path, size=300, mangle=retransmit_and_reorder, device_host="127.0.0.2", ipv6=True
    )
    events = decode_json_lines(capsys, str(path), "--port", str(relay.port))
    asked = {e["dst"] for e in events if e["direction"] == "client->device"}
    assert asked == {f"[::2]:{relay.port}"}
    decoded = Counter((e["direction"], canonical(e["json"])) for e in events)
    assert decoded == relayed_messages(relay)


# -- bad input ----------------------------------------------------------------------


def test_not_a_capture_and_no_traffic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = tmp_path / "notes.pcap"
    text.write_text("this is not a capture\n")
    code, out, err = cli(capsys, "decode", str(text))
    assert code == 5 and out == ""
    assert "not a pcap or pcapng capture" in error_line(err)
    code, _, err = cli(capsys, "decode", str(tmp_path / "missing.pcapng"))
    assert code == 2 and "no such capture file" in error_line(err)
    empty = tmp_path / "empty.pcap"
    with empty.open("wb") as handle:
        dpkt.pcap.Writer(handle)
    code, _, err = cli(capsys, "decode", str(empty))
    assert code == 5 and "no TP-Link traffic on port 9999" in err.splitlines()[-1]
    code, _, err = cli(capsys, "decode", "d0f281f8", "--follow", "127.0.0.1")
    assert code == 2 and "for capture files" in error_line(err)
    code, _, err = cli(capsys, "decode", str(empty), "--follow", "fridge.local")
    assert code == 2 and "an IP address" in error_line(err)


async def test_nothing_decodes_is_exit_5(
    simulator: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Real bytes on the wrong port: every message undecodable, exit 5 with the lines."""
    strip = await simulator.add("hs105")
    path = tmp_path / "garbled.pcap"
    relay = Relay((strip.host, strip.port))
    port = await relay.start()
    client = DeviceClient("127.0.0.1", port)
    await client.get_sysinfo()
    await client.close()
    await relay.stop()
    for record in relay.records:
        record.data = record.data[:4] + bytes(b ^ 0x55 for b in record.data[4:])
    write_capture(relay, path, size=1000)
    code, out, err = cli(capsys, "decode", str(path), "--port", str(port))
    assert code == 5
    assert out.count("undecodable: ") == 2 and "does not decrypt to JSON" in out
    assert "not one message could be decoded" in err.splitlines()[-1]
    assert decode_capture(path.read_bytes(), [port]).decoded == 0


async def test_mangled_captures_never_crash(
    simulator: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Random damage to a real capture: decoded as far as it goes, or one error (exit 5)."""
    relay, _ = await relayed_session(simulator)
    path = tmp_path / "good.pcapng"
    write_capture(relay, path, size=200, pcapng=True)
    good = path.read_bytes()
    rng = random.Random(16)
    for _ in range(300):
        data = bytearray(good)
        for _ in range(rng.randint(1, 12)):
            at = rng.randrange(len(data))
            if rng.random() < 0.8:
                data[at] = rng.randrange(256)
            elif at > 40:
                del data[at:]
        with contextlib.suppress(TplinkError):
            decode_capture(bytes(data), [relay.port])
    path.write_bytes(bytes(data))
    code, _, err = cli(capsys, "decode", str(path), "--port", str(relay.port))
    assert code in (0, 5) and "Traceback" not in err


async def test_hostile_text_in_a_capture_is_data(
    simulator: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A device name with terminal controls and bidi overrides never reaches the terminal raw."""
    plug = await simulator.add("hs105")
    relay = Relay((plug.host, plug.port))
    port = await relay.start()
    client = DeviceClient("127.0.0.1", port)
    evil = "lamp\x1b[2J\x1b]0;pwned\x07\u202e[red]x[/red]"
    await client.set_alias(evil)
    await client.get_sysinfo()
    await client.close()
    await relay.stop()
    path = tmp_path / "evil.pcap"
    write_capture(relay, path)
    for argv in ((), ("--json",)):
        code, out, err = cli(capsys, "decode", str(path), "--port", str(port), *argv)
        assert code == 0, err
        assert not any(ch in out + err for ch in "\x1b\x07\u202e")
    events = [json.loads(line) for line in out.splitlines()]
    assert events[-1]["json"]["system"]["get_sysinfo"]["alias"] == evil  # exact, escaped
