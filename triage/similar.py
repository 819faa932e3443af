"""Find similar prior work for a text, a draft file, or an arXiv paper: dense and lexical retrieval, fused.

Dense vectors find paraphrase and miss exact terms (method and dataset names, numbers); BM25 over the store's
full-text index finds those and misses paraphrase. `hybrid` runs both and fuses their rankings with reciprocal rank
fusion. A draft is queried passage by passage (and as a whole): each paper keeps its best passage match in each list.
`prior_work` also says whether the best match is the same work, from cosine and shared rare words together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from corpus import lexical
from corpus.errors import InputError
from corpus.limits import DEFAULT_LIMITS, ReadLimits
from corpus.passages import split_passages
from corpus.readers.arxiv_api import ArxivSettings
from corpus.readers.drafts import read_document
from corpus.store import Store, StoredPaper
from models.embedders import Embedder
from triage.embedding import embed_texts, mean_vector
from triage.index import PaperIndex
from triage.ingest import paper_for_arxiv_id
from triage.progress import Reporter
from triage.workspace import Workspace
from triage.workspace_data import open_store, synced_index

MODES = ("dense", "lexical", "hybrid")
# Candidates each retriever hands to the fusion; deeper lists changed no known-item rank in the benchmark.
DEPTH = 100
# Reciprocal rank fusion's constant: a paper's fused score is the sum of 1 / (RRF_K + rank) over the lists.
RRF_K = 60
# A prior paper is shown against a draft passage in pieces of about this many tokens (a sentence or two).
PRIOR_PIECE_TOKENS = 60
MAX_MATCHED_PASSAGES = 5


@dataclass(frozen=True)
class SameWorkRule:
    """When the best prior match counts as the same work (the `similar-public-work` reason), from one query passage
    (or the whole draft) and the paper: cosine at least `cosine`, and the paper holds at least `overlap` of the
    passage's word information (IDF-weighted, `corpus.lexical.overlap`); or cosine at least `cosine_alone`.
    The thresholds come from known-item pairs in docs/BENCHMARKS.md ("the same work")."""

    # On 2,000 half-abstract pairs this flags 18% of same-work pairs and 0.6% of the best other papers, against 4.4%
    # and 0.2% for cosine >= 0.80 alone (the rule before): the most same work found with at most 1% false matches.
    cosine: float = 0.70
    overlap: float = 0.20
    cosine_alone: float = 0.80

    def holds(self, cosine: float, overlap: float) -> bool:
        return cosine >= self.cosine_alone or (cosine >= self.cosine and overlap >= self.overlap)


SAME_WORK = SameWorkRule()


@dataclass(frozen=True)
class SimilarHit:
    """One prior paper: its cosine similarity to the query (best passage), and its rank in each retriever's list
    (None: not in that list's top `DEPTH`, or that retriever did not run)."""

    rank: int
    similarity: float
    title: str
    year: int | None
    id: str
    arxiv_id: str | None
    url: str | None
    source: str
    summary: str = ""
    dense_rank: int | None = None
    lexical_rank: int | None = None


@dataclass
class SimilarResult:
    """Ranked prior work for one query, with the model, index and retrieval mode that produced it."""

    query: str
    hits: list[SimilarHit] = field(default_factory=list)
    model_id: str = ""
    index_kind: str = ""
    index_size: int = 0
    mode: str = "hybrid"


@dataclass(frozen=True)
class MatchedPassage:
    """A query passage beside the prior paper's text that matches it best, and the evidence that links them."""

    passage: str
    prior: str
    similarity: float  # cosine of the passage and the whole prior paper
    overlap: float  # share of the passage's word information the prior paper holds
    shared_terms: list[str]


@dataclass
class PriorMatch:
    """The ranked prior work for a draft, whether the best match is the same work, and the passages that say so."""

    hits: list[SimilarHit]
    same_work: bool = False
    similarity: float = 0.0
    overlap: float = 0.0
    passages: list[MatchedPassage] = field(default_factory=list)

    @property
    def best(self) -> SimilarHit | None:
        return self.hits[0] if self.hits else None


@dataclass
class _Query:
    """One thing searched for: a passage (or the whole draft), its vector, and its words' document counts."""

    text: str
    vector: np.ndarray
    terms: lexical.QueryTerms | None = None


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise InputError(f"unknown retrieval mode {mode!r}: use {', '.join(MODES)}")


def _queries(passages: list[str], vectors: np.ndarray) -> list[_Query]:
    """Each passage, plus the whole draft (all its words, the normalised mean vector) when there are several."""
    queries = [_Query(text, vector) for text, vector in zip(passages, vectors)]
    if len(passages) > 1:
        queries.append(_Query(" ".join(passages), mean_vector(vectors)))
    return queries


def dense_ranks(index: PaperIndex, vectors: np.ndarray, depth: int, exclude: frozenset[int] | set[int] = frozenset()) -> dict[int, int]:
    """Papers ranked by their best cosine over the query vectors (top `depth` of each)."""
    best: dict[int, float] = {}
    for found in index.search(vectors, depth + len(exclude)):
        for row_id, score in found:
            if row_id not in exclude and score > best.get(row_id, -2.0):
                best[row_id] = score
    return {row_id: rank for rank, row_id in enumerate(sorted(best, key=lambda r: -best[r]), start=1)}


def lexical_ranks(
    store: Store, texts: list[str], depth: int, exclude: frozenset[int] | set[int] = frozenset(),
    *, max_terms: int = lexical.MAX_TERMS, budget: int = lexical.POSTINGS_BUDGET,
) -> tuple[dict[int, int], list[lexical.QueryTerms | None]]:
    """Papers ranked by their best BM25 rank over the query texts (scores of different queries are not comparable),
    and each text's words with their document counts."""
    best: dict[int, tuple[int, float]] = {}
    terms = []
    for text in texts:
        found = lexical.search(store, text, depth + len(exclude), max_terms=max_terms, budget=budget)
        terms.append(found.terms)
        kept = [(row_id, score) for row_id, score in found.hits if row_id not in exclude]
        for rank, (row_id, score) in enumerate(kept, start=1):
            key = (rank, -score)
            if key < best.get(row_id, (depth + 1, 0.0)):
                best[row_id] = key
    return {row_id: rank for rank, row_id in enumerate(sorted(best, key=best.__getitem__), start=1)}, terms


def fuse(rankings: list[dict[int, int]], k: int = RRF_K) -> list[int]:
    """Reciprocal rank fusion: papers by the sum of 1 / (k + rank) over the rankings that hold them."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for row_id, rank in ranking.items():
            scores[row_id] = scores.get(row_id, 0.0) + 1.0 / (k + rank)
    # Ties (a paper at rank r in one list only, another at r in the other) go to the better single rank.
    return sorted(scores, key=lambda r: (-scores[r], min(ranking.get(r, 1 << 30) for ranking in rankings), r))


def _paper_vectors(store: Store, embedder: Embedder, papers: list[StoredPaper]) -> np.ndarray:
    """Each paper's vector, from the embedding cache the index was built from (computed only if it was cleared)."""
    vectors, _ = embed_texts(store, embedder, [p.paper.embedding_text() for p in papers])
    return vectors


def _rank(
    store: Store, index: PaperIndex, embedder: Embedder, queries: list[_Query], k: int, mode: str, exclude: set[int]
) -> tuple[list[SimilarHit], dict[int, StoredPaper], np.ndarray]:
    _check_mode(mode)
    depth = max(DEPTH, k)
    query_matrix = np.stack([q.vector for q in queries])
    dense = dense_ranks(index, query_matrix, depth, exclude) if mode != "lexical" else {}
    lexical_: dict[int, int] = {}
    if mode != "dense":
        lexical_, terms = lexical_ranks(store, [q.text for q in queries], depth, exclude)
        for query, found in zip(queries, terms):
            query.terms = found
    order = fuse([r for r in (dense, lexical_) if r])
    papers = store.get_papers(order[: k + 10])
    order = [row_id for row_id in order if row_id in papers][:k]  # a paper removed since the index was read drops out
    chosen = [papers[row_id] for row_id in order]
    vectors = _paper_vectors(store, embedder, chosen) if chosen else np.zeros((0, 1), dtype=np.float32)
    hits = []
    for rank, (stored, vector) in enumerate(zip(chosen, vectors), start=1):
        paper = stored.paper
        hits.append(
            SimilarHit(
                rank=rank, similarity=round(float((query_matrix @ vector).max()), 4), title=paper.title, year=paper.year,
                id=paper.uid or "", arxiv_id=paper.arxiv_id, url=paper.url, source=paper.source, summary=paper.abstract,
                dense_rank=dense.get(stored.row_id), lexical_rank=lexical_.get(stored.row_id),
            )
        )
    return hits, {p.row_id: p for p in chosen}, vectors


def rank_prior_work(
    store: Store, index: PaperIndex, embedder: Embedder, passages: list[str], vectors: np.ndarray,
    *, k: int = 10, mode: str = "hybrid", exclude: frozenset[int] | set[int] = frozenset(),
) -> list[SimilarHit]:
    """The `k` papers closest to a query given as passages and their vectors, skipping the row ids in `exclude`."""
    return _rank(store, index, embedder, _queries(passages, vectors), k, mode, set(exclude))[0]


def prior_work(
    store: Store, index: PaperIndex, embedder: Embedder, passages: list[str], vectors: np.ndarray,
    *, k: int = 5, mode: str = "hybrid", exclude: frozenset[int] | set[int] = frozenset(), rule: SameWorkRule = SAME_WORK,
) -> PriorMatch:
    """Ranked prior work for a draft's passages, and whether the best match is the same work, with the matched
    passages side by side: each draft passage that meets `rule` next to the prior paper's closest piece of text
    (the best-matching passage alone when none meets it, so a reviewer sees how close it came)."""
    queries = _queries(passages, vectors)
    hits, papers, paper_vectors = _rank(store, index, embedder, queries, k, mode, set(exclude))
    if not hits:
        return PriorMatch(hits=[])
    best_row = next(iter(papers))  # papers keep the hits' order
    text = papers[best_row].paper.embedding_text()
    evidence = []
    for query in queries:
        terms = query.terms or lexical.query_terms(store, query.text)
        share, shared = lexical.overlap(terms, text)
        evidence.append((float(query.vector @ paper_vectors[0]), share, shared, terms))
    strength = lambda i: (rule.holds(*evidence[i][:2]), evidence[i][0] + evidence[i][1])  # noqa: E731
    same = [i for i, (cosine, share, _, _) in enumerate(evidence) if rule.holds(cosine, share)]
    strongest = max(range(len(evidence)), key=strength)
    # The whole-draft query has no passage of its own to show; its evidence still counts.
    shown = [i for i in same if i < len(passages)] or [max(range(len(passages)), key=strength)]
    pieces = [p.text for p in split_passages(text, PRIOR_PIECE_TOKENS, 0)] or [text]
    matched = []
    for i in sorted(shown, key=lambda i: -(evidence[i][0] + evidence[i][1]))[:MAX_MATCHED_PASSAGES]:
        cosine, share, shared, terms = evidence[i]
        piece = max(pieces, key=lambda piece: lexical.overlap(terms, piece)[0])
        matched.append(MatchedPassage(passage=passages[i], prior=piece, similarity=round(cosine, 4), overlap=round(share, 4), shared_terms=shared[:12]))
    cosine, share = evidence[strongest][:2]
    return PriorMatch(hits=hits, same_work=bool(same), similarity=round(cosine, 4), overlap=round(share, 4), passages=matched)


def find_similar(
    workspace: Workspace,
    *,
    embedder: Embedder,
    text: str | None = None,
    path: Path | None = None,
    arxiv_id: str | None = None,
    k: int = 10,
    mode: str = "hybrid",
    arxiv_settings: ArxivSettings | None = None,
    reporter: Reporter | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
) -> SimilarResult:
    """Rank the workspace's papers by similarity to exactly one of: `text`, the draft at `path`, or `arxiv_id`.

    Only an arXiv id that is not yet in the workspace reaches the network; text and drafts never do.
    """
    if sum(x is not None for x in (text, path, arxiv_id)) != 1:
        raise InputError("give exactly one of a text, a draft file, or an arXiv id")
    if k < 1:
        raise InputError(f"k must be at least 1 (got {k})")
    _check_mode(mode)  # before the store is opened: a typo should not cost a seed import or an index sync
    with open_store(workspace) as store:
        exclude: set[int] = set()
        if text is not None:
            if not text.strip():
                raise InputError("the query text is empty")
            label, passages = text.strip(), [" ".join(text.split())]
        elif path is not None:
            document = read_document(Path(path), limits=limits)
            store.add_document(document)
            label, passages = str(path), [p.text for p in document.passages]
        else:
            paper = paper_for_arxiv_id(store, arxiv_id or "", arxiv_settings)
            label, passages = f"arXiv:{paper.arxiv_id} {paper.title}", [paper.embedding_text()]
            stored = store.find_paper(arxiv_id=paper.arxiv_id)
            if stored is not None:
                exclude.add(stored.row_id)
        index, sync = synced_index(workspace, store, embedder, reporter)
        vectors, _ = embed_texts(store, embedder, passages, reporter=reporter, label="embedding draft")
        hits = rank_prior_work(store, index, embedder, passages, vectors, k=k, mode=mode, exclude=exclude)
        return SimilarResult(query=label, hits=hits, model_id=embedder.model_id, index_kind=sync.kind, index_size=sync.count, mode=mode)
