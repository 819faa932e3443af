"""A Reporter that draws rich progress bars on a terminal and stays silent otherwise."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from triage.progress import Reporter
from triage.safe_text import terminal_text


class RateColumn(ProgressColumn):
    """Items per second, the figure a curator watches on a long run."""

    def render(self, task) -> Text:
        return Text(f"{task.speed:,.1f}/s" if task.speed else "", style="progress.data.speed")


class RichReporter(Reporter):
    """Progress bars on stderr when it is a terminal; notes always go to stderr, one line each."""

    def __init__(self, quiet: bool = False):
        self.console = Console(stderr=True)
        self.show_bars = not quiet and sys.stderr.isatty()
        self.quiet = quiet
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def start(self, label: str, total: int | None = None) -> None:
        if not self.show_bars:
            return
        self.finish()
        self._progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
            RateColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
            console=self.console, transient=True,
        )
        self._progress.start()
        self._task = self._progress.add_task(terminal_text(label), total=total)

    def advance(self, n: int = 1) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, n)

    def finish(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def note(self, message: str) -> None:
        if not self.quiet:
            # Notes quote file contents and names (a skipped row's bad id): "[/]" in one must print, not fail as
            # markup; an escape sequence must not reach the terminal; a newline must not break one line per note.
            self.console.print(Text.assemble(("note:", "yellow"), " ", terminal_text(message)), highlight=False, soft_wrap=True)
