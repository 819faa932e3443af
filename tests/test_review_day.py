"""A reviewer's day in the app, driven with Pilot: typed text kept, evidence on every decision, revisions, blind review."""

from __future__ import annotations

import csv
import re
import shutil
import threading

import pytest
from textual.widgets import Input, LoadingIndicator, Static

from corpus.errors import InputError
from tests.cli_helpers import run_cli
from tests.review_helpers import RED_TEAM, SAE, burst, screen_text, seed_snapshot_session, settle
from triage.review import ReviewSession
from tui.app import build_app
from tui.messages import ScoringFinished
from tui.screens.decision import DecisionScreen
from tui.themes import THEMES, contrast, text_pairs
from tui.widgets.draft_text import reflow

pytestmark = pytest.mark.anyio
SIZE = (100, 30)


@pytest.fixture
def anyio_backend():
    return "asyncio"


def _app(workspace, reviewer: str = "alice", paths=None, **kwargs):
    review = seed_snapshot_session(workspace)
    return build_app(workspace, None, review.name, reviewer, paths or [], cursor_blink=False, **kwargs)


def _select(app, title_start: str) -> None:
    app.main.focus_item(next(e.id for e in app.main.visible_items if e.title.startswith(title_start)))


def _rationale(app) -> Input:
    return app.screen.query_one("#rationale", Input)


# --- typed text is never lost --------------------------------------------------------------------------------------


async def test_a_reopened_rationale_continues_where_it_ended(workspace):
    app = _app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        _select(app, "Automated")
        await pilot.press("r", *"2nd look", "escape")
        await pilot.press("r")
        box = _rationale(app)
        assert box.selection.is_empty and box.cursor_position == len("2nd look")
        await pilot.press(*" X")
        assert _rationale(app).value == "2nd look X"
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.press("u")  # the undone decision comes back pre-filled, again with the cursor at its end
        await settle(pilot)
        await pilot.press("h")
        box = _rationale(app)
        assert box.value == "2nd look X" and box.selection.is_empty and box.cursor_position == len(box.value)
        await pilot.press(*" Y", "ctrl+s")
        await settle(pilot)
    assert [d.rationale for d in ReviewSession.open(workspace, "snap").log()][-1] == "2nd look X Y"


async def test_checklist_ticks_survive_one_burst_of_input(workspace):
    app = _app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        _select(app, "Automated")
        # One write: r (open the form), a rationale with a digit in it, tab space (tick the first box), tab, 3 and 5
        # (direct keys), ctrl+s; then the next burst opens the form on the next item and keeps the text for later.
        await burst(pilot, "rkernels x2\t \t35\x13")
        assert not isinstance(app.screen, DecisionScreen)
        await burst(pilot, "hask the authors\x1b")
        assert app.drafts[app.main.selected.id].rationale == "ask the authors"
        await pilot.press("h")
        assert [str(b.label).split(" ")[0] for b in app.screen.query("Checkbox")] == ["1", "2", "3", "4", "5"]
    decision = ReviewSession.open(workspace, "snap").log()[-1]
    assert decision.rationale == "kernels x2"
    ticked = {k for k, v in decision.checklist.items() if v is True}
    assert ticked == {"capability_uplift", "dual_use_hazard", "responsible_disclosure"}


async def test_the_form_shows_its_keys_and_clears_its_error_once_answered(workspace):
    app = _app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        _select(app, "Automated")
        await pilot.press("r", "ctrl+s")
        error = app.screen.query_one("#error", Static)
        assert "rationale is required" in str(error.render())
        await pilot.press("o")
        assert str(error.render()).strip() == ""
        footer = screen_text(app).splitlines()[-1]
        assert "save" in footer and "keep draft" in footer and "approve" not in footer
        await pilot.press("tab")  # on the checklist, digits tick: the footer says so
        assert "1…5 tick" in screen_text(app).splitlines()[-1]


async def test_search_text_typed_right_after_slash_is_text_and_a_key_right_after_enter_acts(workspace):
    # Found by the tmux walkthrough: "/FlashMix" sent in one write recorded an approve on the selected draft (the
    # "a" in it), because the search box took focus only after the keys already read.
    app = _app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        logged = len(app.review.log())
        await burst(pilot, "/FlashMix")
        assert app.main.query_one("#search", Input).value == "FlashMix" and not isinstance(app.screen, DecisionScreen)
        assert [e.title[:8] for e in app.main.visible_items] == ["FlashMix"] and len(app.review.log()) == logged
        await burst(pilot, "\rr")  # enter ends the search; the r right behind it opens the restrict form
        assert isinstance(app.screen, DecisionScreen) and app.main.query_one("#search", Input).value == "FlashMix"
        assert app.main.selected.title.startswith("FlashMix")


async def test_the_status_line_names_a_saved_decision_by_its_id_even_for_a_long_title(workspace):
    # Found by the tmux walkthrough: at 120 columns "saved: restrict on “FlashMix: Fused Sparse … for" was cut before its "(#1)".
    app = _app(workspace, reviewer="bob")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        _select(app, "FlashMix")
        await pilot.press("a", "ctrl+s")
        await settle(pilot)
        decision = app.review.log()[-1]
        status = screen_text(app).splitlines()[-2]
        assert decision.reviewer == "bob" and f"saved: approve on “FlashMix: Fused Sparse Attention and Ex…” (#{decision.id})" in status


# --- decisions carry their evidence --------------------------------------------------------------------------------


async def test_no_decision_is_saved_silently_before_its_scores(workspace, tmp_path, capsys):
    draft = tmp_path / "unscored.md"
    draft.write_text("# A new draft\n\nNothing has scored this text yet.\n", encoding="utf-8")
    release = threading.Event()

    def model_that_fails_later():
        assert release.wait(30)
        raise RuntimeError("no model here")

    app = _app(workspace, paths=[draft])
    app.embedder_factory = model_that_fails_later
    async with app.run_test(size=SIZE) as pilot:
        while not app.main.loaded:
            await pilot.pause(0.02)
        _select(app, "A new draft")
        await pilot.press("a")
        await pilot.pause()
        assert not isinstance(app.screen, DecisionScreen)  # scoring: wait for the score
        assert app.main.status.activity.startswith("scoring… decide on “A new draft” when its score is shown")
        release.set()
        await settle(pilot)
        await pilot.press("a")  # scoring failed: no score can come, so deciding is allowed, and flagged
        assert "scores_shown = false" in str(app.screen.query_one("#note", Static).render())
        await pilot.press("ctrl+s")
        await settle(pilot)
        entry = next(e for e in app.main.entries.values() if e.title == "A new draft")
        assert entry.decision.scores_shown is False
        assert "approve !" in screen_text(app)
    stats = run_cli(capsys, "review", "stats", "-s", "snap", "--format", "json")
    assert stats.json()["without_scores"] == 1
    table = run_cli(capsys, "review", "stats", "-s", "snap")
    assert "made before any score was shown" in table.out
    out = tmp_path / "d.csv"
    assert run_cli(capsys, "review", "export", "-s", "snap", "--out", out).code == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [(r["title"], r["scores_shown"]) for r in rows] == [(rows[0]["title"], "1"), ("A new draft", "0")]


async def test_a_revised_draft_is_one_row_marked_v2_with_its_history(workspace, tmp_path, capsys):
    draft = tmp_path / "x.md"
    original = SAE.read_text(encoding="utf-8").replace("# Dictionary", "# Draft X: Dictionary", 1)
    draft.write_text(original, encoding="utf-8")
    app = _app(workspace, paths=[draft])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert len(app.main.entries) == 4
    review = ReviewSession.open(workspace, "snap")
    item = next(e for e in review.queue("alice") if e.title.startswith("Draft X"))
    review.decide(item.id, reviewer="alice", state="approve", shown=item.score)
    draft.write_text(original.replace("sparse autoencoder", "SAE", 3) + "\nA new closing paragraph.\n", encoding="utf-8")
    revised = build_app(workspace, None, "snap", "alice", [draft], cursor_blink=False)
    async with revised.run_test(size=SIZE) as pilot:
        await settle(pilot)
        rows = [e for e in revised.main.visible_items if e.title.startswith("Draft X")]
        assert len(rows) == 1 and rows[0].version == 2 and rows[0].state == "pending"
        assert [(v.version, v.state) for v in rows[0].earlier] == [(1, "approve")]
        await pilot.press("slash", *"x.md", "enter")
        assert [e.id for e in revised.main.visible_items] == [rows[0].id]
        await settle(pilot)
        text = screen_text(revised)
        assert "v2 Draft X" in text and "x.md · v2" in text
        history = str(revised.main.query_one("#versions", Static).render())
        assert "v1 you approve" in history and re.search(r"v2 changed (passages? \d+(, \d+)*|no passage) \(of \d+\)", history), history
    out = tmp_path / "d.jsonl"
    assert run_cli(capsys, "review", "export", "-s", "snap", "--out", out).code == 0
    import json

    exported = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(r["title"][:7], r["version"], r["path"]) for r in exported][-1] == ("Draft X", 1, str(draft.resolve()))
    stats = run_cli(capsys, "review", "stats", "-s", "snap", "--format", "json").json()
    assert stats["on_earlier_versions"] == 1


# --- two reviewers, independently ----------------------------------------------------------------------------------


async def test_review_is_blind_until_you_decide_and_open_in_adjudication(workspace, capsys):
    app = _app(workspace, "bob")  # alice has restricted FlashMix
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        _select(app, "FlashMix")
        entry = app.main.selected
        assert entry.others == {} and "+1" not in screen_text(app)
        assert "others hidden until you decide" in str(app.main.query_one("#decisions", Static).render())
        await pilot.press("h", *"ask authors", "ctrl+s")
        await settle(pilot)
        assert app.main.entries[entry.id].others == {"alice": "restrict"}
        app.main.focus_item(entry.id)
        await pilot.pause()
        assert "hold +1" in screen_text(app) and "alice restrict" in str(app.main.query_one("#decisions", Static).render())
    adjudication = build_app(workspace, None, "snap", "carol", [], cursor_blink=False, blind=False)
    async with adjudication.run_test(size=SIZE) as pilot:
        await settle(pilot)
        _select(adjudication, "FlashMix")
        assert adjudication.main.selected.others == {"alice": "restrict", "bob": "hold"}
        assert "adjudication" in adjudication.sub_title
        await pilot.press("r", *"agree with alice", "ctrl+s")
        await settle(pilot)
    log = ReviewSession.open(workspace, "snap").log()
    assert [(d.reviewer, d.blind) for d in log] == [("alice", True), ("bob", True), ("carol", False)]
    stats = run_cli(capsys, "review", "stats", "-s", "snap", "--format", "json").json()
    assert stats["agreement"]["items"] == 0 and stats["agreement"]["not_blind"] == 1


async def test_help_explains_the_state_marks(workspace):
    app = _app(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        legend = str(app.screen.query_one("#state-legend", Static).render())
        assert "+N: N others decided" in legend and "no score shown" in legend
        assert "redo what you undid" in screen_text(app)


# --- clear feedback ------------------------------------------------------------------------------------------------


async def test_undo_names_the_item_moves_the_cursor_to_it_and_redo_restores_it(workspace):
    app = _app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        _select(app, "Automated")
        await pilot.press("e", *"needs legal", "ctrl+s")
        await settle(pilot)
        assert app.main.selected.title.startswith("Dictionary")  # on to the next pending item
        await pilot.press("u")
        await settle(pilot)
        assert app.main.selected.title.startswith("Automated") and app.main.selected.state == "pending"
        assert "undid escalate on “Automated Red Teaming" in app.main.status.activity
        await pilot.press("home", "U")
        await settle(pilot)
        assert app.main.selected.title.startswith("Automated") and app.main.selected.state == "escalate"
        assert app.main.status.activity.startswith("redid escalate on “Automated")
        await pilot.press("end")
        assert app.main.selected is app.main.visible_items[-1]
    log = ReviewSession.open(workspace, "snap").log()
    assert [(d.state, d.reverses is not None, d.redoes) for d in log[1:]] == [("escalate", False, None), (None, True, None), ("escalate", False, log[1].id)]


async def test_one_bad_file_does_not_stop_the_launch(workspace, tmp_path, capsys, monkeypatch):
    empty = tmp_path / "empty.md"
    empty.write_text("", encoding="utf-8")
    good = shutil.copy(RED_TEAM, tmp_path / "good.md")
    app = build_app(workspace, None, "mixed", "alice", [tmp_path / "missing.md", empty, good], cursor_blink=False)
    assert len(app.problems) == 2 and "missing.md: no such file" in app.problems[0] and "empty.md" in app.problems[1]
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert [e.title[:9] for e in app.main.visible_items] == ["Automated"]
        assert any("could not be read" in (n.title or "") for n in app._notifications)
    with pytest.raises(InputError, match="no such file"):
        build_app(workspace, None, "mixed", "alice", [tmp_path / "missing.md"])
    from tui.app import ReviewApp

    monkeypatch.setattr(ReviewApp, "run", lambda self: None)
    result = run_cli(capsys, "review", str(good), str(tmp_path / "missing.md"), "-s", "mixed")
    assert result.code == 0 and "not queued:" in result.err and "missing.md: no such file" in result.err


async def test_empty_states_say_what_to_do_and_esc_clears_every_filter(workspace):
    seed_snapshot_session(workspace)
    app = build_app(workspace, None, "snpa", "alice", [], cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "This session is empty" in text and "triage review draft.md other.pdf --session snpa" in text
        assert "another session? snap" in text
    app = _app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("t", "f", "slash", *"zzz", "enter")
        text = screen_text(app)
        assert "filters: tier publish · state pending · “zzz”" in text
        assert "Nothing matches" in text and "esc to clear them all" in text
        await pilot.press("escape")
        assert len(app.main.visible_items) == 3 and not app.main.filters and "filters:" not in screen_text(app)


async def test_status_lines_count_and_name_things(workspace):
    app = _app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.post_message(ScoringFinished("abcdef123456", 1))
        await pilot.pause()
        assert app.main.status.activity == "scored 1 item with probe abcdef12"
        _select(app, "FlashMix")
        await pilot.press("n")
        assert app.main.status.activity == "passage 1/2, capabilities"


async def test_the_footer_fits_in_60_columns(workspace):
    app = _app(workspace)
    async with app.run_test(size=(60, 20)) as pilot:
        await settle(pilot)
        *_, status, footer = screen_text(app).splitlines()
        assert footer.strip() == "a approve c changes r restrict h hold e escalate u undo" and status.endswith("? keys")


def test_passage_text_has_no_hard_breaks_or_leading_spaces():
    assert reflow("\n   we fuse\n  the kernels\n\n  and route\n- a list item") == "we fuse the kernels\n\nand route\n- a list item"


def test_every_text_colour_pair_of_both_themes_reaches_wcag_aa():
    from textual.app import App

    app = App()
    for theme in THEMES:
        variables = theme.to_color_system().generate()
        pairs = text_pairs(variables)
        assert len(pairs) > 50
        weak = [(role, bg, round(contrast(fg, b), 2)) for role, bg, fg, b in pairs if contrast(fg, b) < 4.5]
        assert weak == [], theme.name
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#ffa62b", "#e0e0e0") < 2  # the old light theme's amber on grey, as the walkthrough found it
    del app


# --- at scale ------------------------------------------------------------------------------------------------------


async def test_a_long_queue_scrolls_under_a_fixed_header_and_the_detail_follows_where_the_cursor_rests(workspace, tmp_path):
    paths = []
    for i in range(60):
        path = tmp_path / f"d{i:02d}.md"
        path.write_text(f"# Long queue draft {i:02d}\n\nParagraph about sparse kernels and probes, number {i}.\n", encoding="utf-8")
        paths.append(path)
    app = build_app(workspace, None, "long", "alice", paths, cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        main, table = app.main, app.main.table
        shown = app.main.query_one("#evidence")
        drawn = []
        original = shown.show
        shown.show = lambda entry, *a, **k: (drawn.append(entry.id if entry else None), original(entry, *a, **k))[1]
        await pilot.press("end")
        assert table.cursor_row == 59 and main.selected is main.visible_items[-1]
        lines = [table.render_line(y).text for y in range(table.scrollable_content_region.height)]
        assert lines[0].split() == ["State", "Tier", "S", "C", "H", "Title"]  # the header stays while the rows scroll
        assert main.visible_items[-1].title in lines[-1] and main.visible_items[0].title not in "".join(lines)
        await settle(pilot)
        assert main._shown_text[0] == main.visible_items[-1].id and drawn[-1] == main.visible_items[-1].id
        # A held key (a burst of downs in one write): the cursor goes all the way, the detail pane is drawn once, where it stops.
        await pilot.press("home")
        await settle(pilot)
        drawn.clear()
        await burst(pilot, "\x1b[B" * 7)
        # (Once at most after the first key, which is drawn at once when the cursor was resting; under load the
        # keys of a burst may straddle that first draw. Never once per key.)
        assert table.cursor_row == 7 and drawn[-1] == main.visible_items[7].id and len(drawn) <= 2
        assert f"Long queue draft {main.visible_items[7].title[-2:]}" in screen_text(app).split("▔")[-1]  # in the text pane
        await pilot.press("t")  # a filter swaps the rows in place: the table shows exactly the filtered list
        assert table.row_count == len(main.visible_items) and "tier" in " ".join(main.filters)
        await pilot.press("escape")
        assert table.row_count == 60 and not main.filters


async def test_scoring_runs_in_the_background_with_a_progress_line_and_says_done(workspace, tmp_path):
    from models.embedders import FakeEmbedder

    paths = []
    for i in range(40):
        path = tmp_path / f"q{i:02d}.md"
        path.write_text(f"# Queued draft {i:02d}\n\nSparse kernels and probes, marker{i:02d}.\n", encoding="utf-8")
        paths.append(path)
    reached, release = threading.Event(), threading.Event()

    class Gated(FakeEmbedder):
        """Holds the second batch (items 33 to 40) until the test has looked at the app mid-scoring."""

        def encode(self, texts, **kwargs):
            if not release.is_set() and any("marker39" in t for t in texts):
                reached.set()
                assert release.wait(60)
            return super().encode(texts, **kwargs)

    app = build_app(workspace, lambda: Gated(dim=64), "progress", "alice", paths, cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        try:
            for _ in range(1200):
                if reached.is_set():
                    break
                await pilot.pause(0.05)
            assert reached.is_set(), "scoring never reached its second batch"
            await pilot.pause(0.2)
            main = app.main
            assert app.model_busy and main.status.activity == "scoring 32/40"
            assert main.status.query_one(LoadingIndicator).display
            assert "● scoring 32/40" in screen_text(app)
            assert sum(e.score is not None for e in main.entries.values()) == 32
            await pilot.press("end")  # the keys work while the model runs; the rows still waiting say so
            assert main.table.cursor_row == 39 and "scoring…" in screen_text(app) and "● scoring 32/40" in screen_text(app)
        finally:
            release.set()
        await settle(pilot)
        assert main.status.activity.startswith("scored 40 items with probe ")
        assert not main.status.query_one(LoadingIndicator).display
        text = screen_text(app)
        assert "scoring 32/40" not in text and "scoring…" not in text and "scored 40 items" in text


async def test_undo_redo_and_bad_file_notices_show_titles_and_names_as_text(workspace, tmp_path):
    """Titles and file names are data: a `[/]` in them is shown as typed, never read as markup."""
    draft = tmp_path / "hostile.md"
    draft.write_text("# [/] =1+1 [bold]Reward audits[/bold]\n\nWe audit reward models for specification gaming.\n", encoding="utf-8")
    app = build_app(workspace, None, "hostile", "alice", [tmp_path / "[red]gone[/].md", draft], cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert any("[red]gone[/].md" in str(n.message) for n in app._notifications)
        await pilot.press("e", *"check", "ctrl+s")
        await settle(pilot)
        await pilot.press("u")
        await settle(pilot)
        await pilot.press("U")
        await settle(pilot)
        messages = [str(n.message) for n in app._notifications]
        assert any(m.startswith("undid escalate on “[/] =1+1 [bold]Reward audits[/bold]”") for m in messages), messages
        assert any(m.startswith("redid escalate on “[/] =1+1 [bold]Reward audits[/bold]”") for m in messages), messages
        shown = screen_text(app)
        assert "redid escalate on “[/] =1+1 [bold]Reward" in " ".join(shown.split()), shown
