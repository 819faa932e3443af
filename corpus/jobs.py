"""Batch jobs in the store: their spec and checkpoint, the scores they produced, and the records they skipped."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterator, Sequence

from corpus.readers import ReadIssue
from corpus.records import ascii_int
from corpus.scores import SCORE_COLUMNS, ScoreRecord
from corpus.store import Store, inserted_id, utc_now

RUNNING, INTERRUPTED, FAILED, DONE = "running", "interrupted", "failed", "done"
UNFINISHED = (RUNNING, INTERRUPTED, FAILED)
# Columns a caller may rank results by; checked so that no other text reaches the SQL.
RANKABLE = ("safety", "capabilities", "hazard", "differential", "prior_similarity")
_STORED = ("position", *SCORE_COLUMNS, "prior_id", "prior_similarity")  # job_results' columns after (job_id, paper_id)
_RESCORED = ", ".join(f"{c} = ?" for c in (*SCORE_COLUMNS, "prior_id", "prior_similarity"))  # what a rescore replaces
_RESULT_COLUMNS = "p.uid AS id, p.arxiv_id, p.title, p.authors, p.categories, p.published, p.url, " + ", ".join(f"r.{c}" for c in _STORED)
_INSERT_RESULT = (  # constant: the column names come from the score record, never from data
    f"INSERT OR IGNORE INTO job_results (job_id, paper_id, {', '.join(_STORED)}) VALUES ({', '.join('?' * (len(_STORED) + 2))})"
)


@dataclass
class Job:
    """One batch run: what it reads (`spec`), where it stopped (`cursor`), and what it has done so far."""

    id: int
    kind: str
    spec: dict
    spec_hash: str
    status: str
    cursor: dict
    total: int | None
    consumed: int
    scored: int
    skipped: int
    embedded: int
    message: str | None
    created_at: str
    updated_at: str

    @property
    def finished(self) -> bool:
        return self.status == DONE


@dataclass
class JobResult:
    """The score record of one paper in one job, and its nearest prior paper."""

    paper_id: int
    scores: ScoreRecord
    prior_id: str | None = None
    prior_similarity: float | None = None


def _job(row) -> Job:
    return Job(
        id=row["id"], kind=row["kind"], spec=json.loads(row["spec"]), spec_hash=row["spec_hash"], status=row["status"],
        cursor=json.loads(row["cursor"]), total=row["total"], consumed=row["consumed"], scored=row["scored"],
        skipped=row["skipped"], embedded=row["embedded"], message=row["message"], created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def create_job(store: Store, kind: str, spec: dict, spec_hash: str) -> Job:
    now = utc_now()
    with store.transaction() as db:
        cursor = db.execute(
            "INSERT INTO jobs (kind, spec, spec_hash, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
            (kind, json.dumps(spec, sort_keys=True), spec_hash, RUNNING, now, now),
        )
        job_id = inserted_id(cursor)
    job = get_job(store, job_id)
    assert job is not None
    return job


def get_job(store: Store, job_id: int) -> Job | None:
    rows = store.query("SELECT * FROM jobs WHERE id = ?", (job_id,))
    return _job(rows[0]) if rows else None


def find_unfinished(store: Store, spec_hash: str) -> Job | None:
    """The newest job with this spec that has not finished (it was interrupted, killed or failed)."""
    marks = ",".join("?" * len(UNFINISHED))
    rows = store.query(
        f"SELECT * FROM jobs WHERE spec_hash = ? AND status IN ({marks}) ORDER BY id DESC LIMIT 1", (spec_hash, *UNFINISHED)
    )
    return _job(rows[0]) if rows else None


def set_status(store: Store, job_id: int, status: str, message: str | None = None) -> None:
    with store.transaction() as db:
        db.execute("UPDATE jobs SET status = ?, message = ?, updated_at = ? WHERE id = ?", (status, message, utc_now(), job_id))


def _score_values(scores: ScoreRecord) -> list:
    """A score record as job_results' score columns hold it (lists as JSON)."""
    record = scores.to_row()
    return [json.dumps(record[c]) if c in ("reasons", "areas") else record[c] for c in SCORE_COLUMNS]


def record_page(
    store: Store,
    job_id: int,
    results: Sequence[JobResult],
    issues: Sequence[ReadIssue],
    *,
    cursor: dict,
    records: int,
    embedded: int,
    total: int | None,
) -> tuple[int, int]:
    """Append a page's results and issues and move the checkpoint, atomically (joining the caller's transaction).

    A paper or issue the job already holds is ignored, so replaying a page after a crash adds nothing twice.
    `records` counts the page's papers; skipped records are added as they are newly recorded. Returns
    (new results, new skipped records).
    """
    with store.transaction() as db:
        row = db.execute("SELECT scored FROM jobs WHERE id = ?", (job_id,)).fetchone()
        position = row["scored"]
        added = 0
        for result in results:
            values = _score_values(result.scores)
            inserted = db.execute(
                _INSERT_RESULT, (job_id, result.paper_id, position + added, *values, result.prior_id, result.prior_similarity)
            ).rowcount
            added += inserted
        skipped = 0
        for issue in issues:
            inserted = db.execute(
                "INSERT OR IGNORE INTO job_issues (job_id, source, record, message) VALUES (?, ?, ?, ?)",
                (job_id, issue.source, str(issue.record), issue.message),
            ).rowcount
            skipped += inserted if is_skip(issue) else 0
        db.execute(
            "UPDATE jobs SET cursor = ?, total = COALESCE(?, total), consumed = consumed + ?, scored = scored + ?, "
            "skipped = skipped + ?, embedded = embedded + ?, updated_at = ? WHERE id = ?",
            (json.dumps(cursor), total, records + skipped, added, skipped, embedded, utc_now(), job_id),
        )
    return added, skipped


def result_papers(store: Store, job_id: int, after: int = -1, chunk: int = 2000) -> list[tuple[int, int]]:
    """Up to `chunk` (position, paper row id) pairs of a job's results after position `after`, in scoring order."""
    rows = store.query(
        "SELECT position, paper_id FROM job_results WHERE job_id = ? AND position > ? ORDER BY position LIMIT ?",
        (job_id, after, chunk),
    )
    return [(row["position"], row["paper_id"]) for row in rows]


def rescore_results(store: Store, job_id: int, results: Sequence[JobResult]) -> None:
    """Replace the score record and prior work of results the job already holds (joining the caller's transaction)."""
    sql = f"UPDATE job_results SET {_RESCORED} WHERE job_id = ? AND paper_id = ?"
    with store.transaction() as db:
        for result in results:
            db.execute(sql, (*_score_values(result.scores), result.prior_id, result.prior_similarity, job_id, result.paper_id))


def is_skip(issue: ReadIssue) -> bool:
    """Readers report dropped records with "skipped ..." and kept ones with a warning about one field."""
    return issue.message.startswith("skipped")


def job_issues(store: Store, job_id: int, limit: int | None = None) -> list[ReadIssue]:
    """Every issue a job met, in the order they were recorded."""
    sql = "SELECT source, record, message FROM job_issues WHERE job_id = ? ORDER BY rowid"
    params: tuple = (job_id,)
    if limit is not None:
        sql += " LIMIT ?"
        params += (limit,)
    return [
        ReadIssue(row["source"], row["record"] if (number := ascii_int(row["record"])) is None else number, row["message"])
        for row in store.query(sql, params)
    ]


def issue_count(store: Store, job_id: int) -> int:
    return store.query("SELECT COUNT(*) AS n FROM job_issues WHERE job_id = ?", (job_id,))[0]["n"]


def tier_counts(store: Store, job_id: int) -> dict[str, int]:
    rows = store.query("SELECT tier, COUNT(*) AS n FROM job_results WHERE job_id = ? GROUP BY tier ORDER BY tier", (job_id,))
    return {row["tier"]: row["n"] for row in rows}


def _result_dict(row) -> dict:
    item = dict(row)
    for key in ("authors", "categories", "reasons", "areas"):
        item[key] = json.loads(item[key])
    item["top_areas"] = item.pop("areas")
    return item


def top_results(store: Store, job_id: int, by: str, n: int = 10) -> list[dict]:
    """The `n` results with the highest `by` (one of RANKABLE), with their papers' metadata."""
    if by not in RANKABLE:
        raise ValueError(f"cannot rank by {by!r}; choose one of {RANKABLE}")
    rows = store.query(
        f"SELECT {_RESULT_COLUMNS} FROM job_results r JOIN papers p ON p.id = r.paper_id "
        f"WHERE r.job_id = ? ORDER BY r.{by} DESC, r.position LIMIT ?",
        (job_id, n),
    )
    return [_result_dict(row) for row in rows]


def iter_results(store: Store, job_id: int, chunk: int = 2000) -> Iterator[list[dict]]:
    """A job's results with their papers' metadata, in the order they were scored, `chunk` rows at a time."""
    last = -1
    while True:
        rows = store.query(
            f"SELECT {_RESULT_COLUMNS} FROM job_results r JOIN papers p ON p.id = r.paper_id "
            "WHERE r.job_id = ? AND r.position > ? ORDER BY r.position LIMIT ?",
            (job_id, last, chunk),
        )
        if not rows:
            return
        yield [_result_dict(row) for row in rows]
        last = rows[-1]["position"]
