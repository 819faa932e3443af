"""Scoring documents: calibrated safety and capability probabilities, a tier, and the evidence behind it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from corpus.errors import InputError
from corpus.limits import DEFAULT_LIMITS, ReadLimits
from corpus.passages import split_passages
from corpus.readers.arxiv_api import ArxivSettings
from corpus.readers.drafts import read_document
from corpus.records import Passage, content_hash
from corpus.store import Store
from models.embedders import Embedder
from models.probes import CAPABILITIES, SAFETY, ProbeSet
from triage.embedding import embed_texts
from triage.index import PaperIndex
from triage.library import open_store, synced_index
from triage.policy import POLICY_FILE, TierPolicy, decide_tier
from triage.probe_registry import current_probe
from triage.progress import Reporter
from triage.seed import load_taxonomy
from triage.similar import MatchedPassage, _paper_for_arxiv_id, prior_work
from triage.workspace import Workspace

TOP_PASSAGES = 3
AREA_MIN_PROBABILITY = 0.35
MAX_AREAS = 3


@dataclass
class ScoreInput:
    """One thing to score: a draft, a pasted text, or a paper, already split into passages."""

    id: str
    title: str
    text: str
    passages: list[Passage]
    kind: str  # "draft", "text" or "paper"
    exclude_row: int | None = None  # the paper's own row in the index, kept out of its prior work


@dataclass
class PassageScore:
    start: int
    end: int
    text: str
    safety: float
    capabilities: float
    drives: list[str] = field(default_factory=list)  # which axis this passage is a top driver of


@dataclass
class AreaScore:
    area: str
    probability: float
    side: str


@dataclass
class PriorWork:
    id: str
    title: str
    similarity: float
    year: int | None = None
    url: str | None = None
    passages: list[MatchedPassage] = field(default_factory=list)  # draft passages beside this paper's text, when it is the same work


@dataclass
class LabelledExample:
    title: str
    similarity: float
    safety: int | None
    capabilities: int | None
    areas: list[str]


@dataclass
class DocumentScore:
    """Everything `triage score` reports for one document. `differential` = logit P(safety) - logit P(capabilities)."""

    id: str
    title: str
    safety: float
    safety_std: float
    capabilities: float
    capabilities_std: float
    differential: float
    tier: str
    reasons: list[str]
    areas: list[AreaScore]
    passages: list[PassageScore]
    similar: list[PriorWork]
    nearest_labelled: list[LabelledExample]
    notes: list[str]
    probe_version: str
    embedder_id: str
    content_hash: str
    kind: str

    def to_dict(self) -> dict:
        return asdict(self)


def inputs_from_text(text: str, title: str | None = None) -> ScoreInput:
    cleaned = text.strip()
    if not cleaned:
        raise InputError("the text to score is empty")
    return ScoreInput(
        id=f"text:{content_hash(cleaned)[:12]}", title=title or " ".join(cleaned.split())[:80], text=cleaned,
        passages=split_passages(cleaned), kind="text",
    )


def inputs_from_file(path: Path, limits: ReadLimits = DEFAULT_LIMITS) -> ScoreInput:
    document = read_document(Path(path), limits=limits)
    return ScoreInput(id=f"draft:{document.content_hash[:12]}", title=document.title, text=document.text, passages=document.passages, kind="draft")


def _inputs_from_arxiv(store: Store, arxiv_id: str, settings: ArxivSettings | None) -> ScoreInput:
    paper = _paper_for_arxiv_id(store, arxiv_id, settings)
    text = paper.embedding_text()
    stored = store.find_paper(arxiv_id=paper.arxiv_id)
    return ScoreInput(
        id=f"arxiv:{paper.arxiv_id}", title=paper.title, text=text, passages=split_passages(text), kind="paper",
        exclude_row=stored.row_id if stored else None,
    )


def _area_side() -> dict[str, str]:
    taxonomy = load_taxonomy()
    return {**{a: SAFETY for a in taxonomy["safety"]}, **{a: CAPABILITIES for a in taxonomy["capabilities"]}}


def score_vectors(probe: ProbeSet, doc_vectors: np.ndarray) -> dict[str, np.ndarray]:
    """Vectorised core for many documents: probabilities, spreads, differential and labelled similarity."""
    prediction = probe.predict(doc_vectors)
    s, c = probe.head(SAFETY), probe.head(CAPABILITIES)
    _, labelled_sims = probe.nearest_labelled(doc_vectors, k=1)
    return {
        "safety": prediction.mean[:, s],
        "safety_std": prediction.std[:, s],
        "capabilities": prediction.mean[:, c],
        "capabilities_std": prediction.std[:, c],
        "differential": prediction.logit[:, s] - prediction.logit[:, c],
        "labelled_similarity": labelled_sims[:, 0],
        "areas": prediction.mean[:, 2:],
    }


def top_areas(probe: ProbeSet, area_probabilities: np.ndarray) -> list[AreaScore]:
    side = _area_side()
    order = np.argsort(-area_probabilities)[:MAX_AREAS]
    names = probe.area_names
    return [
        AreaScore(area=names[i], probability=round(float(area_probabilities[i]), 4), side=side.get(names[i], ""))
        for i in order
        if area_probabilities[i] >= AREA_MIN_PROBABILITY
    ]


def _passage_scores(probe: ProbeSet, item: ScoreInput, vectors: np.ndarray, doc_logits: dict[str, float]) -> list[PassageScore]:
    """Passages that push an axis up: log-odds above the whole document's, the top three per axis, in text order."""
    if len(item.passages) < 2:
        return []
    prediction = probe.predict(vectors)
    s, c = probe.head(SAFETY), probe.head(CAPABILITIES)
    drives: dict[int, list[str]] = {}
    for axis, column in ((CAPABILITIES, c), (SAFETY, s)):
        lift = prediction.logit[:, column] - doc_logits[axis]
        for i in np.argsort(-lift)[:TOP_PASSAGES]:
            if lift[i] > 0:
                drives.setdefault(int(i), []).append(axis)
    return [
        PassageScore(
            start=item.passages[i].start, end=item.passages[i].end, text=item.passages[i].text,
            safety=round(float(prediction.mean[i, s]), 4), capabilities=round(float(prediction.mean[i, c]), 4), drives=drives[i],
        )
        for i in sorted(drives)
    ]


def score_one(
    store: Store, probe: ProbeSet, index: PaperIndex, embedder: Embedder, item: ScoreInput, policy: TierPolicy,
    *, k_similar: int = 5, reporter: Reporter | None = None,
) -> DocumentScore:
    """Score a document as a whole (mean of its passage vectors) and passage by passage, with its evidence."""
    texts = [p.text for p in item.passages] or [item.text]
    vectors, _ = embed_texts(store, embedder, texts, reporter=reporter, label="embedding passages")
    mean = vectors.mean(axis=0)
    doc_vector = (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)[None, :]
    core = score_vectors(probe, doc_vector)
    logit = lambda p: float(np.log(p / (1 - p)))  # noqa: E731
    doc_logits = {SAFETY: logit(float(core["safety"][0])), CAPABILITIES: logit(float(core["capabilities"][0]))}
    passages = _passage_scores(probe, item, vectors, doc_logits)
    max_passage_cap = max((p.capabilities for p in passages), default=None)
    decision = decide_tier(
        policy, safety=float(core["safety"][0]), capabilities=float(core["capabilities"][0]),
        safety_std=float(core["safety_std"][0]), capabilities_std=float(core["capabilities_std"][0]),
        differential=float(core["differential"][0]), labelled_similarity=float(core["labelled_similarity"][0]),
        max_passage_capabilities=max_passage_cap,
    )
    exclude = {item.exclude_row} if item.exclude_row is not None else set()
    match = prior_work(store, index, embedder, texts, vectors, k=k_similar, exclude=exclude)
    similar = [PriorWork(id=h.arxiv_id or h.id, title=h.title, similarity=h.similarity, year=h.year, url=h.url) for h in match.hits]
    if similar:
        similar[0].passages = match.passages
    labelled_idx, labelled_sim = probe.nearest_labelled(doc_vector, k=3)
    nearest = [
        LabelledExample(
            title=probe.anchor_info[i]["title"], similarity=round(float(sim), 4), safety=probe.anchor_info[i]["safety"],
            capabilities=probe.anchor_info[i]["capabilities"], areas=probe.anchor_info[i]["areas"],
        )
        for i, sim in zip(labelled_idx[0], labelled_sim[0])
    ]
    reasons, notes = list(decision.reasons), []
    if match.same_work:
        reasons.append("similar-public-work")
        notes.append(
            f"closely matches public work {similar[0].id} (cosine {match.similarity:.2f}, shares {match.overlap:.0%} of the "
            "passage's word information); what is already public carries less marginal risk"
        )
    if "out-of-distribution" in reasons:
        notes.append(f"far from every labelled example (nearest similarity {float(core['labelled_similarity'][0]):.2f}); the scores are a guess")
    if "capability-passage" in reasons:
        notes.append(f"one passage scores {max_passage_cap:.2f} on capabilities; read it before publishing")
    return DocumentScore(
        id=item.id, title=item.title,
        safety=round(float(core["safety"][0]), 4), safety_std=round(float(core["safety_std"][0]), 4),
        capabilities=round(float(core["capabilities"][0]), 4), capabilities_std=round(float(core["capabilities_std"][0]), 4),
        differential=round(float(core["differential"][0]), 4), tier=decision.tier, reasons=reasons,
        areas=top_areas(probe, core["areas"][0]), passages=passages, similar=similar, nearest_labelled=nearest, notes=notes,
        probe_version=probe.version, embedder_id=embedder.model_id, content_hash=content_hash(item.text), kind=item.kind,
    )


def score_documents(
    workspace: Workspace,
    *,
    embedder: Embedder,
    paths: list[Path] | None = None,
    texts: list[str] | None = None,
    arxiv_ids: list[str] | None = None,
    probe_version: str | None = None,
    policy: TierPolicy | None = None,
    k_similar: int = 5,
    arxiv_settings: ArxivSettings | None = None,
    reporter: Reporter | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
) -> list[DocumentScore]:
    """Score drafts, texts and arXiv papers. Drafts and texts never reach the network; an unknown arXiv id does."""
    items = [inputs_from_file(Path(p), limits) for p in paths or []] + [inputs_from_text(t) for t in texts or []]
    if not items and not arxiv_ids:
        raise InputError("nothing to score: give draft files, --text or --arxiv-id")
    policy = policy or TierPolicy.load(workspace.home / POLICY_FILE)
    with open_store(workspace) as store:
        items += [_inputs_from_arxiv(store, a, arxiv_settings) for a in arxiv_ids or []]
        probe = current_probe(workspace, store, embedder, version=probe_version, reporter=reporter)
        index, _ = synced_index(workspace, store, embedder, reporter)
        return [score_one(store, probe, index, embedder, item, policy, k_similar=k_similar, reporter=reporter) for item in items]
