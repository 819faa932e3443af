"""Training probe sets in torch: balanced, weight-decayed linear heads, bootstrap ensembles, Platt calibration."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

import numpy as np

from models.errors import ModelError
from models.metrics import binary_report
from models.probes import AREA_PREFIX, CAPABILITIES, SAFETY, ProbeSet, neighbour_vote


@dataclass(frozen=True)
class TrainingConfig:
    """Settings of one training run, kept apart from the trained weights (and recorded in the card)."""

    members: int = 8  # bootstrap ensemble size: the spread of its members is the score's uncertainty
    folds: int = 5  # cross-fitting folds: held-out logits for calibration and honest metrics
    fold_members: int = 3
    weight_decay: float = 1e-3
    learning_rate: float = 0.05
    max_epochs: int = 400
    patience: int = 25
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
        for name in (SAFETY, CAPABILITIES):
            column = self.labels[:, self.heads.index(name)]
            known = column[~np.isnan(column)]
            if len(known) < 4 or known.min() == known.max():
                raise ModelError(f"the {name} head needs labelled examples of both classes (have {int(np.nansum(column))} positive of {len(known)})")


def _fit(x, y, known, sample_weight, val_weight, config: TrainingConfig):
    """Fit `members` logistic heads at once. Returns weights (m, h, d) and biases (m, h) at the best validation loss."""
    import torch

    members = sample_weight.shape[0]
    heads, dim = y.shape[1], x.shape[1]
    # Balance classes per head and member: positives and negatives carry equal total weight.
    pos = torch.einsum("mn,nh->mh", sample_weight, y * known)
    neg = torch.einsum("mn,nh->mh", sample_weight, (1 - y) * known)
    pos_w = (pos + neg) / (2 * pos.clamp(min=1.0))
    neg_w = (pos + neg) / (2 * neg.clamp(min=1.0))
    class_w = y[None] * pos_w[:, None, :] + (1 - y[None]) * neg_w[:, None, :]  # (m, n, h)
    train_w = class_w * known[None] * sample_weight[:, :, None]
    val_w = class_w * known[None] * val_weight[:, :, None]

    weight = torch.zeros(members, heads, dim, requires_grad=True)
    bias = torch.zeros(members, heads, requires_grad=True)
    optimiser = torch.optim.Adam([weight, bias], lr=config.learning_rate)
    best_loss = torch.full((members,), float("inf"))
    best_weight, best_bias = weight.detach().clone(), bias.detach().clone()
    stale = torch.zeros(members, dtype=torch.long)
    loss_fn = torch.nn.BCEWithLogitsLoss(reduction="none")
    target = y[None].expand(members, -1, -1)
    for _ in range(config.max_epochs):
        optimiser.zero_grad()
        logits = torch.einsum("nd,mhd->mnh", x, weight) + bias[:, None, :]
        losses = loss_fn(logits, target)
        data_loss = (losses * train_w).sum(dim=(1, 2)) / train_w.sum(dim=(1, 2)).clamp(min=1e-9)
        penalty = config.weight_decay * (weight**2).sum(dim=(1, 2))
        (data_loss + penalty).sum().backward()
        optimiser.step()
        with torch.no_grad():
            val = (losses.detach() * val_w).sum(dim=(1, 2)) / val_w.sum(dim=(1, 2)).clamp(min=1e-9)
            improved = val < best_loss - 1e-5
            best_loss = torch.where(improved, val, best_loss)
            best_weight[improved] = weight.detach()[improved]
            best_bias[improved] = bias.detach()[improved]
            stale = torch.where(improved, torch.zeros_like(stale), stale + 1)
            if bool((stale > config.patience).all()):
                break
    return best_weight.numpy(), best_bias.numpy()


def _bootstrap(groups: np.ndarray, members: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Per-member row weights from a bootstrap over groups, and the out-of-bag rows for early stopping."""
    unique = np.unique(groups)
    position = np.searchsorted(unique, groups)
    sample = np.zeros((members, len(groups)), dtype=np.float32)
    out_of_bag = np.zeros_like(sample)
    for m in range(members):
        counts = np.bincount(rng.integers(0, len(unique), len(unique)), minlength=len(unique))
        sample[m] = counts[position]
        out_of_bag[m] = (counts[position] == 0).astype(np.float32)
    return sample, out_of_bag


def _ensemble(x: np.ndarray, y: np.ndarray, known: np.ndarray, groups: np.ndarray, members: int, config: TrainingConfig, rng):
    import torch

    sample, out_of_bag = _bootstrap(groups, members, rng)
    weights, bias = _fit(
        torch.from_numpy(x), torch.from_numpy(np.nan_to_num(y)), torch.from_numpy(known), torch.from_numpy(sample),
        torch.from_numpy(out_of_bag), config,
    )
    return weights, bias, sample > 0


def _stack(logits: np.ndarray, votes: np.ndarray, y: np.ndarray, known: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per head, fit p = sigmoid(a*z + b*v + c) on held-out linear logits z and neighbour votes v (Newton, convex).

    This is Platt scaling with the vote as a second input: it calibrates and weighs the two signals at once.
    """
    heads = logits.shape[1]
    scale, vote_scale, shift = np.ones(heads), np.zeros(heads), np.zeros(heads)
    ridge = 1e-3 * np.eye(3)
    for h in range(heads):
        mask = known[:, h] > 0
        t = y[mask, h].astype(np.float64)
        if len(t) < 4 or t.min() == t.max():
            continue
        features = np.column_stack([logits[mask, h], votes[mask, h], np.ones(mask.sum())]).astype(np.float64)
        theta = np.array([1.0, 0.0, 0.0])
        for _ in range(100):
            p = 1 / (1 + np.exp(-np.clip(features @ theta, -30, 30)))
            grad = features.T @ (p - t) + ridge @ (theta - np.array([1.0, 0.0, 0.0]))
            hess = (features * (p * (1 - p))[:, None]).T @ features + ridge
            step = np.linalg.solve(hess, grad)
            theta -= step
            if np.abs(step).max() < 1e-8:
                break
        # A negative weight would invert a signal's meaning; such a fit is noise, so floor it.
        scale[h], vote_scale[h], shift[h] = max(theta[0], 1e-3), max(theta[1], 0.0), theta[2]
    return scale.astype(np.float32), vote_scale.astype(np.float32), shift.astype(np.float32)


def _folds(groups: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    unique = np.unique(groups)
    assignment = rng.permutation(len(unique)) % k
    return assignment[np.searchsorted(unique, groups)]


def cross_validated_logits(data: TrainingSet, config: TrainingConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Out-of-fold linear logits and neighbour votes for every row (from folds that never saw its group), and fold ids."""
    rng = np.random.default_rng(config.seed)
    x = data.vectors.astype(np.float32)
    known = (~np.isnan(data.labels)).astype(np.float32)
    fold = _folds(data.groups, config.folds, rng)
    logits = np.zeros(data.labels.shape, dtype=np.float32)
    votes = np.zeros(data.labels.shape, dtype=np.float32)
    anchor_fold = fold[data.anchor_rows]
    for k in range(config.folds):
        train, test = fold != k, fold == k
        w, b, _ = _ensemble(x[train], data.labels[train], known[train], data.groups[train], config.fold_members, config, rng)
        logits[test] = (np.einsum("nd,mhd->mnh", x[test], w) + b[:, None, :]).mean(axis=0)
        anchors = data.anchor_rows[anchor_fold != k]
        votes[test] = neighbour_vote(x[test], x[anchors], data.labels[anchors])
    return logits, votes, fold


def _metrics(data: TrainingSet, logits: np.ndarray, votes: np.ndarray, scale: np.ndarray, vote_scale: np.ndarray, shift: np.ndarray) -> dict:
    report = {}
    for h, name in enumerate(data.heads):
        known = ~np.isnan(data.labels[:, h])
        y = data.labels[known, h]
        if len(y) < 4 or y.min() == y.max():
            continue
        raw = 1 / (1 + np.exp(-logits[known, h]))
        calibrated = 1 / (1 + np.exp(-(scale[h] * logits[known, h] + vote_scale[h] * votes[known, h] + shift[h])))
        report[name] = binary_report(y, calibrated) | {"ece_uncalibrated": binary_report(y, raw)["ece"]}
    return report


def train_probe_set(data: TrainingSet, *, embedder_id: str, label_set: dict, config: TrainingConfig | None = None) -> ProbeSet:
    """Cross-fit for held-out logits and votes (stacking, calibration, metrics), then train the final ensemble on every row."""
    config = config or TrainingConfig()
    logits, votes, _ = cross_validated_logits(data, config)
    known = (~np.isnan(data.labels)).astype(np.float32)
    scale, vote_scale, shift = _stack(logits, votes, np.nan_to_num(data.labels), known)
    rng = np.random.default_rng(config.seed + 1)
    weights, bias, in_bag = _ensemble(data.vectors.astype(np.float32), data.labels, known, data.groups, config.members, config, rng)
    card = {
        "embedder_id": embedder_id,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "label_set": label_set,
        "training": asdict(config),
        "cv_metrics": _metrics(data, logits, votes, scale, vote_scale, shift),
        "rows": int(len(data.vectors)),
    }
    return ProbeSet(
        weights=weights.astype(np.float32), bias=bias.astype(np.float32), platt_scale=scale, platt_shift=shift,
        vote_scale=vote_scale, heads=list(data.heads), anchors=data.vectors[data.anchor_rows].astype(np.float16),
        anchor_labels=data.labels[data.anchor_rows].astype(np.float32), anchor_members=in_bag[:, data.anchor_rows],
        anchor_info=list(data.anchor_info), card=card,
    )


def head_names(areas: list[str]) -> list[str]:
    return [SAFETY, CAPABILITIES, *(AREA_PREFIX + a for a in areas)]
