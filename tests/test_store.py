"""The SQLite store: schema, WAL, deduplication, atomic imports and the embedding cache, on a real file."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from corpus.errors import CorpusError
from corpus.migrations import MIGRATIONS
from corpus.records import Document, Paper, Passage
from corpus.store import Store


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "triage.db") as s:
        yield s


def test_new_store_is_wal_and_at_the_latest_schema(store, tmp_path):
    db = sqlite3.connect(tmp_path / "triage.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"papers", "documents", "passages", "embeddings", "meta"} <= tables


def test_reopening_does_not_migrate_again(tmp_path):
    Store(tmp_path / "a.db").close()
    with Store(tmp_path / "a.db") as again:
        assert again.schema_version == len(MIGRATIONS)


def test_a_newer_schema_is_refused(tmp_path):
    from corpus.store import APPLICATION_ID

    db = sqlite3.connect(tmp_path / "new.db")
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")  # a workspace from a newer version of the tool carries the id
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 5}")
    db.close()
    with pytest.raises(CorpusError, match="newer than this tool"):
        Store(tmp_path / "new.db")


def test_a_file_that_is_not_a_database_is_refused(tmp_path):
    (tmp_path / "junk.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CorpusError, match="not a usable workspace database"):
        Store(tmp_path / "junk.db")


def test_duplicates_update_and_never_double(store):
    first = store.add_papers([Paper(title="Attention Is All You Need", abstract="old", arxiv_id="1706.03762", source="csv")])
    assert first.inserted == 1
    # Same arXiv id (the reader strips versions), new abstract: an update.
    again = store.add_papers([Paper(title="Attention is all you need!", abstract="new text", arxiv_id="1706.03762", source="arxiv")])
    assert (again.inserted, again.updated) == (0, 1)
    # Same DOI with different case and resolver prefix.
    store.add_papers([Paper(title="Deep Residual Learning", doi="10.1109/CVPR.2016.90")])
    by_doi = store.add_papers([Paper(title="Deep residual learning for image recognition", doi="https://doi.org/10.1109/cvpr.2016.90")])
    assert by_doi.inserted == 0
    # Same normalised title, no ids: the same paper.
    store.add_papers([Paper(title="Concrete Problems in AI Safety")])
    by_title = store.add_papers([Paper(title="  concrete problems in AI-safety ", abstract="summary")])
    assert by_title.inserted == 0 and by_title.updated == 1
    assert store.paper_count() == 3
    stored = store.find_paper(arxiv_id="1706.03762")
    assert stored.paper.abstract == "new text" and stored.paper.uid == "arxiv:1706.03762"


def test_same_title_with_different_arxiv_ids_are_two_papers(store):
    store.add_papers([Paper(title="Introduction", arxiv_id="2101.00001"), Paper(title="Introduction", arxiv_id="2101.00002")])
    assert store.paper_count() == 2


def test_titles_without_latin_letters_are_distinct_papers_and_their_own_duplicates(store):
    """Found by the import fuzz test: such titles all keyed as "", so the second one broke the unique paper id."""
    store.add_papers([Paper(title="深度学习的安全性"), Paper(title="Ασφάλεια τεχνητής νοημοσύνης"), Paper(title="\x1b")])
    assert store.paper_count() == 3
    again = store.add_papers([Paper(title="  ΑΣΦΆΛΕΙΑ  τεχνητής νοημοσύνης", abstract="περίληψη"), Paper(title="深度学习的安全性")])
    assert (again.inserted, again.updated, again.unchanged) == (0, 1, 1) and store.paper_count() == 3


def test_exact_duplicate_is_unchanged_and_keeps_the_revision(store):
    store.add_papers([Paper(title="A", abstract="x", arxiv_id="2101.00001")])
    revision = store.revision
    counts = store.add_papers([Paper(title="A", abstract="x", arxiv_id="2101.00001")])
    assert counts.unchanged == 1 and store.revision == revision


def test_an_empty_field_never_erases_a_known_one(store):
    store.add_papers([Paper(title="A paper", abstract="the abstract", authors=["Ada"], arxiv_id="2101.00001")])
    store.add_papers([Paper(title="A paper", arxiv_id="2101.00001")])
    paper = store.find_paper(arxiv_id="2101.00001").paper
    assert paper.abstract == "the abstract" and paper.authors == ["Ada"]


def test_a_failing_import_leaves_nothing_behind(store):
    store.add_papers([Paper(title="kept")])

    def papers():
        yield Paper(title="first of a doomed import")
        yield Paper(title="second")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        store.add_papers(papers())
    assert store.paper_count() == 1


def test_embedding_cache_round_trip(store):
    vec = np.arange(8, dtype=np.float32) / 10
    store.put_embeddings("m", {"h1": vec})
    got = store.get_embeddings("m", ["h1", "h2"])
    assert list(got) == ["h1"] and np.array_equal(got["h1"], vec)
    assert store.get_embeddings("other-model", ["h1"]) == {}


def test_documents_keep_passage_offsets(store):
    text = "First paragraph here.\n\nSecond paragraph there."
    doc = Document(title="Draft", text=text, passages=[Passage(0, 21, text[0:21]), Passage(23, len(text), text[23:])])
    doc_id = store.add_document(doc)
    assert store.add_document(doc) == doc_id
    back = store.get_document(doc_id)
    assert back.text == text and [p.text for p in back.passages] == ["First paragraph here.", "Second paragraph there."]


def test_concurrent_writer_waits_instead_of_failing(tmp_path):
    path = tmp_path / "shared.db"
    with Store(path) as a, Store(path) as b:
        with a.transaction() as db:
            db.execute("INSERT INTO meta (key, value) VALUES ('x', '1')")
            # b reads while a holds the write lock: WAL lets readers through.
            assert b.get_meta("x") is None
        b.set_meta("y", "2")
        assert a.get_meta("y") == "2"
