"""Errors of the triage layer, the tuple of every domain error the faces turn into one line, and the lower layers'
errors the faces raise themselves (so they need import nothing below `triage`)."""

from corpus.errors import CorpusError, InputError
from models.errors import ModelError


class TriageError(Exception):
    """A failure in composing the pieces (workspace, index, scoring); exit code 1."""

    exit_code = 1


class UsageError(TriageError):
    """The user asked for something that cannot be done as asked; exit code 2."""

    exit_code = 2


DOMAIN_ERRORS = (CorpusError, ModelError, TriageError)

__all__ = ["DOMAIN_ERRORS", "CorpusError", "InputError", "ModelError", "TriageError", "UsageError"]
