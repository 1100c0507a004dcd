"""Where the config and credentials files are, without the config model.

The command line asks before every verb whether a HOST could be a saved name (is
there a config file at all?) and whether a saved login could exist; answering that
must not import the model, the tariff and platformdirs.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "APP_NAME",
    "CONFIG_ENV",
    "CREDENTIALS_ENV",
    "credentials_path",
    "default_config_path",
    "may_exist",
]

APP_NAME = "tplink-tui"
CONFIG_ENV = "TPLINK_TUI_CONFIG"
CREDENTIALS_ENV = "TPLINK_TUI_CREDENTIALS"


def default_config_path() -> Path:
    """``$TPLINK_TUI_CONFIG`` if set, else ``<user config dir>/tplink-tui/config.json``."""
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs  # only without the variable: a few ms of start-up

    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.json"


def may_exist(path: Path) -> bool:
    """False only when reading ``path`` would find no file (what the stores call
    missing: nothing there, or a dangling symlink); any other trouble is the store's
    to report, so it reads and says so."""
    try:
        os.stat(path)
    except FileNotFoundError:
        return False
    except OSError:
        return True
    return True


def credentials_path() -> Path:
    """``$TPLINK_TUI_CREDENTIALS`` if set, else ``credentials.json`` beside the config."""
    env = os.environ.get(CREDENTIALS_ENV)
    if env:
        return Path(env).expanduser()
    return default_config_path().with_name("credentials.json")
