"""Messages that carry state to the widgets: one per coalesced batch, one per refill."""

from __future__ import annotations

from textual.message import Message

from .controller import RefillFound


class DevicesChanged(Message):
    """The devices whose views changed since the last batch (posted by the flush timer).

    Removed devices are in it too; the handler drops their rows. The views are read
    when the message is handled, so the widgets always show the newest state.
    """

    def __init__(self, keys: tuple[str, ...]) -> None:
        super().__init__()
        self.keys = keys


class HistoryRefilled(Message):
    """The last hour of history, read on a thread, for the sparklines."""

    def __init__(self, found: RefillFound) -> None:
        super().__init__()
        self.found = found
