"""Errors of the triage layer, and the tuple of every domain error the faces turn into one line."""

from corpus.errors import CorpusError
from models.errors import ModelError


class TriageError(Exception):
    """A failure in composing the pieces (workspace, index, scoring); exit code 1."""

    exit_code = 1


class UsageError(TriageError):
    """The user asked for something that cannot be done as asked; exit code 2."""

    exit_code = 2


DOMAIN_ERRORS = (CorpusError, ModelError, TriageError)
