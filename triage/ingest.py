"""Bringing papers into a workspace: files of any supported format, or the arXiv API."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from corpus.errors import InputError
from corpus.limits import DEFAULT_LIMITS, ReadLimits
from corpus.readers import IssueLog
from corpus.readers.arxiv_api import ArxivSettings, fetch_ids, search
from corpus.readers.files import read_papers
from corpus.records import Paper, parse_arxiv_id
from corpus.store import Store, UpsertCounts
from models.embedders import Embedder
from triage.index import SyncReport
from triage.progress import Reporter, note_issues
from triage.workspace import Workspace
from triage.workspace_data import open_store, synced_index


@dataclass
class ImportReport:
    """What an import did: rows read, inserted, updated or already present, rows skipped, and the index after it."""

    sources: list[str]
    counts: UpsertCounts = field(default_factory=UpsertCounts)
    skipped: IssueLog = field(default_factory=IssueLog)  # the first issues kept, all counted: memory stays bounded
    index: SyncReport | None = None
    paper_count: int = 0


def _counting(papers: Iterable[Paper], reporter: Reporter) -> Iterator[Paper]:
    for paper in papers:
        reporter.advance(1)
        yield paper


def _store_all(workspace: Workspace, report: ImportReport, papers: Iterable[Paper], embedder: Embedder | None, reporter: Reporter) -> ImportReport:
    with open_store(workspace) as store:
        # One transaction for the whole import: a failure part-way leaves the store as it was.
        reporter.start("reading papers", None)
        report.counts = store.add_papers(_counting(papers, reporter))
        reporter.finish()
        if embedder is not None:
            _, report.index = synced_index(workspace, store, embedder, reporter)
        report.paper_count = store.paper_count()
    note_issues(reporter, report.skipped)
    return report


def import_files(
    workspace: Workspace, paths: list[Path], *, embedder: Embedder | None = None, reporter: Reporter | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
) -> ImportReport:
    """Import CSV, JSONL, arXiv snapshot (.jsonl/.gz) and BibTeX files; bad rows are skipped and reported.

    With an embedder the new papers are embedded and added to the index straight away. `limits` bounds what one
    record or file may cost (corpus.limits).
    """
    reporter = reporter or Reporter()
    for path in paths:  # check every file before writing anything
        if not Path(path).is_file():
            raise InputError("no such file" if not Path(path).exists() else "not a file", source=str(path))
    report = ImportReport(sources=[str(p) for p in paths])

    def papers() -> Iterator[Paper]:
        for path in paths:
            yield from read_papers(Path(path), report.skipped.append, limits=limits)

    return _store_all(workspace, report, papers(), embedder, reporter)


def fetch_arxiv(
    workspace: Workspace,
    *,
    query: str | None = None,
    ids: list[str] | None = None,
    max_results: int | None = 100,
    settings: ArxivSettings | None = None,
    embedder: Embedder | None = None,
    reporter: Reporter | None = None,
) -> ImportReport:
    """Fetch papers from the arXiv API (network) by search query or id list and import them."""
    if bool(query) == bool(ids):
        raise InputError("give either a search query or a list of arXiv ids")
    settings = settings or ArxivSettings()
    reporter = reporter or Reporter()
    report = ImportReport(sources=[f"arXiv query {query!r}" if query else f"arXiv ids {', '.join(ids or [])}"])
    # Read everything first so a network failure part-way writes nothing.
    if query:
        papers = list(search(query, max_results, settings, report.skipped.append))
    else:
        papers = list(fetch_ids(list(ids or []), settings, report.skipped.append))
    return _store_all(workspace, report, papers, embedder, reporter)


def paper_for_arxiv_id(store: Store, raw_id: str, settings: ArxivSettings | None) -> Paper:
    """The paper with this arXiv id: from the store when it holds its abstract, else fetched from arXiv and stored."""
    arxiv_id = parse_arxiv_id(raw_id)
    if arxiv_id is None:
        raise InputError(f"not an arXiv id: {raw_id!r}")
    stored = store.find_paper(arxiv_id=arxiv_id)
    if stored is not None and stored.paper.abstract:
        return stored.paper
    papers = list(fetch_ids([arxiv_id], settings or ArxivSettings(), lambda issue: None))
    if not papers:
        raise InputError(f"arXiv has no paper {arxiv_id}")
    store.add_papers(papers)
    return papers[0]
