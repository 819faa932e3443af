"""Errors raised by readers and the store, each carrying where the problem is."""

from __future__ import annotations


class CorpusError(Exception):
    """A failure in the corpus layer; `exit_code` follows the CLI convention (1 failure, 2 bad input)."""

    exit_code = 1


class InputError(CorpusError):
    """Bad user input: a missing or malformed file, record, or identifier."""

    exit_code = 2

    def __init__(self, message: str, *, source: str | None = None, record: str | int | None = None):
        self.source = source
        self.record = record
        where = ""
        if source is not None:
            where = f"{source}"
            if record is not None:
                where += f":{record}"
            where += ": "
        super().__init__(where + message)


class FetchError(CorpusError):
    """A remote source (the arXiv API) failed after retries or timed out."""
