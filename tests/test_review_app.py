"""The review app driven with Pilot: real decisions, undo, restart, refusals, drafts, retraining (the real model in all but the retrain test)."""

from __future__ import annotations

import hashlib
import shutil
import threading

import pytest
from textual.widgets import LoadingIndicator

from tests.cli_helpers import run_cli
from tests.review_helpers import FLASHMIX, SAE, seed_snapshot_session, settle
from triage.review import ReviewSession
from triage.workspace import Workspace
from tui.app import build_app
from tui.screens.decision import DecisionScreen
from tui.screens.help import HelpScreen
from tui.screens.prior import PriorWorkScreen

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def real_home(seeded_real_home, tmp_path):
    """A private copy of the session's seeded workspace (papers embedded and indexed, probe trained)."""
    home = tmp_path / "ws"
    shutil.copytree(seeded_real_home.home, home)
    return Workspace.at(home)


async def _decide(pilot, key: str, rationale: str, *extra_keys: str) -> None:
    await pilot.press(key)
    await pilot.press(*rationale)
    await pilot.press(*extra_keys, "ctrl+s")
    await settle(pilot)


def _titles_and_states(app) -> list[tuple[str, str]]:
    return [(e.title, e.state) for e in app.main.visible_items]


@pytest.mark.slow
async def test_decisions_survive_quit_and_reopen_with_their_audit_trail(real_home, real_embedder, tmp_path, capsys):
    drafts = [shutil.copy(p, tmp_path / p.name) for p in (FLASHMIX, SAE)]
    model_loaded = threading.Event()

    def slow_model():  # the model "loads" until the test has seen the first paint
        assert model_loaded.wait(60)
        return real_embedder

    app = build_app(real_home, slow_model, "lab", "alice", drafts, cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        while not app.main.loaded:
            await pilot.pause(0.02)
        assert len(app.main.visible_items) == 2 and app.model_busy
        assert app.main.status.query_one(LoadingIndicator).display
        model_loaded.set()
        await settle(pilot)
        probe = app.probe_version
        assert probe and all(e.score is not None and e.score.probe_version == probe for e in app.main.visible_items)
        first, second = (e.title for e in app.main.visible_items)
        # Restrict the first with the capability-uplift box ticked (tab from the rationale reaches it first).
        await _decide(pilot, "r", "kernels", "tab", "space")
        await pilot.press("down")
        await _decide(pilot, "a", "safe")
        assert _titles_and_states(app) == [(first, "restrict"), (second, "approve")]
        await pilot.press("u")
        await settle(pilot)
        assert _titles_and_states(app) == [(first, "restrict"), (second, "pending")]
        await pilot.press("q")
        await pilot.pause()
    assert not app.is_running

    reopened = build_app(real_home, lambda: real_embedder, "lab", "alice", [], cursor_blink=False)
    async with reopened.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert _titles_and_states(reopened) == [(first, "restrict"), (second, "pending")]
        assert reopened.main.visible_items[0].decision.rationale == "kernels"

    log = ReviewSession.open(real_home, "lab").log()
    assert [(d.state, d.reviewer) for d in log] == [("restrict", "alice"), ("approve", "alice"), (None, "alice")]
    restrict, approve, reversal = log
    assert reversal.reverses == approve.id
    assert restrict.checklist["capability_uplift"] is True and restrict.checklist["safety_benefit"] is False
    for decision, path in ((restrict, drafts[0]), (approve, drafts[1])):
        assert decision.probe_version == probe and decision.embedder_id == real_embedder.model_id
        assert decision.scores["probe_version"] == probe and {"safety", "capabilities", "tier", "reasons"} <= set(decision.scores)
        assert decision.content_hash == hashlib.sha256(_stored_text(real_home, path).encode()).hexdigest()

    out = tmp_path / "decisions.csv"
    exported = run_cli(capsys, "--home", real_home.home, "review", "export", "--session", "lab", "--out", out)
    assert exported.code == 0, exported.err
    header, restrict_row = out.read_text(encoding="utf-8").splitlines()[:2]
    columns = dict(zip(header.split(","), restrict_row.split(",")))
    assert columns["state"] == "restrict" and columns["probe_version"] == probe and columns["in_force"] == "1"


def _stored_text(workspace, path) -> str:
    from corpus.readers.drafts import read_document

    return read_document(path).text


async def test_retrain_makes_a_new_probe_and_rescores_the_queue(workspace, tmp_path):
    """The retrain key's plumbing: a new probe that counts the decision, the queue rescored, old decisions untouched.
    The hashing embedder is enough for that (the real model's retrain cost 32 s of the suite), and what the probe
    learns is tested with the real model elsewhere."""
    from models.embedders import FakeEmbedder
    from models.probe_training import TrainingConfig
    from triage.probe_registry import load_version

    light = TrainingConfig(members=2, folds=2)
    app = build_app(workspace, lambda: FakeEmbedder(64), "learn", "alice", [shutil.copy(FLASHMIX, tmp_path)], cursor_blink=False, training_config=light)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        before = app.probe_version
        await _decide(pilot, "r", "speed-up")
        await pilot.press("T")
        await settle(pilot, timeout=240)
        after = app.probe_version
        assert after and after != before
        assert all(e.score.probe_version == after for e in app.main.entries.values())
        assert after[:8] in app.sub_title
    card = load_version(workspace, after).card
    assert card["label_set"]["by_source"].get("decision") == 1
    review = ReviewSession.open(workspace, "learn")
    assert [e.score.probe_version for e in review.queue("alice")] == [after]
    assert [d.probe_version for d in review.log()] == [before]  # old decisions keep the version they were made with


async def test_an_empty_rationale_is_refused_and_typed_text_is_kept(workspace):
    review = seed_snapshot_session(workspace)
    app = build_app(workspace, None, review.name, "bob", [], cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("r", "ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, DecisionScreen)
        assert "rationale is required to restrict" in str(app.screen.query_one("#error").render())
        await pilot.press(*"2nd look", "escape")
        await settle(pilot)
        assert not isinstance(app.screen, DecisionScreen) and len(app.drafts) == 1
        await pilot.press("q")  # an unsaved draft: the first q only warns
        await pilot.pause()
        assert app.is_running
        await pilot.press("h")  # the draft comes back, now as a hold
        await pilot.pause()
        assert app.screen.query_one("#rationale").value == "2nd look"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.drafts == {}
    assert [(d.reviewer, d.state, d.rationale) for d in review.log()][1:] == [("bob", "hold", "2nd look")]


async def test_sorting_filtering_search_help_and_prior_work(workspace):
    review = seed_snapshot_session(workspace)
    app = build_app(workspace, None, review.name, "alice", [], cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        main = app.main
        assert [e.tier for e in main.visible_items] == ["restrict", "review", "publish"]  # risk: most capability-relevant first
        await pilot.press("o")
        assert [e.tier for e in main.visible_items] == ["review", "publish", "restrict"]  # uncertainty: widest spread first
        await pilot.press("t")
        assert [e.tier for e in main.visible_items] == ["publish"]
        await pilot.press("t", "t", "t", "t", "f", "f")  # tier back to all; state: pending, then decided
        assert [e.state for e in main.visible_items] == ["restrict"]
        await pilot.press("f", "f", "f", "f", "f", "f", "slash", *"dict")
        assert [e.title[:10] for e in main.visible_items] == ["Dictionary"]
        await pilot.press("escape")
        assert len(main.visible_items) == 3 and app.focused is main.table
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape", "tab", "enter")
        assert isinstance(app.screen, PriorWorkScreen)
        assert "Sparse Autoencoders" in app.screen.prior.title
        await pilot.press("escape", "n")
        assert main.query_one("#text").current == 0
        await pilot.press("ctrl+p")
        await pilot.press(*"sort by date")
        await pilot.pause(0.3)  # the palette searches its providers asynchronously
        await pilot.press("enter")
        await pilot.pause()
        assert main.sort_by == "date"


async def test_prior_work_shows_matched_passages_side_by_side():
    from textual.app import App

    from triage.review_records import PriorDetail
    from triage.scoring import with_passages as _with_passages
    from triage.similar import MatchedPassage

    match = MatchedPassage(
        passage="Our draft trains sparse autoencoders on GPT-2.", prior="We train SAEs on GPT-2 activations.",
        similarity=0.81, overlap=0.64, shared_terms=["gpt", "sparse"],
    )
    prior = PriorDetail(id="2309.08600", title="Sparse Autoencoders Find Features", similarity=0.81, passages=[match])
    # The stored form (JSON) comes back with its passages as objects, and older records without them still load.
    assert _with_passages(PriorDetail, {**prior.__dict__, "passages": [match.__dict__]}) == prior
    assert _with_passages(PriorDetail, {"id": "x", "title": "t", "similarity": 0.5}).passages == []

    class Host(App):
        def on_mount(self) -> None:
            self.push_screen(PriorWorkScreen(prior))

    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        draft = app.screen.query_one(".matched-draft")
        beside = app.screen.query_one(".matched-prior")
        assert "sparse autoencoders" in str(draft.render()) and "SAEs" in str(beside.render())
        assert draft.region.y == beside.region.y and draft.region.x < beside.region.x  # side by side
        assert "shared: gpt, sparse" in str(app.screen.query_one(".matched-evidence").render())
