"""Where the config and credentials files are, without the config model.

The command line asks before every verb whether a HOST could be a saved name (is
there a config file at all?) and whether a saved login could exist; answering that
must not import the model, the tariff and platformdirs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = [
    "APP_NAME",
    "CONFIG_ENV",
    "CREDENTIALS_ENV",
    "credentials_path",
    "default_config_path",
    "may_exist",
    "user_config_dir",
]

APP_NAME = "tplink-tui"
CONFIG_ENV = "TPLINK_TUI_CONFIG"
CREDENTIALS_ENV = "TPLINK_TUI_CREDENTIALS"


def default_config_path() -> Path:
    """``$TPLINK_TUI_CONFIG`` if set, else ``<user config dir>/tplink-tui/config.json``."""
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env).expanduser()
    return Path(user_config_dir()) / "config.json"


def user_config_dir() -> str:
    """platformdirs' user config folder for the app; on Linux its common cases directly.

    Importing platformdirs (tempfile, shutil, random with it) costs about 40 M
    instructions: more than ``info`` spends on its own work. On Linux with an
    absolute ``$XDG_CONFIG_HOME``, or an absolute ``$HOME`` and no usable
    ``$XDG_CONFIG_HOME``, its answer is one join (a test holds the two equal);
    anything else asks platformdirs.
    """
    if sys.platform.startswith("linux"):
        xdg = os.environ.get("XDG_CONFIG_HOME", "")
        if os.path.isabs(xdg):
            return os.path.join(xdg, APP_NAME)
        if os.path.isabs(os.environ.get("HOME", "")):
            return os.path.join(os.path.expanduser("~/.config"), APP_NAME)
    import platformdirs

    return platformdirs.user_config_dir(APP_NAME)


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
