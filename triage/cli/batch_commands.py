"""`triage batch` and `triage report`: score arXiv feeds or paper files as resumable jobs, and digest the results."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer

from triage.cli import FORMAT_OPTION, app, options
from triage.cli.arxiv_options import BASE_URL, DELAY, PAGE_SIZE, RETRIES, arxiv_settings
from triage.cli.output import OutputFormat, render, say

LISTED_ISSUES = 20


@app.command(
    epilog=(
        "Examples:\n\n"
        "  triage batch --category cs.LG --category cs.AI --since 2026-11-28 --out today.parquet\n\n"
        "  triage batch --query 'cat:cs.LG AND abs:reward' --max 500 --out reward.csv\n\n"
        "  triage batch --input arxiv-metadata-oai-snapshot.json.gz --out scores.jsonl\n\n"
        "  triage batch --resume 7 --out scores.parquet\n\n"
        "--query, --category and --since fetch from the arXiv API over the network (3 s between requests, as arXiv "
        "asks); --input files never leave this machine. Every run is a job checkpointed after each page: after a "
        "crash, Ctrl-C or a network failure, run the same command again (or --resume JOB) to continue where it "
        "stopped. Output columns: see docs/BATCH.md."
    )
)
def batch(
    ctx: typer.Context,
    query: Optional[str] = typer.Option(None, "--query", help="arXiv search query (network).", show_default=False),
    category: Optional[List[str]] = typer.Option(None, "--category", help="arXiv category, e.g. cs.LG (repeatable; network).", show_default=False),
    since: Optional[str] = typer.Option(None, "--since", help="New submissions from this date (YYYY-MM-DD; network).", metavar="DATE", show_default=False),
    until: Optional[str] = typer.Option(None, "--until", help="...up to this date, inclusive (default: today, UTC).", metavar="DATE", show_default=False),
    inputs: Optional[List[Path]] = typer.Option(None, "--input", "-i", help="Paper file: arXiv snapshot JSONL (.gz), CSV, JSONL or BibTeX (repeatable).", show_default=False),
    max_results: Optional[int] = typer.Option(None, "--max", min=1, help="At most this many arXiv results.", show_default=False),
    out: Optional[str] = typer.Option(None, "--out", "-o", help="Write the scores to .parquet, .csv or .jsonl (with --engine ray also DIR/ or s3://bucket/prefix/: shards and a manifest).", show_default=False),
    resume: Optional[int] = typer.Option(None, "--resume", help="Continue job JOB as it was started.", metavar="JOB", show_default=False),
    policy: Optional[Path] = typer.Option(None, "--policy", help="A policy JSON overriding the tier thresholds.", show_default=False),
    batch_size: int = typer.Option(128, "--batch-size", min=1, max=10000, help="Papers per checkpoint when reading files."),
    page_size: int = PAGE_SIZE,
    delay: float = DELAY,
    retries: int = RETRIES,
    base_url: Optional[str] = BASE_URL,
    engine: str = typer.Option("in-process", "--engine", help="in-process, or ray: score --input files on a Ray cluster (docs/SCALE.md)."),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", help="Join the Ray cluster there (default: start a local Ray).", metavar="ADDR", show_default=False),
    partition_size: int = typer.Option(1000, "--partition-size", min=1, max=100000, help="Records per Ray partition (the unit a rerun skips)."),
    verbose: bool = typer.Option(False, "--verbose", help="Show Ray's own console output."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Score many papers from arXiv (network) or from files, resumably, and summarise the tiers."""
    from triage.batch import run_batch
    from triage.errors import InputError, UsageError
    from triage.policy import TierPolicy

    opts = options(ctx)
    if engine not in ("in-process", "ray"):
        raise UsageError(f"--engine must be in-process or ray, not {engine!r}")
    if policy is not None and not policy.is_file():
        raise InputError("no such file", source=str(policy))
    settings = arxiv_settings(page_size, delay, retries, base_url)
    reporter = opts.reporter()
    if not sys.stdout.isatty():
        reporter.show_bars = False  # output piped or redirected: a log, not a live terminal
    if engine == "ray":
        from triage.ray_engine import EmbedderSpec, run_ray_batch

        if query or category or since or until or resume is not None:
            raise InputError("--engine ray scores --input files; run API queries and --resume in-process")
        workspace = opts.workspace()
        report = run_ray_batch(
            workspace, embedder=opts.embedder(), embedder_spec=EmbedderSpec(opts.model, opts.device, opts.backend, str(workspace.onnx_dir)),
            inputs=inputs or [], out=out, policy=TierPolicy.load(policy) if policy else None, reporter=reporter,
            address=ray_address, verbose=verbose, partition_size=partition_size,
        )
        _show_batch(report, fmt)
        return
    report = run_batch(
        opts.workspace(), embedder=opts.embedder(), query=query, categories=category, since=since, until=until,
        inputs=inputs, max_results=max_results, out=Path(out) if out else None, resume=resume, policy=TierPolicy.load(policy) if policy else None,
        settings=settings, reporter=reporter, batch_size=batch_size,
    )
    _show_batch(report, fmt)


def _ranked_rows(papers) -> list[dict]:
    return [
        {
            "tier": p.scores.tier, "capab.": p.scores.capabilities, "safety": p.scores.safety,
            "hazard": p.scores.hazard, "id": p.arxiv_id or p.id, "title": p.title,
        }
        for p in papers
    ]


def _show_batch(report, fmt: OutputFormat) -> None:
    if fmt is OutputFormat.json:
        render([], fmt, payload=report.to_dict())
        return
    tiers = [{"tier": tier, "papers": n} for tier, n in report.tiers.items()]
    if fmt is OutputFormat.csv:
        render(tiers, fmt, columns=["tier", "papers"])
        return
    state = "resumed and finished" if report.resumed and report.papers_this_run and report.status == "done" else report.status
    run = "Ray run" if report.engine == "ray" else f"Job {report.job_id}"
    say(
        f"{run} {state}: {report.scored} papers scored from {report.records} records "
        f"({report.skipped_count} skipped) of {report.source}."
    )
    say(
        f"This run: {report.papers_this_run} papers in {report.seconds:.1f} s ({report.docs_per_second:.1f} docs/s), "
        f"{report.new_embeddings} new embeddings, {report.cached_embeddings} from the cache; probe {report.probe_version}."
    )
    render(tiers, fmt, title="Tiers")
    if report.top_capabilities:
        render(_ranked_rows(report.top_capabilities), fmt, title="Top 10 by capability risk, P(capabilities)")
        render(_ranked_rows(report.top_safety), fmt, title="Top 10 by safety relevance, P(safety)")
        render(_ranked_rows(report.top_hazard), fmt, title="Top 10 by misuse hazard, P(hazard)")
    if report.issues:
        listed = [{"record": f"{i.source}:{i.record}", "issue": i.message} for i in report.issues[:LISTED_ISSUES]]
        more = report.issue_count - len(listed)
        render(listed, fmt, title="Skipped records and warnings" + (f" (first {len(listed)}; {more} more in --format json)" if more > 0 else ""))
    if report.out:
        say(f"Wrote {report.written} rows to {report.out}.")


@app.command(
    epilog=(
        "Examples:\n\n"
        "  triage report scores.parquet --html digest.html\n\n"
        "  triage report today.csv --html today.html --title 'cs.LG, 28 Nov'\n\n"
        "The page stands alone (plot embedded as PNG) and never reaches the network."
    )
)
def report(
    ctx: typer.Context,
    scores_file: Path = typer.Argument(..., help="A scores file written by `triage batch --out` (.parquet, .csv, .jsonl).", show_default=False),
    html: Path = typer.Option(..., "--html", help="Where to write the HTML digest (.html; outside the workspace; an existing file only if it is a digest).", show_default=False),
    title: Optional[str] = typer.Option(None, "--title", help="The page title.", show_default=False),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Write an HTML digest of a scores file: tier counts, score plot, sub-areas and flagged papers."""
    from triage.report import write_report

    summary = write_report(scores_file, html, title=title, workspace_home=options(ctx).workspace().home)
    row = {"html": summary.path, "papers": summary.papers, **{tier: n for tier, n in summary.tiers.items()}}
    render([row], fmt, title="Report", payload=row)
