"""Embedding through the store's cache: each (model, text) pair is embedded once, ever."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from corpus.records import content_hash
from corpus.store import Store
from models.embedders import Embedder, make_embedder  # noqa: F401  (re-exported for the faces)
from triage.label_vectors import shipped_text_vectors
from triage.progress import Reporter

# Enough texts per round trip to keep the model busy, few enough to checkpoint often.
CHUNK = 256


@dataclass
class EmbedStats:
    """How many texts were asked for, found in the cache, and run through the model."""

    requested: int = 0
    cached: int = 0
    computed: int = 0

    def __iadd__(self, other: "EmbedStats") -> "EmbedStats":
        self.requested += other.requested
        self.cached += other.cached
        self.computed += other.computed
        return self


def embed_texts(
    store: Store, embedder: Embedder, texts: Sequence[str], *, reporter: Reporter | None = None, label: str = "embedding"
) -> tuple[np.ndarray, EmbedStats]:
    """Vectors for `texts` in order, computing only those missing from the cache and storing them as they come."""
    reporter = reporter or Reporter()
    hashes = [content_hash(t) for t in texts]
    cached = store.get_embeddings(embedder.model_id, hashes)
    missing: dict[str, str] = {}
    for digest, text in zip(hashes, texts):
        if digest not in cached and digest not in missing:
            missing[digest] = text
    if missing:
        # The package ships the bundled model's vectors of its seed texts: a new workspace need not embed them.
        shipped = shipped_text_vectors(embedder.model_id)
        found = {digest: shipped[digest] for digest in missing if digest in shipped}
        if found:
            store.put_embeddings(embedder.model_id, found)
            cached.update(found)
            missing = {digest: text for digest, text in missing.items() if digest not in found}
    stats = EmbedStats(requested=len(texts), cached=len(texts) - sum(1 for h in hashes if h in missing), computed=len(missing))
    if missing:
        reporter.start(label, len(missing))
        items = list(missing.items())
        for offset in range(0, len(items), CHUNK):
            chunk = items[offset : offset + CHUNK]
            # An embedder may know its best batch (wide on a GPU); the protocol's default otherwise.
            batch = getattr(embedder, "batch_size", 32)
            vectors = embedder.encode([text for _, text in chunk], batch_size=batch, progress=reporter.advance)
            fresh = {digest: vec for (digest, _), vec in zip(chunk, vectors)}
            # Stored per chunk, so an interrupted run keeps what it already paid for.
            store.put_embeddings(embedder.model_id, fresh)
            cached.update(fresh)
        reporter.finish()
    dim = next(iter(cached.values())).shape[0] if cached else embedder.dim
    out = np.empty((len(texts), dim), dtype=np.float32)
    for row, digest in enumerate(hashes):
        out[row] = cached[digest]
    return out, stats


def mean_vector(vectors: np.ndarray) -> np.ndarray:
    """The unit-length mean of passage vectors: a document's vector when it is longer than the model reads at once."""
    mean = np.asarray(vectors, dtype=np.float32).mean(axis=0)
    return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)
