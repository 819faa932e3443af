"""Trained probe sets: linear heads over frozen embeddings and word features, their safe on-disk format, and numpy inference."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from models.atomic_files import atomic_write
from models.errors import ModelError
from models.word_features import Lexicon, WordHead

WEIGHTS_FILE = "probe.safetensors"
CARD_FILE = "card.json"
LEXICON_FILE = "lexicon.json"  # the word head's terms, checksummed in the card
FORMAT = "triage-probe/1"
AREA_PREFIX = "area:"
VOTE_K = 20  # neighbours in the label vote
VOTE_TEMPERATURE = 20.0  # softmax sharpness over cosine similarity: 0.05 more similarity ~ e times more weight


def neighbour_vote(
    vectors: np.ndarray, anchors: np.ndarray, anchor_labels: np.ndarray, *, k: int = VOTE_K, temperature: float = VOTE_TEMPERATURE,
    sims: np.ndarray | None = None,
) -> np.ndarray:
    """Per head, the similarity-weighted share of positive labels among the `k` nearest labelled anchors, as log-odds.

    Unknown labels (NaN) do not vote. `sims` may pass precomputed similarities (-inf hides an anchor).
    """
    if sims is None:
        top_sims, top = _nearest(np.asarray(vectors, dtype=np.float32), np.asarray(anchors, dtype=np.float32), k)
    else:
        k = min(k, sims.shape[1])
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        top_sims = np.take_along_axis(sims, top, axis=1)
    weight = np.exp(temperature * (top_sims - top_sims.max(axis=1, keepdims=True)))
    weight = (weight / weight.sum(axis=1, keepdims=True))[:, :, None]  # (n, k, 1), sums to 1
    labels = anchor_labels[top]  # (n, k, heads)
    known = ~np.isnan(labels)
    positive = (np.where(known, labels, 0.0) * weight).sum(axis=1)
    total = (known * weight).sum(axis=1)
    share = (positive + 0.25) / (total + 0.5)  # half a neighbour of even prior keeps the log-odds finite
    return np.log(share / (1 - share)).astype(np.float32)


def _nearest(vectors: np.ndarray, anchors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Similarities and indices of each vector's `k` nearest anchors by inner product, through an exact FAISS search:
    training votes every row against thousands of anchors, and a full similarity matrix with a partial sort over it
    took twice as long (bench/training_threads.py)."""
    import faiss

    index = faiss.IndexFlatIP(anchors.shape[1])
    index.add(np.ascontiguousarray(anchors))
    sims, top = index.search(np.ascontiguousarray(vectors), min(k, len(anchors)))
    return sims, top


def log_sum_exp(logits: np.ndarray) -> np.ndarray:
    """Log-sum-exp over the last axis: the soft maximum of component logits (one component: the logit itself)."""
    top = logits.max(axis=-1, keepdims=True)
    return (top + np.log(np.exp(logits - top).sum(axis=-1, keepdims=True)))[..., 0]


@dataclass
class Prediction:
    """Calibrated probabilities per head: the ensemble mean and its spread."""

    mean: np.ndarray  # (n, heads)
    std: np.ndarray  # (n, heads)
    logit: np.ndarray  # (n, heads) log-odds of the mean probability


@dataclass
class ProbeSet:
    """An ensemble of linear heads (safety, capabilities, hazard, one per area, and the facets of a facet axis).

    Per head, P = sigmoid(a * linear_logit + b * vote_logit + d * word_logit + c), where the linear logit of a facet
    axis (the card's `facets`) is the log-sum-exp of its facet heads' logits, the vote is the
    similarity-weighted share of positive labels among the nearest labelled anchors and the word logit comes from a
    tf-idf head over the text itself; a, b, d and c are fitted on held-out folds, so the combination is also the
    calibration (b and d are 0 for area heads, and d for probes without a word head). With `point_member` in the
    card, member 0 is the score and the other members' spread is its uncertainty; older probes average their members.
    `anchors` are the labelled training vectors: they vote, give the nearest labelled examples as evidence, and tell
    when a document is far from anything the probes were trained on.
    """

    weights: np.ndarray  # (members, heads, dim)
    bias: np.ndarray  # (members, heads)
    platt_scale: np.ndarray  # (heads,) a
    platt_shift: np.ndarray  # (heads,) c
    vote_scale: np.ndarray  # (heads,) b
    heads: list[str]
    anchors: np.ndarray  # (n_labelled, dim), float16 on disk
    anchor_labels: np.ndarray  # (n_labelled, heads), NaN where unknown
    anchor_members: np.ndarray  # (members, n_labelled) bool: the anchors in each member's bootstrap sample
    anchor_info: list[dict]
    card: dict = field(default_factory=dict)
    word_head: WordHead | None = None  # None: no word head (probes from before it, or trained without texts)

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

    def predict(self, vectors: np.ndarray, texts: Sequence[str] | None = None) -> Prediction:
        """Scores of texts from their vectors and, for a probe with a word head, the texts themselves."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.weights.shape[2]:
            raise ModelError(f"probe expects {self.weights.shape[2]}-d vectors, got shape {vectors.shape}")
        calibrated = self.platt_scale * self.linear_logits(vectors) + self.platt_shift
        if self.word_head is not None:
            if texts is None or len(texts) != len(vectors):
                raise ModelError("this probe has a word head: score texts with their vectors")
            calibrated[:, :, [self.head(name) for name in self.word_head.heads]] += self.word_head.logits(list(texts))
        if self.vote_scale.any():
            sims = vectors @ self.anchors.astype(np.float32).T
            # Each member votes with the anchors of its own bootstrap sample, so far from the labelled data,
            # where neighbours are few and distant, the members disagree and the spread grows.
            vote = np.stack([
                neighbour_vote(vectors, self.anchors, self.anchor_labels, sims=np.where(member, sims, -np.inf))
                for member in self.anchor_members
            ])
            calibrated = calibrated + self.vote_scale * vote
        members = 1.0 / (1.0 + np.exp(-np.clip(calibrated, -30, 30)))
        if self.card.get("point_member"):
            # Member 0 was fitted on every row: it is the score. The bootstrap refits only measure its spread.
            mean, std = members[0], members[1:].std(axis=0)
        else:
            mean, std = members.mean(axis=0), members.std(axis=0)
        clipped = np.clip(mean, 1e-6, 1 - 1e-6)
        return Prediction(mean=mean, std=std, logit=np.log(clipped / (1 - clipped)))

    def linear_logits(self, vectors: np.ndarray) -> np.ndarray:
        """(members, n, heads) logits of the linear heads, before calibration and the other signals. A facet axis's
        logit is the log-sum-exp of its facets' logits (models/probe_training.py, `facet_axes`)."""
        raw = np.einsum("nd,mhd->mnh", np.asarray(vectors, dtype=np.float32), self.weights) + self.bias[:, None, :]
        for axis, parts in self.card.get("facets", {}).items():
            raw[:, :, self.head(axis)] = log_sum_exp(raw[:, :, [self.head(part) for part in parts]])
        return raw

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

        tensors: dict[str, np.ndarray] = {
            "weights": np.ascontiguousarray(self.weights, dtype=np.float32),
            "bias": np.ascontiguousarray(self.bias, dtype=np.float32),
            "platt_scale": np.ascontiguousarray(self.platt_scale, dtype=np.float32),
            "platt_shift": np.ascontiguousarray(self.platt_shift, dtype=np.float32),
            "vote_scale": np.ascontiguousarray(self.vote_scale, dtype=np.float32),
            "anchors": np.ascontiguousarray(self.anchors, dtype=np.float16),
            # 0, 1 or NaN, each exact in float16: half the bytes of float32, the same scores
            "anchor_labels": np.ascontiguousarray(self.anchor_labels, dtype=np.float16),
            "anchor_members": np.ascontiguousarray(self.anchor_members, dtype=np.uint8),
        }
        words = self.word_head
        lexicon_blob, word_card = None, {}
        if words is not None:
            tensors.update(
                word_idf=np.ascontiguousarray(words.lexicon.idf, dtype=np.float32),
                word_weights=np.ascontiguousarray(words.weights, dtype=np.float16),  # halves the file (tests/test_probes.py bounds the change)
                word_bias=np.ascontiguousarray(words.bias, dtype=np.float32),
                word_scale=np.ascontiguousarray(words.scale, dtype=np.float32),
            )
            lexicon_blob = json.dumps(words.lexicon.terms, ensure_ascii=False).encode()
            word_card = {"lexicon_sha256": hashlib.sha256(lexicon_blob).hexdigest(), "word_heads": words.heads}
        blob = save(tensors, metadata={"format": FORMAT})
        card = {key: value for key, value in self.card.items() if key not in ("version", "weights_sha256", "lexicon_sha256", "word_heads")}
        card.update(format=FORMAT, heads=self.heads, anchor_info=self.anchor_info, weights_sha256=hashlib.sha256(blob).hexdigest())
        card.update(word_card)
        card["version"] = _version_of(card)
        target = Path(root) / card["version"]
        target.mkdir(parents=True, exist_ok=True)
        if lexicon_blob is not None:
            atomic_write(target / LEXICON_FILE, lexicon_blob)
        atomic_write(target / WEIGHTS_FILE, blob)
        atomic_write(target / CARD_FILE, _card_json(card))
        self.card = card
        return target


def _card_json(card: dict) -> bytes:
    """The card as indented JSON, each labelled anchor on one line: indenting every field of the default probe's
    twelve thousand anchors would add close to a megabyte of whitespace to the probe's files."""
    anchors = card.get("anchor_info")
    text = json.dumps({key: value for key, value in card.items() if key != "anchor_info"}, indent=2, ensure_ascii=False)
    if anchors is not None:
        rows = ",".join(f"\n    {json.dumps(row, ensure_ascii=False)}" for row in anchors)
        text = text.removesuffix("\n}") + f',\n  "anchor_info": [{rows}\n  ]\n}}'
    return text.encode()


def _version_of(card: dict) -> str:
    body = json.dumps({k: v for k, v in card.items() if k != "version"}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()[:12]


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
    try:
        word_head = _load_word_head(folder, card, tensors)
        probe = ProbeSet(
            weights=tensors["weights"], bias=tensors["bias"], platt_scale=tensors["platt_scale"],
            platt_shift=tensors["platt_shift"], vote_scale=tensors["vote_scale"], heads=heads, anchors=tensors["anchors"],
            anchor_labels=tensors["anchor_labels"].astype(np.float32), anchor_members=tensors["anchor_members"].astype(bool),
            anchor_info=list(card.get("anchor_info", [])), card=card,
            word_head=word_head,
        )
    except KeyError as exc:
        raise ModelError(f"{weights_path}: probe weights lack tensor {exc}") from None
    members, n_heads, dim = probe.weights.shape
    if (
        n_heads != len(heads) or probe.bias.shape != (members, n_heads) or probe.anchors.shape[1:] != (dim,)
        or probe.anchor_labels.shape != (probe.anchors.shape[0], n_heads)
        or probe.anchor_members.shape != (members, probe.anchors.shape[0])
        or (word_head is not None and (
            word_head.weights.shape != (members, len(word_head.heads), len(word_head.lexicon.terms))
            or word_head.bias.shape != (members, len(word_head.heads)) or word_head.scale.shape != (len(word_head.heads),)
            or not set(word_head.heads) <= set(heads)
        ))
    ):
        raise ModelError(f"{weights_path}: tensor shapes disagree with the card")
    return probe


def _load_word_head(folder: Path, card: dict, tensors: dict[str, np.ndarray]) -> WordHead | None:
    """The word head, its lexicon checked against the card's checksum; None for a probe without a word head."""
    expected = card.get("lexicon_sha256")
    if expected is None:
        return None
    path = folder / LEXICON_FILE
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        raise ModelError(f"{path}: missing the word head's lexicon") from None
    if hashlib.sha256(blob).hexdigest() != expected:
        raise ModelError(f"{path}: checksum mismatch (truncated or tampered); refusing to load it")
    try:
        terms = json.loads(blob)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: the lexicon is not valid JSON ({exc})") from None
    if not isinstance(terms, list) or "word_idf" not in tensors or len(tensors["word_idf"]) != len(terms):
        raise ModelError(f"{path}: the lexicon disagrees with the probe weights")
    return WordHead(
        lexicon=Lexicon(terms=[str(t) for t in terms], idf=tensors["word_idf"]), heads=[str(h) for h in card.get("word_heads", [])],
        weights=tensors["word_weights"].astype(np.float32), bias=tensors["word_bias"], scale=tensors["word_scale"],
    )
