"""Inputs that follow the app's cursor-blink setting, so screenshots of a focused input are stable."""

from __future__ import annotations

from textual.widgets import Input


class SteadyInput(Input):
    """An `Input` whose cursor blinks only when the app allows it (`ReviewApp.cursor_blink`)."""

    def on_mount(self) -> None:
        self.cursor_blink = getattr(self.app, "cursor_blink", True)
