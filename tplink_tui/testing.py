"""Pytest fixtures: simulated devices on free loopback ports, for every test.

Needs the test extra (``pip install tplink-tui[test]``): it is the one module of the
package that imports pytest, and nothing else imports it. Load it with
``pytest_plugins = ["tplink_tui.testing"]`` in a conftest.

- ``simulator``: a started ``Simulator`` in the test's own event loop (async tests);
- ``sim_thread``: a ``ThreadedSimulator`` serving from a background thread, for
  code that runs ``asyncio.run`` itself (a synchronous CLI ``main()``).

Both are stopped, sockets closed and timers cancelled, when the test ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

try:
    import pytest
    import pytest_asyncio
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "tplink_tui.testing needs the test extra (pytest and pytest-asyncio):"
        " pip install 'tplink-tui[test]'"
    ) from exc

from .simulator import Simulator, ThreadedSimulator

__all__ = ["FIXTURE_SEED", "sim_thread", "simulator"]

FIXTURE_SEED = 1234


@pytest_asyncio.fixture
async def simulator() -> AsyncIterator[Simulator]:
    """A running simulator with no devices yet: ``dev = await simulator.add("hs110")``."""
    sim = Simulator(seed=FIXTURE_SEED)
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


@pytest.fixture
def sim_thread() -> Iterator[ThreadedSimulator]:
    """A simulator in its own thread: ``dev = sim_thread.add("hs110", alias="Fridge")``."""
    sim = ThreadedSimulator(seed=FIXTURE_SEED)
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()
