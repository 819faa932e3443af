"""One scoring path: the same paper gets the same scores, tier and reasons through `score`, `batch` and the review queue."""

from __future__ import annotations

import json
import shutil

import pytest

from triage.batch import run_batch
from triage.review import ReviewSession
from triage.scoring import score_documents
from triage.workspace import Workspace

PAPER = {
    "arxiv_id": "2611.04242",
    "title": "Refusal-Evasion Transfer Attacks on Safety-Trained Chat Models",
    "abstract": (
        "We present a black-box search that finds prompts which make safety-trained chat models comply with harmful "
        "requests. The discovered prompts transfer across five commercial models with an 81 percent success rate, "
        "and we release the prompt set together with the search code."
    ),
}
# An abstract longer than one passage: the document vector must not depend on which command reads it.
LONG_PAPER = {
    "arxiv_id": "2611.05313",
    "title": "Monitoring Tool-Using Agents for Sabotage with Trusted Weaker Models",
    "abstract": (
        "Language-model agents increasingly act inside real software environments, where a misaligned or compromised "
        "agent could insert subtle bugs, exfiltrate credentials or quietly disable tests. We study trusted monitoring: a "
        "weaker model that is trusted not to collude reads every action the stronger agent proposes and assigns a "
        "suspicion score, and the most suspicious actions are escalated to a limited budget of human audits. We build "
        "a benchmark of 1,200 programming tasks in which a red-team policy tries to complete a hidden side task without "
        "being caught, and we measure how often the monitor flags it at a two percent audit budget. Plain monitoring "
        "catches 61 percent of successful sabotage attempts. Asking the monitor to reason about the task before scoring "
        "raises this to 74 percent, and resampling the agent when an action looks suspicious, rather than executing it, "
        "raises safety to 88 percent while costing only three percent of task success. We analyse the failures that "
        "remain: most involve multi-step attacks where every individual action looks benign, which suggests monitors "
        "should read trajectories rather than single steps. We release the benchmark tasks and the monitor prompts, but "
        "not the red-team policy, and we discuss how these protocols could be evaluated against stronger attackers."
    ),
}


@pytest.fixture
def home(seeded_real_home, tmp_path):
    """A private copy of the seeded workspace, so the paper this test adds reaches no other test."""
    copy = tmp_path / "home"
    shutil.copytree(seeded_real_home.home, copy)
    return Workspace.at(copy)


def test_score_batch_and_review_agree(home, real_embedder, tmp_path):
    from corpus.passages import split_passages
    from corpus.records import Paper

    assert len(split_passages(Paper(title=LONG_PAPER["title"], abstract=LONG_PAPER["abstract"], source="x").embedding_text())) > 1
    papers = [PAPER, LONG_PAPER]
    feed = tmp_path / "feed.jsonl"
    feed.write_text("".join(json.dumps(p) + "\n" for p in papers))
    run_batch(home, embedder=real_embedder, inputs=[feed], out=tmp_path / "scores.jsonl")
    rows = {row["arxiv_id"]: row for row in map(json.loads, (tmp_path / "scores.jsonl").read_text().splitlines())}

    scored = score_documents(home, embedder=real_embedder, arxiv_ids=[p["arxiv_id"] for p in papers])

    session = ReviewSession.open(home, "agreement")
    item_ids = session.add_papers([p["arxiv_id"] for p in papers])
    queued = session.score(real_embedder)

    for paper, document, item_id in zip(papers, scored, item_ids):
        batch_row = rows[paper["arxiv_id"]]
        for record in (document.scores, queued[item_id].scores):
            assert (record.tier, record.reasons) == (batch_row["tier"], batch_row["reasons"]), paper["arxiv_id"]
            for axis in ("safety", "safety_std", "capabilities", "capabilities_std", "hazard", "hazard_std", "differential"):
                assert getattr(record, axis) == pytest.approx(batch_row[axis], abs=1e-6), (paper["arxiv_id"], axis)
    assert rows[PAPER["arxiv_id"]]["tier"] != "publish" and "misuse-hazard" in rows[PAPER["arxiv_id"]]["reasons"]
