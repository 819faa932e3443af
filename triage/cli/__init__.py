"""The `triage` command line: parse, call one library function, render. Heavy libraries load only inside commands."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import typer

from triage.cli.output import OutputFormat
from triage.errors import DOMAIN_ERRORS

app = typer.Typer(
    name="triage",
    help=(
        "Decide whether AI research is safe to publish, and find the prior work that already exists.\n\n"
        "Examples:\n\n"
        "  triage similar \"sparse autoencoders find interpretable features\"\n\n"
        "  triage similar --file draft.md -k 5 --format json\n\n"
        "  triage corpus import papers.csv refs.bib"
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


@dataclass
class Options:
    """Global options every command receives through the click context."""

    home: Path | None
    model: str
    device: str
    backend: str
    quiet: bool

    def workspace(self):
        from triage.workspace import Workspace

        return Workspace.at(self.home)

    def embedder(self):
        from models.embedders import make_embedder

        return make_embedder(self.model, self.device, backend=self.backend, cache_dir=self.workspace().onnx_dir)

    def reporter(self):
        from triage.cli.progress import RichReporter

        return RichReporter(quiet=self.quiet)


@app.callback()
def _global_options(
    ctx: typer.Context,
    home: Optional[Path] = typer.Option(None, "--home", envvar="TRIAGE_HOME", help="Workspace folder (default: the platform's user data folder).", show_default=False),
    model: str = typer.Option("default", "--model", envvar="TRIAGE_MODEL", help="Embedding model: 'default' (bundled all-MiniLM-L6-v2, offline), a sentence-transformers name (downloaded over the network once), or a folder."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:1 or mps."),
    backend: str = typer.Option("auto", "--backend", envvar="TRIAGE_BACKEND", help="Embedding backend: auto (ONNX Runtime on a CPU, else torch), torch, onnx, or onnx-int8 (faster on a CPU; its own vectors, index and probes)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars or notes."),
) -> None:
    ctx.obj = Options(home=home, model=model, device=device, backend=backend, quiet=quiet)


def options(ctx: typer.Context) -> Options:
    return ctx.obj


FORMAT_OPTION = typer.Option(OutputFormat.table, "--format", "-f", help="table, json or csv.", case_sensitive=False)

# Sub-command modules register themselves on `app` when imported.
from triage.cli import (  # noqa: E402,F401
    batch_commands,
    corpus_commands,
    labels_commands,
    models_commands,
    review_commands,
    score_command,
    similar_command,
)


def main(argv: list[str] | None = None) -> int:
    """Entry point: domain errors become one line on stderr and exit code 1 (failure) or 2 (bad input)."""
    import click

    try:
        app(args=argv, prog_name="triage", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        print("triage: aborted", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("triage: interrupted", file=sys.stderr)
        return 130
    except DOMAIN_ERRORS as exc:
        print(f"triage: error: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", 1)
    except OSError as exc:
        print(f"triage: error: {exc.strerror or exc}{f': {exc.filename}' if exc.filename else ''}", file=sys.stderr)
        return 1
    return 0


def run() -> None:
    sys.exit(main())
