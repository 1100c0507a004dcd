"""``bridge``: serve the saved devices to scripts and home automation from one monitor.

HTTP (the old web app's API, REST, the phone page, Prometheus metrics) and MQTT
(with Home Assistant discovery), whichever are asked for; HTTP on 127.0.0.1:8321
when neither is. Anything but loopback needs a token, and says so loudly.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import sys
from dataclasses import replace

from ..bridge.options import (
    DEFAULT_HTTP_PORT,
    HttpOptions,
    MqttOptions,
    parse_http,
    parse_mqtt_url,
)
from ..errors import UsageError
from ..store.config import ConfigStore, SavedDevice
from ..web.policy import is_loopback
from .main import EXIT_CODES_HELP, verb

TOKEN_ENV = "TPLINK_TUI_TOKEN"
MQTT_PASSWORD_ENV = "TPLINK_TUI_MQTT_PASSWORD"
WARNING = (
    "WARNING: the bridge listens on {host}, which is not loopback. Anyone who can reach"
    " {host}:{port} and has the token can switch your plugs, and plain HTTP shows the"
    " token to anyone watching the network."
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "bridge",
        help="serve the devices over HTTP (old web API, REST, phone page, metrics) and MQTT",
        description="Poll the saved devices once and serve them: the old web app's API"
        " (POST /), a REST API (/api, OpenAPI at /api/openapi.json), a phone page (GET /),"
        " Prometheus metrics (/metrics) and, with --mqtt, an MQTT bridge with Home Assistant"
        " discovery. Readings are recorded in the history as the dashboard does."
        " Ctrl-C or SIGTERM stops it.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--http",
        metavar="HOST:PORT",
        help="serve HTTP there (PORT alone: 127.0.0.1; default 127.0.0.1:8321 unless only"
        " --mqtt is given)",
    )
    parser.add_argument(
        "--mqtt",
        metavar="URL",
        help="mqtt://[user[:pass]@]host[:port][/prefix] (prefix 'tplink'; mqtts:// for TLS;"
        f" the password may come from ${MQTT_PASSWORD_ENV} instead)",
    )
    parser.add_argument(
        "--devices", nargs="+", metavar="NAME", help="only these saved devices (default: all)"
    )
    parser.add_argument(
        "-i", "--interval", type=float, metavar="S", help="seconds between polls (the setting)"
    )
    parser.add_argument(
        "--token",
        help=f"require this token on HTTP (needed off loopback; or ${TOKEN_ENV}, which"
        " other users cannot read from the process list)",
    )
    parser.add_argument(
        "--metrics-open", action="store_true", help="let /metrics be scraped without the token"
    )
    parser.add_argument(
        "--discovery-prefix",
        default="homeassistant",
        metavar="P",
        help="Home Assistant MQTT discovery prefix ('' turns discovery off)",
    )
    parser.add_argument(
        "--no-history",
        dest="history",
        action="store_false",
        help="do not record readings in the energy history (recorded by default)",
    )
    parser.set_defaults(func=run_bridge)


def _devices(names: list[str] | None) -> tuple[tuple[SavedDevice, ...], float]:
    config = ConfigStore().load()
    if not config.devices:
        raise UsageError("no saved devices: add some with 'tplink-tui devices add HOST'")
    if not names:
        return tuple(config.devices), config.settings.poll_interval
    chosen = []
    for name in names:
        found = config.find(name)
        if found is None:
            raise UsageError(f"--devices: no saved device {name!r}")
        chosen.append(found)
    return tuple(chosen), config.settings.poll_interval


def _options(args: argparse.Namespace) -> tuple[HttpOptions | None, MqttOptions | None]:
    http: HttpOptions | None = None
    mqtt: MqttOptions | None = None
    if args.mqtt:
        mqtt = parse_mqtt_url(args.mqtt, args.discovery_prefix)
        if mqtt.username and mqtt.password is None and os.environ.get(MQTT_PASSWORD_ENV):
            mqtt = replace(mqtt, password=os.environ[MQTT_PASSWORD_ENV])
    if args.http or mqtt is None:
        host, port = parse_http(args.http) if args.http else ("127.0.0.1", DEFAULT_HTTP_PORT)
        token = args.token or os.environ.get(TOKEN_ENV) or None
        if not is_loopback(host):
            if not token:
                raise UsageError(
                    f"--http {host}: serving beyond loopback needs a token (--token or"
                    f" ${TOKEN_ENV})"
                )
            print(WARNING.format(host=host, port=port), file=sys.stderr)
        http = HttpOptions(host, port, token, args.metrics_open)
    return http, mqtt


@verb
def run_bridge(args: argparse.Namespace) -> int:
    from ..bridge.run import BridgeConfig, serve

    if args.interval is not None and not (math.isfinite(args.interval) and args.interval > 0):
        raise UsageError("--interval must be a positive number of seconds")
    http, mqtt = _options(args)
    devices, interval = _devices(args.devices)
    _log_lines()
    config = BridgeConfig(
        devices,
        interval=args.interval or interval,
        timeout=args.timeout,
        history=args.history,
        http=http,
        mqtt=mqtt,
    )
    asyncio.run(serve(config))
    return 0


def _log_lines() -> None:
    """One line per start, stop and error on stderr, stamped."""
    logger = logging.getLogger("tplink_tui.bridge")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(
            logging.Formatter("%(asctime)s tplink-tui bridge: %(message)s", "%Y-%m-%d %H:%M:%S")
        )
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(min(logger.getEffectiveLevel(), logging.INFO))
