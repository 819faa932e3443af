"""A probability bar that shows its uncertainty: solid up to mean - std, shaded across mean ± std."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

BAR_WIDTH = 16


def bar_content(label: str, mean: float | None, std: float | None, colour: str, width: int = BAR_WIDTH) -> Content:
    """`Safety  0.82±0.04 ██████████▒▒░░░░` with `colour` a theme variable such as `$success`."""
    if mean is None:
        return Content.assemble((f"{label:<8}", "bold"), ("  –   ", "$text-muted"), ("·" * width, "$text-muted"))
    std = std or 0.0
    low = max(0.0, mean - std) * width
    high = min(1.0, mean + std) * width
    cells = []
    for i in range(width):
        centre = i + 0.5
        if centre <= low:
            cells.append(("█", colour))
        elif centre <= high:
            cells.append(("▒", colour))
        else:
            cells.append(("░", "$text-muted"))
    return Content.assemble((f"{label:<8}", "bold"), (f"{mean:.2f}", colour), (f"±{std:.2f} ", "$text-muted"), *cells)


class ScoreBar(Static):
    """One axis: label, mean, spread, and the bar."""

    DEFAULT_CSS = "ScoreBar { height: 1; }"

    def __init__(self, label: str, colour: str, **kwargs):
        super().__init__(bar_content(label, None, None, colour), **kwargs)
        self.label = label
        self.colour = colour
        self._shown: tuple[float | None, float | None] = (None, None)

    def show(self, mean: float | None, std: float | None) -> None:
        if (mean, std) != self._shown:  # an update costs a layout pass; moving between items often repeats a bar
            self._shown = (mean, std)
            self.update(bar_content(self.label, mean, std, self.colour))
