"""Review sessions without the app: the decision log, undo, labels from decisions, agreement, export, and the CLI."""

from __future__ import annotations

import csv
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_helpers import run_cli
from triage.errors import UsageError
from triage.review import ReviewSession
from triage.review_labels import labels_for
from triage.review_records import Checklist
from triage.review_stats import cohen_kappa, fleiss_kappa

EXAMPLES = Path(__file__).resolve().parents[1] / "triage" / "data" / "examples"
DRAFTS = sorted(EXAMPLES.glob("*.md"))


@pytest.fixture
def review(workspace):
    session = ReviewSession.open(workspace, "q3")
    session.add_drafts(DRAFTS[:2])
    return session


def test_queue_keeps_each_draft_once_and_reopens(workspace, review):
    review.add_drafts(DRAFTS)  # two already queued: only the third is new
    again = ReviewSession.open(workspace, "q3")
    assert [e.title for e in again.queue("alice")] == [e.title for e in review.queue("alice")]
    assert len(again.queue("alice")) == 3
    assert all(e.state == "pending" and e.score is None for e in again.queue("alice"))


def test_rationale_is_required_except_to_approve(review):
    first, second = (e.id for e in review.queue("alice"))
    for state in ("restrict", "hold", "escalate", "approve with changes"):
        with pytest.raises(UsageError, match="rationale is required"):
            review.decide(first, reviewer="alice", state=state, rationale="   ")
    assert review.log() == []
    assert review.decide(second, reviewer="alice", state="approve").state == "approve"
    with pytest.raises(UsageError, match="unknown decision state"):
        review.decide(first, reviewer="alice", state="publish", rationale="x")
    assert review.decide(first, reviewer="alice", state="Approve-With-Changes", rationale="cut section 4").state == "approve with changes"


def test_undo_appends_a_reversal_and_restores_the_earlier_decision(workspace, review):
    item = review.queue("alice")[0].id
    hold = review.decide(item, reviewer="alice", state="hold", rationale="ask the authors")
    restrict = review.decide(item, reviewer="alice", state="restrict", rationale="kernel release")
    reversal, undone = review.undo("alice")
    assert undone.id == restrict.id and reversal.reverses == restrict.id and reversal.state is None
    assert review.queue("alice")[0].decision.id == hold.id
    assert review.undo("bob") is None
    assert [d.state for d in review.log()] == ["hold", "restrict", None]
    # The log is append-only in the database itself, not only in the API.
    db = sqlite3.connect(workspace.db_path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE review_decisions SET state = 'approve'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM review_decisions")
    db.close()


@pytest.mark.parametrize(
    "state, checklist, expected",
    [
        ("restrict", Checklist(), (0, 1)),
        ("restrict", Checklist(safety_benefit=True), (1, 1)),
        ("approve", Checklist(safety_benefit=True), (1, 0)),
        ("approve", Checklist(), (None, 0)),
        ("approve", Checklist(dual_use_hazard=True), (None, 1)),
        ("approve with changes", Checklist(capability_uplift=True), (None, 1)),
        ("approve with changes", Checklist(), (None, None)),
        ("hold", Checklist(safety_benefit=True, capability_uplift=True), (None, None)),
        ("escalate", Checklist(capability_uplift=True), (None, None)),
    ],
)
def test_decision_label_mapping(state, checklist, expected):
    assert labels_for(state, checklist) == expected


def test_decisions_keep_the_label_table_in_step(workspace, review):
    from triage.workspace_data import open_store

    item = review.queue("alice")[0]
    labels = lambda: [label for label in _labels(workspace, open_store) if label.source == "decision"]  # noqa: E731
    review.decide(item.id, reviewer="alice", state="restrict", rationale="uplift", checklist=Checklist(safety_benefit=True))
    assert [(label.safety, label.capabilities, label.title) for label in labels()] == [(1, 1, item.title)]
    review.decide(item.id, reviewer="bob", state="approve", checklist=Checklist())  # bob disagrees on both axes
    assert [(label.safety, label.capabilities) for label in labels()] == [(1, None)]
    review.undo("bob")
    review.undo("alice")
    assert labels() == []


def _labels(workspace, open_store):
    with open_store(workspace) as store:
        return store.get_labels()


def test_kappa_on_worked_examples():
    # Cohen's textbook case: 50 items; both yes 20, only A yes 5, only B yes 10, both no 15.
    # Observed 0.7; chance 0.5 * 0.6 + 0.5 * 0.4 = 0.5; kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4.
    a = ["approve"] * 25 + ["restrict"] * 25
    b = ["approve"] * 20 + ["restrict"] * 5 + ["approve"] * 10 + ["restrict"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    assert cohen_kappa(b, a) == pytest.approx(0.4)
    assert cohen_kappa(["hold"] * 3, ["hold"] * 3) is None
    # 4 items, 3 raters, by hand: mean agreement P = (1 + 1/3 + 1/3 + 1/3) / 4 = 0.5; category shares 1/2, 1/4, 1/4
    # give chance agreement Pe = 0.375; kappa = (0.5 - 0.375) / (1 - 0.375) = 0.2.
    rows = [["a", "a", "a"], ["a", "a", "b"], ["b", "b", "c"], ["c", "c", "a"]]
    assert fleiss_kappa(rows) == pytest.approx(0.2)


def test_export_follows_the_one_output_rule(review, workspace, tmp_path):
    # The rule of triage.output_files: the path is the user's (`..` and absolute paths alike), links are written
    # through, and a wrong suffix, a folder, a non-regular file or anything in the workspace is refused.
    (tmp_path / "sub").mkdir()
    for bad, why in (("decisions.txt", "must end in"), ("sub.csv", "folder"), (workspace.home / "triage.db.csv", "inside the workspace")):
        if why == "folder":
            (tmp_path / bad).mkdir()
        with pytest.raises(UsageError, match=why):
            review.export(bad, base=tmp_path)
    climbed = review.export("sub/../up.jsonl", base=tmp_path)
    assert climbed.path == tmp_path / "up.jsonl" and climbed.path.is_file()
    target = tmp_path / "real.csv"
    target.write_text("old\n")
    (tmp_path / "link.csv").symlink_to(target)
    report = review.export("link.csv", base=tmp_path)
    assert (tmp_path / "link.csv").is_symlink() and report.path == target
    assert target.read_text().startswith("decision_id,")


def test_stats_and_export_from_the_cli(capsys, workspace, review, tmp_path):
    review.add_drafts([DRAFTS[2]])
    items = [e.id for e in review.queue("alice")]
    votes = {"alice": ["restrict", "approve", "hold"], "bob": ["restrict", "hold", "hold"]}
    for reviewer, states in votes.items():
        for item, state in zip(items, states):
            review.decide(item, reviewer=reviewer, state=state, rationale=f"{reviewer} on {item}")
    stats = run_cli(capsys, "review", "stats", "--session", "q3", "--format", "json")
    assert stats.code == 0, stats.err
    agreement = stats.json()["agreement"]
    assert agreement["method"] == "cohen" and agreement["items"] == 3
    assert agreement["kappa"] == pytest.approx(cohen_kappa(votes["alice"], votes["bob"]))
    assert [d["item_id"] for d in stats.json()["disagreements"]] == [items[1]]
    table = run_cli(capsys, "review", "stats", "-s", "q3")
    assert "Cohen's kappa" in table.out and "Disagreements" in table.out

    out = tmp_path / "decisions.csv"
    exported = run_cli(capsys, "review", "export", "--session", "q3", "--out", out)
    assert exported.code == 0, exported.err
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["state"] for r in rows] == votes["alice"] + votes["bob"]
    assert {"probe_version", "safety", "capability_uplift", "rationale", "content_hash"} <= set(rows[0])

    refused = run_cli(capsys, "review", "export", "-s", "q3", "--out", workspace.home / "decisions.csv")
    assert refused.code == 2 and "inside the workspace" in refused.err and len(refused.err.strip().splitlines()) == 1
    missing = run_cli(capsys, "review", "stats", "-s", "nope")
    assert missing.code == 2 and "no review session" in missing.err
    typo = run_cli(capsys, "review", "nodraft.md")
    assert typo.code == 2 and "nodraft.md: no such file" in typo.err
    # An option's value before the subcommand is the option's, not a draft path (found by mypy: typer runs its own click).
    before = run_cli(capsys, "review", "--reviewer", "carol", "stats", "-s", "q3", "--format", "json")
    assert before.code == 0 and before.json()["agreement"]["items"] == 3, before.err


def test_jsonl_export_nests_checklist_and_scores(review, tmp_path):
    item = review.queue("alice")[0].id
    review.decide(item, reviewer="alice", state="restrict", rationale="r", checklist=Checklist(suggested_redactions="section 4"))
    review.undo("alice")
    path = review.export(tmp_path / "d.jsonl").path
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [(r["state"], r["in_force"], r["reverses"]) for r in rows] == [("restrict", False, None), ("undo", False, rows[0]["decision_id"])]
    assert rows[0]["checklist"]["suggested_redactions"] == "section 4"


def test_the_review_library_runs_without_textual(tmp_path):
    code = "import sys, triage.review, triage.review_stats, triage.review_export; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("args", [["review"], ["review", "stats"], ["review", "export"]])
def test_review_help_shows_examples(capsys, args):
    result = run_cli(capsys, *args, "--help")
    assert result.code == 0 and "Examples" in result.out and "triage review" in result.out
