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


@pytest.fixture
def home(seeded_real_home, tmp_path):
    """A private copy of the seeded workspace, so the paper this test adds reaches no other test."""
    copy = tmp_path / "home"
    shutil.copytree(seeded_real_home.home, copy)
    return Workspace.at(copy)


def test_score_batch_and_review_agree(home, real_embedder, tmp_path):
    feed = tmp_path / "feed.jsonl"
    feed.write_text(json.dumps(PAPER) + "\n")
    run_batch(home, embedder=real_embedder, inputs=[feed], out=tmp_path / "scores.jsonl")
    [batch_row] = [json.loads(line) for line in (tmp_path / "scores.jsonl").read_text().splitlines()]

    [scored] = score_documents(home, embedder=real_embedder, arxiv_ids=[PAPER["arxiv_id"]])

    session = ReviewSession.open(home, "agreement")
    [item_id] = session.add_papers([PAPER["arxiv_id"]])
    queued = session.score(real_embedder)[item_id].scores

    for record in (scored.scores, queued):
        assert (record.tier, record.reasons) == (batch_row["tier"], batch_row["reasons"])
        for axis in ("safety", "safety_std", "capabilities", "capabilities_std", "hazard", "hazard_std", "differential"):
            assert getattr(record, axis) == pytest.approx(batch_row[axis], abs=1e-6), axis
    assert batch_row["tier"] != "publish" and "misuse-hazard" in batch_row["reasons"], batch_row
