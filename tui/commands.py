"""The review app's entries in the command palette: sorts, filters, undo, retrain, themes and help."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

from textual.app import SystemCommand

from triage.review_queue import SORTS, STATE_FILTERS, TIERS
from tui.themes import DARK, LIGHT

if TYPE_CHECKING:
    from tui.app import ReviewApp


def review_commands(app: "ReviewApp") -> Iterator[SystemCommand]:
    main = app.main
    for sort in SORTS:
        yield SystemCommand(f"Sort by {sort}", f"order the queue by {sort}", lambda s=sort: main.set_view(sort_by=s))
    for tier in TIERS:
        yield SystemCommand(f"Filter tier: {tier}", f"show only {tier} items", lambda t=tier: main.set_view(tier=t))
    for state in STATE_FILTERS:
        yield SystemCommand(f"Filter state: {state}", f"show only {state} items", lambda s=state: main.set_view(state=s))
    yield SystemCommand("Clear filters", "show every item", main.action_clear_filters)
    yield SystemCommand("Undo last decision", "append a reversal of your latest decision", app.undo_last)
    yield SystemCommand("Redo", "re-instate the decision you last undid", app.redo_last)
    yield SystemCommand("Retrain probes", "train on all labels and decisions, then re-score", app.start_retrain)
    yield SystemCommand("Light theme", f"switch to {LIGHT} (WCAG AA contrast)", lambda: setattr(app, "theme", LIGHT))
    yield SystemCommand("Dark theme", f"switch to {DARK} (WCAG AA contrast)", lambda: setattr(app, "theme", DARK))
    yield SystemCommand("Show keys", "every key binding", app.action_help)
