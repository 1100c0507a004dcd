"""The bare asyncio client: the floor the project's poll path is measured against.

    python benchmarks/clients/bare.py TARGETS.json --count N

One ``asyncio.Protocol`` per device, one future per request, the reply decrypted
and ``json.loads``-ed; no model, no checks beyond the frame length, no output.
It sends exactly what ``DeviceClient.update()`` sends: an HS110 one batched
sysinfo + meter request, a metered strip one sysinfo plus one ``get_realtime``
per outlet. Each device is polled ``--count`` times back to back (flat out), all
devices at once. Standard library only, so it also states what "bare" means.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import struct
import sys
from itertools import accumulate
from operator import xor
from pathlib import Path
from typing import Any

SYSINFO = {"system": {"get_sysinfo": {}}}
REALTIME = {"emeter": {"get_realtime": {}}}


def encrypt(data: bytes) -> bytes:
    body = bytes(accumulate(data, xor, initial=171))[1:]
    return struct.pack(">I", len(body)) + body


def decrypt(body: bytes) -> bytes:
    n = len(body)
    x = int.from_bytes(body, "big")
    return (x ^ (x >> 8) ^ (171 << (8 * n - 8))).to_bytes(n, "big")


class Device(asyncio.Protocol):
    """One connection; one request in flight, answered through one future."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.waiter: asyncio.Future[Any] | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) < 4:
            return
        (length,) = struct.unpack_from(">I", self.buffer)
        if len(self.buffer) < 4 + length:
            return
        body = bytes(self.buffer[4 : 4 + length])
        del self.buffer[: 4 + length]
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(json.loads(decrypt(body)))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("closed"))

    async def ask(self, frame: bytes) -> Any:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(frame)
        return await self.waiter


async def poll(host: str, port: int, count: int) -> int:
    loop = asyncio.get_running_loop()
    _, device = await loop.create_connection(Device, host, port)
    first = await device.ask(encrypt(json.dumps(SYSINFO).encode()))
    info = first["system"]["get_sysinfo"]
    children = [c["id"] for c in info.get("children", [])]
    metered = "ENE" in info.get("feature", "")
    if metered and not children:
        frames = [encrypt(json.dumps({**SYSINFO, **REALTIME}).encode())]
    else:
        frames = [encrypt(json.dumps(SYSINFO).encode())]
        if metered:
            for child in children:
                request = {"context": {"child_ids": [child]}, **REALTIME}
                frames.append(encrypt(json.dumps(request).encode()))
    requests = 1
    for _ in range(count - 1):
        for frame in frames:
            await device.ask(frame)
            requests += 1
    assert device.transport is not None
    device.transport.close()
    return requests


async def main(targets: list[tuple[str, int]], count: int) -> int:
    done = await asyncio.gather(*(poll(h, p, count) for h, p in targets))
    return sum(done)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", type=Path)
    parser.add_argument("--count", type=int, default=1)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    items = [(h, int(p)) for h, p in json.loads(args.targets.read_text())]
    sent = asyncio.run(main(items, args.count))
    print(json.dumps({"requests": sent}), file=sys.stderr)
