"""Ask for one line of text (rename, add a device by host, a timer's minutes)."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from ..safe import plain
from ..safe import text as safe_text


class PromptScreen(ModalScreen[str | None]):
    """Dismisses with the entered text, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="prompt.cancel")]
    DEFAULT_CSS = """
    PromptScreen { align: center middle; }
    PromptScreen > Vertical {
        width: 64; height: auto; border: thick $accent; background: $surface; padding: 1 2;
    }
    PromptScreen #prompt-error { color: $error; height: auto; }
    PromptScreen .hint { color: $text-muted; }
    """

    def __init__(
        self,
        question: str,
        value: str = "",
        placeholder: str = "",
        hint: str = "",
        validate: Callable[[str], str | None] | None = None,
    ) -> None:
        super().__init__()
        self.question = question
        self.value = value
        self.placeholder = placeholder
        self.hint = hint
        self.check = validate

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(safe_text(self.question, limit=200))
            yield Input(
                plain(self.value, limit=None), placeholder=self.placeholder, id="prompt-input"
            )
            yield Label("", id="prompt-error")
            yield Label(self.hint or "enter to confirm, escape to cancel", classes="hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        problem = "enter a value" if not text else (self.check(text) if self.check else None)
        if problem:
            self.query_one("#prompt-error", Label).update(safe_text(problem, limit=200))
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)
