"""The review app and the one factory that builds it for the CLI and the tests."""

from __future__ import annotations

import queue
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from textual import work
from textual.app import App, SystemCommand
from textual.screen import Screen
from textual.worker import get_current_worker

from triage.errors import DOMAIN_ERRORS, InputError, UsageError
from triage.review import DEFAULT_SESSION, ReviewSession, default_reviewer
from triage.review_records import Checklist, DecisionRow, ItemScore, QueueItem
from triage.safe_text import terminal_text
from triage.workspace import Workspace
from tui.keys import APP_KEYS, bindings
from tui.messages import (
    DecisionDraft,
    DecisionRecorded,
    DecisionRefused,
    ItemsScored,
    Progress,
    QueueLoaded,
    Redone,
    Retrained,
    ScoringFinished,
    TextLoaded,
    Undone,
    WorkFailed,
    WriteFinished,
    WriteResult,
)
from tui.reporting import Cancelled, WorkerReporter
from tui.screens.main import MainScreen, plural
from tui.themes import ALIASES, DARK, THEMES

if TYPE_CHECKING:
    from textual.widget import AwaitMount

    from triage.embedding import Embedder
    from triage.probe_registry import TrainingConfig

EmbedderFactory = Callable[[], "Embedder"]
QUIT_CONFIRM_SECONDS = 3.0
STATUS_TITLE = 40  # characters of a title quoted in the status line


def _describe(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, DOMAIN_ERRORS) else f"{type(exc).__name__}: {exc}"


class ReviewApp(App[None]):
    """Review one session as one reviewer. `embedder_factory` None means no model: scores stay as last shown.

    Widgets never touch the store or the model: thread workers call `triage.review` and post messages with the
    results. Decisions and undos go through one writer thread, in the order the reviewer made them.
    """

    CSS_PATH = "review.tcss"
    TITLE = "triage review"
    BINDINGS = bindings(APP_KEYS)

    def __init__(
        self, review: ReviewSession, *, reviewer: str, embedder_factory: EmbedderFactory | None = None,
        training_config: "TrainingConfig | None" = None, cursor_blink: bool = True, theme: str | None = None,
        blind: bool = True, problems: list[str] | None = None,
    ):
        super().__init__()
        self.review = review
        self.reviewer = reviewer
        self.blind = blind  # others' decisions hidden until this reviewer decides; False: adjudication, all shown
        self.problems = list(problems or [])  # files that could not be queued: a notice now, stderr at exit
        self.redo_stack: list[DecisionRow] = []  # decisions undone in this run, latest last; a new decision clears it
        self.embedder_factory = embedder_factory
        self.training_config = training_config
        self.cursor_blink = cursor_blink
        self.drafts: dict[int, DecisionDraft] = {}  # typed but not yet saved: quitting asks before dropping these
        self.restored: dict[int, DecisionDraft] = {}  # undone decisions, offered again as a starting point
        self.probe_version: str | None = None
        self.model_busy = False
        self._embedder: "Embedder | None" = None
        self._writes: "queue.Queue[Callable[[], WriteResult] | None]" = queue.Queue()
        self._quit_asked = 0.0
        self._pending_writes = 0
        self._focus_after_load: int | None = None  # an item to put the cursor on once the queue reloads (undo, redo)
        self._main: MainScreen | None = None
        for own in THEMES:
            self.register_theme(own)
        theme = ALIASES.get(theme or "", theme) or DARK
        if theme not in self.available_themes:
            raise UsageError(f"unknown theme {theme!r}; choose one of: light, dark, {', '.join(sorted(self.available_themes))}")
        self.theme = theme

    def get_default_screen(self) -> Screen:
        return self.main

    @property
    def main(self) -> MainScreen:
        if self._main is None:
            self._main = MainScreen()
        return self._main

    def on_mount(self) -> None:
        self._update_subtitle()
        self._writer()
        if self.problems:
            listed = "\n".join(self.problems[:8]) + (f"\n… and {len(self.problems) - 8} more" if len(self.problems) > 8 else "")
            self.notify(
                terminal_text(f"not queued ({len(self.problems)}):\n{listed}"), title="some files could not be read",
                severity="warning", timeout=20, markup=False,
            )

    def start_session(self) -> None:
        """Called by the main screen once it is composed: load the queue, then score it when there is a model."""
        self._load_queue()
        if self.embedder_factory is None:
            self.main.status.idle("no model: scores as last shown")
        else:
            self.model_busy = True
            self.main.set_scoring(True)
            self.main.status.busy("starting: the first scoring loads the model")
            self._score()

    def _update_subtitle(self) -> None:
        mode = "blind" if self.blind else "adjudication"
        self.sub_title = f"{terminal_text(self.review.name)} · {terminal_text(self.reviewer)} · {mode} · probe {self.probe_version[:8] if self.probe_version else '–'}"

    # --- workers: reading -------------------------------------------------------------------------------------------

    @work(thread=True, group="read", exit_on_error=False)
    def _load_queue(self) -> None:
        try:
            entries = self.review.queue(self.reviewer, blind=self.blind)
            self.post_message(QueueLoaded(entries, ReviewSession.names(self.review.workspace) if not entries else []))
        except Exception as exc:  # noqa: BLE001  (any failure is shown, never a crash that loses the session)
            self.post_message(WorkFailed("loading the queue", _describe(exc)))

    @work(thread=True, group="text", exclusive=True, exit_on_error=False)
    def load_text(self, item_id: int) -> None:
        try:
            self.post_message(TextLoaded(item_id, self.review.item_text(item_id)))
        except Exception as exc:  # noqa: BLE001
            self.post_message(WorkFailed("loading the text", _describe(exc)))

    # --- workers: the model -----------------------------------------------------------------------------------------

    def _get_embedder(self) -> "Embedder":
        if self._embedder is None:
            assert self.embedder_factory is not None
            self._embedder = self.embedder_factory()
        return self._embedder

    def _score_with(self, reporter: WorkerReporter, probe_version: str | None) -> None:
        fresh: list[int] = []

        def batch_done(scores: dict[int, ItemScore]) -> None:
            fresh.extend(scores)
            self.post_message(ItemsScored(scores))

        results = self.review.score(self._get_embedder(), probe_version=probe_version, reporter=reporter, on_batch=batch_done)
        version = next(iter(results.values())).probe_version if results else probe_version
        self.post_message(ScoringFinished(version, len(fresh), len(results) - len(fresh)))

    @work(thread=True, group="model", exit_on_error=False)
    def _score(self, probe_version: str | None = None) -> None:
        reporter = WorkerReporter(self)
        try:
            self._score_with(reporter, probe_version)
        except Cancelled:
            return
        except Exception as exc:  # noqa: BLE001  (model code raises many types; the reviewer keeps working)
            self.post_message(WorkFailed("scoring", _describe(exc)))

    @work(thread=True, group="model", exit_on_error=False)
    def _retrain(self) -> None:
        reporter = WorkerReporter(self)
        try:
            previous = self.probe_version
            probe = self.review.retrain(self._get_embedder(), config=self.training_config, reporter=reporter)
            self.post_message(Retrained(probe.version, previous))
            self._score_with(reporter, probe.version)
        except Cancelled:
            return
        except Exception as exc:  # noqa: BLE001
            self.post_message(WorkFailed("retraining", _describe(exc)))

    def start_retrain(self) -> None:
        if self.embedder_factory is None:
            self.notify("no model in this session: retraining needs one", severity="warning")
            return
        if self.model_busy:
            self.notify("the model is busy; retrain when scoring is done", severity="warning")
            return
        self.model_busy = True
        self.main.status.busy("retraining the probes on all labels and decisions")
        self._retrain()

    # --- the writer: decisions and undo, in order -------------------------------------------------------------------

    @work(thread=True, group="writer", exit_on_error=False)
    def _writer(self) -> None:
        worker = get_current_worker()
        while True:
            try:
                job = self._writes.get(timeout=0.2)
            except queue.Empty:
                if worker.is_cancelled:
                    return
                continue
            if job is None:
                return
            try:
                result = job()
            except Exception as exc:  # noqa: BLE001  (a failed write is reported, and the queue goes on)
                result = WorkFailed("saving", _describe(exc))
            self.post_message(WriteFinished(result))

    def start_decision(self, entry: QueueItem, state: str) -> "AwaitMount | None":
        """Open the form for `entry`, unless its score is still coming: a decision carries the evidence it was made on."""
        if entry.score is None and self.model_busy:
            self.notify("scoring… decide when the score is shown", severity="warning")
            self.main.status.busy(f"scoring… decide on “{entry.title[:40]}” when its score is shown")
            return None
        earlier = self.drafts.get(entry.id) or self.restored.get(entry.id)
        draft = DecisionDraft(entry.id, state, earlier.rationale, earlier.checklist) if earlier else DecisionDraft(entry.id, state)
        note = "" if entry.score is not None else "no score is shown for this item: the decision is recorded with scores_shown = false"
        return self.open_decision(entry, draft, note=note)

    def open_decision(self, entry: QueueItem, draft: DecisionDraft, error: str = "", note: str = "") -> "AwaitMount":
        from tui.screens.decision import DecisionScreen

        return self.push_screen(DecisionScreen(entry.title, draft, error, note), callback=self._decision_closed)

    def _decision_closed(self, result: tuple[str, DecisionDraft] | None) -> None:
        from tui.screens.decision import SAVE

        if result is None:
            return
        kind, draft = result
        if kind == SAVE:
            self.drafts[draft.item_id] = draft  # kept until the store confirms
            entry = self.main.entries.get(draft.item_id)
            self.save_decision(draft, entry.score if entry else None)
        elif draft.rationale.strip() or draft.checklist != Checklist():
            self.drafts[draft.item_id] = draft
            self.notify("kept as a draft: press the decision key again to finish it")
        else:
            self.drafts.pop(draft.item_id, None)

    def save_decision(self, draft: DecisionDraft, shown: ItemScore | None) -> None:
        def job():
            try:
                decision = self.review.decide(
                    draft.item_id, reviewer=self.reviewer, state=draft.state, rationale=draft.rationale,
                    checklist=draft.checklist, shown=shown, blind=self.blind,
                )
            except Exception as exc:  # noqa: BLE001  (refused or failed: the draft goes back to the reviewer)
                return DecisionRefused(draft, _describe(exc))
            return DecisionRecorded(decision)

        self.redo_stack.clear()  # a new decision makes older undos stale to redo
        self.main.status.busy("saving decision")
        self._enqueue(job)

    def undo_last(self) -> None:
        def job():
            try:
                result = self.review.undo(self.reviewer)
            except Exception as exc:  # noqa: BLE001
                return WorkFailed("undo", _describe(exc))
            return Undone(*(result or (None, None)))

        self._enqueue(job)

    def redo_last(self) -> None:
        if not self.redo_stack:
            self.notify("nothing to redo: undo something first", severity="warning")
            return
        undone = self.redo_stack.pop()

        def job():
            try:
                return Redone(self.review.redo(self.reviewer, undone.id))
            except Exception as exc:  # noqa: BLE001
                return WorkFailed("redo", _describe(exc))

        self._enqueue(job)

    def _enqueue(self, job: Callable[[], WriteResult]) -> None:
        self._pending_writes += 1
        self._writes.put(job)

    @property
    def is_idle(self) -> bool:
        """Nothing loading, scoring or waiting to be written: what tests wait for instead of sleeping."""
        running = [w for w in self.workers if w.group in ("read", "text", "model") and w.is_running]
        return not running and not self.model_busy and self._pending_writes == 0 and self.main.loaded and not self.main.detail_pending

    # --- messages from the workers ----------------------------------------------------------------------------------

    def _title(self, item_id: int) -> str:
        """`“Title”` (clipped, so the status line keeps what follows it: the decision's #id), `v2` for a revision."""
        entry = self.main.entries.get(item_id) or next((e for e in self.main.entries.values() for v in e.earlier if v.id == item_id), None)
        if entry is None:
            return f"item {item_id}"
        title = entry.title if len(entry.title) <= STATUS_TITLE else entry.title[: STATUS_TITLE - 1] + "…"
        return f"“{title}”" + (f" v{entry.version}" if entry.version > 1 else "")

    def on_queue_loaded(self, message: QueueLoaded) -> None:
        if self.probe_version is None:
            scored = [e.score for e in message.entries if e.score is not None]
            if scored:
                self.probe_version = max(scored, key=lambda s: s.scored_at).probe_version
                self._update_subtitle()
        self.main.set_entries(message.entries, message.sessions)
        if self._focus_after_load is not None:
            self.main.focus_item(self._entry_for(self._focus_after_load))
            self._focus_after_load = None

    def _entry_for(self, item_id: int) -> int:
        """The queue row an item id shows in: itself, or the latest version when it is an earlier one."""
        for entry in self.main.entries.values():
            if entry.id == item_id or any(v.id == item_id for v in entry.earlier):
                return entry.id
        return item_id

    def on_text_loaded(self, message: TextLoaded) -> None:
        self.main.set_text(message.item_id, message.text)

    def on_items_scored(self, message: ItemsScored) -> None:
        version = next(iter(message.scores.values())).probe_version if message.scores else None
        if version and version != self.probe_version:
            self.probe_version = version
            self._update_subtitle()
        self.main.set_scores(message.scores)

    def on_scoring_finished(self, message: ScoringFinished) -> None:
        self.model_busy = False
        self.main.set_scoring(False)
        if message.probe_version:
            self.probe_version = message.probe_version
            self._update_subtitle()
        probe = (message.probe_version or "–")[:8]
        if not message.scored and not message.kept:
            done = "nothing to score: the queue is empty"
        else:
            kept = f", {plural(message.kept, 'item')} already scored" if message.kept else ""
            done = f"scored {plural(message.scored, 'item')}{kept} with probe {probe}"
        self.main.status.idle(done)
        self.main.refresh_view()

    def on_retrained(self, message: Retrained) -> None:
        self.probe_version = message.probe_version
        self._update_subtitle()
        was = f" (was {message.previous[:8]})" if message.previous else ""
        self.notify(f"new probe {message.probe_version[:8]}{was}; re-scoring the queue")

    def on_progress(self, message: Progress) -> None:
        done = f" {message.done}/{message.total}" if message.total else ""
        self.main.status.busy(f"{message.label}{done}")

    def on_write_finished(self, message: WriteFinished) -> None:
        """Every queued write ends here, whatever its outcome: the one place the count of pending writes goes down."""
        self._pending_writes -= 1
        result = message.result
        if isinstance(result, DecisionRecorded):
            self._decision_recorded(result)
        elif isinstance(result, DecisionRefused):
            self._decision_refused(result)
        elif isinstance(result, Undone):
            self._undone(result)
        elif isinstance(result, Redone):
            self._redone(result)
        else:
            self.on_work_failed(result)

    def _decision_recorded(self, message: DecisionRecorded) -> None:
        decision = message.decision
        self.drafts.pop(decision.item_id, None)
        self.restored.pop(decision.item_id, None)
        entry = self.main.entries.get(decision.item_id)
        if entry is not None:
            entry.decision = decision
        flag = " · no score was shown (flagged)" if not decision.scores_shown else ""
        self.main.status.idle(f"saved: {decision.state} on {self._title(decision.item_id)} (#{decision.id}){flag}")
        self.main.refresh_view()
        self.main.next_pending(decision.item_id)
        if self.blind:
            self._load_queue()  # your decision is in: the others' on this item can now be shown

    def _decision_refused(self, message: DecisionRefused) -> None:
        self.main.status.idle(f"not saved: {message.reason}")
        entry = self.main.entries.get(message.draft.item_id)
        if entry is not None and len(self.screen_stack) == 1:
            self.open_decision(entry, message.draft, error=message.reason)
        else:
            self.notify(terminal_text(f"decision not saved: {message.reason}"), severity="error", markup=False)

    def _undone(self, message: Undone) -> None:
        undone = message.undone
        if undone is None:
            self.notify("nothing of yours to undo in this session", severity="warning")
            return
        self.redo_stack.append(undone)
        # The undone decision comes back as a draft, so deciding again starts from what was entered.
        self.restored[undone.item_id] = DecisionDraft(undone.item_id, undone.state or "", undone.rationale, Checklist.from_dict(undone.checklist))
        self._announce_and_show(f"undid {undone.state} on {self._title(undone.item_id)} (#{undone.id}); U redoes it", undone.item_id)

    def _redone(self, message: Redone) -> None:
        decision = message.decision
        self.restored.pop(decision.item_id, None)
        self._announce_and_show(f"redid {decision.state} on {self._title(decision.item_id)} (#{decision.id})", decision.item_id)

    def _announce_and_show(self, text: str, item_id: int) -> None:
        """Say what an undo or redo did (titles are data: never markup) and reload with the cursor on its item."""
        self.main.status.idle(text)
        self.notify(terminal_text(text), markup=False)
        self._focus_after_load = item_id
        self._load_queue()

    def on_work_failed(self, message: WorkFailed) -> None:
        if message.task in ("scoring", "retraining"):
            self.model_busy = False
            self.main.set_scoring(False)
        if message.task == "loading the text":
            self.main.text_unavailable()
        self.main.status.idle(f"{message.task} failed: {message.error}")
        self.notify(terminal_text(f"{message.task} failed: {message.error}"), severity="error", timeout=10, markup=False)

    # --- app actions ------------------------------------------------------------------------------------------------

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        self.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        """Quit once every queued write is in the store. Unsaved drafts need a second press within a few seconds."""
        unsaved = len(self.drafts) + (1 if getattr(self.screen, "has_content", False) else 0)
        if unsaved and time.monotonic() - self._quit_asked > QUIT_CONFIRM_SECONDS:
            self._quit_asked = time.monotonic()
            self.notify(f"{unsaved} unsaved decision draft(s); quit again to discard", severity="warning")
            return
        await self._drain_writes()
        self.exit()

    async def _drain_writes(self) -> None:
        self._writes.put(None)
        writers = [w for w in self.workers if w.group == "writer"]
        await self.workers.wait_for_complete(writers)

    def on_unmount(self) -> None:
        self._writes.put(None)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        from tui.commands import review_commands

        yield from super().get_system_commands(screen)
        yield from review_commands(self)


def build_app(
    workspace: Workspace, embedder_factory: EmbedderFactory | None, session: str = DEFAULT_SESSION, reviewer: str | None = None,
    paths: list[Path] | None = None, *, arxiv_ids: list[str] | None = None, training_config: "TrainingConfig | None" = None,
    cursor_blink: bool = True, theme: str | None = None, blind: bool = True,
) -> ReviewApp:
    """Open (or create) the session, queue the drafts and papers given, and build the app.

    A file that cannot be read is left out and listed in `app.problems`; only when every file given is bad does
    this raise, as there is then nothing of what was asked for to open.
    """
    review = ReviewSession.open(workspace, session)
    problems: list[str] = []
    if paths:
        queued = review.queue_drafts(list(paths))
        if not queued.items:
            raise InputError("; ".join(queued.problems))
        problems = queued.problems
    if arxiv_ids:
        review.add_papers(list(arxiv_ids))
    return ReviewApp(
        review, reviewer=reviewer or default_reviewer(), embedder_factory=embedder_factory, training_config=training_config,
        cursor_blink=cursor_blink, theme=theme, blind=blind, problems=problems,
    )
