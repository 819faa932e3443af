"""`triage models ...`: train, list, show and evaluate probe sets."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import List, Optional

import typer

from triage.cli import FORMAT_OPTION, app, options
from triage.cli.output import OutputFormat, render, say

models_app = typer.Typer(help="Probe classifiers: train, list, show, evaluate.", no_args_is_help=True)
app.add_typer(models_app, name="models")


@models_app.command("train", epilog="Examples:\n\n  triage models train\n\n  triage models train --source seed --source user:my_labels.csv")
def models_train(
    ctx: typer.Context,
    source: Optional[List[str]] = typer.Option(None, "--source", help="Train only on these label sources (see `triage labels stats`).", show_default=False),
    with_decisions: bool = typer.Option(True, "--with-decisions/--without-decisions", help="Include labels from review decisions."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Train a new probe set on the workspace's labels (seed, imported, and review decisions)."""
    from triage.probe_registry import train_probes

    opts = options(ctx)
    probe = train_probes(
        opts.workspace(), opts.embedder(), sources=list(source) if source else None, with_decisions=with_decisions,
        reporter=opts.reporter(),
    )
    _show_card(probe.card, fmt)


@models_app.command("list", epilog="Examples:\n\n  triage models list\n\n  triage models list --format json")
def models_list(ctx: typer.Context, fmt: OutputFormat = FORMAT_OPTION) -> None:
    """Probe sets in the workspace, newest first (the newest for a model is its default)."""
    from triage.probe_registry import list_probes

    rows = [{k: v for k, v in asdict(s).items() if k != "path"} for s in list_probes(options(ctx).workspace())]
    columns: list[str] | None = ["version", "created_at", "embedder_id", "items", "safety_auroc", "capabilities_auroc"]
    if fmt is OutputFormat.table:
        rows = [
            {"version": r["version"], "created": r["created_at"][:16].replace("T", " "), "embedder": r["embedder_id"].split("/")[-1],
             "labels": r["items"], "S auroc": r["safety_auroc"], "C auroc": r["capabilities_auroc"]}
            for r in rows
        ]
        columns = None
    render(rows, fmt, columns=columns, title="Probe sets (newest first; AUROC cross-validated)")


@models_app.command("show", epilog="Examples:\n\n  triage models show c8739232\n\n  triage models show c8739232 --format json")
def models_show(ctx: typer.Context, version: str = typer.Argument(..., help="Probe version (a unique prefix is enough)."), fmt: OutputFormat = FORMAT_OPTION) -> None:
    """The card of one probe set: embedder, label set, training settings and cross-validated metrics."""
    from triage.probe_registry import load_version

    _show_card(load_version(options(ctx).workspace(), version).card, fmt)


def _show_card(card: dict, fmt: OutputFormat) -> None:
    rows = [
        {"head": head, **{k: round(v, 4) if isinstance(v, float) else v for k, v in metrics.items()}}
        for head, metrics in card.get("cv_metrics", {}).items()
    ]
    if fmt is OutputFormat.table:
        label_set = card.get("label_set", {})
        say(f"probe {card['version']}  created {card.get('created_at')}  embedder {card.get('embedder_id')}")
        say(f"labels: {label_set.get('items')} items, hash {label_set.get('hash')}, by source {label_set.get('by_source')}")
    slim = {k: v for k, v in card.items() if k != "anchor_info"}
    render(rows, fmt, columns=["head", "auroc", "average_precision", "f1", "ece", "ece_uncalibrated", "n", "positives"], title="Cross-validated metrics", payload=slim)


@models_app.command(
    "eval",
    epilog=(
        "Examples:\n\n  triage models eval --labels held_out.csv\n\n  triage models eval --labels titles.jsonl --folds 10 --format json\n\n"
        "  triage models eval --labels held_out.csv --zero-shot\n\n"
        "The file needs text (or title and abstract) and safety and/or capabilities columns of 0/1."
    ),
)
def models_eval(
    ctx: typer.Context,
    labels: Path = typer.Option(..., "--labels", help="CSV or JSONL of labelled texts.", show_default=False),
    folds: int = typer.Option(5, "--folds", min=2, max=20, help="Cross-validation folds."),
    zero_shot: bool = typer.Option(False, "--zero-shot", help="Score the file with the current probe instead of cross-validating."),
    probe: Optional[str] = typer.Option(None, "--probe", help="Probe version for --zero-shot.", show_default=False),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """AUROC, average precision, F1 and calibration error per head, against tf-idf and embedding baselines."""
    from triage.evaluation import evaluate

    opts = options(ctx)
    report = evaluate(opts.workspace(), opts.embedder(), labels, folds=folds, zero_shot=zero_shot, probe_version=probe, reporter=opts.reporter())
    rows = [asdict(r) for r in report.rows]
    title = f"{'Zero-shot' if zero_shot else f'{folds}-fold'} evaluation on {labels}"
    render(rows, fmt, title=title, payload={"source": report.source, "folds": report.folds, "probe_version": report.probe_version, "rows": rows, "skipped": [str(i) for i in report.skipped]})
