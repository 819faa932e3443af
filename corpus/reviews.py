"""Review sessions in the store: their queues, the append-only decision log, and the scores last shown."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from corpus.records import LabelledText
from corpus.store import Store, inserted_id, utc_now

_ITEM_COLUMNS = (
    "i.id, i.session_id, i.document_id, i.paper_id, i.position, i.added_at, "
    "COALESCE(d.title, p.title) AS title, COALESCE(d.content_hash, p.content_hash) AS content_hash, "
    "COALESCE(i.path, d.path) AS path, p.arxiv_id, p.uid, p.published, i.root_id, i.version"
)
_ITEM_FROM = "review_items i LEFT JOIN documents d ON d.id = i.document_id LEFT JOIN papers p ON p.id = i.paper_id"


@dataclass(frozen=True)
class SessionRow:
    """A named review session."""

    id: int
    name: str
    created_at: str


@dataclass(frozen=True)
class ItemRow:
    """One queue entry: a stored draft (document) or a paper, with what the queue shows of it."""

    id: int
    session_id: int
    document_id: int | None
    paper_id: int | None
    position: int
    added_at: str
    title: str
    content_hash: str
    path: str | None = None
    arxiv_id: str | None = None
    uid: str | None = None
    published: str | None = None
    root_id: int | None = None  # the first version's item id; None on a first version
    version: int = 1

    @property
    def root(self) -> int:
        """The item id every version of this draft shares: the first version's."""
        return self.root_id if self.root_id is not None else self.id

    @property
    def kind(self) -> str:
        return "draft" if self.document_id is not None else "paper"

    @property
    def ref(self) -> str:
        """A short stable name for the item: `draft:<hash prefix>` or the paper's arXiv id / uid."""
        if self.document_id is not None:
            return f"draft:{self.content_hash[:12]}"
        return f"arxiv:{self.arxiv_id}" if self.arxiv_id else (self.uid or f"paper:{self.paper_id}")


@dataclass(frozen=True)
class DecisionRow:
    """One entry of the decision log. A reversal (undo) has `reverses` set and no state."""

    id: int
    session_id: int
    item_id: int
    reviewer: str
    decided_at: str
    state: str | None
    rationale: str
    checklist: dict = field(default_factory=dict)
    probe_version: str | None = None
    embedder_id: str | None = None
    scores: dict = field(default_factory=dict)
    content_hash: str = ""
    reverses: int | None = None
    scores_shown: bool | None = None  # None: not recorded (a decision from before this was kept)
    blind: bool | None = None  # made without having seen other reviewers' decisions on the item
    redoes: int | None = None  # a redo: the undone decision this one re-instates


@dataclass(frozen=True)
class ScoreRow:
    """The scores an item was last shown with, as the JSON the triage layer wrote."""

    item_id: int
    probe_version: str
    embedder_id: str
    scored_at: str
    score: dict


def make_durable(store: Store) -> None:
    """Sync to disk on every commit on this connection: a decision must survive a power cut, not only a crash."""
    store.query("PRAGMA synchronous = FULL")


# --- sessions ---------------------------------------------------------------------------------------------------


def get_session(store: Store, name: str) -> SessionRow | None:
    rows = store.query("SELECT id, name, created_at FROM review_sessions WHERE name = ?", (name,))
    return SessionRow(**dict(rows[0])) if rows else None


def create_session(store: Store, name: str) -> SessionRow:
    """The session called `name`, created when it does not exist yet."""
    with store.transaction() as db:
        db.execute("INSERT INTO review_sessions (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING", (name, utc_now()))
    found = get_session(store, name)
    assert found is not None
    return found


def list_sessions(store: Store) -> list[SessionRow]:
    return [SessionRow(**dict(r)) for r in store.query("SELECT id, name, created_at FROM review_sessions ORDER BY id")]


# --- queue items ------------------------------------------------------------------------------------------------


def add_item(
    store: Store, session_id: int, *, document_id: int | None = None, paper_id: int | None = None, path: str | None = None,
) -> tuple[int, bool]:
    """Put a document or paper on the session's queue (once). Returns the item id and whether it was new.

    A draft with a `path` already queued in this session but different content becomes that item's next version.
    """
    if (document_id is None) == (paper_id is None):
        raise ValueError("give exactly one of document_id and paper_id")
    column, value = ("document_id", document_id) if document_id is not None else ("paper_id", paper_id)
    with store.transaction() as db:
        row = db.execute(f"SELECT id FROM review_items WHERE session_id = ? AND {column} = ?", (session_id, value)).fetchone()
        if row:
            return int(row["id"]), False
        latest = None
        if path is not None:
            latest = db.execute(
                "SELECT id, root_id, version, position FROM review_items WHERE session_id = ? AND path = ? ORDER BY version DESC LIMIT 1",
                (session_id, path),
            ).fetchone()
        if latest is not None:
            root_id, version, position = latest["root_id"] or latest["id"], latest["version"] + 1, latest["position"]
        else:
            root_id, version = None, 1
            position = db.execute("SELECT COALESCE(MAX(position), 0) + 1 FROM review_items WHERE session_id = ?", (session_id,)).fetchone()[0]
        cursor = db.execute(
            f"INSERT INTO review_items (session_id, {column}, position, added_at, path, root_id, version) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (session_id, value, position, utc_now(), path, root_id, version),
        )
        return inserted_id(cursor), True


def list_items(store: Store, session_id: int) -> list[ItemRow]:
    rows = store.query(f"SELECT {_ITEM_COLUMNS} FROM {_ITEM_FROM} WHERE i.session_id = ? ORDER BY i.position", (session_id,))
    return [ItemRow(**dict(r)) for r in rows]


def get_item(store: Store, item_id: int) -> ItemRow | None:
    rows = store.query(f"SELECT {_ITEM_COLUMNS} FROM {_ITEM_FROM} WHERE i.id = ?", (item_id,))
    return ItemRow(**dict(rows[0])) if rows else None


# --- the decision log -------------------------------------------------------------------------------------------


def append_decision(
    store: Store, *, session_id: int, item_id: int, reviewer: str, state: str | None, rationale: str = "",
    checklist: dict | None = None, probe_version: str | None = None, embedder_id: str | None = None,
    scores: dict | None = None, content_hash: str, reverses: int | None = None, decided_at: str | None = None,
    scores_shown: bool | None = None, blind: bool | None = None, redoes: int | None = None,
) -> DecisionRow:
    """Append one entry to the log. The table's triggers refuse any later UPDATE or DELETE of it."""
    values: dict[str, Any] = dict(
        session_id=session_id, item_id=item_id, reviewer=reviewer, decided_at=decided_at or utc_now(), state=state,
        rationale=rationale, checklist=checklist or {}, probe_version=probe_version, embedder_id=embedder_id,
        scores=scores or {}, content_hash=content_hash, reverses=reverses, scores_shown=scores_shown, blind=blind, redoes=redoes,
    )
    stored = {**values, "checklist": json.dumps(values["checklist"], sort_keys=True), "scores": json.dumps(values["scores"], sort_keys=True)}
    with store.transaction() as db:
        cursor = db.execute(
            f"INSERT INTO review_decisions ({', '.join(stored)}) VALUES ({', '.join('?' * len(stored))})", tuple(stored.values())
        )
        return DecisionRow(id=inserted_id(cursor), **values)


def list_decisions(
    store: Store, *, session_id: int | None = None, content_hash: str | None = None, item_id: int | None = None,
) -> list[DecisionRow]:
    """Log entries, oldest first, for one session, one content hash (across sessions), one item, or all."""
    sql = "SELECT * FROM review_decisions"
    params: list[object] = []
    clauses = []
    for column, value in (("session_id", session_id), ("content_hash", content_hash), ("item_id", item_id)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    rows = store.query(sql + " ORDER BY id", params)
    return [
        DecisionRow(**{
            **dict(r), "checklist": json.loads(r["checklist"]), "scores": json.loads(r["scores"]),
            "scores_shown": _flag(r["scores_shown"]), "blind": _flag(r["blind"]),
        })
        for r in rows
    ]


def _flag(value: int | None) -> bool | None:
    return None if value is None else bool(value)


# --- scores last shown ------------------------------------------------------------------------------------------


def put_score(store: Store, item_id: int, *, probe_version: str, embedder_id: str, score: dict) -> None:
    """Remember an item's latest scores (a cache: the decision log keeps its own copy of what was shown)."""
    with store.transaction() as db:
        db.execute(
            "INSERT INTO review_scores (item_id, probe_version, embedder_id, scored_at, score) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (item_id) DO UPDATE SET probe_version = excluded.probe_version, embedder_id = excluded.embedder_id, "
            "scored_at = excluded.scored_at, score = excluded.score",
            (item_id, probe_version, embedder_id, utc_now(), json.dumps(score)),
        )


def list_scores(store: Store, session_id: int) -> dict[int, ScoreRow]:
    rows = store.query(
        "SELECT s.item_id, s.probe_version, s.embedder_id, s.scored_at, s.score FROM review_scores s "
        "JOIN review_items i ON i.id = s.item_id WHERE i.session_id = ?",
        (session_id,),
    )
    return {r["item_id"]: ScoreRow(**{**dict(r), "score": json.loads(r["score"])}) for r in rows}


# --- labels derived from decisions ------------------------------------------------------------------------------


def set_derived_label(store: Store, source: str, content_hash: str, label: LabelledText | None) -> None:
    """Make the `source` label for this text equal `label`, or remove it: derived labels follow their decisions."""
    with store.transaction() as db:
        if label is None:
            db.execute("DELETE FROM labels WHERE source = ? AND content_hash = ?", (source, content_hash))
        else:
            store.add_labels([label])
