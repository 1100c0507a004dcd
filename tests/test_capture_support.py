"""Making capture files from real loopback traffic, for the capture tests (no tests here).

Two ways, both from real TCP between our client and the simulator on 127.0.0.1:

- ``Tcpdump``: ``tcpdump -i lo`` records what the kernel really sent (installed in
  CI by ``.ci/run``; skipped only outside CI when it is missing).
- ``Relay``: a loopback TCP proxy we control between the client and a device. It
  can write a device's replies in small pieces (real small segments, seen by
  tcpdump), and it records every byte that flowed, so ``write_capture`` can write a
  pcap/pcapng with dpkt in which those real bytes are cut, retransmitted and
  reordered the way a lossy network does it.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import dpkt
import pytest


class Tcpdump:
    """``tcpdump -i lo`` writing ``path`` for a BPF filter, while the ``with`` lasts."""

    def __init__(self, path: Path, bpf: str, interface: str = "lo") -> None:
        self.path = path
        self.interface = interface
        self.marker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.marker.bind(("127.0.0.1", 0))
        self.marker_port = self.marker.getsockname()[1]
        self.token = os.urandom(16).hex().encode()
        self.bpf = f"({bpf}) or (udp dst port {self.marker_port})"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = b""

    def __enter__(self) -> Tcpdump:
        binary = shutil.which("tcpdump") or (
            "/usr/bin/tcpdump" if Path("/usr/bin/tcpdump").exists() else None
        )
        if binary is None:
            if os.environ.get("CI"):
                pytest.fail("tcpdump is missing in CI (.ci/run installs it)")
            pytest.skip("tcpdump is not installed")
        argv = [binary, "-i", self.interface, "-n", "-U", "--immediate-mode", "-B", "32768"]
        argv += ["-s", "0", "-w", str(self.path), self.bpf]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        ready = threading.Event()

        def read() -> None:
            assert self.proc is not None and self.proc.stderr is not None
            for line in self.proc.stderr:
                self.log += line
                if b"listening on" in line:
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(15) or self.proc.poll() is not None:
            self.proc.kill()
            pytest.fail(f"tcpdump did not start: {self.log.decode(errors='replace')}")
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop once a marker sent last is in the file: every earlier packet is, too.

        (On a busy machine tcpdump lags behind the kernel, and SIGINT drops what it
        has not read yet.)"""
        assert self.proc is not None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and self.proc.poll() is None:
            self.marker.sendto(self.token, ("127.0.0.1", self.marker_port))
            time.sleep(0.1)
            if self.token in self.path.read_bytes():
                break
        self.marker.close()
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        time.sleep(0.05)  # the stderr reader's last lines
        dropped = re.search(rb"(\d+) packets? dropped by kernel", self.log)
        if dropped and int(dropped.group(1)):
            pytest.fail(f"tcpdump lost {dropped.group(1).decode()} packets (kernel buffer)")


@dataclass
class Record:
    """Bytes one side of a relayed connection sent, and when."""

    conn: int
    to_device: bool
    time: float
    data: bytes


@dataclass
class Relay:
    """A TCP proxy on 127.0.0.1 in front of ``upstream``; ``reply_piece`` cuts replies."""

    upstream: tuple[str, int]
    reply_piece: int | None = None
    records: list[Record] = field(default_factory=list)
    peers: dict[int, tuple[int, int]] = field(default_factory=dict)  # conn -> ports
    port: int = 0
    _server: asyncio.AbstractServer | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = len(self.peers)
        self.peers[conn] = (writer.get_extra_info("peername")[1], self.port)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        await asyncio.gather(
            self._pump(conn, True, reader, up_writer, None),
            self._pump(conn, False, up_reader, writer, self.reply_piece),
            return_exceptions=True,
        )

    async def _pump(
        self,
        conn: int,
        to_device: bool,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        piece: int | None,
    ) -> None:
        try:
            while data := await reader.read(65536):
                self.records.append(Record(conn, to_device, time.time(), data))
                step = piece or len(data)
                for start in range(0, len(data), step):
                    writer.write(data[start : start + step])
                    await writer.drain()
                    if piece:
                        await asyncio.sleep(0.002)  # one write, one segment
        finally:
            writer.close()

    def stream(self, conn: int, to_device: bool) -> list[Record]:
        return [r for r in self.records if r.conn == conn and r.to_device == to_device]


# -- writing captures with dpkt --------------------------------------------------------

Segment = tuple[float, int, bytes]  # time, offset in the stream, payload
Mangle = Callable[[list[Segment], bool], list[Segment]]  # (segments, to_device)


def cut(records: list[Record], size: int) -> list[Segment]:
    """A direction's bytes as ``size``-byte segments, each at the time its last byte left."""
    stream = b"".join(r.data for r in records)
    ends: list[tuple[int, float]] = []
    total = 0
    for record in records:
        total += len(record.data)
        ends.append((total, record.time))
    segments = []
    for offset in range(0, len(stream), size):
        last = min(offset + size, len(stream))
        when = next(t for end, t in ends if end >= last)
        segments.append((when, offset, stream[offset:last]))
    return segments


def retransmit_and_reorder(segments: list[Segment], to_device: bool) -> list[Segment]:
    """Every third pair arrives swapped, every fourth segment twice, as a lossy path does."""
    out = list(segments)
    for i in range(0, len(out) - 1, 3):
        (t1, o1, p1), (t2, o2, p2) = out[i], out[i + 1]
        out[i], out[i + 1] = (t2, o1, p1), (t1, o2, p2)  # the later bytes arrive first
    for i in range(1, len(segments), 4):
        when, offset, payload = out[i]
        out.append((when + 0.0002, offset, payload))  # the retransmission
    return out


def drop(index: int) -> Mangle:
    """Lose one of the device's segments for good (a capture that missed it)."""

    def mangle(segments: list[Segment], to_device: bool) -> list[Segment]:
        return segments if to_device else segments[:index] + segments[index + 1 :]

    return mangle


def _ip(src: str, dst: str, tcp: dpkt.tcp.TCP, ipv6: bool = False) -> bytes:
    if ipv6:  # written only, never sent: the same bytes as if between ::1 and ::2
        ip6 = dpkt.ip6.IP6(
            src=socket.inet_pton(socket.AF_INET6, "::1" if src == "127.0.0.1" else "::2"),
            dst=socket.inet_pton(socket.AF_INET6, "::1" if dst == "127.0.0.1" else "::2"),
            nxt=dpkt.ip.IP_PROTO_TCP,
            hlim=64,
        )
        ip6.data = tcp
        ip6.plen = len(bytes(tcp))
        frame = dpkt.ethernet.Ethernet(
            src=b"\0" * 6, dst=b"\0" * 6, type=dpkt.ethernet.ETH_TYPE_IP6, data=ip6
        )
        return bytes(frame)
    ip = dpkt.ip.IP(
        src=socket.inet_aton(src), dst=socket.inet_aton(dst), p=dpkt.ip.IP_PROTO_TCP, ttl=64
    )
    ip.data = tcp
    ip.len = 20 + len(bytes(tcp))
    eth = dpkt.ethernet.Ethernet(src=b"\0" * 6, dst=b"\0" * 6, type=dpkt.ethernet.ETH_TYPE_IP)
    eth.data = ip
    return bytes(eth)


def write_capture(
    relay: Relay,
    path: Path,
    *,
    size: int = 40,
    mangle: Mangle | None = None,
    device_host: str = "127.0.0.1",
    pcapng: bool = False,
    ipv6: bool = False,
    syn: bool = True,
) -> int:
    """Write every relayed connection as TCP (SYN, data, FIN) with dpkt; packet count."""
    frames: list[tuple[float, bytes]] = []
    for conn, (client_port, device_port) in relay.peers.items():
        isn = {True: 1000 + 7919 * conn, False: 4_000_000_000 + conn}  # one wraps past 2**32
        ends = {True: ("127.0.0.1", client_port, device_host, device_port)}
        ends[False] = (device_host, device_port, "127.0.0.1", client_port)
        first = min(r.time for r in relay.records if r.conn == conn) - 0.001
        for to_device in (True, False):
            src, sport, dst, dport = ends[to_device]
            opening = dpkt.tcp.TCP(
                sport=sport, dport=dport, seq=isn[to_device], flags=dpkt.tcp.TH_SYN
            )
            if syn:
                handshake = first + (0 if to_device else 0.0001)
                frames.append((handshake, _ip(src, dst, opening, ipv6)))
            segments = cut(relay.stream(conn, to_device), size)
            if mangle is not None:
                segments = mangle(segments, to_device)
            for when, offset, payload in segments:
                seq = (isn[to_device] + 1 + offset) % (1 << 32)
                tcp = dpkt.tcp.TCP(
                    sport=sport, dport=dport, seq=seq, flags=dpkt.tcp.TH_ACK | dpkt.tcp.TH_PUSH
                )
                tcp.data = payload
                frames.append((when, _ip(src, dst, tcp, ipv6)))
    frames.sort(key=lambda item: item[0])
    with path.open("wb") as handle:
        writer = dpkt.pcapng.Writer(handle) if pcapng else dpkt.pcap.Writer(handle)
        for when, frame in frames:
            writer.writepkt(frame, ts=when)
    return len(frames)
