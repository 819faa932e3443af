"""Batch scoring of arXiv feeds and paper files: streamed page by page, checkpointed in SQLite, resumable."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Sequence

import numpy as np

from corpus import jobs
from corpus.errors import FetchError, InputError
from corpus.readers import ReadIssue
from corpus.readers.arxiv_api import ArxivSettings, iter_pages
from corpus.readers.cases import read_cases
from corpus.records import Paper
from corpus.scores import ScoreRecord
from corpus.store import Store
from models.embedders import Embedder
from models.probes import ProbeSet
from triage.assessment import Prior, assess
from triage.embedding import embed_texts
from triage.errors import UsageError
from triage.index import PaperIndex
from triage.output_files import output_target
from triage.policy import POLICY_FILE, TierPolicy
from triage.probe_registry import current_probe
from triage.progress import Reporter
from triage.scores_file import SUFFIXES, write_scores
from triage.workspace import Workspace
from triage.workspace_data import open_store, synced_index

# Papers per checkpoint when reading files: a kill loses at most this much work, and memory stays bounded by it.
DEFAULT_BATCH_SIZE = 128
TOP_N = 10
MAX_LISTED_ISSUES = 1000
MAX_NOTED_ISSUES = 20  # issues printed as they happen; the rest are counted in the summary
_CATEGORY = re.compile(r"^[a-z][a-z\-]*(\.[A-Za-z\-]+)?$")


@dataclass
class RankedPaper:
    """One line of the summary's top-10 tables: the paper and its score record."""

    id: str
    arxiv_id: str | None
    title: str
    url: str | None
    scores: ScoreRecord


@dataclass
class BatchReport:
    """What a batch run did, and the job's totals so far (a resumed job includes earlier runs)."""

    job_id: int
    status: str
    resumed: bool
    source: str
    probe_version: str
    embedder: str  # the model id and the class that ran it (a backend choice shows here)
    scored: int
    records: int
    total: int | None
    tiers: dict[str, int]
    top_capabilities: list[RankedPaper]
    top_safety: list[RankedPaper]
    top_hazard: list[RankedPaper]
    new_embeddings: int  # texts run through the model in this run
    cached_embeddings: int  # texts found in the cache in this run
    papers_this_run: int
    seconds: float
    skipped_count: int
    issues: list[ReadIssue] = field(default_factory=list)  # skipped records and kept-with-a-warning ones, capped
    issue_count: int = 0
    out: str | None = None
    written: int | None = None
    engine: str = "in-process"  # or "ray" (triage/ray_engine.py), which keeps no job in the store: job_id is 0

    @property
    def docs_per_second(self) -> float:
        return self.papers_this_run / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict:
        data = asdict(self)
        data["issues"] = [str(issue) for issue in self.issues]
        data["docs_per_second"] = round(self.docs_per_second, 2)
        return data


# --- the arXiv query for a date window ----------------------------------------------------------------------


def _day(value: str | date, option: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise InputError(f"{option} must be a date like 2026-11-28, got {value!r}") from None


def arxiv_query(
    query: str | None = None,
    categories: Sequence[str] | None = None,
    since: str | date | None = None,
    until: str | date | None = None,
) -> str:
    """The arXiv search query: `query`, new submissions from `since` to `until` (default today, UTC), in any of `categories`.

    `--category cs.LG --category cs.AI --since 2026-11-28 --until 2026-11-29` gives
    `submittedDate:[202611280000 TO 202611292359] AND (cat:cs.LG OR cat:cs.AI)`.
    """
    parts: list[str] = []
    query = (query or "").strip()
    if since is not None or until is not None:
        if since is None:
            raise InputError("--until needs --since")
        start = _day(since, "--since")
        end = _day(until, "--until") if until is not None else datetime.now(timezone.utc).date()
        if start > end:
            raise InputError(f"--since {start} is after --until {end}")
        parts.append(f"submittedDate:[{start:%Y%m%d}0000 TO {end:%Y%m%d}2359]")
    if categories:
        unique = list(dict.fromkeys(c.strip() for c in categories))
        for category in unique:
            if not _CATEGORY.match(category):
                raise InputError(f"{category!r} is not an arXiv category like cs.LG")
        joined = " OR ".join(f"cat:{category}" for category in unique)
        parts.append(f"({joined})" if len(unique) > 1 else joined)
    if query:
        # Parentheses keep an OR inside the user's query from escaping the date and category filters.
        parts.insert(0, f"({query})" if parts else query)
    return " AND ".join(parts)


# --- jobs ---------------------------------------------------------------------------------------------------


def _fingerprint(path: Path) -> dict:
    stat = path.stat()
    return {"path": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _spec_hash(spec: dict) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def _check_inputs(inputs: Sequence[Path]) -> list[Path]:
    paths = []
    for path in inputs:
        read_cases(path)  # checks that the file exists and has a supported extension; the lazy reader reads nothing
        paths.append(Path(path))
    return paths


def _job_lock(workspace: Workspace, job_id: int):
    """A lock held while a job runs; the OS drops it when the process dies, so a killed job can be resumed at once."""
    from filelock import FileLock, Timeout

    folder = workspace.home / "jobs"
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(folder / f"job-{job_id}.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise UsageError(f"job {job_id} is running in another process") from None
    return lock


def _describe(spec: dict) -> str:
    if spec["kind"] == "arxiv":
        return f"arXiv query {spec['query']!r}"
    return ", ".join(item["path"] for item in spec["inputs"])


# --- one run ------------------------------------------------------------------------------------------------


class _Forward(Reporter):
    """Passes the embedder's progress on to the batch's bar, ignoring the phases embed_texts would open."""

    def __init__(self, target: Reporter):
        self.target = target
        self.count = 0

    def advance(self, n: int = 1) -> None:
        self.count += n
        self.target.advance(n)


@dataclass
class _Run:
    """The parts one run scores with, and what it has done."""

    store: Store
    embedder: Embedder
    probe: ProbeSet
    policy: TierPolicy
    index: PaperIndex
    job: jobs.Job
    reporter: Reporter
    started: bool = False
    papers: int = 0
    computed: int = 0
    cached: int = 0
    noted: int = 0

    def start(self, total: int | None) -> None:
        """Open the progress bar once the number of records left is known (arXiv says it with the first page)."""
        if not self.started:
            self.started = True
            self.reporter.start("scoring papers", total)

    def page(self, papers: list[Paper], issues: list[ReadIssue], cursor: dict, total: int | None) -> None:
        """Store, embed, score and record one page; its results and the checkpoint commit together."""
        forward = _Forward(self.reporter)
        computed = 0
        if papers:
            # Embedding happens before the transaction, so other processes are not locked out while the model runs.
            _, warm = embed_texts(self.store, self.embedder, [p.embedding_text() for p in papers], reporter=forward)
            computed += warm.computed
            self.cached += warm.cached
        row_ids: list[int] = []
        vectors = None
        with self.store.transaction():
            results: list[jobs.JobResult] = []
            if papers:
                _, ids = self.store.upsert_papers(papers)
                row_ids = list(dict.fromkeys(ids))
                stored = self.store.get_papers(row_ids)
                # A paper merged with a stored one is scored on the stored text; it is nearly always cached already.
                texts = [stored[row_id].paper.embedding_text() for row_id in row_ids]
                vectors, again = embed_texts(self.store, self.embedder, texts)
                computed += again.computed
                results = self._score(row_ids, vectors, texts)
            _, skipped = jobs.record_page(
                self.store, self.job.id, results, issues, cursor=cursor, records=len(papers), embedded=computed, total=total
            )
        if row_ids and vectors is not None:
            # After the commit: prior work for later pages includes this one, and a rollback leaves the index alone.
            self.index.add_in_memory(np.array(row_ids, dtype=np.int64), vectors)
        self.papers += len(papers)
        self.computed += computed
        for issue in issues:
            self.noted += 1
            if self.noted <= MAX_NOTED_ISSUES:
                self.reporter.note(str(issue))
            elif self.noted == MAX_NOTED_ISSUES + 1:
                self.reporter.note("more issues follow; the summary lists them")
        self.reporter.advance(max(0, len(papers) + skipped - forward.count))

    def _score(self, row_ids: list[int], vectors: np.ndarray, texts: list[str]) -> list[jobs.JobResult]:
        hits = self.index.search(vectors, 2)  # two, as a paper already indexed finds itself first
        known = self.store.get_papers(list({row_id for row in hits for row_id, _ in row}))
        prior: list[Prior | None] = []
        for i, row_id in enumerate(row_ids):
            nearest = next(((hit, sim) for hit, sim in hits[i] if hit != row_id and hit in known), None)
            if nearest is None:
                prior.append(None)
            else:
                paper = known[nearest[0]].paper
                similarity = round(nearest[1], 4)
                # Both engines judge "the same work" by cosine alone (the Ray engine has no full-text index).
                prior.append(Prior(paper.arxiv_id or paper.uid or "", similarity, similarity >= self.policy.public_work_similarity))
        assessed = assess(self.probe, self.policy, vectors, texts, prior=prior)
        return [
            jobs.JobResult(
                paper_id=row_id, scores=result.scores, prior_id=near.id if near else None, prior_similarity=near.similarity if near else None,
            )
            for row_id, result, near in zip(row_ids, assessed, prior)
        ]


    def settle_prior(self, chunk: int = 2000) -> None:
        """Score every result again against the index as it stands at the end: prior work is then the nearest other
        paper among the workspace and the whole run, whichever page either came in.

        Scoring page by page only sees earlier pages, so the first paper of a run would miss a near-duplicate that
        comes later, and a resumed job would differ from an uninterrupted one. This pass makes the result
        independent of page order and of interruptions, and is what the Ray engine computes as well (its
        partitions cannot see each other while they are embedded). The vectors come from the cache, so it costs
        the probe's arithmetic and one index search per paper.
        """
        after = -1
        while batch := jobs.result_papers(self.store, self.job.id, after, chunk):
            row_ids = [paper_id for _, paper_id in batch]
            stored = self.store.get_papers(row_ids)
            texts = [stored[row_id].paper.embedding_text() for row_id in row_ids]
            vectors, _ = embed_texts(self.store, self.embedder, texts)
            jobs.rescore_results(self.store, self.job.id, self._score(row_ids, vectors, texts))
            after = batch[-1][0]


def _run_arxiv(run: _Run, settings: ArxivSettings) -> None:
    spec, start = run.job.spec, int(run.job.cursor.get("offset", 0))
    limit = spec.get("max_results")
    remaining = None if limit is None else max(0, limit - start)
    issues: list[ReadIssue] = []
    for page in iter_pages(query=spec["query"], settings=settings, on_issue=issues.append, start=start, max_results=remaining):
        total = page.total if limit is None else min(page.total if page.total is not None else limit, limit)
        run.start(None if total is None else max(0, total - start))
        batch, issues[:] = list(issues), []
        run.page(page.papers, batch, {"offset": page.next_offset}, total)


# Enough text to count records in reliably; a bigger file (or a compression bomb) is estimated from its size.
_ESTIMATE_SAMPLE_BYTES = 16 << 20


def _estimate_records(path: Path) -> int:
    """Roughly how many records a file holds (lines, or BibTeX entries), for the ETA only: counted in the first
    16 MiB of text and scaled by the file's size on disk, so a huge file or a gzip bomb costs no more than that."""
    name = path.name.lower()
    marker = b"\n@" if name.removesuffix(".gz").endswith(".bib") else b"\n"
    count = text_bytes = 0
    try:
        with path.open("rb") as raw:
            handle = gzip.GzipFile(fileobj=raw) if name.endswith(".gz") else raw
            for block in iter(lambda: handle.read(1 << 20), b""):
                count += block.count(marker) + (marker == b"\n@" and text_bytes == 0 and block.startswith(b"@"))
                text_bytes += len(block)
                if text_bytes >= _ESTIMATE_SAMPLE_BYTES:
                    # raw.tell() is how much of the file on disk that text came from (compressed, for .gz).
                    return int(count * path.stat().st_size / max(raw.tell(), 1))
    except (OSError, EOFError):
        return 0  # the reader reports a damaged file properly
    return count - 1 if name.removesuffix(".gz").endswith(".csv") else count


def _run_files(run: _Run, batch_size: int) -> None:
    spec, cursor = run.job.spec, run.job.cursor
    paths = [Path(item["path"]) for item in spec["inputs"]]
    for item, path in zip(spec["inputs"], paths):
        if not path.is_file() or _fingerprint(path) != item:
            raise UsageError(f"{path} changed since job {run.job.id} started; start a new job rather than resume this one")
    first, done_in_first = int(cursor.get("file", 0)), int(cursor.get("papers", 0))
    # Records left: lines (or entries) in every file, less what earlier runs of this job consumed.
    run.start(max(0, sum(_estimate_records(path) for path in paths) - run.job.consumed) or None)
    issues: list[ReadIssue] = []
    for number in range(first, len(paths)):
        skip = done_in_first if number == first else 0
        batch: list[Paper] = []
        seen = 0
        for paper in read_cases(paths[number], issues.append):
            seen += 1
            if seen <= skip:
                continue  # checkpointed before the stop; its issues are recorded again, which changes nothing
            batch.append(paper)
            if len(batch) >= batch_size:
                page_issues, issues[:] = list(issues), []
                run.page(batch, page_issues, {"file": number, "papers": seen}, None)
                batch = []
        page_issues, issues[:] = list(issues), []
        run.page(batch, page_issues, {"file": number + 1, "papers": 0}, None)


# --- the library function -----------------------------------------------------------------------------------


def _open_job(
    store: Store, workspace: Workspace, embedder: Embedder, reporter: Reporter, *, resume: int | None, spec: dict | None
) -> tuple[jobs.Job, bool, ProbeSet]:
    if resume is not None:
        job = jobs.get_job(store, resume)
        if job is None:
            raise UsageError(f"no batch job {resume} in this workspace")
        if job.spec["model"] != embedder.model_id:
            raise UsageError(f"job {resume} was scored with {job.spec['model']}, not {embedder.model_id}; pass --model to match")
    else:
        assert spec is not None
        job = jobs.find_unfinished(store, _spec_hash(spec))
    if job is not None:
        probe = current_probe(workspace, store, embedder, version=job.spec["probe_version"], reporter=reporter)
        if not job.finished:
            reporter.note(f"resuming job {job.id} after {job.consumed} records ({job.scored} scored)")
        return job, True, probe
    assert spec is not None
    probe = current_probe(workspace, store, embedder, reporter=reporter)
    job = jobs.create_job(store, spec["kind"], {**spec, "probe_version": probe.version}, _spec_hash(spec))
    return job, False, probe


def _ranked(rows: list[dict]) -> list[RankedPaper]:
    return [
        RankedPaper(
            id=row["id"], arxiv_id=row["arxiv_id"], title=row["title"], url=row["url"],
            scores=ScoreRecord.from_row({**row, "areas": row["top_areas"]}),
        )
        for row in rows
    ]


def run_batch(
    workspace: Workspace,
    *,
    embedder: Embedder,
    query: str | None = None,
    categories: Sequence[str] | None = None,
    since: str | date | None = None,
    until: str | date | None = None,
    inputs: Sequence[Path] | None = None,
    max_results: int | None = None,
    out: Path | None = None,
    resume: int | None = None,
    policy: TierPolicy | None = None,
    settings: ArxivSettings | None = None,
    reporter: Reporter | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> BatchReport:
    """Score every paper of an arXiv query (network) or of paper files, page by page, as a resumable job.

    Each page is deduplicated into the store, embedded through the cache, scored, and appended to the job's
    results together with its checkpoint, so a crash or kill loses at most the page in flight and never writes a
    paper twice. Running the same spec again resumes an unfinished job; `resume` continues a job by id. With
    `out` the job's results are exported at the end (.parquet, .csv or .jsonl).
    """
    reporter = reporter or Reporter()
    began = time.monotonic()
    if out is not None:
        output_target(out, suffixes=SUFFIXES, workspace_home=workspace.home, inputs=inputs or ())
    if batch_size < 1:
        raise InputError(f"the batch size must be at least 1, got {batch_size}")
    if max_results is not None and max_results < 1:
        raise InputError(f"--max must be at least 1, got {max_results}")
    wants_arxiv = bool((query or "").strip() or categories or since is not None or until is not None)
    spec: dict | None = None
    if resume is not None:
        if wants_arxiv or inputs or max_results is not None:
            raise UsageError("--resume continues a job as it was started; give no query, category, dates, inputs or --max with it")
    elif wants_arxiv and inputs:
        raise InputError("give an arXiv query (--query, --category, --since) or --input files, not both")
    elif not wants_arxiv and not inputs:
        raise InputError("nothing to score: give --query, --category/--since, --input files, or --resume JOB")
    settings = settings or ArxivSettings()
    policy = policy or TierPolicy.load(workspace.home / POLICY_FILE)
    if resume is None:
        if wants_arxiv:
            text = arxiv_query(query, categories, since, until)
            spec = {"kind": "arxiv", "query": text, "max_results": max_results, "base_url": settings.base_url}
        else:
            spec = {"kind": "files", "inputs": [_fingerprint(path) for path in _check_inputs(inputs or [])]}
        spec |= {"model": embedder.model_id, "policy": policy.to_dict()}

    with open_store(workspace) as store:
        job, resumed, probe = _open_job(store, workspace, embedder, reporter, resume=resume, spec=spec)
        if out is not None and resume is not None:  # the job's own inputs are known only now
            output_target(out, suffixes=SUFFIXES, inputs=[item["path"] for item in job.spec.get("inputs", [])])
        lock = _job_lock(workspace, job.id)
        try:
            job = jobs.get_job(store, job.id) or job  # another process may have moved it on before the lock was ours
            run = _Run(store, embedder, probe, TierPolicy(**job.spec["policy"]), PaperIndex(workspace.index_dir, embedder.model_id), job, reporter)
            if not job.finished:
                jobs.set_status(store, job.id, jobs.RUNNING)
                run.index, _ = synced_index(workspace, store, embedder, reporter)
                _execute(run, replace(settings, base_url=job.spec.get("base_url", settings.base_url)), batch_size)
            return _finish(store, run, out, resumed, began)
        finally:
            lock.release()


def _execute(run: _Run, settings: ArxivSettings, batch_size: int) -> None:
    job, store, reporter = run.job, run.store, run.reporter
    try:
        if job.kind == "arxiv":
            _run_arxiv(run, settings)
        else:
            _run_files(run, batch_size)
        reporter.finish()
        # Persist the index from the store: every vector this run added is in the cache, so nothing is embedded.
        run.index.sync(store, run.embedder, reporter=reporter)
        run.settle_prior()
        jobs.set_status(store, job.id, jobs.DONE)
    except KeyboardInterrupt:
        reporter.finish()
        jobs.set_status(store, job.id, jobs.INTERRUPTED, "interrupted")
        reporter.note(f"job {job.id} interrupted; rerun the same command or `triage batch --resume {job.id}` to continue")
        raise
    except FetchError as exc:
        reporter.finish()
        jobs.set_status(store, job.id, jobs.FAILED, str(exc))
        now = jobs.get_job(store, job.id) or job
        raise FetchError(
            f"{exc}; job {job.id} stopped after {now.consumed} of {now.total if now.total is not None else '?'} records "
            f"and can be resumed: triage batch --resume {job.id} (or rerun the same command)"
        ) from None
    except Exception as exc:
        reporter.finish()
        jobs.set_status(store, job.id, jobs.FAILED, str(exc))
        raise


def _finish(store: Store, run: _Run, out: Path | None, resumed: bool, began: float) -> BatchReport:
    job = jobs.get_job(store, run.job.id) or run.job
    written = write_scores(jobs.iter_results(store, job.id), Path(out)) if out is not None else None
    return BatchReport(
        job_id=job.id, status=job.status, resumed=resumed, source=_describe(job.spec), probe_version=run.probe.version,
        embedder=f"{run.embedder.model_id} ({type(run.embedder).__name__})",
        scored=job.scored, records=job.consumed, total=job.total, tiers=jobs.tier_counts(store, job.id),
        top_capabilities=_ranked(jobs.top_results(store, job.id, "capabilities", TOP_N)),
        top_safety=_ranked(jobs.top_results(store, job.id, "safety", TOP_N)),
        top_hazard=_ranked(jobs.top_results(store, job.id, "hazard", TOP_N)),
        new_embeddings=run.computed, cached_embeddings=run.cached, papers_this_run=run.papers,
        seconds=round(time.monotonic() - began, 3), skipped_count=job.skipped,
        issues=jobs.job_issues(store, job.id, limit=MAX_LISTED_ISSUES), issue_count=jobs.issue_count(store, job.id),
        out=str(out) if out is not None else None, written=written,
    )
