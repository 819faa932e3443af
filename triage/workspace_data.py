"""A workspace's data: its store (the one way to open it, seeded on first use), its index, and what they hold."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

from corpus.store import Store
from triage.progress import Reporter
from triage.seed import ensure_seeded
from triage.workspace import Workspace

if TYPE_CHECKING:  # the index pulls in numpy; `corpus stats` and other light commands need neither
    from models.embedders import Embedder
    from triage.index import PaperIndex, SyncReport


@contextmanager
def open_store(workspace: Workspace, *, seed: bool = True) -> Iterator[Store]:
    """The workspace's store, created and seeded with the bundled corpus on first use; closed on leaving."""
    workspace.ensure()
    store = Store(workspace.db_path)
    try:
        if seed:
            ensure_seeded(store)
        yield store
    finally:
        store.close()


def synced_index(workspace: Workspace, store: Store, embedder: Embedder, reporter: Reporter | None = None) -> tuple[PaperIndex, SyncReport]:
    """The index for `embedder`'s model, updated (or rebuilt) to match the store."""
    from triage.index import PaperIndex

    index = PaperIndex(workspace.index_dir, embedder.model_id)
    report = index.sync(store, embedder, reporter=reporter)
    return index, report


def rebuild_index(workspace: Workspace, embedder: Embedder, reporter: Reporter | None = None) -> SyncReport:
    """Rebuild the index for `embedder`'s model from every paper (cached embeddings are reused)."""
    from triage.index import PaperIndex

    with open_store(workspace) as store:
        return PaperIndex(workspace.index_dir, embedder.model_id).rebuild(store, embedder, reporter=reporter)


def workspace_stats(workspace: Workspace) -> dict:
    """What the workspace holds: papers by source and year, drafts, cached embeddings, and index files."""
    with open_store(workspace) as store:
        stats = {"workspace": str(workspace.home), **store.paper_stats(), "cached_embeddings": store.embedding_count()}
    stats["indexes"] = sorted(p.stem for p in workspace.index_dir.glob("*.faiss")) if workspace.index_dir.is_dir() else []
    return stats


def label_counts(workspace: Workspace) -> dict[str, int]:
    """Labelled items per label source (seed, arxiv, user:<file>, decision)."""
    with open_store(workspace) as store:
        return store.label_counts()
