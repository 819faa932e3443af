"""Classification metrics: AUROC, average precision and F1 from scikit-learn, and expected calibration error.

scikit-learn has no binary ECE, so that one is here. scikit-learn is imported inside each function: training and
evaluation call these, while scoring only imports the modules that hold them.
"""

from __future__ import annotations

import numpy as np


def auroc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve; NaN when `y` has one class only (scikit-learn would raise)."""
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y).astype(bool)
    if y.all() or not y.any():
        return float("nan")
    return float(roc_auc_score(y, np.asarray(score, dtype=np.float64)))


def average_precision(y: np.ndarray, score: np.ndarray) -> float:
    """Average precision; NaN without a positive (scikit-learn would warn and give a meaningless number)."""
    from sklearn.metrics import average_precision_score

    y = np.asarray(y).astype(bool)
    if not y.any():
        return float("nan")
    return float(average_precision_score(y, np.asarray(score, dtype=np.float64)))


def f1_at(y: np.ndarray, probability: np.ndarray, threshold: float = 0.5) -> float:
    """F1 of the positive class at `threshold`; 0 when nothing is predicted positive or nothing is positive."""
    from sklearn.metrics import f1_score

    return float(f1_score(np.asarray(y).astype(bool), np.asarray(probability) >= threshold, zero_division=0.0))


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
