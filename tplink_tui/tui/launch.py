"""Start the dashboard on the saved devices, or on the built-in simulated home."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..discovery import DEFAULT_TARGET
from ..store.config import ConfigStore
from .app import TplinkApp

DISCOVERY_TARGET_ENV = "TPLINK_TUI_DISCOVERY_TARGET"


def run_dashboard(demo: bool = False) -> int:
    if demo:
        from .demo import DemoApp

        with tempfile.TemporaryDirectory(prefix="tplink-tui-demo-") as folder:
            DemoApp(ConfigStore(Path(folder) / "config.json")).run()
        return 0
    target = os.environ.get(DISCOVERY_TARGET_ENV) or DEFAULT_TARGET
    app = TplinkApp(ConfigStore(), discovery_target=target)
    app.run()
    return 0
