"""The FAISS index: size-based plans, incremental sync, and refusing a stale or corrupt file."""

from __future__ import annotations

import json

import numpy as np
import pytest

from corpus.records import Paper
from corpus.store import Store
from triage import index as index_module
from triage.index import PaperIndex, build_faiss_index, plan_for
from triage.progress import RecordingReporter


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "triage.db") as s:
        yield s


def _papers(n: int, offset: int = 0) -> list[Paper]:
    topics = ["reward hacking", "sparse attention kernels", "jailbreak defences", "protein folding", "debate protocols"]
    return [Paper(title=f"Paper {i} on {topics[i % len(topics)]}", abstract=f"We study {topics[i % len(topics)]} number {i}.") for i in range(offset, offset + n)]


def test_plan_is_exact_below_the_limit_and_ivf_above():
    assert plan_for(10).kind == "flat"
    assert plan_for(49_999).kind == "flat"
    big = plan_for(1_000_000)
    assert big.kind == "ivf-sq8" and big.nlist == 4096 and big.nprobe == 32
    assert plan_for(60_000).nlist == 1024


def test_sync_builds_then_adds_incrementally(tmp_path, store, fake_embedder):
    store.add_papers(_papers(20))
    index = PaperIndex(tmp_path / "index", fake_embedder.model_id)
    first = index.sync(store, fake_embedder)
    assert first.rebuilt and first.count == 20
    store.add_papers(_papers(5, offset=20))
    second = PaperIndex(tmp_path / "index", fake_embedder.model_id).sync(store, fake_embedder)
    assert not second.rebuilt and second.added == 5 and second.count == 25
    # Nothing changed: nothing added, nothing embedded.
    before = fake_embedder.texts_embedded
    third = PaperIndex(tmp_path / "index", fake_embedder.model_id).sync(store, fake_embedder)
    assert third.added == 0 and fake_embedder.texts_embedded == before


def test_a_changed_paper_replaces_its_vector(tmp_path, store, fake_embedder):
    store.add_papers([Paper(title="Moving target", abstract="about cats", arxiv_id="2101.00001"), *_papers(5)])
    index = PaperIndex(tmp_path / "index", fake_embedder.model_id)
    index.sync(store, fake_embedder)
    store.add_papers([Paper(title="Moving target", abstract="about reward hacking in debate protocols", arxiv_id="2101.00001")])
    report = index.sync(store, fake_embedder)
    assert report.added == 1 and report.count == 6
    row_id = store.find_paper(arxiv_id="2101.00001").row_id
    query = fake_embedder.encode(["Moving target. about reward hacking in debate protocols"])
    assert index.search(query, 1)[0][0][0] == row_id


def test_a_truncated_index_is_detected_and_rebuilt(tmp_path, store, fake_embedder):
    store.add_papers(_papers(30))
    index = PaperIndex(tmp_path / "index", fake_embedder.model_id)
    index.sync(store, fake_embedder)
    data = index.faiss_path.read_bytes()
    index.faiss_path.write_bytes(data[: len(data) // 2])
    reporter = RecordingReporter()
    report = PaperIndex(tmp_path / "index", fake_embedder.model_id).sync(store, fake_embedder, reporter=reporter)
    assert report.rebuilt and "checksum" in report.reason
    assert any("checksum mismatch" in note for note in reporter.notes)
    assert report.count == 30


def test_metadata_that_disagrees_with_the_store_triggers_a_rebuild(tmp_path, store, fake_embedder):
    store.add_papers(_papers(10))
    index = PaperIndex(tmp_path / "index", fake_embedder.model_id)
    index.sync(store, fake_embedder)
    meta = json.loads(index.meta_path.read_text())
    meta["revision"] = store.revision  # claims to be current...
    index.meta_path.write_text(json.dumps(meta))
    with store.transaction() as db:  # ...while a paper appeared behind its back without a revision bump
        db.execute("UPDATE papers SET revision = 0")
        db.execute("UPDATE meta SET value = '999' WHERE key = 'revision'")
    store.add_papers(_papers(1, offset=50))
    report = PaperIndex(tmp_path / "index", fake_embedder.model_id).sync(store, fake_embedder)
    assert report.count == 11


def test_outgrowing_the_exact_limit_switches_to_ivf(tmp_path, store, fake_embedder, monkeypatch):
    monkeypatch.setattr(index_module, "EXACT_LIMIT", 50)
    store.add_papers(_papers(40))
    index = PaperIndex(tmp_path / "index", fake_embedder.model_id)
    assert index.sync(store, fake_embedder).kind == "flat"
    store.add_papers(_papers(400, offset=40))
    report = index.sync(store, fake_embedder)
    assert report.rebuilt and report.kind == "ivf-sq8" and report.count == 440


def test_ivf_recall_against_exact_search():
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((50, 32)).astype(np.float32)
    vectors = centres[rng.integers(0, 50, 20_000)] + 0.3 * rng.standard_normal((20_000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.arange(20_000, dtype=np.int64)
    exact = build_faiss_index(vectors, ids, plan_for(10))
    approx = build_faiss_index(vectors, ids, index_module.IndexPlan("ivf-sq8", nlist=256, nprobe=16))
    queries = vectors[:200] + 0.05 * rng.standard_normal((200, 32)).astype(np.float32)
    _, truth = exact.search(queries, 10)
    _, found = approx.search(queries, 10)
    recall = np.mean([len(set(t) & set(f)) / 10 for t, f in zip(truth, found)])
    assert recall >= 0.9


def test_search_before_sync_is_a_clear_error(tmp_path, fake_embedder):
    from triage.errors import TriageError

    with pytest.raises(TriageError, match="not loaded"):
        PaperIndex(tmp_path / "index", fake_embedder.model_id).search(np.zeros((1, 64), dtype=np.float32), 3)
