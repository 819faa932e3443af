"""Review sessions: a queue of drafts and papers, reviewers' decisions in an append-only log, undo, and retraining."""

from __future__ import annotations

import getpass
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from corpus import reviews
from corpus.errors import CorpusError, InputError
from corpus.reviews import DecisionRow, ItemRow
from corpus.store import Store, utc_now
from triage.errors import UsageError
from triage.progress import Reporter
from triage.review_labels import DECISION_SOURCE, derived_label
from triage.review_records import (
    RATIONALE_OPTIONAL,
    Checklist,
    ItemScore,
    PriorDetail,
    QueueItem,
    effective_decisions,
    parse_state,
)
from triage.workspace import Workspace
from triage.workspace_data import open_store

if TYPE_CHECKING:
    from corpus.readers.arxiv_api import ArxivSettings
    from corpus.records import Document
    from models.embedders import Embedder
    from models.probe_training import TrainingConfig
    from models.probes import ProbeSet
    from triage.policy import TierPolicy
    from triage.review_export import ExportReport
    from triage.review_stats import ReviewStats
    from triage.scoring import PriorWork, ScoreInput

DEFAULT_SESSION = "default"


def default_reviewer() -> str:
    """`TRIAGE_REVIEWER`, else the login name."""
    name = os.environ.get("TRIAGE_REVIEWER", "").strip()
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, as in some containers
        return "reviewer"


@dataclass(frozen=True)
class PassageChange:
    """How a version's passages differ from the version before it (passages compared by their text)."""

    version: int
    changed: list[int]  # 1-based numbers of this version's passages that are new or edited
    removed: int  # passages of the version before that are gone
    total: int


@dataclass(frozen=True)
class ItemText:
    """The text an item was scored on; score passages are character offsets into it. `changes`: one per revision."""

    title: str
    text: str
    changes: list[PassageChange] = field(default_factory=list)


@dataclass
class DraftsQueued:
    """What queuing drafts did: the item per good file, which of them are new versions, and the files refused."""

    items: list[int] = field(default_factory=list)
    revised: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # one line each, naming the file


class ReviewSession:
    """One named session in a workspace: what the review app and `triage review` call.

    Every method opens the workspace's store for itself, so the app's worker threads and the CLI can share one
    instance safely. Each decision is committed in its own transaction before `decide` returns.
    """

    def __init__(self, workspace: Workspace, name: str, session_id: int):
        self.workspace = workspace
        self.name = name
        self.session_id = session_id

    @classmethod
    def open(cls, workspace: Workspace, name: str = DEFAULT_SESSION, *, create: bool = True) -> "ReviewSession":
        """The session called `name`; created on first use unless `create` is False."""
        name = " ".join(name.split())
        if not name:
            raise UsageError("a review session needs a name")
        with open_store(workspace) as store:
            row = reviews.create_session(store, name) if create else reviews.get_session(store, name)
        if row is None:
            known = cls.names(workspace)
            raise UsageError(f"no review session {name!r} in {workspace.home}" + (f"; sessions: {', '.join(known)}" if known else ""))
        return cls(workspace, row.name, row.id)

    @staticmethod
    def names(workspace: Workspace) -> list[str]:
        with open_store(workspace) as store:
            return [s.name for s in reviews.list_sessions(store)]

    @contextmanager
    def _store(self) -> Iterator[Store]:
        with open_store(self.workspace) as store:
            reviews.make_durable(store)
            yield store

    # --- the queue ----------------------------------------------------------------------------------------------

    def add_drafts(self, paths: list[Path]) -> list[int]:
        """Read drafts (md, txt, tex, pdf), keep them as documents, and queue them. Every file is read before any is queued."""
        from corpus.readers.drafts import read_document

        return self._queue_documents([(Path(p), read_document(Path(p))) for p in paths]).items

    def queue_drafts(self, paths: list[Path]) -> DraftsQueued:
        """Queue every draft that can be read; a missing, empty or unreadable file is reported, not fatal to the rest."""
        from corpus.readers.drafts import read_document

        documents, problems = [], []
        for path in map(Path, paths):
            try:
                documents.append((path, read_document(path)))
            except (CorpusError, OSError, ValueError) as exc:  # readers name the file in their one-line messages
                problems.append(str(exc) if str(path) in str(exc) else f"{path}: {exc}")
        queued = self._queue_documents(documents)
        queued.problems = problems
        return queued

    def _queue_documents(self, documents: list[tuple[Path, "Document"]]) -> DraftsQueued:
        """A draft is identified by its path within the session: changed content at a queued path is a new version."""
        queued = DraftsQueued()
        with self._store() as store, store.transaction():
            for path, document in documents:
                item_id, new = reviews.add_item(store, self.session_id, document_id=store.add_document(document), path=str(path.resolve()))
                queued.items.append(item_id)
                stored = reviews.get_item(store, item_id) if new else None
                if stored is not None and stored.version > 1:
                    queued.revised.append(item_id)
        return queued

    def add_papers(self, arxiv_ids: list[str], *, settings: "ArxivSettings | None" = None) -> list[int]:
        """Queue arXiv papers; one the workspace does not hold yet is fetched from arXiv (network)."""
        from triage.ingest import paper_for_arxiv_id

        with self._store() as store:
            papers = [paper_for_arxiv_id(store, raw, settings) for raw in arxiv_ids]
            rows = [store.find_paper(arxiv_id=p.arxiv_id) for p in papers]
            with store.transaction():
                return [reviews.add_item(store, self.session_id, paper_id=row.row_id)[0] for row in rows if row is not None]

    def queue(self, reviewer: str, *, blind: bool = True) -> list[QueueItem]:
        """One entry per draft or paper, in queue order: its latest version, with earlier versions attached.

        Each carries its latest scores and `reviewer`'s decision in force. Other reviewers' states are included when
        `blind` is False (adjudication), or once `reviewer` has recorded a decision of their own on that version.
        """
        with self._store() as store:
            items = reviews.list_items(store, self.session_id)
            scores = reviews.list_scores(store, self.session_id)
            log = reviews.list_decisions(store, session_id=self.session_id)
        current = effective_decisions(log)
        revealed = _decided_by(log, reviewer)
        others: dict[int, dict[str, str]] = {}
        for (item_id, name), decision in current.items():
            if name != reviewer and (not blind or item_id in revealed):
                others.setdefault(item_id, {})[name] = decision.state or ""
        versions: dict[int, list[QueueItem]] = {}
        for item in sorted(items, key=lambda i: (i.position, i.version)):
            cached = scores.get(item.id)
            versions.setdefault(item.root, []).append(
                QueueItem(
                    item=item, score=ItemScore.from_dict(cached.score) if cached else None,
                    decision=current.get((item.id, reviewer)), others=dict(sorted(others.get(item.id, {}).items())),
                )
            )
        entries = []
        for chain in versions.values():
            latest = chain[-1]
            latest.earlier = chain[:-1]
            entries.append(latest)
        return entries

    def item_text(self, item_id: int) -> ItemText:
        """The item's text, and for a revised draft how each version's passages changed from the one before."""
        with self._store() as store:
            item = self._item(store, item_id)
            chain = [i for i in reviews.list_items(store, self.session_id) if i.root == item.root and i.version <= item.version]
            chain.sort(key=lambda i: i.version)
            passages = [_passage_texts(store, i) for i in chain]
            return ItemText(item.title, self._text(store, item), changes=[
                _passage_change(later.version, before, after) for later, before, after in zip(chain[1:], passages, passages[1:])
            ])

    def _item(self, store: Store, item_id: int) -> ItemRow:
        item = reviews.get_item(store, item_id)
        if item is None or item.session_id != self.session_id:
            raise UsageError(f"item {item_id} is not in review session {self.name!r}")
        return item

    @staticmethod
    def _text(store: Store, item: ItemRow) -> str:
        if item.document_id is not None:
            document = store.get_document(item.document_id)
            return document.text if document else ""
        if item.paper_id is None:
            return ""
        stored = store.get_papers([item.paper_id]).get(item.paper_id)
        return stored.paper.embedding_text() if stored else ""

    # --- decisions ----------------------------------------------------------------------------------------------

    def decide(
        self, item_id: int, *, reviewer: str, state: str, rationale: str = "", checklist: Checklist | None = None,
        shown: ItemScore | None = None, blind: bool = True,
    ) -> DecisionRow:
        """Append a decision, committed before this returns. A rationale is required for every state but approve.

        `shown` is the score the reviewer saw (None: none was shown, recorded as `scores_shown` false). `blind` says
        the reviewer's view hides others' decisions until they decide; the decision is recorded as blind only if
        they had not seen any yet (no earlier decision of theirs on this version while another reviewer had one).
        """
        state = parse_state(state)
        rationale = rationale.strip()
        reviewer = " ".join(reviewer.split())
        if not reviewer:
            raise UsageError("a decision needs a reviewer name")
        if not rationale and state not in RATIONALE_OPTIONAL:
            raise UsageError(f"a rationale is required to {state}")
        with self._store() as store, store.transaction():
            item = self._item(store, item_id)
            log = reviews.list_decisions(store, item_id=item.id)
            seen = item.id in _decided_by(log, reviewer) and any(d.reviewer != reviewer and d.reverses is None for d in log)
            decision = reviews.append_decision(
                store, session_id=self.session_id, item_id=item.id, reviewer=reviewer, state=state, rationale=rationale,
                checklist=(checklist or Checklist()).to_dict(), probe_version=shown.probe_version if shown else None,
                embedder_id=shown.document.embedder_id if shown else None, scores=shown.shown() if shown else {},
                content_hash=item.content_hash, scores_shown=shown is not None, blind=blind and not seen,
            )
            self._refresh_label(store, item)
            return decision

    def undo(self, reviewer: str) -> tuple[DecisionRow, DecisionRow] | None:
        """Reverse `reviewer`'s latest decision in force by appending a reversal. Returns (reversal, undone), or None."""
        with self._store() as store, store.transaction():
            log = reviews.list_decisions(store, session_id=self.session_id)
            standing = [d for d in effective_decisions(log).values() if d.reviewer == reviewer]
            if not standing:
                return None
            target = max(standing, key=lambda d: d.id)
            reversal = reviews.append_decision(
                store, session_id=self.session_id, item_id=target.item_id, reviewer=reviewer, state=None, rationale="undo",
                probe_version=target.probe_version, embedder_id=target.embedder_id, content_hash=target.content_hash,
                reverses=target.id,
            )
            self._refresh_label(store, self._item(store, target.item_id))
            return reversal, target

    def redo(self, reviewer: str, decision_id: int) -> DecisionRow:
        """Re-instate an undone decision of `reviewer`: a new entry with its state, rationale, checklist and evidence."""
        with self._store() as store, store.transaction():
            log = reviews.list_decisions(store, session_id=self.session_id)
            undone = next((d for d in log if d.id == decision_id and d.reviewer == reviewer and d.reverses is None), None)
            if undone is None or not any(d.reverses == decision_id for d in log):
                raise UsageError(f"decision #{decision_id} is not an undone decision of {reviewer} in this session")
            item = self._item(store, undone.item_id)
            redone = reviews.append_decision(
                store, session_id=self.session_id, item_id=item.id, reviewer=reviewer, state=undone.state,
                rationale=undone.rationale, checklist=undone.checklist, probe_version=undone.probe_version,
                embedder_id=undone.embedder_id, scores=undone.scores, content_hash=undone.content_hash,
                scores_shown=undone.scores_shown, blind=undone.blind, redoes=undone.id,
            )
            self._refresh_label(store, item)
            return redone

    def log(self) -> list[DecisionRow]:
        """The whole decision log of this session, oldest first, reversals included."""
        with self._store() as store:
            return reviews.list_decisions(store, session_id=self.session_id)

    def _refresh_label(self, store: Store, item: ItemRow) -> None:
        """Keep this text's "decision" label equal to what the decisions in force on it say, in every session."""
        decisions = reviews.list_decisions(store, content_hash=item.content_hash)
        label = derived_label(decisions, text=self._text(store, item), title=item.title)
        reviews.set_derived_label(store, DECISION_SOURCE, item.content_hash, label)

    # --- scoring and learning -----------------------------------------------------------------------------------

    def score(
        self, embedder: "Embedder", *, probe_version: str | None = None, policy: "TierPolicy | None" = None,
        on_item: Callable[[int, ItemScore], object] | None = None, reporter: Reporter | None = None,
        on_batch: Callable[[dict[int, ItemScore]], None] | None = None, batch_size: int = 32, rescore: bool = False,
    ) -> dict[int, ItemScore]:
        """Every queued item's scores with the newest probe (or `probe_version`), scoring in batches what needs it.

        An item already scored with that probe and embedder keeps its cached scores unless `rescore`. Each batch's
        passages are embedded in one call, its scores stored in one transaction, then reported (`on_batch`, `on_item`).
        """
        from triage.embedding import embed_texts
        from triage.policy import POLICY_FILE, TierPolicy
        from triage.probe_registry import current_probe
        from triage.scoring import score_one
        from triage.workspace_data import synced_index

        policy = policy or TierPolicy.load(self.workspace.home / POLICY_FILE)
        results: dict[int, ItemScore] = {}
        with self._store() as store:
            items = reviews.list_items(store, self.session_id)
            if not items:  # nothing to score: do not load, let alone train, a probe
                return results
            probe = current_probe(self.workspace, store, embedder, version=probe_version, reporter=reporter)
            index, _ = synced_index(self.workspace, store, embedder, reporter)
            todo = []
            cache = {} if rescore else reviews.list_scores(store, self.session_id)
            for item in sorted(items, key=lambda i: (i.position, -i.version)):  # latest versions first, in queue order
                hit = cache.get(item.id)
                kept = ItemScore.from_dict(hit.score) if hit and (hit.probe_version, hit.embedder_id) == (probe.version, embedder.model_id) else None
                if kept is not None:
                    results[item.id] = kept
                else:
                    todo.append(item)
            if reporter is not None:
                reporter.start("scoring", total=len(todo))
            for start in range(0, len(todo), batch_size):
                batch = [(item, self._score_input(store, item)) for item in todo[start : start + batch_size]]
                embed_texts(store, embedder, [t for _, s in batch for t in ([p.text for p in s.passages] or [s.text])])
                scored: dict[int, ItemScore] = {}
                for item, inputs in batch:
                    time.sleep(0)  # hand the GIL over between items: the app that called this keeps its keys responsive
                    document = score_one(store, probe, index, embedder, inputs, policy)
                    scored[item.id] = ItemScore(document=document, prior=_prior_details(store, document.similar), scored_at=utc_now())
                with store.transaction():
                    for item_id, item_score in scored.items():
                        reviews.put_score(store, item_id, probe_version=item_score.probe_version, embedder_id=item_score.document.embedder_id, score=item_score.to_dict())
                results.update(scored)
                if reporter is not None:
                    reporter.advance(len(batch))
                if on_batch is not None:
                    on_batch(scored)
                if on_item is not None:
                    for item_id, item_score in scored.items():
                        on_item(item_id, item_score)
        return results

    def _score_input(self, store: Store, item: ItemRow) -> "ScoreInput":
        from corpus.passages import split_passages
        from triage.scoring import ScoreInput

        if item.document_id is not None:
            document = store.get_document(item.document_id)
            if document is None:
                raise InputError(f"queued draft {item.ref} is missing from the store")
            return ScoreInput(id=item.ref, title=document.title, text=document.text, passages=document.passages, kind="draft")
        text = self._text(store, item)
        return ScoreInput(id=item.ref, title=item.title, text=text, passages=split_passages(text), kind="paper", exclude_row=item.paper_id)

    def retrain(self, embedder: "Embedder", *, config: "TrainingConfig | None" = None, reporter: Reporter | None = None) -> "ProbeSet":
        """Bring every decision label up to date, then train a new probe set on all labels (decisions included)."""
        from triage.probe_registry import train

        with self._store() as store:
            self._refresh_all_labels(store)
            return train(self.workspace, store, embedder, config=config, reporter=reporter)

    def _refresh_all_labels(self, store: Store) -> None:
        with store.transaction():
            for item in reviews.list_items(store, self.session_id):
                self._refresh_label(store, item)

    # --- reports ------------------------------------------------------------------------------------------------

    def stats(self) -> "ReviewStats":
        from triage.review_stats import session_stats

        with self._store() as store:
            return session_stats(self.name, reviews.list_items(store, self.session_id), reviews.list_decisions(store, session_id=self.session_id))

    def export(self, out: Path | str, *, base: Path | None = None) -> "ExportReport":
        """Write the decision log with the scores each decision was made on to a .csv or .jsonl file."""
        from triage.review_export import ExportReport, export_rows, resolve_output, write_rows

        target, fmt = resolve_output(out, base=base, workspace_home=self.workspace.home)
        with self._store() as store:
            rows = export_rows(self.name, reviews.list_items(store, self.session_id), reviews.list_decisions(store, session_id=self.session_id))
        write_rows(rows, target, fmt, shown=out)
        return ExportReport(path=target, rows=len(rows), format=fmt)


def _decided_by(log: list[DecisionRow], reviewer: str) -> set[int]:
    """Items on which `reviewer` has recorded a decision (undone or not): from then on they have seen the others'."""
    return {d.item_id for d in log if d.reviewer == reviewer and d.reverses is None}


def _passage_texts(store: Store, item: ItemRow) -> list[str]:
    document = store.get_document(item.document_id) if item.document_id is not None else None
    return [" ".join(p.text.split()) for p in document.passages] if document else []


def _passage_change(version: int, before: list[str], after: list[str]) -> PassageChange:
    earlier, later = set(before), set(after)
    return PassageChange(
        version=version, changed=[n for n, text in enumerate(after, start=1) if text not in earlier],
        removed=sum(1 for text in before if text not in later), total=len(after),
    )


def _prior_details(store: Store, similar: list["PriorWork"]) -> list[PriorDetail]:
    """Similar prior work with each paper's summary, looked up in the store the index was built from."""
    details = []
    for work in similar:
        stored = store.find_paper(arxiv_id=work.id) or store.find_paper(uid=work.id)
        details.append(
            PriorDetail(
                id=work.id, title=work.title, similarity=work.similarity, year=work.year, url=work.url,
                summary=stored.paper.abstract if stored else "", passages=list(work.passages),
            )
        )
    return details
