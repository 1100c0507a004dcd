"""Set a count-down timer on a plug or outlet: 'off in 30 min'."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet

from ..safe import text as safe_text


class CountdownScreen(ModalScreen[tuple[float, bool] | None]):
    """Dismisses with (minutes, turn_on) or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="countdown.cancel")]
    DEFAULT_CSS = """
    CountdownScreen { align: center middle; }
    CountdownScreen > Vertical {
        width: 56; height: auto; border: thick $accent; background: $surface; padding: 1 2;
    }
    CountdownScreen Horizontal { height: auto; }
    CountdownScreen #countdown-error { color: $error; }
    """

    def __init__(self, target: str, currently_on: bool) -> None:
        super().__init__()
        self.target = target
        self.currently_on = currently_on

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(safe_text(f"Timer for {self.target}", limit=200))
            with RadioSet(id="countdown-action"):
                yield RadioButton("Turn off", value=self.currently_on, id="act-off")
                yield RadioButton("Turn on", value=not self.currently_on, id="act-on")
            yield Label("in minutes:")
            yield Input("30", id="countdown-minutes", type="number")
            yield Label("", id="countdown-error")
            with Horizontal():
                yield Button("Start", variant="primary", id="start")
                yield Button("Clear timer", id="clear")

    def _submit(self) -> None:
        text = self.query_one("#countdown-minutes", Input).value.strip()
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
