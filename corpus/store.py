"""The SQLite store: papers (deduplicated), draft documents with passages, and the embedding cache."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator, Sequence

if TYPE_CHECKING:
    import numpy as np


from corpus.errors import CorpusError
from corpus.migrations import migrate
from corpus.records import Document, LabelledText, Paper, Passage, content_hash, normalise_doi, normalise_title

BUSY_TIMEOUT_SECONDS = 30.0
# PRAGMA application_id of a workspace database ("PTRG"): a file with another id is someone else's database.
APPLICATION_ID = 0x50545247
# Tables every workspace database has had since schema version 1; one stamped 0 and holding them is ours, from
# before the id was set.
_OWN_TABLES = {"meta", "papers", "documents", "passages", "embeddings"}

_PAPER_COLUMNS = (
    "id, uid, source, arxiv_id, doi, title, abstract, authors, categories, published, updated, url, "
    "external_id, label, content_hash, revision"
)


@dataclass
class UpsertCounts:
    """What one import did: new rows, rows whose content changed, and exact duplicates."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def __iadd__(self, other: "UpsertCounts") -> "UpsertCounts":
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        return self

    @property
    def total(self) -> int:
        return self.inserted + self.updated + self.unchanged


@dataclass(frozen=True)
class StoredPaper:
    """A paper as the store holds it: the record plus its row id, content hash and revision."""

    row_id: int
    paper: Paper
    content_hash: str
    revision: int


def utc_now() -> str:
    """The time stamps every table uses: UTC, ISO 8601, to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def inserted_id(cursor: sqlite3.Cursor) -> int:
    """The id an INSERT just gave its row: sqlite3 types `lastrowid` as optional, as it is before any INSERT."""
    if cursor.lastrowid is None:
        raise RuntimeError("no row was inserted")
    return cursor.lastrowid


def _uid_for(paper: Paper, title_key: str) -> str:
    if paper.arxiv_id:
        return f"arxiv:{paper.arxiv_id}"
    if paper.doi:
        return f"doi:{normalise_doi(paper.doi)}"
    return "title:" + hashlib.sha1(title_key.encode()).hexdigest()[:16]


def paper_uid(paper: Paper) -> str:
    """The id the store gives a new paper (`arxiv:`, `doi:` or `title:`), computed without a store."""
    return _uid_for(paper, normalise_title(" ".join(paper.title.split())))


def _row_to_paper(row: sqlite3.Row) -> StoredPaper:
    paper = Paper(
        title=row["title"],
        abstract=row["abstract"],
        source=row["source"],
        arxiv_id=row["arxiv_id"],
        doi=row["doi"],
        authors=json.loads(row["authors"]),
        categories=json.loads(row["categories"]),
        published=row["published"],
        updated=row["updated"],
        url=row["url"],
        external_id=row["external_id"],
        label=row["label"],
        uid=row["uid"],
    )
    return StoredPaper(row_id=row["id"], paper=paper, content_hash=row["content_hash"], revision=row["revision"])


class Store:
    """One workspace database. Writes happen in `transaction()` blocks; readers never see half an import."""

    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            self._db = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise CorpusError(f"cannot open the workspace database {self.path}: {exc}") from exc
        self._db.row_factory = sqlite3.Row
        # The TUI's workers share one store across threads; sqlite3 connections are not re-entrant.
        self._lock = threading.RLock()
        self._depth = 0
        try:
            self._db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
            self._claim()  # before anything writes: not even the journal mode of another program's database changes
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.execute("PRAGMA foreign_keys = ON")
            self.schema_version = migrate(self._db)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise CorpusError(f"{self.path} is not a usable workspace database: {exc}") from exc

    def _claim(self) -> None:
        """Stamp a new (or pre-id) workspace database with APPLICATION_ID; refuse any other SQLite file unchanged."""
        app_id = self._db.execute("PRAGMA application_id").fetchone()[0]
        if app_id == APPLICATION_ID:
            return
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        fresh = version == 0 and not tables
        ours_before_ids = version > 0 and _OWN_TABLES <= tables
        if app_id != 0 or not (fresh or ours_before_ids):
            self._db.close()
            raise CorpusError(
                f"{self.path} is not a triage workspace database (another program's SQLite file"
                f"{f', application id {app_id:#x}' if app_id else ''}); it was left unchanged"
            )
        self._db.execute(f"PRAGMA application_id = {APPLICATION_ID}")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write. Nested calls join the outer transaction."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self._db
                finally:
                    self._depth -= 1
                return
            self._db.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")
            finally:
                self._depth = 0

    def _query(self, sql: str, params: Sequence = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def query(self, sql: str, params: Sequence = ()) -> list[sqlite3.Row]:
        """Rows of one read statement; for the store's companion modules (corpus.jobs), not for callers outside corpus."""
        return self._query(sql, params)

    # --- meta -----------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0]["value"] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))

    def identity(self) -> str:
        """A random id made once per database: files built from it (the index) carry it, so a copy of another
        workspace's files is recognised rather than trusted. A copied database keeps its id, as a backup should."""
        found = self.get_meta("store_id")
        if found:
            return found
        with self.transaction() as db:
            # OR IGNORE: two processes may race to make it; the first one's id stands and both read it back.
            db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('store_id', ?)", (uuid.uuid4().hex,))
        return self.get_meta("store_id") or ""

    @property
    def revision(self) -> int:
        """Bumped by every write that adds a paper or changes the text a paper is embedded from."""
        return int(self.get_meta("revision") or 0)

    # --- papers ---------------------------------------------------------------------------------

    def add_papers(self, papers: Iterable[Paper]) -> UpsertCounts:
        """Insert or update papers in one transaction, deduplicating on arXiv id, DOI and normalised title."""
        return self.upsert_papers(papers)[0]

    def upsert_papers(self, papers: Iterable[Paper]) -> tuple[UpsertCounts, list[int]]:
        """`add_papers`, also returning each paper's row id in input order (duplicates share one row)."""
        counts = UpsertCounts()
        row_ids: list[int] = []
        with self.transaction() as db:
            revision = self.revision + 1
            text_changed = False
            for paper in papers:
                outcome, new_text, row_id = self._upsert(db, paper, revision)
                setattr(counts, outcome, getattr(counts, outcome) + 1)
                text_changed = text_changed or new_text
                row_ids.append(row_id)
            if text_changed:
                db.execute("UPDATE meta SET value = ? WHERE key = 'revision'", (str(revision),))
        return counts, row_ids

    def _find_duplicate(self, db: sqlite3.Connection, arxiv_id: str | None, doi: str | None, title_key: str):
        if arxiv_id:
            row = db.execute("SELECT * FROM papers WHERE arxiv_id = ?", (arxiv_id,)).fetchone()
            if row:
                return row
        if doi:
            row = db.execute("SELECT * FROM papers WHERE doi = ?", (doi,)).fetchone()
            if row:
                return row
        if title_key:
            for row in db.execute("SELECT * FROM papers WHERE title_key = ?", (title_key,)).fetchall():
                # Same title but two different arXiv ids or DOIs are two papers, not one.
                if arxiv_id and row["arxiv_id"] and row["arxiv_id"] != arxiv_id:
                    continue
                if doi and row["doi"] and row["doi"] != doi:
                    continue
                return row
        return None

    def _upsert(self, db: sqlite3.Connection, paper: Paper, revision: int) -> tuple[str, bool, int]:
        """Returns the outcome ("inserted", "updated" or "unchanged"), whether the embedded text changed, and the row id."""
        title = " ".join(paper.title.split())
        if not title:
            raise CorpusError("a paper without a title cannot be stored")
        title_key = normalise_title(title)
        doi = normalise_doi(paper.doi) if paper.doi else None
        existing = self._find_duplicate(db, paper.arxiv_id, doi, title_key)
        now = utc_now()
        if existing is None:
            text_hash = content_hash(Paper(title=title, abstract=paper.abstract).embedding_text())
            cursor = db.execute(
                "INSERT INTO papers (uid, source, arxiv_id, doi, title, title_key, abstract, authors, categories, "
                "published, updated, url, external_id, label, content_hash, revision, added_at, modified_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    _uid_for(paper, title_key), paper.source, paper.arxiv_id, doi, title, title_key,
                    paper.abstract.strip(), json.dumps(paper.authors), json.dumps(paper.categories),
                    paper.published, paper.updated, paper.url, paper.external_id, paper.label,
                    text_hash, revision, now, now,
                ),
            )
            return "inserted", True, inserted_id(cursor)
        outcome, text_changed = self._merge(db, existing, paper, title, title_key, doi, revision, now)
        return outcome, text_changed, int(existing["id"])

    def _merge(self, db, existing: sqlite3.Row, paper: Paper, title, title_key, doi, revision, now) -> tuple[str, bool]:
        # Newer non-empty values win; an empty field never erases what the store already knows.
        merged = {
            "source": paper.source or existing["source"],
            "arxiv_id": existing["arxiv_id"] or paper.arxiv_id,
            "doi": existing["doi"] or doi,
            "title": title,
            "title_key": title_key,
            "abstract": paper.abstract.strip() or existing["abstract"],
            "authors": json.dumps(paper.authors) if paper.authors else existing["authors"],
            "categories": json.dumps(paper.categories) if paper.categories else existing["categories"],
            "published": paper.published or existing["published"],
            "updated": paper.updated or existing["updated"],
            "url": paper.url or existing["url"],
            "external_id": paper.external_id or existing["external_id"],
            "label": paper.label or existing["label"],
        }
        # Another row may already own this DOI or arXiv id; keep the constraint rather than merge two rows.
        for key in ("arxiv_id", "doi"):
            if merged[key] and merged[key] != existing[key]:
                clash = db.execute(f"SELECT id FROM papers WHERE {key} = ? AND id != ?", (merged[key], existing["id"])).fetchone()
                if clash:
                    merged[key] = existing[key]
        merged["content_hash"] = content_hash(Paper(title=title, abstract=merged["abstract"]).embedding_text())
        if all(merged[key] == existing[key] for key in merged):
            return "unchanged", False
        text_changed = merged["content_hash"] != existing["content_hash"]
        merged["revision"] = revision if text_changed else existing["revision"]
        merged["modified_at"] = now
        assignments = ", ".join(f"{key} = ?" for key in merged)
        db.execute(f"UPDATE papers SET {assignments} WHERE id = ?", (*merged.values(), existing["id"]))
        return "updated", text_changed

    def paper_count(self) -> int:
        return self._query("SELECT COUNT(*) AS n FROM papers")[0]["n"]

    def get_papers(self, row_ids: Sequence[int]) -> dict[int, StoredPaper]:
        found: dict[int, StoredPaper] = {}
        ids = list(row_ids)
        for offset in range(0, len(ids), 900):  # stay under SQLite's bound-parameter limit
            chunk = ids[offset : offset + 900]
            marks = ",".join("?" * len(chunk))
            for row in self._query(f"SELECT {_PAPER_COLUMNS} FROM papers WHERE id IN ({marks})", chunk):
                found[row["id"]] = _row_to_paper(row)
        return found

    def find_paper(self, *, arxiv_id: str | None = None, uid: str | None = None) -> StoredPaper | None:
        if arxiv_id:
            rows = self._query(f"SELECT {_PAPER_COLUMNS} FROM papers WHERE arxiv_id = ?", (arxiv_id,))
        elif uid:
            rows = self._query(f"SELECT {_PAPER_COLUMNS} FROM papers WHERE uid = ?", (uid,))
        else:
            raise ValueError("give arxiv_id or uid")
        return _row_to_paper(rows[0]) if rows else None

    def iter_papers(self, *, since_revision: int = 0, batch: int = 2000) -> Iterator[StoredPaper]:
        """All papers whose embedded text changed after `since_revision`, in row order, a page at a time."""
        last = 0
        while True:
            rows = self._query(
                f"SELECT {_PAPER_COLUMNS} FROM papers WHERE revision > ? AND id > ? ORDER BY id LIMIT ?",
                (since_revision, last, batch),
            )
            if not rows:
                return
            for row in rows:
                yield _row_to_paper(row)
            last = rows[-1]["id"]

    def paper_stats(self) -> dict:
        """Counts a curator wants at a glance: totals, by source, by year, and identifiers present."""
        row = self._query(
            "SELECT COUNT(*) AS n, COUNT(arxiv_id) AS arxiv, COUNT(doi) AS doi, "
            "SUM(abstract != '') AS with_abstract, MIN(published) AS first, MAX(published) AS last FROM papers"
        )[0]
        by_source = {r["source"]: r["n"] for r in self._query("SELECT source, COUNT(*) AS n FROM papers GROUP BY source ORDER BY n DESC")}
        by_year = {
            r["year"]: r["n"]
            for r in self._query(
                "SELECT substr(published, 1, 4) AS year, COUNT(*) AS n FROM papers WHERE published IS NOT NULL GROUP BY year ORDER BY year"
            )
        }
        return {
            "papers": row["n"],
            "with_arxiv_id": row["arxiv"],
            "with_doi": row["doi"],
            "with_abstract": row["with_abstract"] or 0,
            "first_published": row["first"],
            "last_published": row["last"],
            "documents": self._query("SELECT COUNT(*) AS n FROM documents")[0]["n"],
            "by_source": by_source,
            "by_year": by_year,
        }

    # --- documents ------------------------------------------------------------------------------

    def add_document(self, document: Document) -> int:
        """Keep a draft and its passage offsets; the same text stored twice is one row."""
        digest = document.content_hash
        with self.transaction() as db:
            row = db.execute("SELECT id FROM documents WHERE content_hash = ?", (digest,)).fetchone()
            if row:
                return row["id"]
            cursor = db.execute(
                "INSERT INTO documents (content_hash, title, path, text, added_at) VALUES (?, ?, ?, ?, ?)",
                (digest, document.title, document.path, document.text, utc_now()),
            )
            doc_id = inserted_id(cursor)
            db.executemany(
                'INSERT INTO passages (document_id, idx, start, "end") VALUES (?, ?, ?, ?)',
                [(doc_id, i, p.start, p.end) for i, p in enumerate(document.passages)],
            )
            return doc_id

    def get_document(self, doc_id: int) -> Document | None:
        rows = self._query("SELECT * FROM documents WHERE id = ?", (doc_id,))
        if not rows:
            return None
        row = rows[0]
        text = row["text"]
        passages = [
            Passage(p["start"], p["end"], text[p["start"] : p["end"]])
            for p in self._query('SELECT start, "end" FROM passages WHERE document_id = ? ORDER BY idx', (doc_id,))
        ]
        return Document(title=row["title"], text=text, path=row["path"], passages=passages)

    # --- training labels ------------------------------------------------------------------------

    def add_labels(self, items: Iterable[LabelledText]) -> UpsertCounts:
        """Insert labels in one transaction; the same text from the same source updates its labels."""
        counts = UpsertCounts()
        with self.transaction() as db:
            for item in items:
                areas = json.dumps(item.areas) if item.areas is not None else None
                row = db.execute(
                    "SELECT id, safety, capabilities, hazard, areas, title FROM labels WHERE source = ? AND content_hash = ?",
                    (item.source, item.content_hash),
                ).fetchone()
                values = (item.safety, item.capabilities, item.hazard, areas, item.title)
                if row is None:
                    db.execute(
                        "INSERT INTO labels (source, title, text, content_hash, safety, capabilities, hazard, areas, added_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (item.source, item.title, item.text, item.content_hash, item.safety, item.capabilities, item.hazard, areas, utc_now()),
                    )
                    counts.inserted += 1
                elif (row["safety"], row["capabilities"], row["hazard"], row["areas"], row["title"]) != values:
                    db.execute(
                        "UPDATE labels SET safety = ?, capabilities = ?, hazard = ?, areas = ?, title = ? WHERE id = ?", (*values, row["id"])
                    )
                    counts.updated += 1
                else:
                    counts.unchanged += 1
        return counts

    def get_labels(self, sources: Sequence[str] | None = None) -> list[LabelledText]:
        """Every label (or those from `sources`), oldest first."""
        sql = "SELECT source, title, text, safety, capabilities, hazard, areas FROM labels"
        params: tuple = ()
        if sources:
            sql += f" WHERE source IN ({','.join('?' * len(sources))})"
            params = tuple(sources)
        return [
            LabelledText(
                text=row["text"], safety=row["safety"], capabilities=row["capabilities"], hazard=row["hazard"],
                areas=json.loads(row["areas"]) if row["areas"] is not None else None, title=row["title"], source=row["source"],
            )
            for row in self._query(sql + " ORDER BY id", params)
        ]

    def label_counts(self) -> dict[str, int]:
        return {r["source"]: r["n"] for r in self._query("SELECT source, COUNT(*) AS n FROM labels GROUP BY source ORDER BY source")}

    # --- embedding cache ------------------------------------------------------------------------

    def get_embeddings(self, model_id: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        import numpy as np  # here, not at the top: commands that touch no vectors (corpus stats) skip numpy's import

        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(hashes))
        for offset in range(0, len(unique), 900):
            chunk = unique[offset : offset + 900]
            marks = ",".join("?" * len(chunk))
            for row in self._query(
                f"SELECT content_hash, dim, vector FROM embeddings WHERE model_id = ? AND content_hash IN ({marks})",
                (model_id, *chunk),
            ):
                found[row["content_hash"]] = np.frombuffer(row["vector"], dtype=np.float32, count=row["dim"])
        return found

    def put_embeddings(self, model_id: str, vectors: dict[str, np.ndarray]) -> None:
        import numpy as np

        with self.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO embeddings (model_id, content_hash, dim, vector) VALUES (?, ?, ?, ?)",
                [
                    (model_id, digest, int(vec.shape[0]), np.ascontiguousarray(vec, dtype=np.float32).tobytes())
                    for digest, vec in vectors.items()
                ],
            )

    def embedding_count(self, model_id: str | None = None) -> int:
        if model_id is None:
            return self._query("SELECT COUNT(*) AS n FROM embeddings")[0]["n"]
        return self._query("SELECT COUNT(*) AS n FROM embeddings WHERE model_id = ?", (model_id,))[0]["n"]
