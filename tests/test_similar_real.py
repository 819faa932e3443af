"""End to end with the real bundled model: the seed corpus, the index, and ranked prior work."""

from __future__ import annotations

from pathlib import Path

from tests.cli_helpers import run_cli
from triage.similar import find_similar

EXAMPLES = Path(__file__).resolve().parents[1] / "triage" / "data" / "examples"


def test_sae_query_ranks_an_interpretability_paper_first(capsys, seeded_real_home, monkeypatch):
    from triage.seed import load_seed

    monkeypatch.setenv("TRIAGE_HOME", str(seeded_real_home.home))
    query = "sparse autoencoders find interpretable features in language models"
    dense = run_cli(capsys, "similar", "--format", "json", "--mode", "dense", query)
    assert dense.code == 0, dense.err
    assert dense.json() == sorted(dense.json(), key=lambda h: -h["similarity"])
    result = run_cli(capsys, "similar", "--format", "json", query)
    assert result.code == 0, result.err
    hits = result.json()
    assert len(hits) == 10 and [h["rank"] for h in hits] == list(range(1, 11))
    # Hybrid (the default) says where each paper stood in both lists, so a reviewer can see why it came up.
    assert all(h["dense_rank"] is not None or h["lexical_rank"] is not None for h in hits)
    areas = {item.title: item.areas for item in load_seed()}
    assert "interpretability" in areas[hits[0]["title"]], hits[0]["title"]


def test_a_draft_file_finds_its_topic(seeded_real_home, real_embedder):
    from triage.seed import load_seed

    result = find_similar(seeded_real_home, embedder=real_embedder, path=EXAMPLES / "efficient_training_draft.md", k=5)
    areas = {item.title: set(item.areas) for item in load_seed()}
    capability_hits = [h for h in result.hits if areas[h.title] & {"efficiency", "architectures", "scaling"}]
    assert len(capability_hits) >= 3, [h.title for h in result.hits]


def test_an_arxiv_id_in_the_workspace_excludes_itself(seeded_real_home, real_embedder):
    result = find_similar(seeded_real_home, embedder=real_embedder, arxiv_id="arXiv:1706.03762v7", k=5)
    assert all(h.arxiv_id != "1706.03762" for h in result.hits)
    assert len(result.hits) == 5


def test_second_query_embeds_only_the_query(seeded_real_home, real_embedder):
    before = real_embedder.texts_embedded
    find_similar(seeded_real_home, embedder=real_embedder, text="debate as a scalable oversight method", k=3)
    assert real_embedder.texts_embedded - before <= 1
