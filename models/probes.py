"""Trained probe sets: linear heads over frozen embeddings, their safe on-disk format, and numpy inference."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from models.errors import ModelError

WEIGHTS_FILE = "probe.safetensors"
CARD_FILE = "card.json"
FORMAT = "triage-probe/1"
SAFETY, CAPABILITIES = "safety", "capabilities"
AREA_PREFIX = "area:"


@dataclass
class Prediction:
    """Calibrated probabilities per head: the ensemble mean, its spread, and each member's values."""

    mean: np.ndarray  # (n, heads)
    std: np.ndarray  # (n, heads)
    logit: np.ndarray  # (n, heads) log-odds of the mean probability


@dataclass
class ProbeSet:
    """An ensemble of linear heads (safety, capabilities, one per area) with Platt calibration per head.

    `anchors` are the labelled training vectors: they give the nearest labelled examples as evidence
    and tell when a document is far from anything the probes were trained on.
    """

    weights: np.ndarray  # (members, heads, dim)
    bias: np.ndarray  # (members, heads)
    platt_scale: np.ndarray  # (heads,)
    platt_shift: np.ndarray  # (heads,)
    heads: list[str]
    anchors: np.ndarray  # (n_labelled, dim), float16 on disk
    anchor_info: list[dict]
    card: dict = field(default_factory=dict)

    @property
    def version(self) -> str:
        return self.card.get("version", "unsaved")

    @property
    def embedder_id(self) -> str:
        return self.card.get("embedder_id", "")

    @property
    def area_names(self) -> list[str]:
        return [h[len(AREA_PREFIX):] for h in self.heads if h.startswith(AREA_PREFIX)]

    def head(self, name: str) -> int:
        return self.heads.index(name)

    def predict(self, vectors: np.ndarray) -> Prediction:
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.weights.shape[2]:
            raise ModelError(f"probe expects {self.weights.shape[2]}-d vectors, got shape {vectors.shape}")
        raw = np.einsum("nd,mhd->mnh", vectors, self.weights) + self.bias[:, None, :]
        calibrated = self.platt_scale * raw + self.platt_shift
        members = 1.0 / (1.0 + np.exp(-np.clip(calibrated, -30, 30)))
        mean = members.mean(axis=0)
        clipped = np.clip(mean, 1e-6, 1 - 1e-6)
        return Prediction(mean=mean, std=members.std(axis=0), logit=np.log(clipped / (1 - clipped)))

    def nearest_labelled(self, vectors: np.ndarray, k: int = 3) -> tuple[np.ndarray, np.ndarray]:
        """Indices into `anchor_info` and cosine similarities of the `k` nearest labelled examples."""
        sims = np.asarray(vectors, dtype=np.float32) @ self.anchors.astype(np.float32).T
        k = min(k, sims.shape[1])
        top = np.argsort(-sims, axis=1)[:, :k]
        return top, np.take_along_axis(sims, top, axis=1)

    # --- persistence ----------------------------------------------------------------------------

    def save(self, root: Path) -> Path:
        """Write `root/<version>/probe.safetensors` and `card.json`; the version hashes both."""
        from safetensors.numpy import save

        tensors = {
            "weights": np.ascontiguousarray(self.weights, dtype=np.float32),
            "bias": np.ascontiguousarray(self.bias, dtype=np.float32),
            "platt_scale": np.ascontiguousarray(self.platt_scale, dtype=np.float32),
            "platt_shift": np.ascontiguousarray(self.platt_shift, dtype=np.float32),
            "anchors": np.ascontiguousarray(self.anchors, dtype=np.float16),
        }
        blob = save(tensors, metadata={"format": FORMAT})
        card = {key: value for key, value in self.card.items() if key not in ("version", "weights_sha256")}
        card.update(format=FORMAT, heads=self.heads, anchor_info=self.anchor_info, weights_sha256=hashlib.sha256(blob).hexdigest())
        card["version"] = _version_of(card)
        target = Path(root) / card["version"]
        target.mkdir(parents=True, exist_ok=True)
        _atomic_write(target / WEIGHTS_FILE, blob)
        _atomic_write(target / CARD_FILE, json.dumps(card, indent=2, ensure_ascii=False).encode())
        self.card = card
        return target


def _version_of(card: dict) -> str:
    body = json.dumps({k: v for k, v in card.items() if k != "version"}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()[:12]


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def read_card(folder: Path) -> dict:
    """The probe's card, checked against its own version hash (a hand-edited card is refused)."""
    path = Path(folder) / CARD_FILE
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{path}: missing probe card") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: probe card is not valid JSON ({exc})") from None
    if not isinstance(card, dict) or card.get("format") != FORMAT:
        raise ModelError(f"{path}: not a probe card of format {FORMAT}")
    if card.get("version") != _version_of(card):
        raise ModelError(f"{path}: probe card was modified after it was written (version hash mismatch); refusing it")
    return card


def load_probe(folder: Path) -> ProbeSet:
    """Load and verify a probe set. Only safetensors and JSON are read: nothing executes code."""
    from safetensors import SafetensorError
    from safetensors.numpy import load

    folder = Path(folder)
    card = read_card(folder)
    weights_path = folder / WEIGHTS_FILE
    try:
        blob = weights_path.read_bytes()
    except FileNotFoundError:
        raise ModelError(f"{weights_path}: missing probe weights") from None
    if hashlib.sha256(blob).hexdigest() != card.get("weights_sha256"):
        raise ModelError(f"{weights_path}: checksum mismatch (truncated or tampered); refusing to load it")
    try:
        tensors = load(blob)
    except (SafetensorError, ValueError) as exc:
        raise ModelError(f"{weights_path}: unreadable probe weights ({exc})") from None
    heads = list(card["heads"])
    probe = ProbeSet(
        weights=tensors["weights"], bias=tensors["bias"], platt_scale=tensors["platt_scale"],
        platt_shift=tensors["platt_shift"], heads=heads, anchors=tensors["anchors"],
        anchor_info=list(card.get("anchor_info", [])), card=card,
    )
    members, n_heads, dim = probe.weights.shape
    if n_heads != len(heads) or probe.bias.shape != (members, n_heads) or probe.anchors.shape[1:] != (dim,):
        raise ModelError(f"{weights_path}: tensor shapes disagree with the card")
    return probe
