"""Hybrid retrieval with the real bundled model: each retriever's blind spot is covered by the other, and the
same-work rule tells a restatement of a paper from a paper on the same topic."""

from __future__ import annotations

import pytest

from corpus.records import Paper
from triage.embedding import embed_texts
from triage.similar import MODES, prior_work, rank_prior_work
from triage.workspace_data import open_store, synced_index

# A tiny corpus: maths-reasoning papers (close in meaning to the first query), one recipe dataset that shares only
# the made-up name "Qorvex" with it, and a robot-grasping paper written without any word of the second query.
PAPERS = [
    ("2401.00001", "Qorvex: a collection of annotated cooking recipes", "Qorvex gathers recipes from home cooks, each labelled with ingredients and nutrition facts."),
    ("2401.00002", "Large language models solve grade-school maths with step-by-step reasoning", "Prompting a model to write intermediate steps lifts its scores on school mathematics tests."),
    ("2401.00003", "Scratchpads let transformers carry out multi-digit calculations", "Writing intermediate computations improves numeric skill of neural sequence models."),
    ("2401.00004", "Verifiers trained to check solutions to mathematics exercises", "A learned checker ranks sampled solutions and picks the most plausible one."),
    ("2401.00005", "Mechanical arms acquire pick-up skills through trial-and-error policy optimisation", "A manipulator learns to lift items from a bin by practising thousands of attempts with a reward signal."),
    ("2401.00006", "Teaching assistants for online courses", "Teaching staff answer questions from students in massive online courses with deep learning support."),
    ("2401.00007", "Agents reach human level on Atari games from pixels", "Value-based agents master many arcade titles directly from the screen."),
    ("2401.00008", "Object detection with deep convolutional networks", "Deep convolutional networks detect objects in images with region proposals."),
]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, real_embedder):
    from triage.workspace import Workspace

    workspace = Workspace.at(tmp_path_factory.mktemp("tiny-hybrid"))
    with open_store(workspace, seed=False) as store:
        store.add_papers([Paper(title=t, abstract=a, arxiv_id=i) for i, t, a in PAPERS])
        synced_index(workspace, store, real_embedder)
    return workspace


def _ranked(workspace, embedder, query: str, mode: str, k: int) -> list[str]:
    with open_store(workspace, seed=False) as store:
        index, _ = synced_index(workspace, store, embedder)
        vectors, _ = embed_texts(store, embedder, [query])
        return [h.arxiv_id or "" for h in rank_prior_work(store, index, embedder, [query], vectors, k=k, mode=mode)]


def test_a_rare_term_dense_misses_is_found_by_hybrid(tiny, real_embedder):
    query = "How accurate are LLMs on arithmetic word problems from Qorvex?"
    assert _ranked(tiny, real_embedder, query, "dense", 1) != ["2401.00001"]
    assert _ranked(tiny, real_embedder, query, "hybrid", 1) == ["2401.00001"]


def test_a_paraphrase_lexical_misses_is_found_by_hybrid(tiny, real_embedder):
    query = "Robots grasping objects via deep reinforcement learning"
    assert "2401.00005" not in _ranked(tiny, real_embedder, query, "lexical", 10)
    assert _ranked(tiny, real_embedder, query, "dense", 1) == ["2401.00005"]
    # Fusion ranks papers both lists hold above one only dense holds; it still comes up among the first three.
    assert "2401.00005" in _ranked(tiny, real_embedder, query, "hybrid", 3)


def test_every_mode_reports_both_ranks_it_has(tiny, real_embedder):
    query = "Qorvex recipes with nutrition labels"
    with open_store(tiny, seed=False) as store:
        index, _ = synced_index(tiny, store, real_embedder)
        vectors, _ = embed_texts(store, real_embedder, [query])
        for mode in MODES:
            hits = rank_prior_work(store, index, real_embedder, [query], vectors, k=3, mode=mode)
            assert hits[0].arxiv_id == "2401.00001"
            assert (hits[0].dense_rank is not None) == (mode != "lexical")
            assert (hits[0].lexical_rank is not None) == (mode != "dense")
            assert -1.0 <= hits[0].similarity <= 1.0


def test_same_work_is_told_from_another_paper(tiny, real_embedder):
    restated = [
        "We present Qorvex, recipes collected from home cooks.",
        "Each recipe in Qorvex is labelled with its ingredients and nutrition facts.",
    ]
    same_topic = ["A benchmark of chemistry exam questions for testing tutoring chatbots."]
    with open_store(tiny, seed=False) as store:
        index, _ = synced_index(tiny, store, real_embedder)
        vectors, _ = embed_texts(store, real_embedder, restated)
        match = prior_work(store, index, real_embedder, restated, vectors, k=3)
        assert match.best.arxiv_id == "2401.00001" and match.same_work
        assert match.passages and match.passages[0].passage in restated
        assert "qorvex" in match.passages[0].shared_terms and "Qorvex" in match.passages[0].prior
        vectors, _ = embed_texts(store, real_embedder, same_topic)
        other = prior_work(store, index, real_embedder, same_topic, vectors, k=3)
        assert other.best is not None and not other.same_work
        assert len(other.passages) == 1  # the closest passage, shown even when it is not the same work
