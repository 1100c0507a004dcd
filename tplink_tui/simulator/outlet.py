"""One relay of a simulated device: its state, its meter and its rule tables.

The device (``device.SimulatedDevice``, which re-exports ``Outlet``) owns a list of
these; a plug has one, a strip one per socket.
"""

from __future__ import annotations

import time

from .loads import Meter, noise
from .rules import RuleTable

RULE_KINDS = ("schedule", "count_down", "anti_theft")


class Outlet:
    """One relay: the only relay of a plug, or one socket of a strip."""

    __slots__ = ("alias", "id", "index", "is_on", "meter", "on_since", "rules")

    def __init__(self, index: int, outlet_id: str, alias: str, meter: Meter, on: bool) -> None:
        self.index = index
        self.id = outlet_id
        self.alias = alias
        self.meter = meter
        self.is_on = on
        self.on_since = time.time() - 3600 * (1 + 40 * noise(meter.seed, 99)) if on else 0.0
        self.rules = {kind: RuleTable(kind, outlet_id) for kind in RULE_KINDS}

    def on_time(self, now: float) -> int:
        return int(now - self.on_since) if self.is_on else 0

    def __repr__(self) -> str:
        return f"Outlet({self.index}, {self.alias!r}, on={self.is_on})"
