"""The writer's fast row conversion agrees with ``to_row`` wherever it answers."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tplink_tui.store.history_db import Reading, _plain_row, to_row

NUMBERS: list[Any] = [
    None,
    0.0,
    -0.0,
    -1.0,
    -1.5,
    1e-9,
    12.345678,
    299.9999,
    300.0,
    300.1,
    4000.0,
    4000.5,
    20.0,
    999_999.9,
    1e6,
    1e300,
    -1e300,
    math.nan,
    math.inf,
    -math.inf,
    5,
    True,
    "1.5",
]
measure = st.one_of(st.sampled_from(NUMBERS), st.floats(-10.0, 5000.0))


@settings(max_examples=600, deadline=None)
@given(
    st.sampled_from(["127.0.0.1:9999", "Fridge", 7]),
    st.sampled_from([None, 0, 5, -1, 999, 1000, True, 1.0]),
    st.one_of(st.sampled_from([1.7e9, 0.0, -5.0, 1e12, math.nan, 1700000000]), st.floats()),
    measure,
    measure,
    measure,
    measure,
)
def test_plain_row_is_to_row(
    device: Any, outlet: Any, ts: Any, power: Any, voltage: Any, current: Any, total: Any
) -> None:
    reading = Reading(device, outlet, ts, power, voltage, current, total)
    fast = _plain_row(reading)
    if fast is None:
        return
    assert fast == to_row(reading)
    assert reading.device == device and isinstance(device, str)


def test_usual_reading_takes_the_fast_way() -> None:
    reading = Reading("127.0.0.1:9999", None, 1.7e9, 12.5, 230.1, 0.054, 1.234)
    assert (
        _plain_row(reading)
        == to_row(reading)
        == (-1, 1_700_000_000_000, 12500, 230100, 54, 1234000)
    )
