"""`triage review`: open the review app on a session (queuing drafts), and `review stats` / `review export`."""

from __future__ import annotations

from pathlib import Path
from typing import Any, List, Optional

import typer
from typer.core import TyperGroup

from triage.cli import FORMAT_OPTION, app, options
from triage.cli.output import OutputFormat, render, say


class _DraftsOrCommand(TyperGroup):
    """`triage review a.md b.pdf` and `triage review stats`: a first word that names no subcommand is a draft path."""

    # typer >= 0.27 runs its own copy of click, whose classes it does not export: `ctx` is its Context, and
    # options are told apart by their public `param_type_name` (an isinstance check on `click.Option` never matched).
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        takes_value = {name for p in self.params if p.param_type_name == "option" and not getattr(p, "is_flag", False) for name in p.opts}
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
        return super(TyperGroup, self).parse_args(ctx, args)  # a plain command's parsing, not the group's


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
    theme: Optional[str] = typer.Option(None, "--theme", help="light, dark (both WCAG AA), or any Textual theme.", show_default=False),
    adjudicate: bool = typer.Option(False, "--adjudicate", help="Show every reviewer's decisions at once (review is blind by default).", show_default=False),
) -> None:
    """Open the review app on a session, queuing any drafts given (.md, .txt, .tex, .pdf)."""
    if ctx.invoked_subcommand is not None:
        return
    import sys

    from triage.review import DEFAULT_SESSION

    # The TUI is a face like this CLI; importing it here keeps `triage --help` free of Textual.
    from tui.app import build_app

    opts = options(ctx)
    review_app_instance = build_app(
        opts.workspace(), opts.embedder, session or DEFAULT_SESSION, reviewer, [Path(a) for a in ctx.args],
        arxiv_ids=list(arxiv_id or []), theme=theme, blind=not adjudicate,
    )
    review_app_instance.run()
    for problem in review_app_instance.problems:  # shown in the app too; repeated here so they outlive the screen
        print(f"not queued: {problem}", file=sys.stderr)


@review_app.command(
    "stats",
    epilog=(
        "Examples:\n\n  triage review stats --session q3-lab\n\n  triage review stats -s q3-lab --format json\n\n"
        "Agreement is Cohen's kappa for two reviewers and Fleiss' kappa for three or more, over the items all of them decided blind."
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
        say(
            f"agreement ({', '.join(agreement.reviewers)}): {name} kappa {kappa} over {agreement.items} items all decided blind; "
            f"raw agreement {observed}; {agreement.not_blind} shared item(s) not blind, left out"
        )
    if stats.without_scores:
        say(f"{stats.without_scores} decision(s) in force were made before any score was shown (scores_shown false in the export)")
    if len(stats.per_version) > 1 or stats.on_earlier_versions:
        versions = ", ".join(f"v{v}: {n}" for v, n in stats.per_version.items())
        say(f"decisions in force per draft version: {versions}; {stats.on_earlier_versions} on a version since revised")
    if stats.disagreements:
        rows = [{"item": d.ref, "version": f"v{d.version}", "title": d.title, **d.states} for d in stats.disagreements]
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
