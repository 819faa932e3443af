"""`?`: every key of the app, grouped, from the same table the bindings come from."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.keys import APP_KEYS, REVIEW_KEYS, Key, display

COLUMNS = (("Decide", "Learn", "Read"), ("Queue", "App"))


def _group(title: str, keys: list[Key]) -> Content:
    lines = [Content.styled(title, "bold $accent")]
    lines += [Content.assemble((f"{display(k.key):>6} ", "bold $primary"), k.help) for k in keys]
    return Content("\n").join(lines)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [("escape", "dismiss", "close"), ("question_mark", "dismiss", "close"), ("q", "dismiss", "close")]

    def compose(self) -> ComposeResult:
        keys = [*REVIEW_KEYS, *APP_KEYS]
        with Vertical(id="dialog") as dialog:
            dialog.border_title = "keys"
            dialog.border_subtitle = "esc close"
            with Horizontal(id="help-columns"):
                for groups in COLUMNS:
                    body = Content("\n\n").join(_group(g, [k for k in keys if k.group == g]) for g in groups)
                    yield Static(body, classes="help-column")
            yield Static(
                Content.assemble(
                    ("highlight ", "$text-muted"), (" capability ", "on $error-muted"), " ", (" safety ", "on $success-muted"),
                    " ", (" both ", "on $warning-muted"), ("   bars: mean ", "$text-muted"), ("█", "$success"),
                    (" ± spread ", "$text-muted"), ("▒", "$success"),
                ),
                id="legend",
            )
