"""The --max-* flags that override the readers' limits (corpus.limits.ReadLimits), shared by the commands that read files."""

from __future__ import annotations

from typing import Optional

import typer

MAX_FILE_MB = typer.Option(
    None, "--max-file-mb", min=0.001, show_default=False,
    help="Refuse drafts and BibTeX files larger than this many MiB (default 20; LaTeX 1).",
)
MAX_LINE_KB = typer.Option(
    None, "--max-line-kb", min=0.001, show_default=False,
    help="Skip CSV/JSON lines longer than this many KiB (default 1024).",
)
MAX_PASSAGES = typer.Option(
    None, "--max-passages", min=1, show_default=False,
    help="Refuse a draft that splits into more passages than this (default 5000, ~3.5 M characters).",
)


def read_limits(max_file_mb: Optional[float] = None, max_line_kb: Optional[float] = None, max_passages: Optional[int] = None):
    """The default limits with the flags the user gave applied."""
    from triage.settings import DEFAULT_LIMITS

    return DEFAULT_LIMITS.with_options(max_file_mb=max_file_mb, max_line_kb=max_line_kb, max_passages=max_passages)
