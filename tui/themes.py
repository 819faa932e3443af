"""The app's two themes, chosen so that every text colour reads at WCAG AA (4.5:1) on every background it meets."""

from __future__ import annotations

from textual.color import Color
from textual.theme import Theme

DARK, LIGHT = "triage-dark", "triage-light"
ALIASES = {"dark": DARK, "light": LIGHT}

# Text roles drawn in the app (queue cells, bars, badges, footer keys) and the backgrounds they are drawn on.
TEXT_ROLES = ("foreground", "text-muted", "success", "warning", "error", "accent", "primary", "footer-key-foreground")
BACKGROUNDS = ("background", "surface", "panel", "block-cursor-background", "block-cursor-blurred-background", "footer-background")
BADGES = ("success", "warning", "error", "accent")  # a badge is the background colour on one of these
HIGHLIGHTS = ("error-muted", "success-muted", "warning-muted")  # passage highlights, under foreground text


def _theme(name: str, dark: bool, c: dict[str, str]) -> Theme:
    return Theme(
        name=name, dark=dark, primary=c["primary"], secondary=c["primary"], accent=c["accent"], warning=c["warning"],
        error=c["error"], success=c["success"], foreground=c["foreground"], background=c["background"],
        surface=c["surface"], panel=c["panel"],
        variables={
            "text": c["foreground"], "text-muted": c["muted"], "text-success": c["success"], "text-warning": c["warning"],
            "text-error": c["error"], "text-accent": c["accent"], "text-primary": c["primary"],
            "block-cursor-background": c["cursor"], "block-cursor-foreground": c["foreground"], "block-cursor-text-style": "bold",
            "block-cursor-blurred-background": c["panel"], "block-cursor-blurred-foreground": c["foreground"],
            "footer-background": c["panel"], "footer-key-background": c["panel"], "footer-description-background": c["panel"],
            "footer-key-foreground": c["primary"], "footer-description-foreground": c["foreground"],
            "footer-foreground": c["foreground"], "input-selection-background": f"{c['primary']} 35%",
        },
    )


THEMES = (
    _theme(DARK, True, dict(
        background="#1b1d23", surface="#22252c", panel="#2c3039", cursor="#273a52", foreground="#e8e8e8", muted="#aab0bb",
        success="#6fd08c", warning="#f2b84b", error="#ff8a8a", accent="#d0a8ff", primary="#7cb8ff",
    )),
    _theme(LIGHT, False, dict(
        background="#fbfbfb", surface="#f2f2f2", panel="#e6e6e6", cursor="#d3e3f5", foreground="#1c1c1c", muted="#545454",
        success="#1d6b35", warning="#85540a", error="#b02a2a", accent="#74389a", primary="#0a58a8",
    )),
)


def _luminance(colour: str) -> float:
    """WCAG 2 relative luminance of an opaque colour."""
    channels = [c / 255 for c in Color.parse(colour).rgb]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(first: str, second: str) -> float:
    """WCAG 2 contrast ratio of two opaque colours, from 1 to 21."""
    light, dark = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def text_pairs(variables: dict[str, str]) -> list[tuple[str, str, str, str]]:
    """(text role, background name, text colour, background colour) for every pair the app draws."""
    get = lambda name: Color.parse(variables[name]).hex  # noqa: E731
    pairs = [(role, bg, get(role), get(bg)) for role in TEXT_ROLES for bg in BACKGROUNDS]
    pairs += [(f"badge on {badge}", surface, get(surface), get(badge)) for badge in BADGES for surface in ("background", "surface")]
    pairs += [("foreground", highlight, get("foreground"), get(highlight)) for highlight in HIGHLIGHTS]
    return pairs
