"""`triage labels ...`: import training labels and see what the label table holds."""

from __future__ import annotations

from pathlib import Path

import typer

from triage.cli import FORMAT_OPTION, app, options
from triage.cli.output import OutputFormat, render

labels_app = typer.Typer(help="Training labels for the probes.", no_args_is_help=True)
app.add_typer(labels_app, name="labels")


@labels_app.command(
    "import",
    epilog=(
        "Examples:\n\n  triage labels import my_labels.csv\n\n  triage labels import reviewed.jsonl --format json\n\n"
        "Columns: text (or title + abstract), safety (0/1), capabilities (0/1), area (names from the taxonomy, ';'-separated)."
    ),
)
def labels_import(ctx: typer.Context, file: Path = typer.Argument(..., help="CSV or JSONL label file.", show_default=False), fmt: OutputFormat = FORMAT_OPTION) -> None:
    """Add labelled texts; the next `triage models train` uses them."""
    from triage.labels import import_labels

    opts = options(ctx)
    report = import_labels(opts.workspace(), file, reporter=opts.reporter())
    row = {"inserted": report.counts.inserted, "updated": report.counts.updated, "unchanged": report.counts.unchanged, "skipped": len(report.skipped)}
    render([row], fmt, title=f"Labels from {file}", payload={**row, "unknown_areas": report.unknown_areas, "totals": report.totals, "skipped_rows": [str(i) for i in report.skipped]})


@labels_app.command("stats", epilog="Examples:\n\n  triage labels stats")
def labels_stats(ctx: typer.Context, fmt: OutputFormat = FORMAT_OPTION) -> None:
    """Labelled items per source."""
    from triage.workspace_data import label_counts

    counts = label_counts(options(ctx).workspace())
    render([{"source": s, "items": n} for s, n in counts.items()], fmt, title="Labels")
