"""The score record: one document's three axes, their spreads, the tier and its reasons, defined once for every store and file."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Mapping

# The numeric columns, in the order every table and file shows them. Adding an axis means adding it here (and to
# ScoreRecord), plus one migration for the batch results table.
SCORE_FLOATS = ("safety", "safety_std", "capabilities", "capabilities_std", "hazard", "hazard_std", "differential")
SCORE_COLUMNS = (*SCORE_FLOATS, "tier", "reasons", "areas")


@dataclass
class ScoreRecord:
    """Calibrated probabilities with their ensemble spread, `differential` = logit P(safety) - logit P(capabilities),
    the tier, the reasons for it, and the names of the top areas. `hazard` is None for scores written before it existed."""

    safety: float
    safety_std: float
    capabilities: float
    capabilities_std: float
    hazard: float | None
    hazard_std: float | None
    differential: float
    tier: str
    reasons: list[str] = field(default_factory=list)
    areas: list[str] = field(default_factory=list)

    def to_row(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "ScoreRecord":
        """From a stored row or a decision's scores (missing or NaN numbers become None; lists stay lists)."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            value = row.get(f.name)
            if f.name in SCORE_FLOATS:
                values[f.name] = None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)
            elif f.name in ("reasons", "areas"):
                values[f.name] = list(value or [])
            else:
                values[f.name] = "" if value is None else str(value)
        return cls(**values)
