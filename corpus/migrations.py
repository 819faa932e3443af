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


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v1_initial, _v2_labels]


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
