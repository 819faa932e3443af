"""Lexical retrieval over the store's full-text index (FTS5, BM25): queries are words, never FTS5's query language.

A query is cut into words the way the index's tokenizer cuts text (`unicode61`, lower-cased, diacritics removed);
each word is quoted and the words are OR-ed, so `"`, `NEAR(`, `*`, `AND`, `-` or `:` in a query are only text.
FTS5 scores every paper that holds any query word, so a query's cost grows with the postings it touches: words are
taken rarest first until `POSTINGS_BUDGET` postings or `MAX_TERMS` words. A word's document count is counted in
the index only up to `COMMON`: a word in that many papers or more is common, carries little information, and is
neither searched nor weighed (counting it exactly would cost as much as searching it; fts5vocab counts by scanning too).
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field

from corpus.store import Store

# Measured in docs/BENCHMARKS.md ("Similar prior work"): at 10k papers recall is flat from about these values up,
# and at 1M they keep a half-abstract query to tens of milliseconds.
MAX_TERMS = 48
POSTINGS_BUDGET = 50_000
# Counting a word costs up to this many postings: 5,000 made `triage batch` (one prior-work query per paper) about ten
# times slower on a corpus of shared words; 1,000 bounds that. The recall figures in BENCHMARKS were taken at 5,000.
COMMON = 1_000
# BM25 weight of a title word against an abstract word.
TITLE_WEIGHT, ABSTRACT_WEIGHT = 1.0, 1.0

_WORD = re.compile(r"[^\W_]+")
# English function words: common in any corpus of papers, and the costliest to count (the count scans up to COMMON
# postings), so they are taken as common without counting.
_FUNCTION_WORDS = frozenset(
    "a an and are as at be been between both but by can do does for from has have how in into is it its may more "
    "not of on or our over such than that the their them then there these they this those through to under us via "
    "was we were what when where which while who whose will with within without".split()
)


def words(text: str) -> list[str]:
    """`text` as the index's tokenizer sees it: runs of letters and digits, lower-cased, without diacritics."""
    folded = unicodedata.normalize("NFKD", text.lower())
    return _WORD.findall("".join(c for c in folded if not unicodedata.combining(c)))


@dataclass(frozen=True)
class QueryTerms:
    """A query's distinct words with their document counts in the index (0: absent; `COMMON` or more: common, and
    counted only that far), and the ones searched for."""

    counts: dict[str, int]
    chosen: list[str]
    papers: int
    common: int = COMMON

    def idf(self, term: str) -> float:
        """BM25's inverse document frequency; an absent or common word has none here."""
        df = self.counts.get(term, 0)
        return math.log(1 + (self.papers - df + 0.5) / (df + 0.5)) if 0 < df < self.common else 0.0

    def informative(self) -> list[str]:
        """The words in the index that are not common, rarest first."""
        return sorted((t for t, df in self.counts.items() if 0 < df < self.common), key=lambda t: (self.counts[t], t))


def query_terms(
    store: Store, text: str, *, max_terms: int = MAX_TERMS, budget: int = POSTINGS_BUDGET, common: int = COMMON
) -> QueryTerms:
    """Count every distinct word of `text` in the index (up to `common`) and choose the rarest within the budget."""
    # A query is bounded by the limits its reader applied; a pasted text is not, and only its first words count.
    distinct = list(dict.fromkeys(words(text)))[:2000]
    counts = {
        term: common if term in _FUNCTION_WORDS else int(store.query(
            "SELECT COUNT(*) AS n FROM (SELECT 1 FROM papers_fts WHERE papers_fts MATCH ? LIMIT ?)", (match_expression([term]), common)
        )[0]["n"])
        for term in distinct
    }
    papers = store.query("SELECT COUNT(*) AS n FROM papers")[0]["n"]
    terms = QueryTerms(counts=counts, chosen=[], papers=papers, common=common)
    spent = 0
    for term in terms.informative():
        # The rarest word is always searched, so a query of common words still finds something.
        if terms.chosen and (len(terms.chosen) == max_terms or spent + counts[term] > budget):
            break
        terms.chosen.append(term)
        spent += counts[term]
    return terms


def match_expression(terms: list[str]) -> str:
    """An FTS5 MATCH expression that means 'any of these words': each one a quoted string, so none is an operator."""
    # words() yields only letters and digits, so no term can hold the quote that would end its string early.
    return " OR ".join(f'"{term}"' for term in terms)


@dataclass
class LexicalHits:
    """Papers for one query, best first: (row id, BM25 score, higher is better), and the terms that were searched."""

    hits: list[tuple[int, float]] = field(default_factory=list)
    terms: QueryTerms | None = None


def search(store: Store, text: str, k: int, *, max_terms: int = MAX_TERMS, budget: int = POSTINGS_BUDGET) -> LexicalHits:
    """The `k` papers BM25 ranks highest for the words of `text`; no words in the index gives no hits, not an error."""
    terms = query_terms(store, text, max_terms=max_terms, budget=budget)
    if not terms.chosen or k < 1:
        return LexicalHits([], terms)
    rows = store.query(
        "SELECT rowid, bm25(papers_fts, ?, ?) AS score FROM papers_fts WHERE papers_fts MATCH ? ORDER BY score LIMIT ?",
        (TITLE_WEIGHT, ABSTRACT_WEIGHT, match_expression(terms.chosen), k),
    )
    # FTS5's bm25() is negative, lower is better; flip it so every score in the project reads "higher is closer".
    return LexicalHits([(int(row["rowid"]), -float(row["score"])) for row in rows], terms)


def overlap(terms: QueryTerms, text: str) -> tuple[float, list[str]]:
    """How much of the query's information `text` shares: the IDF mass of query words it contains over the IDF mass
    of all query words the index knows, in [0, 1]; and the shared words, most informative first."""
    present = set(words(text))
    weights = {term: terms.idf(term) for term in terms.informative()}
    total = sum(weights.values())
    shared = sorted((t for t in weights if t in present), key=lambda t: -weights[t])
    return (sum(weights[t] for t in shared) / total if total else 0.0), shared


def index_check(store: Store) -> bool:
    """FTS5's own integrity check: does the index agree with the papers it was built from?"""
    import sqlite3

    try:
        with store.transaction() as db:
            db.execute("INSERT INTO papers_fts (papers_fts, rank) VALUES ('integrity-check', 1)")
    except sqlite3.DatabaseError:
        return False
    return True
