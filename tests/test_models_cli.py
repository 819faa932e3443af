"""Labels and probe commands: import labels, train, list, show, evaluate (fake embedder: logic only)."""

from __future__ import annotations

import json

import pytest

from tests.cli_helpers import run_cli

FAKE = ("--model", "fake")


def _label_file(tmp_path, n: int = 40):
    rows = []
    for i in range(n):
        if i % 2:
            rows.append({"title": f"Interpretability probe {i}", "abstract": "We detect deception with linear probes and sparse autoencoder features.", "safety": 1, "capabilities": 0, "area": "interpretability;honesty"})
        else:
            rows.append({"title": f"Faster kernels {i}", "abstract": "A fused attention kernel speeds up pretraining of large language models.", "safety": 0, "capabilities": 1, "area": "efficiency"})
    rows.append({"title": "no labels here", "abstract": "nothing"})
    rows.append({"text": "An unknown area label", "safety": 1, "area": "astrology"})
    path = tmp_path / "labels.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_labels_import_counts_skips_and_unknown_areas(capsys, tmp_path):
    path = _label_file(tmp_path)
    result = run_cli(capsys, *FAKE, "labels", "import", path, "--format", "json")
    assert result.code == 0, result.err
    payload = result.json()
    assert payload["inserted"] == 41 and payload["skipped"] == 1
    assert payload["unknown_areas"] == {"astrology": 1}
    assert payload["totals"]["user:labels.jsonl"] == 41
    again = run_cli(capsys, *FAKE, "labels", "import", path, "--format", "json")
    assert again.json()["inserted"] == 0


def test_train_list_show(capsys, tmp_path):
    run_cli(capsys, *FAKE, "labels", "import", _label_file(tmp_path))
    trained = run_cli(capsys, *FAKE, "models", "train", "--format", "json")
    assert trained.code == 0, trained.err
    card = trained.json()
    assert card["label_set"]["by_source"]["user:labels.jsonl"] == 41 and card["embedder_id"] == "fake-hash-64"
    listed = run_cli(capsys, *FAKE, "models", "list", "--format", "json").json()
    assert listed[0]["version"] == card["version"]
    shown = run_cli(capsys, *FAKE, "models", "show", card["version"][:6], "--format", "json").json()
    assert shown["version"] == card["version"] and "anchor_info" not in shown


def test_show_unknown_version_is_exit_2(capsys):
    result = run_cli(capsys, "models", "show", "deadbeef")
    assert result.code == 2 and "no probe version" in result.err


def test_eval_reports_probe_and_both_baselines_on_the_same_folds(capsys, tmp_path):
    result = run_cli(capsys, *FAKE, "models", "eval", "--labels", _label_file(tmp_path), "--folds", "3", "--format", "json")
    assert result.code == 0, result.err
    rows = result.json()["rows"]
    methods = {(r["method"], r["head"]) for r in rows}
    assert {("probe", "safety"), ("embedding+logreg", "safety"), ("tfidf+logreg", "safety")} <= methods
    assert all({"auroc", "average_precision", "f1", "ece"} <= set(r) for r in rows)
    assert all(r["n"] == 41 for r in rows if r["head"] == "safety")


@pytest.mark.parametrize("content, message", [("title,abstract\nx,y\n", "at least 10"), ("", "empty")])
def test_eval_bad_label_files(capsys, tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    result = run_cli(capsys, *FAKE, "models", "eval", "--labels", path)
    assert result.code == 2 and message in result.err


def test_labels_stats_and_training_without_decisions(capsys, tmp_path):
    import os

    from corpus.records import LabelledText
    from triage.workspace import Workspace
    from triage.workspace_data import open_store

    run_cli(capsys, *FAKE, "labels", "import", _label_file(tmp_path))
    decided = [LabelledText(f"Reviewed draft {i} on reward model audits.", 1, 0, source="decision") for i in range(6)]
    with open_store(Workspace.at(os.environ["TRIAGE_HOME"])) as store:
        store.add_labels(decided)
    stats = {row["source"]: row["items"] for row in run_cli(capsys, "labels", "stats", "--format", "json").json()}
    assert stats["decision"] == 6 and stats["user:labels.jsonl"] == 41
    with_decisions = run_cli(capsys, *FAKE, "models", "train", "--format", "json").json()["label_set"]["by_source"]
    without = run_cli(capsys, *FAKE, "models", "train", "--without-decisions", "--format", "json").json()["label_set"]["by_source"]
    assert with_decisions.get("decision") == 6
    assert "decision" not in without and without["user:labels.jsonl"] == 41
