"""A progress reporter for worker threads: it posts Progress messages and stops work the app has cancelled."""

from __future__ import annotations

import time

from textual.app import App
from textual.worker import get_current_worker

from triage.progress import Reporter
from tui.messages import Progress


class Cancelled(Exception):
    """Raised inside a worker's model code when the app no longer wants the result (it is quitting)."""


class WorkerReporter(Reporter):
    """Posts at most a few updates a second; checking cancellation here lets long embedding runs stop between batches."""

    def __init__(self, app: App, interval: float = 0.25):
        self.app = app
        self.interval = interval
        self.label = ""
        self.total: int | None = None
        self.done = 0
        self._last = 0.0
        self._worker = get_current_worker()

    def _check(self) -> None:
        if self._worker.is_cancelled:
            raise Cancelled()

    def start(self, label: str, total: int | None = None) -> None:
        self._check()
        self.label, self.total, self.done = label, total, 0
        self.app.post_message(Progress(label, 0, total))

    def advance(self, n: int = 1) -> None:
        self._check()
        self.done += n
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self.app.post_message(Progress(self.label, self.done, self.total))

    def note(self, message: str) -> None:
        self.app.post_message(Progress(message))
