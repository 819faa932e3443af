"""Find similar prior work for a text, a draft file, or an arXiv paper."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from corpus.errors import InputError
from corpus.limits import DEFAULT_LIMITS, ReadLimits
from corpus.readers.arxiv_api import ArxivSettings, fetch_ids
from corpus.readers.drafts import read_document
from corpus.records import Paper, parse_arxiv_id
from corpus.store import Store
from models.embedders import Embedder
from triage.embedding import embed_texts
from triage.index import PaperIndex
from triage.library import open_store, synced_index
from triage.progress import Reporter
from triage.workspace import Workspace


@dataclass(frozen=True)
class SimilarHit:
    """One prior paper and how close it is (cosine similarity of the embeddings)."""

    rank: int
    similarity: float
    title: str
    year: int | None
    id: str
    arxiv_id: str | None
    url: str | None
    source: str
    summary: str = ""


@dataclass
class SimilarResult:
    """Ranked prior work for one query, with the model and index that produced it."""

    query: str
    hits: list[SimilarHit] = field(default_factory=list)
    model_id: str = ""
    index_kind: str = ""
    index_size: int = 0


def document_vector(store: Store, embedder: Embedder, passages: list[str], reporter: Reporter | None = None) -> np.ndarray:
    """A draft's vector: the normalised mean of its passage vectors, so the whole text counts, not only the opening."""
    vectors, _ = embed_texts(store, embedder, passages, reporter=reporter, label="embedding draft")
    mean = vectors.mean(axis=0)
    return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)


def neighbours(store: Store, index: PaperIndex, vector: np.ndarray, k: int, *, exclude: frozenset[int] | set[int] = frozenset()) -> list[SimilarHit]:
    """The `k` nearest papers to `vector`, skipping the row ids in `exclude`."""
    found = index.search(vector[None, :], k + len(exclude))[0]
    found = [(row_id, score) for row_id, score in found if row_id not in exclude][:k]
    papers = store.get_papers([row_id for row_id, _ in found])
    hits = []
    for rank, (row_id, score) in enumerate(found, start=1):
        stored = papers.get(row_id)
        if stored is None:  # removed since the index was read; the next sync drops it
            continue
        paper = stored.paper
        hits.append(
            SimilarHit(
                rank=rank, similarity=round(score, 4), title=paper.title, year=paper.year, id=paper.uid or "",
                arxiv_id=paper.arxiv_id, url=paper.url, source=paper.source, summary=paper.abstract,
            )
        )
    return hits


def find_similar(
    workspace: Workspace,
    *,
    embedder: Embedder,
    text: str | None = None,
    path: Path | None = None,
    arxiv_id: str | None = None,
    k: int = 10,
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
            paper = _paper_for_arxiv_id(store, arxiv_id or "", arxiv_settings)
            label, passages = f"arXiv:{paper.arxiv_id} {paper.title}", [paper.embedding_text()]
            stored = store.find_paper(arxiv_id=paper.arxiv_id)
            if stored is not None:
                exclude.add(stored.row_id)
        index, sync = synced_index(workspace, store, embedder, reporter)
        vector = document_vector(store, embedder, passages, reporter)
        hits = neighbours(store, index, vector, k, exclude=exclude)
        return SimilarResult(query=label, hits=hits, model_id=embedder.model_id, index_kind=sync.kind, index_size=sync.count)


def _paper_for_arxiv_id(store: Store, raw_id: str, settings: ArxivSettings | None) -> Paper:
    arxiv_id = parse_arxiv_id(raw_id)
    if arxiv_id is None:
        raise InputError(f"not an arXiv id: {raw_id!r}")
    stored = store.find_paper(arxiv_id=arxiv_id)
    if stored is not None and stored.paper.abstract:
        return stored.paper
    papers = list(fetch_ids([arxiv_id], settings or ArxivSettings(), lambda issue: None))
    if not papers:
        raise InputError(f"arXiv has no paper {arxiv_id}")
    store.add_papers(papers)
    return papers[0]
