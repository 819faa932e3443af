"""The input limits the faces build from their --max-* options (defined by `corpus`; light to import)."""

from corpus.limits import DEFAULT_LIMITS, ReadLimits

__all__ = ["DEFAULT_LIMITS", "ReadLimits"]
