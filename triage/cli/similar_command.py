"""`triage similar`: ranked prior work for a text, a draft file or an arXiv id."""

from __future__ import annotations

from dataclasses import asdict
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from triage.cli import FORMAT_OPTION, app, options
from triage.cli.limits_options import MAX_FILE_MB, MAX_PASSAGES, read_limits
from triage.cli.output import OutputFormat, render


class RetrievalMode(str, Enum):
    # The same names as triage.similar.MODES, spelled out: importing that module here would load numpy for --help.
    dense = "dense"
    lexical = "lexical"
    hybrid = "hybrid"


@app.command(
    epilog=(
        "Examples:\n\n"
        "  triage similar \"sparse autoencoders find interpretable features in language models\"\n\n"
        "  triage similar --file draft.md -k 5\n\n"
        "  triage similar --arxiv-id 2309.08600 --format json\n\n"
        "  triage similar --mode lexical \"GSM8K chain-of-thought\"\n\n"
        "JSON gives each paper's cosine similarity and its rank in the dense and lexical lists.\n\n"
        "A text or a draft never leaves this machine. An --arxiv-id not yet in the workspace is fetched from arXiv (network)."
    )
)
def similar(
    ctx: typer.Context,
    text: Optional[str] = typer.Argument(None, help="Text to compare against the corpus.", show_default=False),
    file: Optional[Path] = typer.Option(None, "--file", help="A draft: .md, .txt, .tex or .pdf.", show_default=False),
    arxiv_id: Optional[str] = typer.Option(None, "--arxiv-id", help="An arXiv id, e.g. 1706.03762 (fetched over the network when not in the workspace).", show_default=False),
    k: int = typer.Option(10, "-k", "--top", min=1, max=1000, help="How many results."),
    mode: RetrievalMode = typer.Option(
        RetrievalMode.hybrid, "--mode", case_sensitive=False,
        help="dense (embeddings), lexical (BM25 over titles and abstracts) or hybrid (both, fused by rank).",
    ),
    max_file_mb: Optional[float] = MAX_FILE_MB,
    max_passages: Optional[int] = MAX_PASSAGES,
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Find the papers most similar to a text, a draft or an arXiv paper: is this already public?"""
    from triage.similar import find_similar

    opts = options(ctx)
    result = find_similar(
        opts.workspace(), embedder=opts.embedder(), text=text, path=file, arxiv_id=arxiv_id, k=k, mode=mode.value, reporter=opts.reporter(),
        limits=read_limits(max_file_mb, max_passages=max_passages),
    )
    rows = [
        {"rank": h.rank, "similarity": h.similarity, "year": h.year, "id": h.arxiv_id or h.id, "title": h.title}
        for h in result.hits
    ]
    payload = [{key: value for key, value in asdict(h).items() if key != "summary"} for h in result.hits]
    # Only a dense list is in similarity order: say what the rank follows, so the column does not read as a bug.
    caption = {
        RetrievalMode.hybrid: "Ranked by the dense and lexical (BM25) ranks fused; similarity is the embedding cosine.",
        RetrievalMode.lexical: "Ranked by BM25 over titles and abstracts; similarity is the embedding cosine.",
    }.get(mode)
    render(rows, fmt, title=f"Most similar to: {result.query[:70]}", payload=payload, caption=caption)
