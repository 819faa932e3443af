"""The evidence for the selected item: score bars with uncertainty, tier and reasons, sub-areas, decisions, prior work."""

from __future__ import annotations

from pathlib import PurePath

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from triage.review import PassageChange
from triage.review_records import PENDING, QueueItem, scores_were_shown
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
        yield ScoreBar("Hazard", "$warning", id="bar-hazard")
        yield Static(id="tier")
        yield Static(id="areas")
        yield Static(id="decisions")
        yield Static(id="versions")
        yield Static("prior work (enter: summary)", classes="heading")
        yield OptionList(id="prior", compact=True)

    def show(self, entry: QueueItem | None, reviewer: str, *, blind: bool = True, changes: list[PassageChange] | None = None) -> None:
        safety = self.query_one("#bar-safety", ScoreBar)
        capabilities = self.query_one("#bar-capabilities", ScoreBar)
        hazard = self.query_one("#bar-hazard", ScoreBar)
        prior = self.query_one("#prior", OptionList)
        prior.clear_options()
        if entry is None or entry.score is None:
            safety.show(None, None)
            capabilities.show(None, None)
            hazard.show(None, None)
            self.query_one("#tier", Static).update(Content.styled("not scored yet" if entry else "nothing selected", "$text-muted"))
            self.query_one("#areas", Static).update("")
        else:
            s = entry.score.scores
            safety.show(s.safety, s.safety_std)
            capabilities.show(s.capabilities, s.capabilities_std)
            hazard.show(s.hazard, s.hazard_std)
            tier_colour = _var(TIER_COLOUR.get(s.tier, "muted"))
            # Badges spell out both colours: reverse video over a transparent background is unreadable in light themes.
            badge: list[tuple[str, str] | str] = [(" HAZARD ", "bold $background on $warning"), " "] if "misuse-hazard" in s.reasons else []
            self.query_one("#tier", Static).update(
                Content.assemble(*badge, (f" {s.tier.upper()} ", f"bold $background on {tier_colour}"), " ", (" · ".join(s.reasons), "$text-muted"))
            )
            areas = " · ".join(f"{a.area} {a.probability:.2f}" for a in entry.score.document.areas) or "no sub-area above threshold"
            self.query_one("#areas", Static).update(Content.assemble(("areas ", "bold"), areas))
            # One line per paper: the option list wraps long prompts, which would hide all but two papers.
            width = max(20, (prior.size.width or 38) - 6)
            prior.add_options(
                Option(Text.assemble((f"{p.similarity:.2f} ", "bold"), _clip(terminal_text(p.title) + (f" ({p.year})" if p.year else ""), width)), id=str(i))
                for i, p in enumerate(entry.score.prior)
            )
            if entry.score.prior:
                prior.highlighted = 0
        self.query_one("#decisions", Static).update(self._decisions(entry, blind))
        self.query_one("#versions", Static).update(self._versions(entry, changes or []))

    @staticmethod
    def _decisions(entry: QueueItem | None, blind: bool) -> Content:
        if entry is None:
            return Content("")
        return Content.assemble(*_decision_parts(entry, "you"), *(
            [("  others hidden until you decide (blind)", "$text-muted")] if blind and entry.decision is None and not entry.others else []
        ))

    @staticmethod
    def _versions(entry: QueueItem | None, changes: list[PassageChange]) -> Content:
        """The path, and for a revised draft each earlier version: decisions on it and how each score moved since."""
        if entry is None:
            return Content("")
        lines = [Content.styled(f"{terminal_text(PurePath(entry.item.path).name if entry.item.path else entry.item.ref)} · v{entry.version}", "$text-muted")]
        changed = {c.version: c for c in changes}
        for earlier, later in zip(entry.earlier, [*entry.earlier[1:], entry]):
            parts: list[tuple[str, str] | str] = [(f"v{earlier.version} ", "bold"), *_decision_parts(earlier, "you")]
            if earlier.score and later.score:
                for axis, name in (("safety", "S"), ("capabilities", "C"), ("hazard", "H")):
                    before, after = getattr(earlier.score.scores, axis), getattr(later.score.scores, axis)
                    if before is not None and after is not None:
                        parts.append((f" {name} {before:.2f}→{after:.2f}", "$text-muted"))
            change = changed.get(later.version)
            if change is not None:
                # "changed passage 4 (of 4)": the tmux walkthrough read "passages changed: 4 of 4" as all four.
                which = f"passage{'s' if len(change.changed) > 1 else ''} {', '.join(map(str, change.changed))}" if change.changed else "no passage"
                parts.append((f" · v{later.version} changed {which} (of {change.total})", "$text-muted"))
            lines.append(Content.assemble(*parts))
        return Content("\n").join(lines)


def _decision_parts(entry: QueueItem, me: str) -> list[tuple[str, str] | str]:
    """`you restrict (probe 1a2b3c4d) · bob approve`, with a warning when the decision was made without scores."""
    parts: list[tuple[str, str] | str] = [(f"{me} ", "bold"), (short_state(entry.state), _var(STATE_COLOUR.get(entry.state, "muted")))]
    if entry.decision is not None and entry.decision.probe_version:
        parts.append((f" (probe {entry.decision.probe_version[:8]})", "$text-muted"))
    if entry.decision is not None and scores_were_shown(entry.decision) is False:
        parts.append((" ! decided before any score was shown", "bold $text-warning"))
    for name, state in entry.others.items():
        parts += [" · ", (f"{terminal_text(name)} ", "bold"), (short_state(state or PENDING), _var(STATE_COLOUR.get(state, "muted")))]
    return parts
