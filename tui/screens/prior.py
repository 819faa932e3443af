"""One similar prior paper: title, year, id, similarity, summary, and the draft passages it matches, side by side."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from triage.review_records import PriorDetail
from triage.safe_text import terminal_text


class PriorWorkScreen(ModalScreen[None]):
    BINDINGS = [("escape", "dismiss", "close"), ("enter", "dismiss", "close"), ("q", "dismiss", "close")]

    def __init__(self, prior: PriorDetail):
        super().__init__()
        self.prior = prior

    def compose(self) -> ComposeResult:
        p = self.prior
        with VerticalScroll(id="dialog") as dialog:
            dialog.border_title = "prior work"
            dialog.border_subtitle = "esc close"
            yield Static(Content.styled(terminal_text(p.title), "bold"))
            facts = [terminal_text(p.id), str(p.year) if p.year else "year unknown", f"similarity {p.similarity:.2f}"]
            yield Static(Content.styled(" · ".join(facts), "$text-muted"))
            if p.url:
                yield Static(Content.styled(terminal_text(p.url), "$text-muted"))
            yield Static(terminal_text(p.summary, one_line=False) or "(no summary in the workspace)", markup=False, id="summary")
            if p.passages:
                yield Static(Content.styled("draft passage │ prior work's matching text", "bold"), classes="matched-heading")
            for m in p.passages:
                with Horizontal(classes="matched"):
                    yield Static(terminal_text(m.passage, one_line=False), markup=False, classes="matched-draft")
                    yield Static(terminal_text(m.prior, one_line=False), markup=False, classes="matched-prior")
                evidence = f"cosine {m.similarity:.2f} · shares {m.overlap:.0%} of the passage's word information"
                if m.shared_terms:
                    evidence += " · shared: " + terminal_text(", ".join(m.shared_terms[:8]))
                yield Static(Content.styled(evidence, "$text-muted"), classes="matched-evidence")
