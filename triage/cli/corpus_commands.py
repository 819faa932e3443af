"""`triage corpus ...` and `triage index ...`: importing papers, fetching from arXiv, stats, and index builds."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from triage.cli import FORMAT_OPTION, app, options
from triage.cli.arxiv_options import BASE_URL, DELAY, PAGE_SIZE, RETRIES, arxiv_settings
from triage.cli.limits_options import MAX_FILE_MB, MAX_LINE_KB, read_limits
from triage.cli.output import OutputFormat, render

corpus_app = typer.Typer(help="Import papers into the workspace and inspect what it holds.", no_args_is_help=True)
index_app = typer.Typer(help="The FAISS similarity index.", no_args_is_help=True)
app.add_typer(corpus_app, name="corpus")
app.add_typer(index_app, name="index")


def _show_import(report, fmt: OutputFormat) -> None:
    row = {
        "read": report.counts.total,
        "inserted": report.counts.inserted,
        "updated": report.counts.updated,
        "unchanged": report.counts.unchanged,
        "skipped": len(report.skipped),
        "papers_in_workspace": report.paper_count,
        "indexed": report.index.count if report.index else None,
    }
    payload = dict(row, sources=report.sources, skipped_rows=[str(i) for i in report.skipped])
    render([row], fmt, title="Import", payload=payload)


@corpus_app.command(
    "import",
    epilog=(
        "Examples:\n\n  triage corpus import papers.csv\n\n  triage corpus import arxiv-metadata-oai-snapshot.json.gz refs.bib --no-index\n\n"
        "  triage corpus import wide-rows.jsonl --max-line-kb 4096\n\n"
        "Files are read locally; nothing reaches the network. Limits (line length, file size, gzip bombs): docs/RELIABILITY.md."
    ),
)
def corpus_import(
    ctx: typer.Context,
    files: List[Path] = typer.Argument(..., help="CSV, JSONL, arXiv snapshot (.jsonl/.json/.gz) or BibTeX files.", show_default=False),
    index: bool = typer.Option(True, "--index/--no-index", help="Embed the new papers and update the index now."),
    max_file_mb: Optional[float] = MAX_FILE_MB,
    max_line_kb: Optional[float] = MAX_LINE_KB,
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Import papers from files. Duplicates (same arXiv id, DOI or title) update the existing paper."""
    from triage.ingest import import_files

    opts = options(ctx)
    report = import_files(
        opts.workspace(), files, embedder=opts.embedder() if index else None, reporter=opts.reporter(),
        limits=read_limits(max_file_mb, max_line_kb),
    )
    _show_import(report, fmt)


@corpus_app.command(
    "fetch",
    epilog=(
        "Examples:\n\n  triage corpus fetch --query 'cat:cs.LG AND abs:\"reward hacking\"' --max 50\n\n"
        "  triage corpus fetch --ids 1706.03762 2203.02155\n\n"
        "This command reaches the arXiv API over the network (3 s between requests, as arXiv asks)."
    ),
)
def corpus_fetch(
    ctx: typer.Context,
    query: Optional[str] = typer.Option(None, "--query", help="arXiv search query.", show_default=False),
    ids: Optional[List[str]] = typer.Option(None, "--ids", help="arXiv ids (repeat, or give several after one --ids).", show_default=False),
    extra_ids: Optional[List[str]] = typer.Argument(None, hidden=True),
    max_results: int = typer.Option(100, "--max", min=1, help="At most this many results for --query."),
    page_size: int = PAGE_SIZE,
    base_url: Optional[str] = BASE_URL,
    delay: float = DELAY,
    retries: int = RETRIES,
    index: bool = typer.Option(True, "--index/--no-index", help="Embed the new papers and update the index now."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Fetch papers from the arXiv API (network) by query or id list, and import them."""
    from triage.ingest import fetch_arxiv

    opts = options(ctx)
    settings = arxiv_settings(page_size, delay, retries, base_url)
    all_ids = [*(ids or []), *(extra_ids or [])]
    report = fetch_arxiv(
        opts.workspace(), query=query, ids=all_ids or None, max_results=max_results, settings=settings,
        embedder=opts.embedder() if index else None, reporter=opts.reporter(),
    )
    _show_import(report, fmt)


@corpus_app.command("stats", epilog="Examples:\n\n  triage corpus stats\n\n  triage corpus stats --format json")
def corpus_stats(ctx: typer.Context, fmt: OutputFormat = FORMAT_OPTION) -> None:
    """Counts of papers by source and year, identifiers present, drafts and cached embeddings."""
    from triage.workspace_data import workspace_stats

    stats = workspace_stats(options(ctx).workspace())
    rows = [{"metric": key, "value": value} for key, value in stats.items() if not isinstance(value, (dict, list))]
    rows += [{"metric": f"source: {name}", "value": n} for name, n in stats["by_source"].items()]
    rows += [{"metric": f"year: {year}", "value": n} for year, n in stats["by_year"].items()]
    render(rows, fmt, title="Workspace", payload=stats)


@index_app.command("build", epilog="Examples:\n\n  triage index build\n\n  triage --model all-mpnet-base-v2 index build")
def index_build(ctx: typer.Context, fmt: OutputFormat = FORMAT_OPTION) -> None:
    """Rebuild the similarity index for the current model from every paper in the workspace."""
    from triage.workspace_data import rebuild_index

    opts = options(ctx)
    report = rebuild_index(opts.workspace(), opts.embedder(), reporter=opts.reporter())
    render([{"papers": report.count, "index": report.kind}], fmt, title="Index rebuilt")
