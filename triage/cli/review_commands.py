"""`triage review`: open the review app on a session (queuing drafts), and `review stats` / `review export`."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from typer import _click as click  # typer 0.27 bundles its own click; the click package's classes are not its
from typer.core import TyperGroup

from triage.cli import FORMAT_OPTION, app, options
from triage.cli.output import OutputFormat, render, say


class _DraftsOrCommand(TyperGroup):
    """`triage review a.md b.pdf` and `triage review stats`: a first word that names no subcommand is a draft path."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        takes_value = {name for p in self.params if p.param_type_name == "option" and not p.is_flag for name in p.opts}
        first, skip = None, False
        for token in args:
            if skip:
                skip = False
            elif token.startswith("-"):
                skip = token in takes_value
            else:
                first = token
                break
        if first is None or first in self.commands:
            return super().parse_args(ctx, args)
        # Parse as a plain command: every positional argument, wherever it stands, is a draft to queue.
        ctx.allow_interspersed_args = True
        ctx.allow_extra_args = True
        return click.Command.parse_args(self, ctx, args)


review_app = typer.Typer(
    cls=_DraftsOrCommand,
    invoke_without_command=True,
    no_args_is_help=False,
    subcommand_metavar="[PATH]... | stats | export",
    help="Review sessions: triage drafts before publication in a terminal app, then report on the decisions.",
)
app.add_typer(review_app, name="review")

SESSION_OPTION = typer.Option(None, "--session", "-s", help="Review session name (default: 'default').", show_default=False)


@review_app.callback(
    epilog=(
        "Examples:\n\n"
        "  triage review draft.md other.pdf --session q3-lab --reviewer alice\n\n"
        "  triage review --session q3-lab     (reopens it: the queue and every decision come back)\n\n"
        "  triage review --arxiv-id 2212.03827 -s q3-lab\n\n"
        "  triage review stats --session q3-lab\n\n"
        "  triage review export --session q3-lab --out decisions.csv\n\n"
        "In the app: a approve, c approve with changes, r restrict, h hold, e escalate, u undo, ? all keys.\n"
        "Each decision is saved the moment it is made; see docs/REVIEW.md."
    ),
)
def review(
    ctx: typer.Context,
    session: Optional[str] = SESSION_OPTION,
    reviewer: Optional[str] = typer.Option(None, "--reviewer", "-r", envvar="TRIAGE_REVIEWER", help="Your name in the decision log (default: your login).", show_default=False),
    arxiv_id: Optional[List[str]] = typer.Option(None, "--arxiv-id", help="Queue an arXiv paper (repeatable). One not yet in the workspace is fetched from arXiv over the network; drafts never are.", show_default=False),
    theme: Optional[str] = typer.Option(None, "--theme", help="textual-dark, textual-light, or any Textual theme.", show_default=False),
) -> None:
    """Open the review app on a session, queuing any drafts given (.md, .txt, .tex, .pdf)."""
    if ctx.invoked_subcommand is not None:
        return
    from corpus.errors import InputError
    from triage.review import DEFAULT_SESSION
    # The TUI is a face like this CLI; importing it here keeps `triage --help` free of Textual.
    from tui.app import build_app

    opts = options(ctx)
    paths = [Path(a) for a in ctx.args]
    for path in paths:  # one clear line for a typo, before the workspace is touched
        if not path.is_file():
            raise InputError("no such file" if not path.exists() else "not a file", source=str(path))
    review_app_instance = build_app(
        opts.workspace(), opts.embedder, session or DEFAULT_SESSION, reviewer, paths, arxiv_ids=list(arxiv_id or []), theme=theme,
    )
    review_app_instance.run()


@review_app.command(
    "stats",
    epilog=(
        "Examples:\n\n  triage review stats --session q3-lab\n\n  triage review stats -s q3-lab --format json\n\n"
        "Agreement is Cohen's kappa for two reviewers and Fleiss' kappa for three or more, over the items all of them decided."
    ),
)
def review_stats(ctx: typer.Context, session: Optional[str] = SESSION_OPTION, fmt: OutputFormat = FORMAT_OPTION) -> None:
    """Decisions per state, agreement between reviewers, and the items where they disagree."""
    from dataclasses import asdict

    from triage.review import DEFAULT_SESSION, ReviewSession

    stats = ReviewSession.open(options(ctx).workspace(), session or DEFAULT_SESSION, create=False).stats()
    if fmt is not OutputFormat.table:
        rows = [{"state": s, "decisions": n} for s, n in stats.per_state.items()]
        render(rows, fmt, payload=asdict(stats))
        return
    say(
        f"session {stats.session}: {stats.items} items, {stats.decided_items} decided; "
        f"{stats.log_entries} log entries ({stats.reversals} undone)"
    )
    render([{"state": s, "decisions": n} for s, n in stats.per_state.items()], fmt, title="Decisions in force, per state")
    if stats.per_reviewer:
        render([{"reviewer": r, "decisions": n} for r, n in stats.per_reviewer.items()], fmt, title="Per reviewer")
    agreement = stats.agreement
    if agreement is None:
        say("agreement: needs decisions from two reviewers or more")
    else:
        name = "Cohen's" if agreement.method == "cohen" else "Fleiss'"
        kappa = "undefined (every decision in one state)" if agreement.kappa is None else f"{agreement.kappa:.3f}"
        observed = "–" if agreement.observed is None else f"{agreement.observed:.0%}"
        say(f"agreement ({', '.join(agreement.reviewers)}): {name} kappa {kappa} over {agreement.items} shared items; raw agreement {observed}")
    if stats.disagreements:
        rows = [{"item": d.ref, "title": d.title, **d.states} for d in stats.disagreements]
        render(rows, fmt, title="Disagreements")


@review_app.command(
    "export",
    epilog=(
        "Examples:\n\n  triage review export --session q3-lab --out decisions.csv\n\n"
        "  triage review export -s q3-lab --out exports/decisions.jsonl\n\n"
        "Every log entry is written, undo entries included; in_force marks the decisions still standing. "
        "Each row carries the scores and probe version the reviewer saw."
    ),
)
def review_export(
    ctx: typer.Context,
    session: Optional[str] = SESSION_OPTION,
    out: Path = typer.Option(..., "--out", "-o", help="Output file: .csv or .jsonl.", show_default=False),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Write the session's decision log, with the scores each decision was made on."""
    from triage.review import DEFAULT_SESSION, ReviewSession

    report = ReviewSession.open(options(ctx).workspace(), session or DEFAULT_SESSION, create=False).export(out)
    render([{"rows": report.rows, "format": report.format, "path": str(report.path)}], fmt, title="Export")
