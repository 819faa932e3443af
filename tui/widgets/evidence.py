"""The evidence for the selected item: score bars with uncertainty, tier and reasons, sub-areas, decisions, prior work."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from triage.review_records import PENDING, QueueItem
from triage.safe_text import terminal_text
from tui.colours import STATE_COLOUR, TIER_COLOUR, short_state
from tui.widgets.score_bar import ScoreBar

_VAR = {"muted": "$text-muted"}


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _var(name: str) -> str:
    return _VAR.get(name, f"${name}")


class Evidence(Vertical):
    """Left half of the detail pane. `show` redraws it for one queue entry (or none)."""

    DEFAULT_CSS = """
    Evidence { height: 1fr; padding: 0 1; }
    Evidence > Static { height: auto; }
    Evidence > #prior { height: 1fr; min-height: 3; border: none; padding: 0; }
    Evidence > .heading { color: $text-muted; text-style: bold; }
    """

    def compose(self) -> ComposeResult:
        yield ScoreBar("Safety", "$success", id="bar-safety")
        yield ScoreBar("Capab.", "$error", id="bar-capabilities")
        yield Static(id="tier")
        yield Static(id="areas")
        yield Static(id="decisions")
        yield Static("prior work (enter: summary)", classes="heading")
        yield OptionList(id="prior", compact=True)

    def show(self, entry: QueueItem | None, reviewer: str) -> None:
        safety = self.query_one("#bar-safety", ScoreBar)
        capabilities = self.query_one("#bar-capabilities", ScoreBar)
        prior = self.query_one("#prior", OptionList)
        prior.clear_options()
        if entry is None or entry.score is None:
            safety.show(None, None)
            capabilities.show(None, None)
            self.query_one("#tier", Static).update(Content.styled("not scored yet" if entry else "nothing selected", "$text-muted"))
            self.query_one("#areas", Static).update("")
        else:
            s = entry.score.score
            safety.show(s.safety, s.safety_std)
            capabilities.show(s.capabilities, s.capabilities_std)
            tier_colour = _var(TIER_COLOUR.get(s.tier, "muted"))
            self.query_one("#tier", Static).update(
                Content.assemble((f" {s.tier.upper()} ", f"bold reverse {tier_colour}"), " ", (" · ".join(s.reasons), "$text-muted"))
            )
            areas = " · ".join(f"{a.area} {a.probability:.2f}" for a in s.areas) or "no sub-area above threshold"
            self.query_one("#areas", Static).update(Content.assemble(("areas ", "bold"), areas))
            # One line per paper: the option list wraps long prompts, which would hide all but two papers.
            width = max(20, (prior.size.width or 38) - 6)
            prior.add_options(
                Option(Text.assemble((f"{p.similarity:.2f} ", "bold"), _clip(terminal_text(p.title) + (f" ({p.year})" if p.year else ""), width)), id=str(i))
                for i, p in enumerate(entry.score.prior)
            )
            if entry.score.prior:
                prior.highlighted = 0
        self.query_one("#decisions", Static).update(self._decisions(entry, reviewer))

    @staticmethod
    def _decisions(entry: QueueItem | None, reviewer: str) -> Content:
        if entry is None:
            return Content("")
        parts: list[tuple[str, str] | str] = [("you ", "bold")]
        mine = entry.state
        parts.append((short_state(mine), _var(STATE_COLOUR.get(mine, "muted"))))
        if entry.decision is not None and entry.decision.probe_version:
            parts.append((f" (probe {entry.decision.probe_version[:8]})", "$text-muted"))
        for name, state in entry.others.items():
            parts += [" · ", (f"{terminal_text(name)} ", "bold"), (short_state(state or PENDING), _var(STATE_COLOUR.get(state, "muted")))]
        return Content.assemble(*parts)
