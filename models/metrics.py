"""Classification metrics in plain numpy: AUROC, average precision, F1 and expected calibration error."""

from __future__ import annotations

import numpy as np


def _ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks with ties given their average rank (what the Mann-Whitney form of AUROC needs)."""
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values), dtype=np.float64)
    sorted_values = values[order]
    start = 0
    while start < len(values):
        end = start
        while end + 1 < len(values) and sorted_values[end + 1] == sorted_values[start]:
            end += 1
        ranks[order[start : end + 1]] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def auroc(y: np.ndarray, score: np.ndarray) -> float:
    y = np.asarray(y).astype(bool)
    positives, negatives = int(y.sum()), int((~y).sum())
    if positives == 0 or negatives == 0:
        return float("nan")
    ranks = _ranks(np.asarray(score, dtype=np.float64))
    return float((ranks[y].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def average_precision(y: np.ndarray, score: np.ndarray) -> float:
    y = np.asarray(y).astype(bool)
    if not y.any():
        return float("nan")
    order = np.argsort(-np.asarray(score, dtype=np.float64), kind="mergesort")
    hits = y[order]
    precision_at_hit = np.cumsum(hits)[hits] / (np.flatnonzero(hits) + 1)
    return float(precision_at_hit.mean())


def f1_at(y: np.ndarray, probability: np.ndarray, threshold: float = 0.5) -> float:
    y = np.asarray(y).astype(bool)
    predicted = np.asarray(probability) >= threshold
    tp = int((predicted & y).sum())
    if tp == 0:
        return 0.0
    precision, recall = tp / predicted.sum(), tp / y.sum()
    return float(2 * precision * recall / (precision + recall))


def expected_calibration_error(y: np.ndarray, probability: np.ndarray, bins: int = 10) -> float:
    """Mean |accuracy - confidence| over equal-width probability bins, weighted by bin size."""
    y = np.asarray(y, dtype=np.float64)
    probability = np.asarray(probability, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(probability, edges[1:-1]), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        members = which == b
        if members.any():
            error += members.mean() * abs(y[members].mean() - probability[members].mean())
    return float(error)


def binary_report(y: np.ndarray, probability: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """The four numbers every head is judged by."""
    return {
        "auroc": auroc(y, probability),
        "average_precision": average_precision(y, probability),
        "f1": f1_at(y, probability, threshold),
        "ece": expected_calibration_error(y, probability),
        "n": int(len(y)),
        "positives": int(np.sum(y)),
    }
