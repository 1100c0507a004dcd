"""Storage below the UI: the saved device list and settings, and the energy history."""

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
