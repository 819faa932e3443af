"""Evaluating probes on a label file: cross-validated against two baselines on the same folds, or zero-shot."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from corpus.readers import IssueLog
from corpus.readers.labels import read_labels
from models.embedders import Embedder
from models.metrics import binary_report
from models.probe_training import AXES, TrainingConfig, TrainingSet, head_names, train_probe_set
from triage.embedding import embed_texts
from triage.errors import UsageError
from triage.labels import training_rows
from triage.probe_registry import current_probe
from triage.progress import Reporter
from triage.seed import axis_facets, taxonomy_areas
from triage.workspace import Workspace
from triage.workspace_data import open_store

METHODS = ("probe", "embedding+logreg", "tfidf+logreg")


@dataclass
class EvalRow:
    method: str
    head: str
    auroc: float
    average_precision: float
    f1: float
    ece: float
    n: int
    positives: int


@dataclass
class EvalReport:
    source: str
    folds: int
    rows: list[EvalRow] = field(default_factory=list)
    skipped: IssueLog = field(default_factory=IssueLog)  # the first issues kept, all counted
    probe_version: str | None = None


def _row(method: str, head: str, y: np.ndarray, p: np.ndarray) -> EvalRow:
    r = binary_report(y, p)
    return EvalRow(method, head, round(r["auroc"], 4), round(r["average_precision"], 4), round(r["f1"], 4), round(r["ece"], 4), int(r["n"]), int(r["positives"]))


def _group_folds(n_items: int, folds: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).permutation(n_items) % folds


def evaluate(
    workspace: Workspace, embedder: Embedder, labels_path: Path, *, folds: int = 5, zero_shot: bool = False,
    probe_version: str | None = None, seed: int = 0, reporter: Reporter | None = None,
) -> EvalReport:
    """Zero-shot: the workspace's probe scores the file. Otherwise: k-fold CV of the probe and both baselines."""
    reporter = reporter or Reporter()
    report = EvalReport(source=str(labels_path), folds=0 if zero_shot else folds)
    labels = list(read_labels(labels_path, report.skipped.append))
    if len(labels) < 10:
        raise UsageError(f"{labels_path}: need at least 10 labelled rows to evaluate (found {len(labels)})")
    areas = taxonomy_areas()
    texts, y, groups, anchors, info = training_rows(labels, areas)
    with open_store(workspace) as store:
        vectors, _ = embed_texts(store, embedder, texts, reporter=reporter, label="embedding labelled texts")
        if zero_shot:
            probe = current_probe(workspace, store, embedder, version=probe_version, reporter=reporter)
            report.probe_version = probe.version
            prediction = probe.predict(vectors[anchors], [texts[i] for i in anchors])
            for h, head in enumerate(AXES):
                column = y[anchors, h]
                known = ~np.isnan(column)
                if known.sum() and 0 < column[known].sum() < known.sum():
                    report.rows.append(_row("probe", head, column[known], prediction.mean[known, probe.head(head)]))
            return report
    if folds < 2:
        raise UsageError("--folds must be at least 2")
    fold_of_item = _group_folds(len(labels), folds, seed)
    anchor_rows = np.array(anchors)
    item_y = y[anchor_rows]
    predictions = {m: np.full((len(labels), len(AXES)), np.nan) for m in METHODS}
    item_texts = [texts[i] for i in anchors]
    reporter.start(f"{folds}-fold cross-validation", folds)
    for k in range(folds):
        train_items = np.flatnonzero(fold_of_item != k)
        test_items = np.flatnonzero(fold_of_item == k)
        train_rows = np.flatnonzero(np.isin(groups, train_items))
        data = TrainingSet(
            vectors=vectors[train_rows], labels=y[train_rows], heads=head_names(areas), groups=groups[train_rows],
            anchor_rows=np.searchsorted(train_rows, anchor_rows[train_items]), anchor_info=[info[i] for i in train_items],
            texts=[texts[i] for i in train_rows], facets=axis_facets(),
        )
        probe = train_probe_set(data, embedder_id=embedder.model_id, label_set={}, config=TrainingConfig(seed=seed + k))
        predictions["probe"][test_items] = probe.predict(vectors[anchor_rows[test_items]], [item_texts[i] for i in test_items]).mean[:, : len(AXES)]
        for h in range(len(AXES)):
            train_known = train_items[~np.isnan(item_y[train_items, h])]
            if len(np.unique(item_y[train_known, h])) < 2:
                continue
            predictions["embedding+logreg"][test_items, h] = _logreg(vectors[anchor_rows[train_known]], item_y[train_known, h], vectors[anchor_rows[test_items]])
            predictions["tfidf+logreg"][test_items, h] = _tfidf_logreg([item_texts[i] for i in train_known], item_y[train_known, h], [item_texts[i] for i in test_items])
        reporter.advance(1)
    reporter.finish()
    for method in METHODS:
        for h, head in enumerate(AXES):
            known = ~np.isnan(item_y[:, h]) & ~np.isnan(predictions[method][:, h])
            if known.sum() and 0 < item_y[known, h].sum() < known.sum():
                report.rows.append(_row(method, head, item_y[known, h], predictions[method][known, h]))
    return report


def _logreg(x_train, y_train, x_test) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression

    # The plain baseline: class-balanced logistic regression with scikit-learn's defaults otherwise.
    return LogisticRegression(max_iter=2000, class_weight="balanced").fit(x_train, y_train).predict_proba(x_test)[:, 1]


def _tfidf_logreg(train_texts, y_train, test_texts) -> np.ndarray:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True), LogisticRegression(max_iter=2000))
    return model.fit(train_texts, y_train).predict_proba(test_texts)[:, 1]
