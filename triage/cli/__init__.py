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
        from triage.embedding import make_embedder

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

# The global options, also accepted after the command (`triage batch ... --quiet`), as users of git, docker
# and pip expect. Each becomes a hidden option of every command that, when given, overrides the value before it.
INTERRUPTED = 130  # the exit code of a command stopped by Ctrl-C, as shells report SIGINT
GLOBAL_OPTIONS = {"home": ("--home",), "model": ("--model",), "device": ("--device",), "backend": ("--backend",), "quiet": ("--quiet", "-q")}


def _late_option(field: str, flags: tuple[str, ...]):
    from typer._click.core import ParameterSource
    from typer.core import TyperOption

    def apply(ctx, param, value):
        if ctx.get_parameter_source(param.name) is ParameterSource.COMMANDLINE and isinstance(ctx.obj, Options):
            setattr(ctx.obj, field, Path(value) if field == "home" else value)

    flag = field == "quiet"
    # A name of its own, so it never clashes with a parameter of the command; not passed to the function.
    return TyperOption(
        param_decls=[f"late_{field}", *flags], is_flag=flag, default=False if flag else None, expose_value=False, hidden=True, callback=apply,
    )


def build_command():
    """The click command tree of `app`, with the global options added to every command below the root."""
    import typer.main

    root = typer.main.get_command(app)
    pending = list(getattr(root, "commands", {}).values())
    while pending:
        command = pending.pop()
        taken = {opt for param in command.params for opt in getattr(param, "opts", [])}
        command.params.extend(
            _late_option(field, flags) for field, flags in GLOBAL_OPTIONS.items() if not taken.intersection(flags)
        )
        pending.extend(getattr(command, "commands", {}).values())
    return root


def _usage_error(exc) -> int:
    """A usage mistake as the usage line, one line saying what is wrong, and where help is; exit 2, no traceback."""
    from typer._click.exceptions import NoArgsIsHelpError

    from triage.safe_text import terminal_text

    if isinstance(exc, NoArgsIsHelpError):  # `triage` or `triage corpus` alone: the help is what was asked for
        if exc.format_message().strip():  # typer's rich help has printed itself already
            exc.show()
        return exc.exit_code
    ctx = exc.ctx
    if ctx is not None:
        print(terminal_text(ctx.get_usage()), file=sys.stderr)
    print(f"triage: error: {terminal_text(exc.format_message())}", file=sys.stderr)
    if ctx is not None:
        print(f"Try '{terminal_text(ctx.command_path)} --help' for help.", file=sys.stderr)
    return exc.exit_code


def main(argv: list[str] | None = None) -> int:
    """Entry point: domain errors become one line on stderr and exit code 1 (failure) or 2 (bad input).

    Usage mistakes exit 2 with the usage line and a hint; Ctrl-C prints `triage: interrupted` and exits 130 (a
    batch or import stopped that way resumes or starts cleanly next time). Every message quoting a name the
    user gave passes `terminal_text`, so a hostile file name cannot reach the terminal as control characters.
    """
    # typer 0.27 bundles its own click; its exceptions are not those of the click package.
    from typer import _click as click
    from typer.exceptions import Abort

    from triage.safe_text import terminal_text

    try:
        code = build_command().main(args=argv, prog_name="triage", standalone_mode=False)
    except click.exceptions.UsageError as exc:
        return _usage_error(exc)
    except click.exceptions.ClickException as exc:
        print(f"triage: error: {terminal_text(exc.format_message())}", file=sys.stderr)
        return exc.exit_code
    except Abort:
        print("triage: aborted", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("triage: interrupted", file=sys.stderr)
        return 130
    except DOMAIN_ERRORS as exc:
        print(f"triage: error: {terminal_text(exc)}", file=sys.stderr)
        return getattr(exc, "exit_code", 1)
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        print(f"triage: error: {terminal_text(f'{exc.strerror or exc}{where}')}", file=sys.stderr)
        return 1
    if code == INTERRUPTED:
        # typer turns a KeyboardInterrupt inside a command into exit code 130 and returns it.
        print("triage: interrupted", file=sys.stderr)
    return code if isinstance(code, int) else 0



def run() -> None:
    sys.exit(main())
