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


DECISION_KEYS = {"a": APPROVE, "c": APPROVE_WITH_CHANGES, "r": RESTRICT, "h": HOLD, "e": ESCALATE}

REVIEW_KEYS = (
    *(Key(k, f"decide('{s}')", "changes" if s == APPROVE_WITH_CHANGES else s, s, "Decide", footer=True) for k, s in DECISION_KEYS.items()),
    Key("u", "undo", "undo", "undo your last decision", "Decide", footer=True),
    Key("T", "retrain", "retrain", "retrain probes, re-score", "Learn"),
    Key("n", "passage(1)", "next", "next highlighted passage", "Read"),
    Key("p", "passage(-1)", "prev", "previous passage", "Read"),
    Key("enter", "open_prior", "prior", "prior work summary", "Read"),
    Key("o", "cycle_sort", "sort", "sort: risk/uncertainty/date", "Queue"),
    Key("t", "cycle_tier", "tier", "filter by tier", "Queue"),
    Key("f", "cycle_state", "state", "filter by decision state", "Queue"),
    Key("slash", "search", "search", "search titles (esc clears)", "Queue"),
)

APP_KEYS = (
    Key("question_mark", "help", "help", "these keys", "App", footer=True),
    Key("ctrl+p", "command_palette", "palette", "command palette", "App"),
    Key("tab", "focus_next", "focus", "next pane", "App"),
    Key("q", "quit", "quit", "quit", "App"),
)

DISPLAY = {"slash": "/", "question_mark": "?", "enter": "enter", "ctrl+p": "ctrl+p", "tab": "tab"}


def bindings(keys: tuple[Key, ...]) -> list[BindingType]:
    return [Binding(k.key, k.action, k.label, show=k.footer) for k in keys if k.action not in ("open_prior", "command_palette", "focus_next")]


def display(key: str) -> str:
    return DISPLAY.get(key, key)
