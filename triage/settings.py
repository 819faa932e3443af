"""The settings the faces build from their options: arXiv access and input limits (defined by `corpus`)."""

from corpus.limits import DEFAULT_LIMITS, ReadLimits
from corpus.readers.arxiv_api import ArxivSettings

__all__ = ["DEFAULT_LIMITS", "ArxivSettings", "ReadLimits"]
