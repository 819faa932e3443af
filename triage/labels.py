"""Training labels: importing users' label files, and turning the label table into a probe training set."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from corpus.readers import IssueLog
from corpus.readers.labels import read_labels
from corpus.records import LabelledText
from corpus.store import Store, UpsertCounts
from models.embedders import Embedder
from triage.embedding import embed_texts
from triage.label_vectors import LIST_SOURCE, TITLE_SOURCE, BundledLabel, bundled_vectors
from triage.label_vectors import SOURCE as BUNDLED_SOURCE
from triage.progress import Reporter, note_issues
from triage.seed import axis_facets, taxonomy_areas
from triage.workspace import Workspace
from triage.workspace_data import open_store


@dataclass
class LabelImportReport:
    """Labels read from a file: how many were new or changed, rows skipped, and area names not in the taxonomy."""

    source: str
    counts: UpsertCounts
    skipped: IssueLog = field(default_factory=IssueLog)
    unknown_areas: dict[str, int] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)


def import_labels(workspace: Workspace, path: Path, *, reporter: Reporter | None = None) -> LabelImportReport:
    """Add a CSV/JSONL label file to the workspace's label table (one transaction; re-importing updates)."""
    reporter = reporter or Reporter()
    skipped = IssueLog()
    known = set(taxonomy_areas())
    unknown: dict[str, int] = {}

    def checked():
        for item in read_labels(path, skipped.append):
            if item.areas is not None:
                for area in item.areas:
                    if area not in known:
                        unknown[area] = unknown.get(area, 0) + 1
                item.areas = [a for a in item.areas if a in known]
            yield item

    with open_store(workspace) as store:
        counts = store.add_labels(checked())
        totals = store.label_counts()
    note_issues(reporter, skipped)
    if unknown:
        reporter.note(f"areas not in the taxonomy were dropped: {', '.join(sorted(unknown))}")
    return LabelImportReport(source=str(path), counts=counts, skipped=skipped, unknown_areas=unknown, totals=totals)


def label_set_summary(labels: list[LabelledText]) -> dict:
    """A hash identifying exactly these labels, and their counts, for the probe card."""
    digest = hashlib.sha256()
    for item in sorted(labels, key=lambda label: (label.content_hash, label.source)):
        digest.update(json.dumps([item.content_hash, item.safety, item.capabilities, item.hazard, item.areas]).encode())
    return {
        "hash": digest.hexdigest()[:16],
        "items": len(labels),
        "by_source": {s: sum(1 for label in labels if label.source == s) for s in sorted({label.source for label in labels})},
        "safety_positive": sum(1 for label in labels if label.safety == 1),
        "safety_negative": sum(1 for label in labels if label.safety == 0),
        "capabilities_positive": sum(1 for label in labels if label.capabilities == 1),
        "capabilities_negative": sum(1 for label in labels if label.capabilities == 0),
        "hazard_positive": sum(1 for label in labels if label.hazard == 1),
        "hazard_negative": sum(1 for label in labels if label.hazard == 0),
    }


def label_row(item: LabelledText, areas: list[str]) -> list[float]:
    """An item's row of the label matrix: safety, capabilities, hazard, then `areas` (NaN where unknown)."""
    nan = float("nan")
    area_row = [nan] * len(areas) if item.areas is None else [float(a in item.areas) for a in areas]
    return [nan if value is None else float(value) for value in (item.safety, item.capabilities, item.hazard)] + area_row


def _info(item: LabelledText) -> dict:
    return {
        "title": item.title or item.text[:100], "safety": item.safety, "capabilities": item.capabilities, "hazard": item.hazard,
        "areas": item.areas or [], "source": item.source,
    }


def training_rows(labels: list[LabelledText], areas: list[str]) -> tuple[list[str], np.ndarray, np.ndarray, list[int], list[dict]]:
    """Texts, label matrix, groups, anchor rows and anchor info.

    Each labelled item also contributes its title alone as a second view (same labels, same group), so the
    probes learn to judge a bare title as well as an abstract; groups keep both views in one fold.
    """
    texts: list[str] = []
    rows: list[list[float]] = []
    groups: list[int] = []
    anchors: list[int] = []
    info: list[dict] = []
    for group, item in enumerate(labels):
        row = label_row(item, areas)
        anchors.append(len(texts))
        info.append(_info(item))
        views = [item.text] + ([item.title] if item.title and item.title != item.text else [])
        for view in views:
            texts.append(view)
            rows.append(row)
            groups.append(group)
    return texts, np.array(rows, dtype=np.float32), np.array(groups), anchors, info


def bundled_label_texts(labels: tuple[BundledLabel, ...], source: str) -> list[LabelledText]:
    """Shipped labels as label records (the text field holds the arXiv id, or the title where there is none: the
    labelled text does not ship)."""
    return [
        LabelledText(
            text=f"arXiv:{b.arxiv_id}" if b.arxiv_id else b.title, safety=b.safety, capabilities=b.capabilities, hazard=b.hazard, areas=list(b.areas),
            title=b.title, source=source,
        )
        for b in labels
    ]


def shipped_title_rows(pools: np.ndarray, texts: list[str | None]) -> np.ndarray:
    """The rows that are shipped titles: the shipped labels (pool 1) whose text is at hand, their abstracts not shipping."""
    return (pools == 1) & np.array([t is not None for t in texts], dtype=bool)


def build_training_set(store: Store, embedder: Embedder, *, sources: list[str] | None = None, reporter: Reporter | None = None):
    """The label table embedded (through the cache), plus the shipped labels' vectors when they were made by this
    embedder's model (the arXiv sample's papers and their titles; the alignment graph's and the two lists' titles),
    as a models.probe_training.TrainingSet with its summary."""
    from models.probe_training import TrainingSet, head_names

    labels = store.get_labels(sources)
    areas = taxonomy_areas()
    texts, y, groups, anchors, info = training_rows(labels, areas)
    vectors, _ = embed_texts(store, embedder, texts, reporter=reporter, label="embedding labelled texts")
    bundled = bundled_vectors(embedder.model_id) if sources is None or BUNDLED_SOURCE in sources else None
    pools = np.zeros(len(vectors), dtype=int)  # the seed and the workspace's own labels; the shipped labels are pool 1
    row_texts: list[str | None] = list(texts)
    if bundled is not None:
        papers = bundled_label_texts(bundled.labels, BUNDLED_SOURCE)
        titles_only = bundled_label_texts(bundled.title_only_labels, TITLE_SOURCE) + bundled_label_texts(bundled.list_labels, LIST_SOURCE)
        first_group = int(groups.max()) + 1 if len(groups) else 0
        rows = np.array([label_row(item, areas) for item in papers], dtype=np.float32)
        title_rows = np.array([label_row(item, areas) for item in titles_only], dtype=np.float32)
        count, title_count = len(papers), len(titles_only)
        # Anchors are documents: a paper's abstract view anchors it, and no title does.
        anchors = anchors + list(range(len(vectors), len(vectors) + count))
        vectors = np.concatenate([vectors, bundled.text_vectors, bundled.title_vectors, bundled.title_only_vectors, bundled.list_vectors])
        y = np.concatenate([y.reshape(-1, rows.shape[1]), rows, rows, title_rows])
        item_groups = np.arange(first_group, first_group + count)
        groups = np.concatenate([groups, item_groups, item_groups, np.arange(first_group + count, first_group + count + title_count)])
        pools = np.concatenate([pools, np.ones(2 * count + title_count, dtype=int)])
        # The abstracts do not ship, so the word head never sees them; the titles do, and it trains on them.
        row_texts += [None] * count + [item.title for item in papers + titles_only]
        info = info + [_info(item) for item in papers]
        labels = labels + papers + titles_only
    data = TrainingSet(
        vectors=vectors, labels=y, heads=head_names(areas), groups=groups, anchor_rows=np.array(anchors), anchor_info=info, pools=pools,
        texts=row_texts, title_rows=shipped_title_rows(pools, row_texts), facets=axis_facets(),
    )
    return data, label_set_summary(labels)
