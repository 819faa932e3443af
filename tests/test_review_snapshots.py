"""Screenshots of the review app at 80x24 (dark and light), its decision form and help, and the states a reviewer meets.

The session carries fixed scores (review_helpers.seed_snapshot_session) and the app runs without a model, so the
pictures depend on the UI alone. After a deliberate UI change: pytest --snapshot-update, then look at them.
"""

from __future__ import annotations

from tests.review_helpers import SAE, seed_snapshot_session, settle
from triage.review import ReviewSession
from tui.app import build_app

SIZE = (80, 24)


def _app(workspace, theme: str | None = None, reviewer: str = "alice", **kwargs):
    review = seed_snapshot_session(workspace)
    return build_app(workspace, None, review.name, reviewer, [], cursor_blink=False, theme=theme, **kwargs)


def _pressing(*keys: str):
    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press(*keys)
        await pilot.pause()

    return run_before


def test_main_screen_dark(snap_compare, workspace):
    assert snap_compare(_app(workspace, "dark"), terminal_size=SIZE, run_before=settle)


def test_main_screen_light(snap_compare, workspace):
    assert snap_compare(_app(workspace, "light"), terminal_size=SIZE, run_before=settle)


def test_help_screen(snap_compare, workspace):
    assert snap_compare(_app(workspace, "dark"), terminal_size=SIZE, run_before=_pressing("question_mark"))


def test_decision_form_with_its_footer(snap_compare, workspace):
    assert snap_compare(_app(workspace, "dark"), terminal_size=SIZE, run_before=_pressing("down", "c", *"cut 4.2", "tab", "1"))


def test_empty_session(snap_compare, workspace):
    seed_snapshot_session(workspace)
    app = build_app(workspace, None, "snpa", "alice", [], cursor_blink=False, theme="dark")
    assert snap_compare(app, terminal_size=SIZE, run_before=settle)


def test_filtered_empty(snap_compare, workspace):
    assert snap_compare(_app(workspace, "dark"), terminal_size=SIZE, run_before=_pressing("t", "f", "f"))


def test_blind_view(snap_compare, workspace):
    """bob has not decided FlashMix: alice's restrict is hidden, and the detail pane says so."""
    assert snap_compare(_app(workspace, "dark", "bob"), terminal_size=SIZE, run_before=settle)


def test_adjudication_view(snap_compare, workspace):
    assert snap_compare(_app(workspace, "dark", "bob", blind=False), terminal_size=SIZE, run_before=settle)


def test_revised_draft_with_its_history(snap_compare, workspace, tmp_path):
    draft = tmp_path / "x.md"
    original = SAE.read_text(encoding="utf-8").replace("# Dictionary", "# Draft X: Dictionary", 1)
    draft.write_text(original, encoding="utf-8")
    review = seed_snapshot_session(workspace)
    [first] = review.add_drafts([draft])
    review.decide(first, reviewer="alice", state="hold", rationale="waiting for the authors")
    draft.write_text(original.replace("sparse autoencoder", "SAE", 3) + "\nA new closing paragraph.\n", encoding="utf-8")
    ReviewSession.open(workspace, "snap").add_drafts([draft])
    app = build_app(workspace, None, "snap", "alice", [], cursor_blink=False, theme="dark")
    assert snap_compare(app, terminal_size=SIZE, run_before=_pressing("end"))
