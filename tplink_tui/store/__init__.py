"""Storage below the UI: the saved device list and settings, and the energy history.

The names load on first use (PEP 562), so a verb that needs only the credentials
file (or nothing stored at all, like ``--help``) does not import SQLite and the
config model.
"""

from __future__ import annotations

from ..lazy import TYPE_CHECKING, lazy_exports

if TYPE_CHECKING:
    from .config import (
        Config,
        ConfigStore,
        DeviceExists,
        DeviceNotFound,
        ImportResult,
        SavedDevice,
        Settings,
        default_config_path,
        format_address,
        parse_address,
    )
    from .history import (
        HistoryRow,
        HistoryStore,
        HistoryUnavailable,
        HistoryWriter,
        PruneStats,
        Reading,
        Retention,
        default_history_path,
        open_history,
    )

_LAZY = {
    "Config": "config",
    "ConfigStore": "config",
    "DeviceExists": "config",
    "DeviceNotFound": "config",
    "ImportResult": "config",
    "SavedDevice": "config",
    "Settings": "config",
    "default_config_path": "config",
    "format_address": "config",
    "parse_address": "config",
    "HistoryRow": "history",
    "HistoryStore": "history",
    "HistoryUnavailable": "history",
    "HistoryWriter": "history",
    "PruneStats": "history",
    "Reading": "history",
    "Retention": "history",
    "default_history_path": "history",
    "open_history": "history",
}


__getattr__ = lazy_exports(__name__, _LAZY, globals())


__all__ = [
    "Config",
    "ConfigStore",
    "DeviceExists",
    "DeviceNotFound",
    "HistoryRow",
    "HistoryStore",
    "HistoryUnavailable",
    "HistoryWriter",
    "ImportResult",
    "PruneStats",
    "Reading",
    "Retention",
    "SavedDevice",
    "Settings",
    "default_config_path",
    "default_history_path",
    "format_address",
    "open_history",
    "parse_address",
]
