"""python-kasa polling the same devices, run by the benchmark's own virtual env.

    VENV/bin/python benchmarks/clients/pykasa.py TARGETS.json --count N

python-kasa is GPL: it is only ever run as this separate program, from its own
virtual environment (built by bench_poll from the package registry); nothing of
it is copied or imported by the project. Each device is an ``IotPlug`` or
``IotStrip`` (``--model``) over the XOR transport at its port, ``update()``-d
``--count`` times back to back, all devices at once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
from pathlib import Path

from kasa import DeviceConfig
from kasa.iot import IotPlug, IotStrip


async def poll(host: str, port: int, strip: bool, count: int) -> None:
    kind = IotStrip if strip else IotPlug
    device = kind(host, config=DeviceConfig(host, port_override=port, timeout=10))
    for _ in range(count):
        await device.update()
    await device.disconnect()


async def main(targets: list[tuple[str, int]], strip: bool, count: int) -> None:
    await asyncio.gather(*(poll(h, p, strip, count) for h, p in targets))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", type=Path)
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--model", default="hs110")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    items = [(h, int(p)) for h, p in json.loads(args.targets.read_text())]
    asyncio.run(main(items, args.model.lower().startswith("hs300"), args.count))
