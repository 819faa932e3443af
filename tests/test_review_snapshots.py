"""Screenshots of the review app at 80x24 (dark and light), its decision form and its help, with cursor blink off."""

# The session carries fixed scores (review_helpers.seed_snapshot_session) and the app runs without a model, so the
# pictures depend on the UI alone. After a deliberate UI change: pytest --snapshot-update, then look at them.

from __future__ import annotations

from tests.review_helpers import seed_snapshot_session, settle
from tui.app import build_app

SIZE = (80, 24)


def _app(workspace, theme: str | None = None):
    review = seed_snapshot_session(workspace)
    return build_app(workspace, None, review.name, "alice", [], cursor_blink=False, theme=theme)


def _pressing(*keys: str):
    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press(*keys)
        await pilot.pause()

    return run_before


def test_main_screen_dark(snap_compare, workspace):
    assert snap_compare(_app(workspace, "textual-dark"), terminal_size=SIZE, run_before=settle)


def test_main_screen_light(snap_compare, workspace):
    assert snap_compare(_app(workspace, "textual-light"), terminal_size=SIZE, run_before=settle)


def test_help_screen(snap_compare, workspace):
    assert snap_compare(_app(workspace, "textual-dark"), terminal_size=SIZE, run_before=_pressing("question_mark"))


def test_decision_form(snap_compare, workspace):
    assert snap_compare(_app(workspace, "textual-dark"), terminal_size=SIZE, run_before=_pressing("down", "c", *"cut 4.2"))
