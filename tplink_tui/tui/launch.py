"""Start the dashboard on the saved devices, or on the built-in simulated home."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..discovery import DEFAULT_PORT, DEFAULT_TARGET, NEW_PROTOCOL_PORT
from ..errors import UsageError
from ..store.config import ConfigStore
from .app import TplinkApp

DISCOVERY_TARGET_ENV = "TPLINK_TUI_DISCOVERY_TARGET"
DISCOVERY_PORT_ENV = "TPLINK_TUI_DISCOVERY_PORT"
KLAP_PORT_ENV = "TPLINK_TUI_KLAP_PORT"


def env_port(name: str, default: int) -> int:
    """A UDP port from the environment, or a UsageError naming the variable."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise UsageError(f"{name} should be a port number (1-65535), got {text[:20]!r}")
    return int(text)


def run_dashboard(demo: bool = False) -> int:
    if demo:
        from .demo import DemoApp

        with tempfile.TemporaryDirectory(prefix="tplink-tui-demo-") as folder:
            DemoApp(ConfigStore(Path(folder) / "config.json")).run()
        return 0
    target = os.environ.get(DISCOVERY_TARGET_ENV) or DEFAULT_TARGET
    port = env_port(DISCOVERY_PORT_ENV, DEFAULT_PORT)
    klap_port = env_port(KLAP_PORT_ENV, NEW_PROTOCOL_PORT)
    app = TplinkApp(ConfigStore(), discovery_target=target, discovery_port=port)
    app.dialogs.new_protocol_port = klap_port
    app.run()
    return 0
