"""The public API: workspaces, importing papers, similar prior work. Attributes load lazily to keep start-up instant."""

from __future__ import annotations

import importlib

_EXPORTS = {
    "Workspace": "triage.workspace",
    "find_similar": "triage.similar",
    "SimilarResult": "triage.similar",
    "import_files": "triage.ingest",
    "fetch_arxiv": "triage.ingest",
    "ImportReport": "triage.ingest",
    "open_store": "triage.workspace_data",
    "rebuild_index": "triage.workspace_data",
    "workspace_stats": "triage.workspace_data",
    "Reporter": "triage.progress",
    "make_embedder": "models.embedders",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'triage' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
