"""Ask for a device's username and password (KLAP/AES devices refuse to talk without).

The password Input is masked, and the password goes nowhere but to ``submit``:
never into a label, a toast or a log. The dialog stays open while the login is
tried, so a wrong password brings its error line back instead of closing it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from ...transports import Credentials
from ..safe import plain
from ..safe import text as safe_text

# (credentials) -> None when logged in, else the problem to show (never the password)
Submit = Callable[[Credentials], Awaitable[str | None]]


class CredentialsScreen(ModalScreen[bool]):
    """Dismisses with True once ``submit`` accepted the login, False when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="credentials.cancel")]
    DEFAULT_CSS = """
    CredentialsScreen { align: center middle; }
    CredentialsScreen > Vertical {
        width: 64; height: auto; border: thick $accent; background: $surface; padding: 1 2;
    }
    CredentialsScreen #login-error { color: $error; height: auto; }
    CredentialsScreen .hint { color: $text-muted; }
    """

    def __init__(self, device_key: str, title: str, submit: Submit, username: str = "") -> None:
        super().__init__()
        self.device_key = device_key
        self.title_text = title
        self.submit = submit
        self.username = username
        self.busy = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(safe_text(self.title_text, limit=200))
            yield Input(
                plain(self.username, limit=None), placeholder="username (e-mail)", id="login-user"
            )
            yield Input(placeholder="password", password=True, id="login-password")
            yield Label("", id="login-error")
            yield Label("enter to log in, escape to cancel", classes="hint")

    def on_mount(self) -> None:
        target = "#login-password" if self.username else "#login-user"
        self.query_one(target, Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        user = self.query_one("#login-user", Input).value.strip()
        password = self.query_one("#login-password", Input).value
        if event.input.id == "login-user" and not password:
            self.query_one("#login-password", Input).focus()
            return
        if not user or not password:
            self._error("enter a username and a password")
            return
        if not self.busy:
            self.busy = True
            self._error("logging in…")
            self._log_in(Credentials(user, password))

    @work(group="login", exclusive=True)
    async def _log_in(self, credentials: Credentials) -> None:
        try:
            problem = await self.submit(credentials)
        finally:
            self.busy = False
        if problem is None:
            self.dismiss(True)
            return
        self._error(problem)
        password = self.query_one("#login-password", Input)
        password.value = ""
        password.focus()

    def _error(self, problem: str) -> None:
        self.query_one("#login-error", Label).update(safe_text(problem, limit=200))

    def action_cancel(self) -> None:
        self.dismiss(False)
