"""Training probe sets: class-balanced logistic heads, a bootstrap ensemble for the spread, Platt calibration."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

import numpy as np

from models.errors import ModelError
from models.metrics import binary_report
from models.probes import AREA_PREFIX, CAPABILITIES, HAZARD, SAFETY, ProbeSet

AXES = (SAFETY, CAPABILITIES, HAZARD)
REQUIRED_AXES = (SAFETY, CAPABILITIES)  # hazard may be unlabelled in a user's own label set; it is then not trained
MIN_PER_CLASS = 2


@dataclass(frozen=True)
class TrainingConfig:
    """Settings of one training run, kept apart from the trained weights (and recorded in the card).

    The design (plain class-balanced logistic regression, C = 4) was chosen by leave-one-source-out validation
    against the earlier stacked ensemble; the table is in docs/BENCHMARKS.md.
    """

    members: int = 8  # bootstrap ensemble size: the spread of its members is the score's uncertainty
    folds: int = 5  # cross-fitting folds: held-out logits for calibration and honest metrics
    c: float = 4.0  # inverse L2 strength, as scikit-learn's C
    seed: int = 0


@dataclass
class TrainingSet:
    """Vectors with labels; NaN marks an unknown label. Rows sharing a `group` are views of one item."""

    vectors: np.ndarray  # (n, dim)
    labels: np.ndarray  # (n, heads), 0/1 or NaN
    heads: list[str]
    groups: np.ndarray  # (n,) int
    anchor_rows: np.ndarray  # rows used as labelled anchors (one view per item)
    anchor_info: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        if len(self.vectors) != len(self.labels) or len(self.vectors) != len(self.groups):
            raise ModelError("training vectors, labels and groups differ in length")
        for name in REQUIRED_AXES:
            column = self.labels[:, self.heads.index(name)]
            known = column[~np.isnan(column)]
            if len(known) < 4 or known.min() == known.max():
                raise ModelError(f"the {name} head needs labelled examples of both classes (have {int(np.nansum(column))} positive of {len(known)})")


def _trainable(y: np.ndarray) -> bool:
    known = y[~np.isnan(y)]
    return len(known) >= 2 * MIN_PER_CLASS and MIN_PER_CLASS <= known.sum() <= len(known) - MIN_PER_CLASS


def _fit(x: np.ndarray, y: np.ndarray, c: float, *, balanced: bool, sample_weight: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """One L2 logistic head on the rows whose label is known. Returns (weights, bias)."""
    from sklearn.linear_model import LogisticRegression  # scikit-learn is only needed to train, never to score

    known = ~np.isnan(y)
    weight = None if sample_weight is None else sample_weight[known]
    if weight is not None and (weight > 0).sum() == 0:
        weight = None
    model = LogisticRegression(C=c, class_weight="balanced" if balanced else None, max_iter=2000)
    model.fit(x[known], y[known].astype(int), sample_weight=weight)
    return model.coef_[0].astype(np.float32), float(model.intercept_[0])


def _platt(logits: np.ndarray, y: np.ndarray, *, balanced: bool) -> tuple[float, float]:
    """Fit p = sigmoid(a*z + c) on held-out logits (Newton). Balanced: both classes weigh the same in total."""
    t = y.astype(np.float64)
    positives = t.sum()
    w = np.where(t == 1, len(t) / (2 * positives), len(t) / (2 * (len(t) - positives))) if balanced else np.ones_like(t)
    features = np.column_stack([logits.astype(np.float64), np.ones(len(t))])
    theta, ridge = np.array([1.0, 0.0]), 1e-3 * np.eye(2)
    for _ in range(100):
        p = 1 / (1 + np.exp(-np.clip(features @ theta, -30, 30)))
        grad = features.T @ (w * (p - t)) + ridge @ (theta - np.array([1.0, 0.0]))
        hess = (features * (w * p * (1 - p))[:, None]).T @ features + ridge
        step = np.linalg.solve(hess, grad)
        theta -= step
        if np.abs(step).max() < 1e-8:
            break
    # A negative slope would invert the head's meaning; such a fit is noise, so floor it.
    return max(float(theta[0]), 1e-3), float(theta[1])


def _group_folds(groups: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    unique = np.unique(groups)
    assignment = rng.permutation(len(unique)) % k
    return assignment[np.searchsorted(unique, groups)]


def _bootstrap_weights(groups: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Row weights of one bootstrap sample drawn over groups (an item's views stay together)."""
    unique = np.unique(groups)
    counts = np.bincount(rng.integers(0, len(unique), len(unique)), minlength=len(unique))
    return counts[np.searchsorted(unique, groups)].astype(np.float64)


def held_out_logits(data: TrainingSet, config: TrainingConfig, heads: list[int]) -> np.ndarray:
    """Out-of-fold logits of the given heads for every row, from folds that never saw the row's group (NaN elsewhere)."""
    rng = np.random.default_rng(config.seed)
    fold = _group_folds(data.groups, config.folds, rng)
    logits = np.full(data.labels.shape, np.nan, dtype=np.float32)
    for k in range(config.folds):
        train, test = fold != k, fold == k
        for h in heads:
            if _trainable(data.labels[train, h]):
                w, b = _fit(data.vectors[train], data.labels[train, h], config.c, balanced=data.heads[h] in AXES)
                logits[test, h] = data.vectors[test] @ w + b
    return logits


def train_probe_set(data: TrainingSet, *, embedder_id: str, label_set: dict, config: TrainingConfig | None = None) -> ProbeSet:
    """Axes: a bootstrap ensemble of balanced logistic heads, Platt-calibrated on held-out folds. Areas: one head each."""
    config = config or TrainingConfig()
    x = data.vectors.astype(np.float32)
    axes = [data.heads.index(name) for name in AXES if name in data.heads]
    n_heads, dim = len(data.heads), x.shape[1]
    weights = np.zeros((config.members, n_heads, dim), dtype=np.float32)
    bias = np.full((config.members, n_heads), -10.0, dtype=np.float32)  # an untrained head says "no" (P ~ 0)
    scale, shift = np.ones(n_heads, dtype=np.float32), np.zeros(n_heads, dtype=np.float32)
    held_out = held_out_logits(data, config, axes)
    metrics, untrained = {}, []
    rng = np.random.default_rng(config.seed + 1)
    for h, name in enumerate(data.heads):
        y = data.labels[:, h]
        if not _trainable(y):
            untrained.append(name)
            continue
        if h in axes:
            scored = ~np.isnan(y) & ~np.isnan(held_out[:, h])
            scale[h], shift[h] = _platt(held_out[scored, h], y[scored], balanced=True)
            calibrated = 1 / (1 + np.exp(-(scale[h] * held_out[scored, h] + shift[h])))
            metrics[name] = binary_report(y[scored], calibrated)
            for m in range(config.members):
                weights[m, h], bias[m, h] = _fit(x, y, config.c, balanced=True, sample_weight=_bootstrap_weights(data.groups, rng))
        else:
            # Areas are evidence, not decisions: one head, calibrated to the natural frequency of the area.
            w, b = _fit(x, y, config.c, balanced=False)
            weights[:, h], bias[:, h] = w, b
    card = {
        "embedder_id": embedder_id,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "label_set": label_set,
        "training": asdict(config) | {"design": "balanced logistic regression, bootstrap ensemble, Platt on held-out folds"},
        "cv_metrics": metrics,
        "untrained_heads": untrained,
        "rows": int(len(x)),
    }
    members = np.ones((config.members, len(data.anchor_rows)), dtype=bool)
    return ProbeSet(
        weights=weights, bias=bias, platt_scale=scale, platt_shift=shift, vote_scale=np.zeros(n_heads, dtype=np.float32),
        heads=list(data.heads), anchors=x[data.anchor_rows].astype(np.float16),
        anchor_labels=data.labels[data.anchor_rows].astype(np.float32), anchor_members=members,
        anchor_info=list(data.anchor_info), card=card,
    )


def head_names(areas: list[str]) -> list[str]:
    return [*AXES, *(AREA_PREFIX + a for a in areas)]
