"""`triage score`: safety, capability and misuse-hazard scores, a tier, and the evidence, for drafts, texts or arXiv papers."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from triage.cli import FORMAT_OPTION, app, options
from triage.cli.limits_options import MAX_FILE_MB, MAX_PASSAGES, read_limits
from triage.cli.output import OutputFormat, render

COLUMN_HEAD = ["id", "title"]  # then the score record's columns


@app.command(
    epilog=(
        "Examples:\n\n"
        "  triage score draft.md\n\n"
        "  triage score paper.pdf notes.tex --format json\n\n"
        "  triage score --text \"We train sparse autoencoders on ...\" --explain\n\n"
        "  triage score --arxiv-id 2212.03827\n\n"
        "Drafts and --text never leave this machine. An --arxiv-id not yet in the workspace is fetched from arXiv (network).\n\n"
        "differential = logit P(safety) - logit P(capabilities); tiers and thresholds: see the README (policy.json in the workspace)."
    )
)
def score(
    ctx: typer.Context,
    paths: Optional[List[Path]] = typer.Argument(None, help="Draft files: .md, .txt, .tex, .pdf.", show_default=False),
    text: Optional[List[str]] = typer.Option(None, "--text", help="A text to score (repeatable).", show_default=False),
    arxiv_id: Optional[List[str]] = typer.Option(None, "--arxiv-id", help="An arXiv paper to score (repeatable; fetched over the network when not in the workspace).", show_default=False),
    probe: Optional[str] = typer.Option(None, "--probe", help="Probe version (default: the newest for this model).", show_default=False),
    policy: Optional[Path] = typer.Option(None, "--policy", help="A policy JSON overriding the tier thresholds.", show_default=False),
    k: int = typer.Option(5, "-k", help="How many similar prior papers to report.", min=0, max=100),
    explain: bool = typer.Option(False, "--explain", help="Show the driving passages, nearest labelled examples and prior work."),
    max_file_mb: Optional[float] = MAX_FILE_MB,
    max_passages: Optional[int] = MAX_PASSAGES,
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Score how much work advances AI safety and capabilities, how much misuse hazard it carries, and its tier."""
    from triage.assessment import SCORE_COLUMNS
    from triage.policy import POLICY_FILE, TierPolicy
    from triage.scoring import score_documents

    opts = options(ctx)
    workspace = opts.workspace()
    if policy is not None and not policy.is_file():
        from triage.errors import InputError

        raise InputError("no such file", source=str(policy))
    chosen = TierPolicy.load(policy or workspace.home / POLICY_FILE)
    results = score_documents(
        workspace, embedder=opts.embedder(), paths=paths, texts=text, arxiv_ids=arxiv_id, probe_version=probe,
        policy=chosen, k_similar=k, reporter=opts.reporter(), limits=read_limits(max_file_mb, max_passages=max_passages),
    )
    if fmt is OutputFormat.table and explain:
        _explain(results)
        return
    if fmt is OutputFormat.table:
        rows = [
            {
                # Spreads and the differential are in --explain and --format json: at 80 columns they would crowd the title.
                "tier": s.tier, "safety": f"{s.safety:.2f}", "capab.": f"{s.capabilities:.2f}", "hazard": f"{s.hazard:.2f}",
                "areas": ", ".join(a.area for a in r.areas[:2]), "title": r.title, "reasons": ", ".join(s.reasons),
            }
            for r, s in ((r, r.scores) for r in results)
        ]
        render(rows, fmt, title=f"Scores (probe {results[0].probe_version}; spreads and differential: --explain or --format json)")
        return
    rows = [{"id": r.id, "title": r.title, **r.scores.to_row()} for r in results]
    render(rows, fmt, columns=[*COLUMN_HEAD, *SCORE_COLUMNS], payload=[r.to_dict() for r in results])


def _explain(results) -> None:
    from rich.console import Console, Group
    from rich.panel import Panel
    from rich.text import Text

    from triage.safe_text import terminal_text as safe

    def line(*parts) -> Text:
        """A line of plain strings and (string, style) pairs; every string is data, never markup."""
        return Text.assemble(*((safe(p[0]), p[1]) if isinstance(p, tuple) else safe(p) for p in parts))

    console = Console(highlight=False)
    for r in results:
        s = r.scores
        lines = [
            line((s.tier.upper(), "bold"), f"  reasons: {', '.join(s.reasons)}"),
            line(
                f"safety {s.safety:.3f} ± {s.safety_std:.3f}   capabilities {s.capabilities:.3f} ± {s.capabilities_std:.3f}   "
                f"hazard {s.hazard:.3f} ± {s.hazard_std:.3f}   differential {s.differential:+.2f}"
            ),
            line("areas: " + (", ".join(f"{a.area} {a.probability:.2f}" for a in r.areas) or "none above threshold")),
        ]
        lines += [line(("note:", "yellow"), f" {n}") for n in r.notes]
        for p in r.passages:
            excerpt = " ".join(p.text.split())[:160]
            lines.append(line((f"chars {p.start}-{p.end}", "cyan"), f" pushes {'+'.join(p.drives)} (S {p.safety:.2f}, C {p.capabilities:.2f}, H {p.hazard:.2f}): {excerpt}…"))
        lines.append(line("nearest labelled: " + "; ".join(f"{e.title[:50]} ({e.similarity:.2f}, S={e.safety} C={e.capabilities} H={e.hazard})" for e in r.nearest_labelled)))
        lines.append(line("prior work: " + "; ".join(f"{s.id} {s.title[:50]} ({s.similarity:.2f})" for s in r.similar)))
        console.print(Panel(Group(*lines), title=line(f"{r.id}  {r.title[:60]}"), title_align="left", subtitle=line(f"probe {r.probe_version}")))
