"""Theme colours as plain hex for Rich renderables (the DataTable renders Rich text, not theme variables)."""

from __future__ import annotations

from textual.app import App
from textual.color import Color

from triage.review_records import APPROVE, APPROVE_WITH_CHANGES, ESCALATE, HOLD, PENDING, RESTRICT

TIER_COLOUR = {"publish": "success", "review": "warning", "restrict": "error"}
STATE_COLOUR = {APPROVE: "success", APPROVE_WITH_CHANGES: "success", RESTRICT: "error", HOLD: "warning", ESCALATE: "accent", PENDING: "muted"}
STATE_SHORT = {APPROVE_WITH_CHANGES: "changes"}


def palette(app: App) -> dict[str, str]:
    """error, success, warning, accent, primary, foreground and a muted foreground, for the current theme."""
    variables = app.theme_variables or app.get_css_variables()
    background = Color.parse(variables["background"])
    foreground = Color.parse(variables["foreground"])
    colours = {name: Color.parse(variables[name]).hex for name in ("error", "success", "warning", "accent", "primary")}
    colours["foreground"] = foreground.hex
    # The app's own themes set a muted text colour checked for contrast; other themes get a blend.
    muted = variables.get("text-muted", "")
    colours["muted"] = Color.parse(muted).hex if muted.startswith("#") else foreground.blend(background, 0.45).hex
    return colours


def short_state(state: str) -> str:
    return STATE_SHORT.get(state, state)
