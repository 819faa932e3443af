"""Scoring drafts, texts and papers: reading them, finding their evidence, and assessing them on the one scoring path."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from corpus.errors import InputError
from corpus.limits import DEFAULT_LIMITS, ReadLimits
from corpus.passages import split_passages
from corpus.readers.arxiv_api import ArxivSettings
from corpus.readers.drafts import read_document
from corpus.records import Passage, content_hash
from corpus.scores import SCORE_COLUMNS, ScoreRecord
from corpus.store import Store
from models.embedders import Embedder
from models.probes import ProbeSet
from triage.assessment import AreaScore, PassageScore, PassageSet, Prior, assess
from triage.embedding import embed_texts, mean_vector
from triage.index import PaperIndex
from triage.ingest import paper_for_arxiv_id
from triage.policy import POLICY_FILE, TierPolicy
from triage.probe_registry import current_probe
from triage.progress import Reporter
from triage.similar import MatchedPassage, prior_work
from triage.workspace import Workspace
from triage.workspace_data import open_store, synced_index


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
    hazard: int | None = None


@dataclass
class DocumentScore:
    """Everything `triage score` reports for one document: its score record, and the evidence behind it."""

    id: str
    title: str
    scores: ScoreRecord
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
        """Flat, as `triage score --format json` prints it: the record's fields at the top, areas with probabilities."""
        body = asdict(self)
        record = body.pop("scores")
        record.pop("areas")
        return {"id": body.pop("id"), "title": body.pop("title"), **record, **body}

    @classmethod
    def from_dict(cls, raw: dict) -> "DocumentScore":
        body = dict(raw)
        names = [a["area"] for a in body["areas"]]
        scores = ScoreRecord.from_row({**{k: body.pop(k) for k in SCORE_COLUMNS if k in body and k != "areas"}, "areas": names})
        return cls(
            id=body["id"], title=body["title"], scores=scores, areas=[AreaScore(**a) for a in body["areas"]],
            passages=[PassageScore(**p) for p in body["passages"]], similar=[with_passages(PriorWork, p) for p in body["similar"]],
            nearest_labelled=[LabelledExample(**e) for e in body["nearest_labelled"]], notes=list(body["notes"]),
            probe_version=body["probe_version"], embedder_id=body["embedder_id"], content_hash=body["content_hash"], kind=body["kind"],
        )


def with_passages(cls, raw: dict):
    """A prior-work record back from JSON, its matched passages made objects again (none in records from before them)."""
    return cls(**{**raw, "passages": [MatchedPassage(**m) for m in raw.get("passages", [])]})


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
    paper = paper_for_arxiv_id(store, arxiv_id, settings)
    text = paper.embedding_text()
    stored = store.find_paper(arxiv_id=paper.arxiv_id)
    return ScoreInput(
        id=f"arxiv:{paper.arxiv_id}", title=paper.title, text=text, passages=split_passages(text), kind="paper",
        exclude_row=stored.row_id if stored else None,
    )


def score_one(
    store: Store, probe: ProbeSet, index: PaperIndex, embedder: Embedder, item: ScoreInput, policy: TierPolicy,
    *, k_similar: int = 5, reporter: Reporter | None = None,
) -> DocumentScore:
    """Score a document as a whole and passage by passage, with its evidence."""
    texts = [p.text for p in item.passages] or [item.text]
    vectors, _ = embed_texts(store, embedder, texts, reporter=reporter, label="embedding passages")
    if item.kind == "paper":
        # A paper (title and abstract) is read as one text, as batch, the index and every training label read it, so
        # the three commands agree; on abstracts the mean of passage vectors ranked held-out sources no better
        # (docs/BENCHMARKS.md). A draft or pasted text may run to many pages: the mean of its passages.
        doc_vector = embed_texts(store, embedder, [item.text])[0][0]
    else:
        doc_vector = mean_vector(vectors)
    exclude = {item.exclude_row} if item.exclude_row is not None else set()
    match = prior_work(store, index, embedder, texts, vectors, k=k_similar, exclude=exclude)
    similar = [PriorWork(id=h.arxiv_id or h.id, title=h.title, similarity=h.similarity, year=h.year, url=h.url) for h in match.hits]
    if similar:
        similar[0].passages = match.passages
    prior = None if not similar else Prior(
        similar[0].id, similar[0].similarity, match.same_work,
        detail=f"cosine {match.similarity:.2f}, shares {match.overlap:.0%} of the passage's word information",
    )
    result = assess(
        probe, policy, doc_vector[None, :], [item.text], prior=[prior], passages=[PassageSet(item.passages, vectors) if item.passages else None],
    )[0]
    labelled_idx, labelled_sim = probe.nearest_labelled(doc_vector[None, :], k=3)
    nearest = [
        LabelledExample(
            title=probe.anchor_info[i]["title"], similarity=round(float(sim), 4), safety=probe.anchor_info[i]["safety"],
            capabilities=probe.anchor_info[i]["capabilities"], areas=probe.anchor_info[i]["areas"],
            hazard=probe.anchor_info[i].get("hazard"),
        )
        for i, sim in zip(labelled_idx[0], labelled_sim[0])
    ]
    return DocumentScore(
        id=item.id, title=item.title, scores=result.scores, areas=result.areas, passages=result.passages, similar=similar,
        nearest_labelled=nearest, notes=result.notes, probe_version=probe.version, embedder_id=embedder.model_id,
        content_hash=content_hash(item.text), kind=item.kind,
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
