"""The full-text index: kept in step with the papers by the store's own transactions, migrated into old workspaces,
and queried with text that can never be read as FTS5 syntax."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus import lexical
from corpus.migrations import MIGRATIONS
from corpus.records import Paper
from corpus.store import Store
from tests.cli_helpers import run_cli

HOSTILE = [
    '"', '""', '"unterminated', "NEAR(", "NEAR(a b, 3)", "*", "a*", "AND", "OR", "NOT", "a AND", "AND b", "-", "-a", ":",
    "title:", "title:widgets", "abstract : x", "(", ")", "((", "^", "+", "{title abstract}: x", "a NEAR b", "'; DROP TABLE papers; --",
    "\x00", "\u202e", "ünïcödé", "e\u0301", "🙂", "", " ", "_", "__init__", "x" * 5000, "AND OR NOT NEAR",
]


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "triage.db") as s:
        s.add_papers(
            [
                Paper(title="Widgets at scale", abstract="We train widget models on the Zorblax-9 corpus.", arxiv_id="2101.00001"),
                Paper(title="Gadget interpretability", abstract="Sparse features of gadgets, NEAR gates.", arxiv_id="2101.00002"),
                Paper(title="Café networks", abstract="Résumé of naïve methods for coöperation.", arxiv_id="2101.00003"),
            ]
        )
        yield s


def _ids(store: Store, hits) -> list[str]:
    papers = store.get_papers([row_id for row_id, _ in hits])
    return [papers[row_id].paper.arxiv_id or "" for row_id, _ in hits]


def test_words_find_their_papers_case_and_accents_folded(store):
    assert _ids(store, lexical.search(store, "zorblax 9", 5).hits) == ["2101.00001"]
    assert _ids(store, lexical.search(store, "CAFE resume", 5).hits) == ["2101.00003"]
    assert lexical.search(store, "nothing here matches", 5).hits == []


@pytest.mark.parametrize("query", HOSTILE)
def test_fts_syntax_in_a_query_is_only_text(store, query):
    found = lexical.search(store, query, 5)
    assert isinstance(found.hits, list)
    for term in found.terms.chosen:
        assert term.isalnum(), term


def test_operators_are_matched_as_words(store):
    # "NEAR" is a word of the second abstract; as an operator it would be a syntax error or match nothing.
    assert _ids(store, lexical.search(store, "NEAR", 5).hits) == ["2101.00002"]
    assert lexical.search(store, "AND OR NOT", 5).hits == []  # function words: common, never searched
    assert _ids(store, lexical.search(store, '"gadgets" NEAR(sparse*', 5).hits) == ["2101.00002"]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=80))
def test_any_text_at_all_never_raises(tmp_path_factory, query):
    path = tmp_path_factory.mktemp("fuzz") / "triage.db"
    with Store(path) as s:
        s.add_papers([Paper(title="A paper", abstract="about anything")])
        lexical.search(s, query, 3)


def test_hostile_query_through_the_command_line(capsys):
    for query in ('"NEAR( * AND - : OR', "title:x*", '"'):
        for mode in ("lexical", "hybrid"):
            result = run_cli(capsys, "--model", "fake", "similar", "--mode", mode, query, "--format", "json")
            assert result.code == 0, result.err
            assert isinstance(result.json(), list)


def test_the_index_follows_inserts_updates_and_rollbacks(store):
    store.add_papers([Paper(title="Widgets at scale", abstract="Rewritten: quokka habitats.", arxiv_id="2101.00001")])
    assert lexical.search(store, "zorblax", 5).hits == []
    assert _ids(store, lexical.search(store, "quokka", 5).hits) == ["2101.00001"]

    def papers_then_failure():
        yield Paper(title="Never stored", abstract="platypus", arxiv_id="2101.00009")
        raise RuntimeError("the reader broke half way")

    with pytest.raises(RuntimeError):
        store.add_papers(papers_then_failure())
    assert lexical.search(store, "platypus", 5).hits == []
    assert lexical.index_check(store)


def test_a_version_4_workspace_gains_the_index_on_opening(tmp_path):
    path = tmp_path / "old.db"
    db = sqlite3.connect(path, isolation_level=None)
    for version, step in enumerate(MIGRATIONS[:4], start=1):
        step(db)
        db.execute(f"PRAGMA user_version = {version}")
    db.execute(
        "INSERT INTO papers (uid, source, title, title_key, abstract, content_hash, revision, added_at, modified_at) "
        "VALUES ('title:x', 'csv', 'Old paper', 'old paper', 'About the wombat corpus.', 'h', 1, 'now', 'now')"
    )
    db.close()
    with Store(path) as store:
        assert store.schema_version == len(MIGRATIONS)
        assert len(lexical.search(store, "wombat", 5).hits) == 1
        assert lexical.index_check(store)


def test_rarest_words_are_searched_first_within_the_budget(store):
    terms = lexical.query_terms(store, "widget zorblax gadgets models of the", max_terms=2)
    assert terms.chosen == sorted(terms.chosen, key=lambda t: terms.counts[t])[:2] and len(terms.chosen) == 2
    assert lexical.query_terms(store, "widget zorblax", budget=0).chosen == ["widget"]  # the rarest one always


def test_overlap_is_the_share_of_word_information(store):
    terms = lexical.query_terms(store, "zorblax widget unknownword")
    share, shared = lexical.overlap(terms, "Zorblax and widget")
    assert share == pytest.approx(1.0) and set(shared) == {"zorblax", "widget"}
    assert lexical.overlap(terms, "nothing shared")[0] == 0.0
