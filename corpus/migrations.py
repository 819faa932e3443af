"""Schema migrations: plain functions applied in order, tracked by SQLite's user_version."""

from __future__ import annotations

import sqlite3
from typing import Callable


def _run_script(db: sqlite3.Connection, script: str) -> None:
    # executescript() would COMMIT first and break the migration's transaction, so run statements one by one.
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _v1_initial(db: sqlite3.Connection) -> None:
    _run_script(
        db,
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE papers (
            id INTEGER PRIMARY KEY,
            uid TEXT NOT NULL UNIQUE,
            source TEXT NOT NULL,
            arxiv_id TEXT UNIQUE,
            doi TEXT UNIQUE,
            title TEXT NOT NULL,
            title_key TEXT NOT NULL,
            abstract TEXT NOT NULL DEFAULT '',
            authors TEXT NOT NULL DEFAULT '[]',
            categories TEXT NOT NULL DEFAULT '[]',
            published TEXT,
            updated TEXT,
            url TEXT,
            external_id TEXT,
            label TEXT,
            content_hash TEXT NOT NULL,
            revision INTEGER NOT NULL,
            added_at TEXT NOT NULL,
            modified_at TEXT NOT NULL
        );
        CREATE INDEX papers_title_key ON papers (title_key);
        CREATE INDEX papers_revision ON papers (revision);
        CREATE TABLE documents (
            id INTEGER PRIMARY KEY,
            content_hash TEXT NOT NULL UNIQUE,
            title TEXT NOT NULL,
            path TEXT,
            text TEXT NOT NULL,
            added_at TEXT NOT NULL
        );
        CREATE TABLE passages (
            document_id INTEGER NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
            idx INTEGER NOT NULL,
            start INTEGER NOT NULL,
            "end" INTEGER NOT NULL,
            PRIMARY KEY (document_id, idx)
        );
        CREATE TABLE embeddings (
            model_id TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            dim INTEGER NOT NULL,
            vector BLOB NOT NULL,
            PRIMARY KEY (model_id, content_hash)
        ) WITHOUT ROWID;
        INSERT INTO meta (key, value) VALUES ('revision', '0');
        """
    )


def _v2_labels(db: sqlite3.Connection) -> None:
    _run_script(
        db,
        """
        CREATE TABLE labels (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            title TEXT NOT NULL DEFAULT '',
            text TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            safety INTEGER CHECK (safety IN (0, 1)),
            capabilities INTEGER CHECK (capabilities IN (0, 1)),
            areas TEXT,
            added_at TEXT NOT NULL,
            UNIQUE (source, content_hash)
        );
        CREATE INDEX labels_source ON labels (source)
        """,
    )


def _v3_jobs(db: sqlite3.Connection) -> None:
    # job_results' primary key (job_id, paper_id) is what keeps a resumed job from writing a paper twice.
    _run_script(
        db,
        """
        CREATE TABLE jobs (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            spec TEXT NOT NULL,
            spec_hash TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('running', 'interrupted', 'failed', 'done')),
            cursor TEXT NOT NULL DEFAULT '{}',
            total INTEGER,
            consumed INTEGER NOT NULL DEFAULT 0,
            scored INTEGER NOT NULL DEFAULT 0,
            skipped INTEGER NOT NULL DEFAULT 0,
            embedded INTEGER NOT NULL DEFAULT 0,
            message TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX jobs_spec_hash ON jobs (spec_hash, status);
        CREATE TABLE job_results (
            job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
            paper_id INTEGER NOT NULL REFERENCES papers (id),
            position INTEGER NOT NULL,
            safety REAL NOT NULL,
            safety_std REAL NOT NULL,
            capabilities REAL NOT NULL,
            capabilities_std REAL NOT NULL,
            differential REAL NOT NULL,
            tier TEXT NOT NULL,
            reasons TEXT NOT NULL DEFAULT '[]',
            areas TEXT NOT NULL DEFAULT '[]',
            prior_id TEXT,
            prior_similarity REAL,
            PRIMARY KEY (job_id, paper_id)
        ) WITHOUT ROWID;
        CREATE INDEX job_results_position ON job_results (job_id, position);
        CREATE TABLE job_issues (
            job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
            source TEXT NOT NULL,
            record TEXT NOT NULL,
            message TEXT NOT NULL,
            UNIQUE (job_id, source, record, message)
        )
        """,
    )


def _v4_reviews(db: sqlite3.Connection) -> None:
    """Review sessions, their queues, the append-only decision log, and the last scores each item was shown with."""
    # The states are spelled out rather than imported: a migration must stay what it was when it shipped.
    states = "'approve', 'approve with changes', 'restrict', 'hold', 'escalate'"
    _run_script(
        db,
        f"""
        CREATE TABLE review_sessions (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL
        );
        CREATE TABLE review_items (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES review_sessions (id),
            document_id INTEGER REFERENCES documents (id),
            paper_id INTEGER REFERENCES papers (id),
            position INTEGER NOT NULL,
            added_at TEXT NOT NULL,
            CHECK ((document_id IS NULL) != (paper_id IS NULL)),
            UNIQUE (session_id, document_id),
            UNIQUE (session_id, paper_id)
        );
        CREATE TABLE review_decisions (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES review_sessions (id),
            item_id INTEGER NOT NULL REFERENCES review_items (id),
            reviewer TEXT NOT NULL,
            decided_at TEXT NOT NULL,
            state TEXT,
            rationale TEXT NOT NULL DEFAULT '',
            checklist TEXT NOT NULL DEFAULT '{{}}',
            probe_version TEXT,
            embedder_id TEXT,
            scores TEXT NOT NULL DEFAULT '{{}}',
            content_hash TEXT NOT NULL,
            reverses INTEGER UNIQUE REFERENCES review_decisions (id),
            CHECK ((reverses IS NULL AND state IN ({states})) OR (reverses IS NOT NULL AND state IS NULL))
        );
        CREATE INDEX review_decisions_item ON review_decisions (session_id, item_id, reviewer);
        CREATE TABLE review_scores (
            item_id INTEGER PRIMARY KEY REFERENCES review_items (id),
            probe_version TEXT NOT NULL,
            embedder_id TEXT NOT NULL,
            scored_at TEXT NOT NULL,
            score TEXT NOT NULL
        )
        """,
    )
    # The log is evidence: the database itself refuses to rewrite or delete a decision. Trigger bodies hold
    # semicolons, so they cannot go through _run_script.
    for action in ("UPDATE", "DELETE"):
        db.execute(
            f"CREATE TRIGGER review_decisions_no_{action.lower()} BEFORE {action} ON review_decisions "
            "BEGIN SELECT RAISE(ABORT, 'review decisions are append-only'); END"
        )


def _v5_hazard(db: sqlite3.Connection) -> None:
    """The misuse-hazard axis: a label column, and the score and its spread on batch results (NULL for older rows)."""
    _run_script(
        db,
        """
        ALTER TABLE labels ADD COLUMN hazard INTEGER CHECK (hazard IN (0, 1));
        ALTER TABLE job_results ADD COLUMN hazard REAL;
        ALTER TABLE job_results ADD COLUMN hazard_std REAL
        """,
    )


def _v6_lexical(db: sqlite3.Connection) -> None:
    """A full-text (FTS5, BM25) index over the papers' titles and abstracts, kept in step by triggers.

    External content: the index stores no second copy of the text, only its postings, and reads titles and abstracts
    from `papers`. The triggers run inside whatever transaction changes a paper, so an import that rolls back leaves
    the index exactly as it was.
    """
    # The tokenizer and its options are spelled out rather than imported: a migration must stay what it shipped as.
    db.execute(
        "CREATE VIRTUAL TABLE papers_fts USING fts5 (title, abstract, content = 'papers', content_rowid = 'id', "
        "tokenize = 'unicode61 remove_diacritics 2')"
    )
    # Trigger bodies hold semicolons, so they cannot go through _run_script. Spelled out in full: SQL is never
    # assembled from pieces here (tests/test_untrusted_artifacts.py checks that).
    db.execute(
        "CREATE TRIGGER papers_fts_insert AFTER INSERT ON papers BEGIN "
        "INSERT INTO papers_fts (rowid, title, abstract) VALUES (new.id, new.title, new.abstract); END"
    )
    db.execute(
        "CREATE TRIGGER papers_fts_delete AFTER DELETE ON papers BEGIN "
        "INSERT INTO papers_fts (papers_fts, rowid, title, abstract) VALUES ('delete', old.id, old.title, old.abstract); END"
    )
    db.execute(
        "CREATE TRIGGER papers_fts_update AFTER UPDATE OF title, abstract ON papers BEGIN "
        "INSERT INTO papers_fts (papers_fts, rowid, title, abstract) VALUES ('delete', old.id, old.title, old.abstract); "
        "INSERT INTO papers_fts (rowid, title, abstract) VALUES (new.id, new.title, new.abstract); END"
    )
    db.execute("INSERT INTO papers_fts (papers_fts) VALUES ('rebuild')")



def _v7_review_versions(db: sqlite3.Connection) -> None:
    """Draft versions and blind review: an item's path and version, and what a decision was made with.

    A draft is identified by its path within a session; a changed file becomes a new item (`version` n + 1, `root_id`
    the first version). On decisions, `scores_shown` and `blind` record the evidence the reviewer had (NULL: not
    recorded, older rows), and `redoes` names the decision a redo re-instates.
    """
    _run_script(
        db,
        """
        ALTER TABLE review_items ADD COLUMN path TEXT;
        ALTER TABLE review_items ADD COLUMN root_id INTEGER REFERENCES review_items (id);
        ALTER TABLE review_items ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
        UPDATE review_items SET path = (SELECT d.path FROM documents d WHERE d.id = review_items.document_id)
            WHERE document_id IS NOT NULL;
        CREATE INDEX review_items_path ON review_items (session_id, path);
        ALTER TABLE review_decisions ADD COLUMN scores_shown INTEGER CHECK (scores_shown IN (0, 1));
        ALTER TABLE review_decisions ADD COLUMN blind INTEGER CHECK (blind IN (0, 1));
        ALTER TABLE review_decisions ADD COLUMN redoes INTEGER REFERENCES review_decisions (id)
        """,
    )


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    _v1_initial, _v2_labels, _v3_jobs, _v4_reviews, _v5_hazard, _v6_lexical, _v7_review_versions,
]


def migrate(db: sqlite3.Connection) -> int:
    """Apply every migration newer than the database's user_version, each in its own transaction."""
    current = db.execute("PRAGMA user_version").fetchone()[0]
    if current > len(MIGRATIONS):
        from corpus.errors import CorpusError

        raise CorpusError(
            f"the workspace database has schema version {current}, newer than this tool knows ({len(MIGRATIONS)}); upgrade the tool"
        )
    for version, step in enumerate(MIGRATIONS[current:], start=current + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            # Re-check inside the write lock: another process may have migrated meanwhile.
            if db.execute("PRAGMA user_version").fetchone()[0] >= version:
                db.execute("ROLLBACK")
                continue
            step(db)
            db.execute(f"PRAGMA user_version = {version}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    return len(MIGRATIONS)
