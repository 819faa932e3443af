"""Papers, draft documents, the readers that produce them, and the SQLite store that keeps them."""

from corpus.errors import CorpusError, InputError
from corpus.records import Document, Paper, Passage

__all__ = ["CorpusError", "Document", "InputError", "Paper", "Passage"]
