"""Set a count-down timer on a plug or outlet: 'off in 30 min'.

The dialog opens on the running timer when there is one (read from the device in the
background, shown once it answers unless the user already changed something); the
highlighted action is always the chosen one; the first digit typed in the minutes
field replaces the suggested value instead of being appended to it.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet

from ...errors import TplinkError
from ...present import duration
from ..safe import text as safe_text

DEFAULT_MINUTES = "30"
TimerLoader = Callable[[], Awaitable[list[dict[str, Any]]]]


class MinutesInput(Input):
    """A number field whose suggested value goes as soon as one types."""

    def __init__(self, value: str, **kwargs: Any) -> None:
        self._suggested = value  # before Input sets the value (its watcher reads this)
        self.pristine = True  # still the suggested value: the first key replaces it
        super().__init__(value, type="number", **kwargs)

    def suggest(self, value: str) -> None:
        """Put a new suggestion in (the running timer), still replaced by typing."""
        self._suggested = value
        self.value = value

    def watch_value(self, value: str) -> None:
        if value != self._suggested:
            self.pristine = False

    def insert_text_at_cursor(self, text: str) -> None:
        if self.pristine:
            self.pristine = False
            self.value = ""
        super().insert_text_at_cursor(text)


def running_timer(rules: list[dict[str, Any]]) -> tuple[bool, int] | None:
    """(turns on, seconds left) of the enabled count_down rule, if one is running."""
    for rule in rules:
        remain = rule.get("remain", rule.get("delay"))
        act = rule.get("act")
        if rule.get("enable") and isinstance(remain, int | float) and remain > 0 and act in (0, 1):
            return bool(act), int(remain)
    return None


class CountdownScreen(ModalScreen[tuple[float, bool] | None]):
    """Dismisses with (minutes, turn_on) or None."""

    AUTO_FOCUS = "#countdown-minutes"  # focused on open, all selected: typing replaces it

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="countdown.cancel")]
    DEFAULT_CSS = """
    CountdownScreen { align: center middle; }
    CountdownScreen > Vertical {
        width: 56; height: auto; border: thick $accent; background: $surface; padding: 1 2;
    }
    CountdownScreen Horizontal { height: auto; }
    CountdownScreen #countdown-error { color: $error; }
    CountdownScreen #countdown-running { color: $text-muted; }
    """

    def __init__(self, target: str, currently_on: bool, load: TimerLoader | None = None) -> None:
        super().__init__()
        self.target = target
        self.currently_on = currently_on
        self.load = load
        self.running: tuple[bool, int] | None = None
        self._action_touched = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(safe_text(f"Timer for {self.target}", limit=200))
            yield Label("", id="countdown-running")
            with RadioSet(id="countdown-action"):
                yield RadioButton("Turn off", value=self.currently_on, id="act-off")
                yield RadioButton("Turn on", value=not self.currently_on, id="act-on")
            yield Label("in minutes:")
            yield MinutesInput(DEFAULT_MINUTES, id="countdown-minutes")
            yield Label("", id="countdown-error")
            with Horizontal():
                yield Button("Start", variant="primary", id="start")
                yield Button("Clear timer", id="clear")

    def on_mount(self) -> None:
        # RadioSet highlights its first button whichever is pressed: move the highlight.
        radio = self.query_one(RadioSet)
        for _ in range(max(radio.pressed_index, 0)):
            radio.action_next_button()
        if self.load is not None:
            self.run_worker(self._load_running(self.load), group="countdown")

    async def _load_running(self, load: TimerLoader) -> None:
        try:
            running = running_timer(await load())
        except TplinkError:
            return  # no timer to show (a device without count_down, or gone): defaults stay
        if running is None:
            return
        self.running = running
        on, seconds = running
        ends = time.monotonic() + seconds

        def show() -> None:
            left = ends - time.monotonic()
            exact = f"{int(left) // 60} min {int(left) % 60:02d} s" if left < 3600 else ""
            text = f"Running: {'on' if on else 'off'} in {exact or duration(left)}"
            text = text if left > 0 else ""
            self.query_one("#countdown-running", Label).update(text or "The timer ran out")

        show()
        self.set_interval(1.0, show)  # counting down while the dialog is open
        minutes = self.query_one(MinutesInput)
        if minutes.pristine and not self._action_touched:
            # Pressing a button posts RadioSet.Changed, which moves the highlight too.
            self.query_one("#act-on" if on else "#act-off", RadioButton).value = True
            minutes.suggest(f"{max(seconds, 1) / 60:.1f}".removesuffix(".0"))
            if minutes.has_focus:
                minutes.action_select_all()

    def on_radio_set_changed(self) -> None:
        if self.running is None:  # before the running timer arrived: the user's own choice
            self._action_touched = True

    def _submit(self) -> None:
        text = self.query_one(MinutesInput).value.strip()
        try:
            minutes = float(text)
        except ValueError:
            minutes = -1
        if not 0 < minutes <= 24 * 60:
            self.query_one("#countdown-error", Label).update("minutes must be 0-1440")
            return
        pressed = self.query_one("#countdown-action", RadioSet).pressed_button
        self.dismiss((minutes, pressed is not None and pressed.id == "act-on"))

    def on_input_submitted(self) -> None:
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "clear":
            self.dismiss((0.0, False))
        else:
            self._submit()

    def action_cancel(self) -> None:
        self.dismiss(None)
