"""What the power costs: one price per kWh, optionally a cheaper night rate between two hours.

Pure data and arithmetic, used by the config (``settings.tariff``), the dashboard
(cost column, energy view) and ``history export``. No tariff set means no cost
anywhere: the default.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

__all__ = ["Tariff", "TariffError", "parse_tariff", "parse_tariff_text"]

MAX_PRICE = 1000.0  # per kWh, in any currency: more is a typo
_CURRENCY = re.compile(r"^[^\s\d.,\-+]{1,8}$")
_HOUR = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_TEXT = re.compile(
    r"^\s*(?P<price>\d+(?:[.,]\d+)?)\s*(?P<currency>\S+)?"
    r"(?:\s+night\s+(?P<night>\d+(?:[.,]\d+)?)\s+(?P<start>\d{1,2}:\d\d)\s*-\s*(?P<end>\d{1,2}:\d\d))?"
    r"\s*$",
    re.IGNORECASE,
)


class TariffError(ValueError):
    """A tariff that cannot be used; the message says which part."""


@dataclass(frozen=True)
class Tariff:
    """``price`` per kWh in ``currency``; ``night_price`` from ``night_start`` to ``night_end``."""

    price: float
    currency: str = ""
    night_price: float | None = None
    night_start: str = "22:00"
    night_end: str = "06:00"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"price": self.price, "currency": self.currency}
        if self.night_price is not None:
            data.update(
                night_price=self.night_price, night_start=self.night_start, night_end=self.night_end
            )
        return data

    def describe(self) -> str:
        """``0.30 EUR/kWh``, ``0.30 EUR/kWh, night 0.20 (22:00-06:00)``."""
        text = f"{self.price:g} {self.currency}/kWh".replace(" /", "/")
        if self.night_price is not None:
            text += f", night {self.night_price:g} ({self.night_start}-{self.night_end})"
        return text

    def money(self, amount: float | None) -> str:
        """``1.23 EUR``; more digits below 0.10 so a small cost is not ``0.00``."""
        if amount is None or not math.isfinite(amount):
            return "—"
        digits = 2 if abs(amount) >= 0.1 or amount == 0 else 3
        return f"{amount:.{digits}f} {self.currency}".rstrip()

    def price_at(self, moment: datetime) -> float:
        """The price per kWh in force at this local time."""
        if self.night_price is None:
            return self.price
        now = moment.time()
        start, end = _clock(self.night_start), _clock(self.night_end)
        night = start <= now < end if start <= end else (now >= start or now < end)
        return self.night_price if night else self.price

    def cost(self, kwh: float, at: datetime | None = None) -> float:
        """kWh at one moment's price (the day price when no moment is given)."""
        return kwh * (self.price if at is None else self.price_at(at))

    def spans(self, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime, float]]:
        """Split ``start``..``end`` where the price changes: (from, to, price) pieces."""
        if self.night_price is None:
            yield start, end, self.price
            return
        edges = (_clock(self.night_start), _clock(self.night_end))
        moment = start
        while moment < end:
            following = [
                datetime.combine(moment.date() + timedelta(days=extra), edge, moment.tzinfo)
                for extra in (0, 1)
                for edge in edges
            ]
            cut = min([t for t in following if t > moment] + [end])
            yield moment, cut, self.price_at(moment)
            moment = cut

    def cost_between(
        self, energy: Callable[[float, float], float], start: datetime, end: datetime
    ) -> float:
        """The cost of ``energy(since, until)`` kWh (unix seconds), priced piece by piece."""
        return sum(
            energy(a.timestamp(), b.timestamp()) * price for a, b, price in self.spans(start, end)
        )


def _clock(text: str) -> time:
    match = _HOUR.match(text)
    if match is None:
        raise TariffError(f"{text!r} is not a time of day (HH:MM)")
    return time(int(match.group(1)), int(match.group(2)))


def _price(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TariffError(f"{what} must be a number, got {value!r}")
    if not math.isfinite(value) or not 0 <= value <= MAX_PRICE:
        raise TariffError(f"{what} must be between 0 and {MAX_PRICE:g}, got {value!r}")
    return float(value)


def parse_tariff(data: Any) -> Tariff | None:
    """``settings.tariff`` from decoded JSON (None: no tariff); TariffError when malformed."""
    if data is None:
        return None
    if not isinstance(data, dict):
        raise TariffError(f"tariff must be an object, got {type(data).__name__}")
    currency = data.get("currency", "")
    if not isinstance(currency, str) or (currency and not _CURRENCY.match(currency)):
        raise TariffError(f"tariff.currency must be a short word like EUR or €, got {currency!r}")
    night = data.get("night_price")
    tariff = Tariff(
        price=_price(data.get("price"), "tariff.price"),
        currency=currency,
        night_price=None if night is None else _price(night, "tariff.night_price"),
        night_start=str(data.get("night_start", "22:00")),
        night_end=str(data.get("night_end", "06:00")),
    )
    if tariff.night_price is not None and _clock(tariff.night_start) == _clock(tariff.night_end):
        raise TariffError("tariff.night_start and night_end must differ")
    return tariff


def parse_tariff_text(text: str) -> Tariff | None:
    """``0.30 EUR`` or ``0.30 EUR night 0.20 22:00-06:00``; empty or ``none``: no tariff."""
    if text.strip().casefold() in ("", "none", "off"):
        return None
    match = _TEXT.match(text)
    if match is None:
        raise TariffError(
            "write the price per kWh and the currency, e.g. '0.30 EUR'"
            " or '0.30 EUR night 0.20 22:00-06:00'"
        )
    data: dict[str, Any] = {
        "price": float(match["price"].replace(",", ".")),
        "currency": match["currency"] or "",
    }
    if match["night"]:
        data.update(
            night_price=float(match["night"].replace(",", ".")),
            night_start=match["start"],
            night_end=match["end"],
        )
    return parse_tariff(data)
