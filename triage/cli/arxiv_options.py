"""The arXiv API flags (--page-size, --delay, --retries, --base-url), shared by the commands that fetch from arXiv."""

from __future__ import annotations

from typing import Optional

import typer

PAGE_SIZE = typer.Option(100, "--page-size", min=1, max=2000, help="Results per arXiv request (arXiv allows 2000); batch checkpoints after each.")
DELAY = typer.Option(3.0, "--delay", help="Seconds between arXiv requests (arXiv asks for at least 3; less only for a local endpoint).")
RETRIES = typer.Option(3, "--retries", min=0, max=10, help="Retries of a failed arXiv request, with backoff.")
BASE_URL = typer.Option(None, "--base-url", help="Another arXiv-compatible API endpoint.", show_default=False)


def arxiv_settings(page_size: int, delay: float, retries: int, base_url: Optional[str]):
    """The client settings for the flags given."""
    from triage.ingest import ArxivSettings  # loads the arXiv client: only commands that may fetch call this

    return ArxivSettings(base_url=base_url or ArxivSettings.base_url, page_size=page_size, delay_seconds=delay, num_retries=retries)
