"""`triage score` end to end with the real model: schema, tiers of the bundled examples, driving passages."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_helpers import run_cli
from triage.scoring import score_documents

EXAMPLES = Path(__file__).resolve().parents[1] / "triage" / "data" / "examples"
SCHEMA = {
    "id", "title", "safety", "safety_std", "capabilities", "capabilities_std", "hazard", "hazard_std", "differential", "tier",
    "reasons", "areas", "passages", "similar", "probe_version",
}


@pytest.fixture
def home(seeded_real_home, monkeypatch):
    monkeypatch.setenv("TRIAGE_HOME", str(seeded_real_home.home))
    return seeded_real_home


def test_json_output_matches_the_schema(capsys, home):
    text = (
        "We train sparse autoencoders on a language model's activations and find features for deception. "
        "Ablating them reduces deceptive answers, and a monitor built on them flags lies.\n\n"
        "We also release a faster attention kernel that speeds up pretraining of large models by a third."
    )
    result = run_cli(capsys, "score", "--format", "json", "--text", text)
    assert result.code == 0, result.err
    [doc] = result.json()
    assert SCHEMA <= set(doc)
    assert 0 <= doc["safety"] <= 1 and 0 <= doc["capabilities"] <= 1 and doc["safety_std"] >= 0
    assert doc["tier"] in {"publish", "review", "restrict"} and doc["reasons"]
    assert 0 <= doc["hazard"] <= 1 and doc["hazard_std"] >= 0
    assert all({"start", "end", "text", "safety", "capabilities", "hazard"} <= set(p) for p in doc["passages"])
    assert all({"id", "title", "similarity"} <= set(s) for s in doc["similar"])
    assert text[doc["passages"][0]["start"] : doc["passages"][0]["end"]] == doc["passages"][0]["text"] if doc["passages"] else True
    assert len(doc["probe_version"]) == 12


def test_bundled_examples_land_in_the_expected_tiers(home, real_embedder):
    scores = {
        s.title: s
        for s in score_documents(home, embedder=real_embedder, paths=sorted(EXAMPLES.glob("*.md")))
    }
    safety_draft = next(s for t, s in scores.items() if t.startswith("Dictionary Features"))
    capability_draft = next(s for t, s in scores.items() if t.startswith("FlashMix"))
    red_team_draft = next(s for t, s in scores.items() if t.startswith("Automated Red Teaming"))
    assert safety_draft.scores.tier == "publish" and safety_draft.scores.differential > 0
    assert capability_draft.scores.tier == "restrict" and capability_draft.scores.differential < 0
    assert red_team_draft.scores.tier == "review" and "misuse-hazard" in red_team_draft.scores.reasons
    assert red_team_draft.scores.hazard > safety_draft.scores.hazard
    hazard_passages = [p for p in red_team_draft.passages if "hazard" in p.drives]
    assert hazard_passages, "the attack-system paragraph should drive the hazard score"
    assert {a.area for a in safety_draft.areas} & {"interpretability", "honesty", "monitoring"}
    assert {a.area for a in capability_draft.areas} & {"efficiency", "architectures", "scaling"}


def test_the_capability_heavy_paragraph_is_the_top_capability_passage(home, real_embedder, tmp_path):
    safety = [
        "We study whether linear probes on a language model's residual stream can detect when the model is being deceptive. "
        "Probes trained on a small set of honest and dishonest answers generalise to new tasks and flag most lies, "
        "giving auditors a monitor that does not depend on the model's own account of itself.",
        "We then test the monitor adversarially. When the model is fine-tuned to evade it, detection drops but does not vanish, "
        "and combining probes across layers restores most of it. We discuss the limits of such white-box monitors for oversight.",
        "Finally we relate the probe directions to sparse autoencoder features and find that a handful of interpretable features "
        "account for most of the detector's accuracy, which makes its decisions auditable by humans.",
    ]
    capability = (
        "Separately, we introduce a fused attention and mixture-of-experts kernel that trains frontier language models three times "
        "faster on large GPU clusters, reaching 70 percent of peak hardware throughput, and we release a recipe for scaling "
        "pretraining to one hundred thousand accelerators with longer context at no extra cost."
    )
    paragraphs = safety[:2] + [capability] + safety[2:]
    draft = tmp_path / "mixed_draft.md"
    draft.write_text("# Probing for deception\n\n" + "\n\n".join(paragraphs) + "\n")
    [result] = score_documents(home, embedder=real_embedder, paths=[draft])
    drivers = [p for p in result.passages if "capabilities" in p.drives]
    assert drivers, result.passages
    top = max(drivers, key=lambda p: p.capabilities)
    start = draft.read_text().index(capability)
    assert top.start <= start + 40 and top.end >= start + len(capability) - 40, (top.start, top.end, start)


def test_off_topic_text_abstains_as_out_of_distribution(home, real_embedder):
    [result] = score_documents(home, embedder=real_embedder, texts=["Whisk the eggs with sugar, fold in the flour and bake for forty minutes."])
    assert result.scores.tier == "review" and "out-of-distribution" in result.scores.reasons


def test_a_missing_probe_version_is_a_clear_error(capsys, home):
    result = run_cli(capsys, "score", "--probe", "ffffffffffff", "--text", "anything")
    assert result.code == 2 and "no probe version" in result.err
