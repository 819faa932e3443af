"""A self-contained HTML digest of a batch scores file: tier counts, the score scatter, sub-areas, flagged papers."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape
from pathlib import Path

from corpus.records import parse_arxiv_id
from triage.errors import UsageError
from triage.output_files import output_target, replacing
from triage.policy import PUBLISH, RESTRICT, REVIEW
from triage.scores_file import read_scores
from triage.seed import area_side

TIER_ORDER = (RESTRICT, REVIEW, PUBLISH)
TIER_COLOURS = {PUBLISH: "#2e7d32", REVIEW: "#e0a800", RESTRICT: "#c62828"}
FLAGGED_ROWS = 200  # per table; a digest is read, not searched
TOP_SAFETY_ROWS = 25

_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
.muted{color:#666}.tiers{display:flex;gap:1rem;margin:1rem 0}.tier{border-radius:6px;padding:.6rem 1rem;color:#fff;min-width:7rem}
.tier b{display:block;font-size:1.6rem}table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #eee;vertical-align:top}th{background:#f6f6f6}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}.bar{background:#5c6bc0;height:.7rem;border-radius:2px}
.bar.capabilities{background:#ef6c00}.bar.societal{background:#7e57c2}img{max-width:100%;height:auto}a{color:#1a4fa0}
"""


@dataclass(frozen=True)
class ReportSummary:
    """What `triage report` wrote."""

    path: str
    papers: int
    tiers: dict[str, int]
    flagged: int


# Marks a page as this tool's: an existing file is replaced only when it carries this (and so was a digest).
GENERATOR = "pubtriage triage report"
_MARKER = f'<meta name="generator" content="{GENERATOR}">'


def report_target(scores_path: Path, html_path: Path, *, workspace_home: Path | None = None) -> Path:
    """Where the digest may go: an .html file that is not the scores file, not in the workspace, and, if it
    exists, a digest written by this tool (the output rule of triage.output_files, plus that last check)."""
    target = output_target(html_path, suffixes=(".html",), workspace_home=workspace_home, inputs=[scores_path])
    if target.exists():
        with target.open("rb") as handle:
            head = handle.read(4096)
        if _MARKER.encode() not in head:
            raise UsageError(f"{html_path}: exists and is not a digest written by `triage report`; remove it or name another file")
    return target


def write_report(scores_path: Path, html_path: Path, *, title: str | None = None, workspace_home: Path | None = None) -> ReportSummary:
    """Read a scores file (.parquet, .csv, .jsonl) and write the digest as one HTML file with its plot inline."""
    report_target(scores_path, html_path, workspace_home=workspace_home)
    frame = read_scores(Path(scores_path))
    page = render_html(frame, title=title or f"Publication triage digest: {Path(scores_path).name}")
    with replacing(Path(html_path)) as tmp:
        tmp.write_text(page, encoding="utf-8")
    tiers = _tier_counts(frame)
    return ReportSummary(path=str(html_path), papers=len(frame), tiers=tiers, flagged=tiers.get(RESTRICT, 0) + tiers.get(REVIEW, 0))


def _tier_counts(frame) -> dict[str, int]:
    counts = frame["tier"].value_counts().to_dict() if len(frame) else {}
    ordered = {tier: int(counts.get(tier, 0)) for tier in TIER_ORDER}
    return ordered | {str(tier): int(n) for tier, n in counts.items() if tier not in ordered}


def scatter_png(frame) -> bytes:
    """Safety against capabilities, one dot per paper, coloured by tier; drawn with the Agg backend, no display."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # heavy: only the report loads matplotlib
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.5, 5.5), dpi=110)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for tier in (*TIER_ORDER, *sorted(set(frame["tier"]) - set(TIER_ORDER))):
        part = frame[frame["tier"] == tier]
        if len(part):
            axes.scatter(
                part["capabilities"], part["safety"], s=12, alpha=0.65, linewidths=0,
                color=TIER_COLOURS.get(tier, "#607d8b"), label=f"{tier} ({len(part)})",
            )
    axes.plot([0, 1], [0, 1], linestyle=":", color="#999", linewidth=1)
    axes.set_xlim(-0.02, 1.02)
    axes.set_ylim(-0.02, 1.02)
    axes.set_xlabel("P(capabilities)")
    axes.set_ylabel("P(safety)")
    axes.set_title("Score distribution by tier")
    axes.grid(alpha=0.3)
    if len(frame):
        axes.legend(loc="upper right", frameon=True)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()


def _text(value) -> str:
    """A cell as text; missing values (None, or NaN from a CSV) are empty."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value)


def _link(url, text: str) -> str:
    url = _text(url)
    if url.startswith(("https://", "http://")):
        return f'<a href="{escape(url, quote=True)}">{escape(text)}</a>'
    return escape(text)


def _prior(prior_id, similarity) -> str:
    if not isinstance(prior_id, str) or not prior_id:
        return ""
    arxiv_id = parse_arxiv_id(prior_id)
    label = f"{prior_id} ({similarity:.2f})" if isinstance(similarity, float) and similarity == similarity else prior_id
    return _link(f"https://arxiv.org/abs/{arxiv_id}" if arxiv_id else None, label)


def _paper_table(frame, limit: int) -> str:
    if not len(frame):
        return '<p class="muted">None.</p>'
    rows = []
    for row in frame.head(limit).itertuples(index=False):
        rows.append(
            "<tr>"
            f"<td>{_link(row.url, _text(row.title))}<br><span class=muted>{escape(_text(row.arxiv_id) or _text(row.id))}</span></td>"
            f'<td class="num">{row.safety:.2f}</td><td class="num">{row.capabilities:.2f}</td><td class="num">{_number(getattr(row, "hazard", None))}</td>'
            f'<td class="num">{row.differential:+.1f}</td>'
            f"<td>{escape(', '.join(row.reasons))}</td><td>{escape(', '.join(row.top_areas))}</td>"
            f"<td>{_prior(row.prior_id, row.prior_similarity)}</td>"
            "</tr>"
        )
    shown = f'<p class="muted">Showing {limit} of {len(frame)}.</p>' if len(frame) > limit else ""
    return (
        "<table><thead><tr><th>Paper</th><th>Safety</th><th>Capab.</th><th>Hazard</th><th>Diff.</th><th>Reasons</th><th>Areas</th>"
        "<th>Nearest prior work</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>" + shown
    )


def _number(value) -> str:
    return f"{value:.2f}" if isinstance(value, (int, float)) and value == value else ""


def _hazard_flagged(frame):
    """Papers whose tier reasons include misuse-hazard (files from before the hazard axis have none)."""
    if "hazard" not in frame.columns:
        return frame.iloc[0:0]
    flagged = frame[frame["reasons"].map(lambda reasons: "misuse-hazard" in reasons)]
    return flagged.sort_values("hazard", ascending=False)


def _area_table(frame) -> str:
    counts: dict[str, int] = {}
    for areas in frame["top_areas"]:
        for area in areas:
            counts[area] = counts.get(area, 0) + 1
    if not counts:
        return '<p class="muted">No paper scored above the sub-area threshold.</p>'
    side = area_side()
    most = max(counts.values())
    rows = "".join(
        f"<tr><td>{escape(area)}</td><td>{escape(side.get(area, ''))}</td><td class=num>{n}</td>"
        f'<td style="width:40%"><div class="bar {escape(side.get(area, ""))}" style="width:{100 * n / most:.0f}%"></div></td></tr>'
        for area, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    )
    return f"<table><thead><tr><th>Sub-area</th><th>Side</th><th>Papers</th><th></th></tr></thead><tbody>{rows}</tbody></table>"


def render_html(frame, *, title: str) -> str:
    """The digest as one HTML string; every value from the file is escaped, the plot is an inline PNG."""
    tiers = _tier_counts(frame)
    boxes = "".join(
        f'<div class="tier" style="background:{TIER_COLOURS.get(tier, "#607d8b")}"><b>{n}</b>{escape(tier)}</div>'
        for tier, n in tiers.items()
    )
    plot = base64.b64encode(scatter_png(frame)).decode("ascii")
    by_capabilities = frame.sort_values(["capabilities", "differential"], ascending=[False, True])
    restricted = by_capabilities[by_capabilities["tier"] == RESTRICT]
    review = by_capabilities[by_capabilities["tier"] == REVIEW]
    safest = frame[frame["tier"] == PUBLISH].sort_values("safety", ascending=False)
    hazardous = _hazard_flagged(frame)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">{_MARKER}<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title><style>{_STYLE}</style></head>
<body>
<h1>{escape(title)}</h1>
<p class="muted">{len(frame)} papers &middot; generated {stamp} &middot; differential = logit P(safety) &minus; logit P(capabilities)</p>
<h2>Tiers</h2><div class="tiers">{boxes}</div>
<h2>Score distribution</h2>
<img alt="Scatter of P(safety) against P(capabilities), coloured by tier" src="data:image/png;base64,{plot}">
<h2>Sub-areas</h2>{_area_table(frame)}
<h2>Misuse hazard ({len(hazardous)})</h2>
<p class="muted">The text may hand over a working attack, exploit or uplift: never published without review. Highest hazard first.</p>{_paper_table(hazardous, FLAGGED_ROWS)}
<h2>Restrict ({len(restricted)})</h2>
<p class="muted">Capability-dominant: read before publishing. Highest capability relevance first.</p>{_paper_table(restricted, FLAGGED_ROWS)}
<h2>Review ({len(review)})</h2>
<p class="muted">Dual-use, uncertain, out-of-distribution or mixed; the reasons say which.</p>{_paper_table(review, FLAGGED_ROWS)}
<h2>Most safety-relevant, publish ({len(safest)})</h2>{_paper_table(safest, TOP_SAFETY_ROWS)}
</body></html>
"""
