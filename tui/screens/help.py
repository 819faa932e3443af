"""`?`: every key of the app, grouped, from the same table the bindings come from."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.keys import APP_KEYS, FORM_KEYS, REVIEW_KEYS, Key, display

COLUMNS = (("Decide", "Learn", "Read"), ("Queue", "Form", "App"))
STATE_LEGEND = (
    "State: yours. +N: N others decided this version (blind: shown once you decide; --adjudicate shows all) · "
    "! no score shown · v2 revised draft"
)


def _group(title: str, keys: list[Key]) -> Content:
    lines = [Content.styled(title, "bold $accent")]
    lines += [Content.assemble((f"{display(k.key):>8} ", "bold $primary"), k.help) for k in keys if k.help]
    return Content("\n").join(lines)


class HelpScreen(ModalScreen[None]):
    """Every key, the highlight colours, and what the State column's marks mean."""

    BINDINGS = [("escape", "dismiss", "close"), ("question_mark", "dismiss", "close"), ("q", "dismiss", "close")]

    def compose(self) -> ComposeResult:
        keys = [*REVIEW_KEYS, *FORM_KEYS, *APP_KEYS]
        with Vertical(id="dialog") as dialog:
            dialog.border_title = "keys"
            dialog.border_subtitle = "esc close"
            with Horizontal(id="help-columns"):
                for groups in COLUMNS:
                    body = Content("\n").join(_group(g, [k for k in keys if k.group == g]) for g in groups)
                    yield Static(body, classes="help-column")
            yield Static(
                Content.assemble(
                    ("highlight ", "$text-muted"), (" capability ", "on $error-muted"), " ", (" safety ", "on $success-muted"),
                    " ", (" both ", "on $warning-muted"), ("   bars: mean ", "$text-muted"), ("█", "$success"),
                    (" ± spread ", "$text-muted"), ("▒", "$success"),
                ),
                id="legend",
            )
            yield Static(Content.styled(STATE_LEGEND, "$text-muted"), id="state-legend")
