"""The one scoring path: document texts with their vectors (and passages) in, score records with tier, reasons and evidence out.

`triage score`, `triage batch` and the review queue all call `assess`, so the same text gets the same scores,
tier and reasons through each of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from corpus.records import Passage
from corpus.scores import SCORE_COLUMNS, ScoreRecord  # noqa: F401  (re-exported for the faces)
from models.axes import CAPABILITIES, HAZARD, SAFETY
from models.probes import AREA_PREFIX, ProbeSet
from triage.policy import TierPolicy, decide_tier
from triage.seed import area_side

AXES = (SAFETY, CAPABILITIES, HAZARD)
TOP_PASSAGES = 3
HAZARD_PASSAGE_FLOOR = 0.5  # a passage is shown as driving hazard only when it is itself more likely hazardous than not
AREA_MIN_PROBABILITY = 0.35
MAX_AREAS = 3
DIGITS = 4


@dataclass
class PassageScore:
    start: int
    end: int
    text: str
    safety: float
    capabilities: float
    hazard: float = 0.0
    drives: list[str] = field(default_factory=list)  # the axes this passage is a top driver of


@dataclass
class AreaScore:
    area: str
    probability: float
    side: str


@dataclass
class PassageSet:
    """A document's passages and their vectors, for passage attribution and the passage rules of the tier."""

    passages: list[Passage]
    vectors: np.ndarray


@dataclass(frozen=True)
class Prior:
    """A document's nearest other paper, and whether it counts as the same work (`triage/similar.py` decides)."""

    id: str
    similarity: float
    same_work: bool
    detail: str = ""  # how the match was judged, for the note


@dataclass
class Assessment:
    """One document's score record, with the evidence behind it."""

    scores: ScoreRecord
    areas: list[AreaScore]
    passages: list[PassageScore]
    notes: list[str]
    labelled_similarity: float


def _logit(p: np.ndarray) -> np.ndarray:
    clipped = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(clipped / (1 - clipped))


def _top_areas(probe: ProbeSet, probabilities: np.ndarray) -> list[AreaScore]:
    side = area_side()
    columns = [i for i, head in enumerate(probe.heads) if head.startswith(AREA_PREFIX)]
    order = sorted(columns, key=lambda i: -probabilities[i])[:MAX_AREAS]
    return [
        AreaScore(area=probe.heads[i][len(AREA_PREFIX):], probability=round(float(probabilities[i]), DIGITS), side=side.get(probe.heads[i][len(AREA_PREFIX):], ""))
        for i in order
        if probabilities[i] >= AREA_MIN_PROBABILITY
    ]


def _axis(probe: ProbeSet, values: np.ndarray, name: str) -> np.ndarray:
    """One axis' column; a probe from before the axis existed reads as 0 on it."""
    return values[:, probe.head(name)] if name in probe.heads else np.zeros(len(values), dtype=np.float32)


def _passage_scores(probe: ProbeSet, passages: PassageSet, doc_logits: dict[str, float]) -> list[PassageScore]:
    """Passages that push an axis up: log-odds above the whole document's, the top three per axis, in text order."""
    if len(passages.passages) < 2:
        return []
    prediction = probe.predict(passages.vectors, [p.text for p in passages.passages])
    probabilities = {axis: _axis(probe, prediction.mean, axis) for axis in AXES}
    drives: dict[int, list[str]] = {}
    for axis in (HAZARD, CAPABILITIES, SAFETY):
        if axis not in probe.heads:
            continue
        lift = _logit(probabilities[axis]) - doc_logits[axis]
        for i in np.argsort(-lift)[:TOP_PASSAGES]:
            if lift[i] > 0 and (axis != HAZARD or probabilities[HAZARD][i] >= HAZARD_PASSAGE_FLOOR):
                drives.setdefault(int(i), []).append(axis)
    return [
        PassageScore(
            start=passages.passages[i].start, end=passages.passages[i].end, text=passages.passages[i].text,
            safety=round(float(probabilities[SAFETY][i]), DIGITS), capabilities=round(float(probabilities[CAPABILITIES][i]), DIGITS),
            hazard=round(float(probabilities[HAZARD][i]), DIGITS), drives=drives[i],
        )
        for i in sorted(drives)
    ]


def assess(
    probe: ProbeSet, policy: TierPolicy, doc_vectors: np.ndarray, texts: Sequence[str], *,
    prior: Sequence[Prior | None], passages: Sequence[PassageSet | None] | None = None,
) -> list[Assessment]:
    """Score documents: calibrated axes with their spread, the tier and its reasons, areas, driving passages, notes.

    `prior` holds each document's nearest other paper or None; `passages`, where given, adds passage
    attribution and the passage rules (a capability-heavy or hazardous passage keeps a draft out of "publish").
    """
    doc_vectors = np.asarray(doc_vectors, dtype=np.float32)
    prediction = probe.predict(doc_vectors, texts)
    mean, std = prediction.mean, prediction.std
    _, labelled = probe.nearest_labelled(doc_vectors, k=1)
    axes = {axis: _axis(probe, mean, axis) for axis in AXES}
    spreads = {axis: _axis(probe, std, axis) for axis in AXES}
    differential = _logit(axes[SAFETY]) - _logit(axes[CAPABILITIES])
    results = []
    for i in range(len(doc_vectors)):
        value = {axis: round(float(axes[axis][i]), DIGITS) for axis in AXES}
        spread = {axis: round(float(spreads[axis][i]), DIGITS) for axis in AXES}
        doc_logits = {axis: float(_logit(axes[axis][i : i + 1])[0]) for axis in AXES}
        passage_set = passages[i] if passages is not None else None
        driving = _passage_scores(probe, passage_set, doc_logits) if passage_set is not None else []
        max_cap = max((p.capabilities for p in driving), default=None)
        max_hazard = max((p.hazard for p in driving), default=None)
        similarity = float(labelled[i, 0])
        decision = decide_tier(
            policy, safety=value[SAFETY], capabilities=value[CAPABILITIES], hazard=value[HAZARD],
            safety_std=spread[SAFETY], capabilities_std=spread[CAPABILITIES], hazard_std=spread[HAZARD],
            differential=float(differential[i]), labelled_similarity=similarity,
            max_passage_capabilities=max_cap, max_passage_hazard=max_hazard,
        )
        reasons, notes = list(decision.reasons), []
        nearest = prior[i]
        if nearest is not None and nearest.same_work:
            reasons.append("similar-public-work")
            notes.append(
                f"closely matches public work {nearest.id} ({nearest.detail or f'cosine {nearest.similarity:.2f}'}); "
                "what is already public carries less marginal risk"
            )
        if "out-of-distribution" in reasons:
            notes.append(f"far from every labelled example (nearest similarity {similarity:.2f}); the scores are a guess")
        if "capability-passage" in reasons and max_cap is not None:
            notes.append(f"one passage scores {max_cap:.2f} on capabilities; read it before publishing")
        if "misuse-hazard" in reasons:
            worst = max(value[HAZARD], max_hazard or 0.0)
            notes.append(f"misuse hazard {worst:.2f}: check whether the text or its artefacts hand over a working attack before publishing")
        areas = _top_areas(probe, mean[i])
        results.append(Assessment(
            scores=ScoreRecord(
                safety=value[SAFETY], safety_std=spread[SAFETY], capabilities=value[CAPABILITIES],
                capabilities_std=spread[CAPABILITIES], hazard=value[HAZARD], hazard_std=spread[HAZARD],
                differential=round(float(differential[i]), DIGITS), tier=decision.tier, reasons=reasons,
                areas=[a.area for a in areas],
            ),
            areas=areas, passages=driving, notes=notes, labelled_similarity=round(similarity, DIGITS),
        ))
    return results
