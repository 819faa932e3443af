"""The status line: a loading indicator while the model works, what the app is doing, and the queue's view."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import LoadingIndicator, Static

from triage.safe_text import terminal_text


class StatusLine(Horizontal):
    """`busy(text)` shows the indicator with a message; `idle(text)` hides it; `view(text)` sets the right side."""

    DEFAULT_CSS = """
    StatusLine { height: 1; background: $panel; }
    StatusLine > LoadingIndicator { width: 5; height: 1; min-height: 1; background: $panel; }
    StatusLine > Static { height: 1; padding: 0 1; }
    StatusLine > #activity { width: 1fr; color: $text-muted; }
    StatusLine > #view { width: auto; color: $text; }
    """

    activity = ""

    def compose(self) -> ComposeResult:
        yield LoadingIndicator()
        yield Static(id="activity", markup=False)
        yield Static(id="view", markup=False)

    def busy(self, text: str) -> None:
        text = terminal_text(text)  # messages quote titles, names and errors: data, never terminal control
        self.query_one(LoadingIndicator).display = True
        self.query_one("#activity", Static).update(text)
        self.activity = text

    def idle(self, text: str) -> None:
        text = terminal_text(text)
        self.query_one(LoadingIndicator).display = False
        self.query_one("#activity", Static).update(text)
        self.activity = text

    def view(self, text: str) -> None:
        self.query_one("#view", Static).update(terminal_text(text))
