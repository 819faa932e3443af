"""Every key of the review screen in one table, so the bindings and the `?` help can never disagree."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding, BindingType

from triage.review_records import APPROVE, APPROVE_WITH_CHANGES, ESCALATE, HOLD, RESTRICT


@dataclass(frozen=True)
class Key:
    key: str
    action: str
    label: str  # short, for the footer
    help: str  # one line, for the help screen
    group: str
    footer: bool = False
    widget: bool = False  # bound by a widget (the queue table), listed here only for the help


DECISION_KEYS = {"a": APPROVE, "c": APPROVE_WITH_CHANGES, "r": RESTRICT, "h": HOLD, "e": ESCALATE}

REVIEW_KEYS = (
    *(Key(k, f"decide('{s}')", "changes" if s == APPROVE_WITH_CHANGES else s, s, "Decide", footer=True) for k, s in DECISION_KEYS.items()),
    Key("u", "undo", "undo", "undo your last decision", "Decide", footer=True),
    Key("U", "redo", "redo", "redo what you undid", "Decide"),
    Key("T", "retrain", "retrain", "retrain probes, re-score", "Learn"),
    Key("n", "passage(1)", "next", "next highlighted passage", "Read"),
    Key("p", "passage(-1)", "prev", "previous passage", "Read"),
    Key("enter", "open_prior", "prior", "prior work summary", "Read"),
    Key("o", "cycle_sort", "sort", "sort: risk/uncertainty/date", "Queue"),
    Key("t", "cycle_tier", "tier", "filter by tier", "Queue"),
    Key("f", "cycle_state", "state", "filter by decision state", "Queue"),
    Key("slash", "search", "search", "search titles, paths, ids", "Queue"),
    Key("escape", "clear_filters", "clear", "clear search and filters", "Queue"),
    Key("home", "first_row", "first", "first item", "Queue", widget=True),
    Key("end", "last_row", "last", "last item", "Queue", widget=True),
)

APP_KEYS = (
    # Not in the footer: with it the decision keys no longer fit in 60 columns. The status line shows "? keys".
    Key("question_mark", "help", "keys", "these keys", "App"),
    Key("ctrl+p", "command_palette", "palette", "command palette", "App"),
    Key("tab", "focus_next", "focus", "next pane", "App"),
    Key("q", "quit", "quit", "quit", "App"),
)

# The decision form's own keys, all priority bindings: the app acts on them when it reads the key, before passing
# the next key on. A laggy link sends tab and the next key in one write; had tab moved focus only once the rationale
# box handled it, the next key would already be on its way to the rationale. Digits tick the checklist whenever
# focus is outside a text box; inside one they are typed.
FORM_KEYS = (
    Key("ctrl+s", "save", "save", "save the decision", "Form", footer=True),
    Key("escape", "cancel", "keep draft", "keep as a draft", "Form", footer=True),
    Key("tab", "app.focus_next", "next", "", "Form"),
    Key("space", "press_focused", "tick", "tick the focused box", "Form"),
    Key("shift+tab", "app.focus_previous", "previous", "", "Form"),
    *(Key(str(n), f"tick({n - 1})", "tick", "tick item 1–5 (not in text)" if n == 1 else "", "Form", footer=n == 1) for n in range(1, 6)),
)

DISPLAY = {"slash": "/", "question_mark": "?", "enter": "enter", "ctrl+p": "ctrl+p", "tab": "tab", "escape": "esc", "1": "1…5", "shift+tab": "⇧tab"}
UNBOUND = ("open_prior", "command_palette", "focus_next")  # handled by widgets or Textual itself


def bindings(keys: tuple[Key, ...], *, priority: bool = False) -> list[BindingType]:
    return [
        Binding(k.key, k.action, k.label, show=k.footer, key_display=DISPLAY.get(k.key), priority=priority)
        for k in keys if k.action not in UNBOUND and not k.widget
    ]


def display(key: str) -> str:
    return DISPLAY.get(key, key)
