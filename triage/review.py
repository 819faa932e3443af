"""Review sessions: a queue of drafts and papers, reviewers' decisions in an append-only log, undo, and retraining."""

from __future__ import annotations

import getpass
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from corpus import reviews
from corpus.errors import InputError
from corpus.reviews import DecisionRow, ItemRow
from corpus.store import Store
from triage.errors import UsageError
from triage.library import open_store
from triage.progress import Reporter
from triage.review_labels import DECISION_SOURCE, derived_label
from triage.review_records import RATIONALE_OPTIONAL, Checklist, ItemScore, PriorDetail, QueueItem, effective_decisions, parse_state
from triage.workspace import Workspace

if TYPE_CHECKING:
    from corpus.readers.arxiv_api import ArxivSettings
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
class ItemText:
    """The text an item was scored on; score passages are character offsets into it."""

    title: str
    text: str


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

        documents = [read_document(Path(p)) for p in paths]
        with self._store() as store, store.transaction():
            return [reviews.add_item(store, self.session_id, document_id=store.add_document(d))[0] for d in documents]

    def add_papers(self, arxiv_ids: list[str], *, settings: "ArxivSettings | None" = None) -> list[int]:
        """Queue arXiv papers; one the workspace does not hold yet is fetched from arXiv (network)."""
        from triage.similar import _paper_for_arxiv_id

        with self._store() as store:
            papers = [_paper_for_arxiv_id(store, raw, settings) for raw in arxiv_ids]
            rows = [store.find_paper(arxiv_id=p.arxiv_id) for p in papers]
            with store.transaction():
                return [reviews.add_item(store, self.session_id, paper_id=row.row_id)[0] for row in rows if row is not None]

    def queue(self, reviewer: str) -> list[QueueItem]:
        """Every item in queue order, with its latest scores, `reviewer`'s decision in force and the others' states."""
        with self._store() as store:
            items = reviews.list_items(store, self.session_id)
            scores = reviews.list_scores(store, self.session_id)
            current = effective_decisions(reviews.list_decisions(store, session_id=self.session_id))
        entries = []
        for item in items:
            cached = scores.get(item.id)
            others = {r: d.state or "" for (i, r), d in current.items() if i == item.id and r != reviewer}
            entries.append(
                QueueItem(
                    item=item, score=ItemScore.from_dict(cached.score) if cached else None,
                    decision=current.get((item.id, reviewer)), others=dict(sorted(others.items())),
                )
            )
        return entries

    def item_text(self, item_id: int) -> ItemText:
        with self._store() as store:
            item = self._item(store, item_id)
            return ItemText(item.title, self._text(store, item))

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
        stored = store.get_papers([item.paper_id]).get(item.paper_id)  # type: ignore[list-item]
        return stored.paper.embedding_text() if stored else ""

    # --- decisions ----------------------------------------------------------------------------------------------

    def decide(
        self, item_id: int, *, reviewer: str, state: str, rationale: str = "", checklist: Checklist | None = None,
        shown: ItemScore | None = None,
    ) -> DecisionRow:
        """Append a decision, committed before this returns. A rationale is required for every state but approve."""
        state = parse_state(state)
        rationale = rationale.strip()
        reviewer = " ".join(reviewer.split())
        if not reviewer:
            raise UsageError("a decision needs a reviewer name")
        if not rationale and state not in RATIONALE_OPTIONAL:
            raise UsageError(f"a rationale is required to {state}")
        with self._store() as store, store.transaction():
            item = self._item(store, item_id)
            decision = reviews.append_decision(
                store, session_id=self.session_id, item_id=item.id, reviewer=reviewer, state=state, rationale=rationale,
                checklist=(checklist or Checklist()).to_dict(), probe_version=shown.probe_version if shown else None,
                embedder_id=shown.score.embedder_id if shown else None, scores=shown.shown() if shown else {},
                content_hash=item.content_hash,
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
        on_item: Callable[[int, ItemScore], None] | None = None, reporter: Reporter | None = None,
    ) -> dict[int, ItemScore]:
        """Score every queued item with the newest probe (or `probe_version`), remember the scores, and report each."""
        from triage.library import synced_index
        from triage.policy import POLICY_FILE, TierPolicy
        from triage.probe_registry import current_probe
        from triage.scoring import score_one

        policy = policy or TierPolicy.load(self.workspace.home / POLICY_FILE)
        results: dict[int, ItemScore] = {}
        with self._store() as store:
            items = reviews.list_items(store, self.session_id)
            if not items:  # nothing to score: do not load, let alone train, a probe
                return results
            probe = current_probe(self.workspace, store, embedder, version=probe_version, reporter=reporter)
            index, _ = synced_index(self.workspace, store, embedder, reporter)
            for item in items:
                document = score_one(store, probe, index, embedder, self._score_input(store, item), policy, reporter=reporter)
                scored = ItemScore(score=document, prior=_prior_details(store, document.similar), scored_at=reviews.now())
                reviews.put_score(store, item.id, probe_version=document.probe_version, embedder_id=document.embedder_id, score=scored.to_dict())
                results[item.id] = scored
                if on_item is not None:
                    on_item(item.id, scored)
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

        target, fmt = resolve_output(out, base=base)
        with self._store() as store:
            rows = export_rows(self.name, reviews.list_items(store, self.session_id), reviews.list_decisions(store, session_id=self.session_id))
        write_rows(rows, target, fmt)
        return ExportReport(path=target, rows=len(rows), format=fmt)


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
