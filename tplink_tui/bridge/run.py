"""One bridge run: the hub, then the HTTP server and the MQTT client, until a signal.

Logs one line per start, stop and error (``tplink_tui.bridge``); never a credential.
SIGINT and SIGTERM stop it cleanly: MQTT says ``offline``, the HTTP server closes,
polling stops and the history writer flushes.
"""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import ListenError
from ..gc_tune import GC_SETTLE_SECONDS, tune_gc
from ..store.config import SavedDevice
from .hub import Hub, log
from .options import HttpOptions, MqttOptions

if TYPE_CHECKING:
    from aiohttp.web import AppRunner


@dataclass(frozen=True, slots=True)
class BridgeConfig:
    devices: tuple[SavedDevice, ...]
    interval: float = 2.0
    timeout: float = 5.0
    history: bool = True
    http: HttpOptions | None = None
    mqtt: MqttOptions | None = None


async def serve(config: BridgeConfig, stop: asyncio.Event | None = None) -> None:
    """Run until ``stop`` is set (or SIGINT/SIGTERM arrives)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for number in signals:
        loop.add_signal_handler(number, stop.set)
    hub = Hub(
        config.devices, interval=config.interval, timeout=config.timeout, history=config.history
    )
    runner = mqtt = None
    try:
        problem = await hub.start()
        if problem:
            log.warning("%s", problem)
        if config.http is not None:
            runner = await _start_http(hub, config.http)
        if config.mqtt is not None:
            from .mqtt import MqttBridge

            mqtt = MqttBridge(hub, config.mqtt)
            mqtt.start()
            log.info("MQTT to %s, topics under %s/", config.mqtt.safe_url, config.mqtt.prefix)
        # Full GC passes over 200 devices' readings stall for 100+ ms: the dashboard's
        # tuning (freeze what has settled, rarer full passes) serves here as well.
        loop.call_later(GC_SETTLE_SECONDS, tune_gc)
        log.info("bridging %d devices, polled every %g s", len(hub.devices), config.interval)
        await stop.wait()
        log.info("stopping")
    finally:
        for number in signals:
            loop.remove_signal_handler(number)
        if mqtt is not None:
            await mqtt.stop()
        if runner is not None:
            await runner.cleanup()
        await hub.stop()
        log.info("stopped")


async def _start_http(hub: Hub, options: HttpOptions) -> AppRunner:
    from aiohttp import web

    from .app import build_app

    runner = web.AppRunner(build_app(hub, options), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, options.host, options.port, shutdown_timeout=1.0)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise ListenError(f"cannot listen on {options.url}: {exc.strerror or exc}") from None
    log.info("HTTP on %s (page at /, API at /api, metrics at /metrics)", options.url)
    return runner
