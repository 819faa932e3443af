"""One FAISS index per embedding model, kept in step with the store and written atomically with a checksum."""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import numpy as np

from corpus.store import Store
from models.atomic_files import atomic_path, atomic_write
from models.embedders import Embedder
from triage.embedding import embed_texts
from triage.errors import TriageError
from triage.progress import Reporter

# Exact search over 50k x 384 float32 costs ~10 ms a query on 2 cores; past that an IVF index is worth its recall loss.
EXACT_LIMIT = 50_000
FORMAT_VERSION = 1
LOCK_TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class IndexPlan:
    """Which FAISS index suits `n` vectors: exact inner product, or IVF with 8-bit scalar quantisation."""

    kind: str
    nlist: int = 0
    nprobe: int = 0

    @property
    def factory(self) -> str:
        return "IDMap2,Flat" if self.kind == "flat" else f"IVF{self.nlist},SQ8"


def plan_for(n: int) -> IndexPlan:
    """About 4*sqrt(n) lists (a power of two), probing 1/128 of them and at least 16 (recall@10 0.985 at 1M: BENCHMARKS)."""
    if n < EXACT_LIMIT:
        return IndexPlan("flat")
    nlist = 2 ** round(math.log2(4 * math.sqrt(n)))
    nlist = max(256, min(nlist, 65536))
    nprobe = max(16, nlist // 128)
    return IndexPlan("ivf-sq8", nlist=nlist, nprobe=nprobe)


@dataclass
class IndexMeta:
    """The sidecar JSON: what the index holds, the store (and revision) it reflects, and the index file's SHA-256."""

    model_id: str
    dim: int
    kind: str
    nlist: int
    nprobe: int
    count: int
    trained_on: int
    revision: int
    sha256: str
    built_at: str
    format: int = FORMAT_VERSION
    store_id: str = ""  # Store.identity() of the database it was built from; "" in sidecars written before it existed


@dataclass
class SyncReport:
    """What keeping the index in step cost: vectors added, and whether (and why) it was rebuilt."""

    count: int
    kind: str
    added: int = 0
    rebuilt: bool = False
    reason: str | None = None


class IndexProblem(Exception):
    """The index on disk cannot be used as it is (missing, stale or corrupt); the reason says which."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build_faiss_index(vectors: np.ndarray, ids: np.ndarray, plan: IndexPlan, *, seed: int = 0):
    """A fresh FAISS index over normalised `vectors` with int64 `ids`, trained when the plan needs it."""
    import faiss  # heavy native library: only index work loads it

    dim = vectors.shape[1]
    index: faiss.Index
    if plan.kind == "flat":
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
    else:
        quantizer = faiss.IndexFlatIP(dim)
        ivf = faiss.IndexIVFScalarQuantizer(quantizer, dim, plan.nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
        # k-means needs ~40 points a list; more adds build time without better lists.
        rng = np.random.default_rng(seed)
        sample_size = min(len(vectors), plan.nlist * 64)
        sample = vectors[rng.choice(len(vectors), size=sample_size, replace=False)] if sample_size < len(vectors) else vectors
        ivf.train(np.ascontiguousarray(sample, dtype=np.float32))
        ivf.nprobe = plan.nprobe
        index = ivf
    if len(vectors):
        index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))
    return index


def _slug(model_id: str) -> str:
    readable = re.sub(r"[^A-Za-z0-9]+", "_", model_id).strip("_")[:60]
    return f"{readable}-{hashlib.sha1(model_id.encode()).hexdigest()[:8]}"


class PaperIndex:
    """The workspace's index of papers for one embedding model."""

    def __init__(self, index_dir: Path, model_id: str):
        self.index_dir = Path(index_dir)
        self.model_id = model_id
        stem = _slug(model_id)
        self.faiss_path = self.index_dir / f"{stem}.faiss"
        self.meta_path = self.index_dir / f"{stem}.json"
        self.lock_path = self.index_dir / f"{stem}.lock"
        self._index = None
        self.meta: IndexMeta | None = None

    # --- reading --------------------------------------------------------------------------------

    def read(self):
        """Load and verify the index from disk, raising IndexProblem with the reason it cannot be used."""
        import faiss

        if not self.meta_path.is_file() or not self.faiss_path.is_file():
            raise IndexProblem("no index yet")
        try:
            meta = IndexMeta(**json.loads(self.meta_path.read_text()))
        except (ValueError, TypeError) as exc:
            raise IndexProblem(f"index metadata unreadable ({exc})") from exc
        if meta.format != FORMAT_VERSION or meta.model_id != self.model_id:
            raise IndexProblem("index metadata is for another format or model")
        if _sha256(self.faiss_path) != meta.sha256:
            raise IndexProblem("index file checksum mismatch (truncated or modified)")
        try:
            index = faiss.read_index(str(self.faiss_path))
        except RuntimeError as exc:
            raise IndexProblem(f"index file unreadable ({str(exc).splitlines()[0]})") from exc
        # Every field the sidecar claims must hold for the file: a hand-edited kind or count is a stale sidecar,
        # rebuilt with a note, never a FAISS RuntimeError later.
        ivf = faiss.try_extract_index_ivf(index)
        numbers_ok = all(type(getattr(meta, name)) is int for name in ("dim", "nlist", "nprobe", "count", "trained_on", "revision"))
        if (
            not numbers_ok or not isinstance(meta.store_id, str) or index.ntotal != meta.count or index.d != meta.dim
            or meta.kind != ("flat" if ivf is None else "ivf-sq8")
            or (ivf is not None and not (ivf.nlist == meta.nlist and 1 <= meta.nprobe <= ivf.nlist))
        ):
            raise IndexProblem("index metadata does not match the index file (stale or edited)")
        if ivf is not None:
            ivf.nprobe = meta.nprobe
        self._index, self.meta = index, meta
        return index

    # --- writing --------------------------------------------------------------------------------

    def _save(self, index, meta: IndexMeta) -> None:
        import faiss

        self.index_dir.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.faiss_path) as tmp:
            faiss.write_index(index, str(tmp))
        meta.sha256 = _sha256(self.faiss_path)
        meta.count = int(index.ntotal)
        atomic_write(self.meta_path, json.dumps(asdict(meta), indent=2).encode())
        self._index, self.meta = index, meta

    def _paper_vectors(self, store: Store, embedder: Embedder, since: int, reporter: Reporter) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        page: list = []
        for stored in store.iter_papers(since_revision=since):
            page.append(stored)
            if len(page) == 2048:
                yield self._embed_page(store, embedder, page, reporter)
                page = []
        if page:
            yield self._embed_page(store, embedder, page, reporter)

    @staticmethod
    def _embed_page(store: Store, embedder: Embedder, page: list, reporter: Reporter) -> tuple[np.ndarray, np.ndarray]:
        vectors, _ = embed_texts(store, embedder, [p.paper.embedding_text() for p in page], reporter=reporter, label="embedding papers")
        return np.array([p.row_id for p in page], dtype=np.int64), vectors

    def rebuild(self, store: Store, embedder: Embedder, *, reporter: Reporter | None = None, reason: str = "requested") -> SyncReport:
        """Build the index from every paper in the store (embeddings come from the cache where present)."""
        from filelock import FileLock

        reporter = reporter or Reporter()
        self.index_dir.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.lock_path), timeout=LOCK_TIMEOUT_SECONDS):
            return self._rebuild_locked(store, embedder, reporter, reason)

    def _rebuild_locked(self, store: Store, embedder: Embedder, reporter: Reporter, reason: str) -> SyncReport:
        revision = store.revision
        parts = list(self._paper_vectors(store, embedder, 0, reporter))
        ids = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, dtype=np.int64)
        dim = parts[0][1].shape[1] if parts else (embedder.dim or 1)
        vectors = np.concatenate([p[1] for p in parts]) if parts else np.zeros((0, dim), dtype=np.float32)
        plan = plan_for(len(ids))
        reporter.start(f"building {plan.factory} index", None)
        index = build_faiss_index(vectors, ids, plan)
        reporter.finish()
        meta = IndexMeta(
            model_id=self.model_id, dim=dim, kind=plan.kind, nlist=plan.nlist, nprobe=plan.nprobe, count=len(ids),
            trained_on=len(ids), revision=revision, sha256="", built_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            store_id=store.identity(),
        )
        self._save(index, meta)
        return SyncReport(count=len(ids), kind=plan.kind, added=len(ids), rebuilt=True, reason=reason)

    def sync(self, store: Store, embedder: Embedder, *, reporter: Reporter | None = None) -> SyncReport:
        """Bring the index up to the store's revision: add what changed, or rebuild when it is missing, corrupt or outgrown."""
        from filelock import FileLock

        reporter = reporter or Reporter()
        self.index_dir.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.lock_path), timeout=LOCK_TIMEOUT_SECONDS):
            try:
                index = self.read()
            except IndexProblem as problem:
                if str(problem) != "no index yet":
                    reporter.note(f"rebuilding the index: {problem}")
                return self._rebuild_locked(store, embedder, reporter, str(problem))
            meta = self.meta
            assert meta is not None
            if meta.store_id != store.identity():
                # Checksums only prove the two files belong together; a colleague's index passes them and its row
                # ids would name this store's papers wrongly. An older sidecar without an id is rebuilt once too.
                reason = "index was built from another workspace's database" if meta.store_id else "index predates workspace ids"
                reporter.note(f"rebuilding the index: {reason}")
                return self._rebuild_locked(store, embedder, reporter, reason)
            total = store.paper_count()
            if plan_for(total).kind != meta.kind or (meta.kind != "flat" and total > 4 * meta.trained_on):
                return self._rebuild_locked(store, embedder, reporter, f"corpus grew to {total} papers")
            if store.revision == meta.revision and index.ntotal == total:
                return SyncReport(count=total, kind=meta.kind)
            revision = store.revision
            added = 0
            for ids, vectors in self._paper_vectors(store, embedder, meta.revision, reporter):
                # A changed paper keeps its id; drop its old vector before adding the new one.
                index.remove_ids(ids)
                index.add_with_ids(vectors, ids)
                added += len(ids)
            if index.ntotal != total:
                return self._rebuild_locked(store, embedder, reporter, "index and store disagree")
            meta.revision = revision
            self._save(index, meta)
            return SyncReport(count=total, kind=meta.kind, added=added)

    def add_in_memory(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add or replace vectors in the loaded index without saving; the next sync() persists them from the store."""
        if self._index is None:
            raise TriageError("the index is not loaded; call sync() first")
        ids = np.asarray(ids, dtype=np.int64)
        self._index.remove_ids(ids)
        self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)

    # --- querying -------------------------------------------------------------------------------

    def search(self, queries: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
        """For each query vector, up to `k` (paper row id, cosine similarity) pairs, best first."""
        if self._index is None:
            raise TriageError("the index is not loaded; call sync() first")
        if self._index.ntotal == 0:
            return [[] for _ in range(len(queries))]
        scores, ids = self._index.search(np.ascontiguousarray(queries, dtype=np.float32), min(k, self._index.ntotal))
        return [[(int(i), float(s)) for i, s in zip(row_ids, row_scores) if i >= 0] for row_ids, row_scores in zip(ids, scores)]
