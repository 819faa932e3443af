"""Explicit limits on what the readers accept, so that a hostile or broken file costs bounded time and memory."""

from __future__ import annotations

from dataclasses import dataclass, replace

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB


@dataclass(frozen=True)
class ReadLimits:
    """What one read may cost. Every reader takes one; the CLI overrides a few with flags (docs/RELIABILITY.md).

    Files read whole (drafts, BibTeX) are bounded by size; streamed tables (CSV, JSON lines, the arXiv snapshot)
    by the length of one line, so a multi-gigabyte snapshot still streams in bounded memory.
    """

    # Drafts and BibTeX are read whole: a 20 MiB draft is already ~3,000 pages of text.
    max_file_bytes: int = 20 * MIB
    # pylatexenc converts LaTeX at tens of KB a second, superlinearly: a bigger source would look like a hang.
    max_tex_bytes: int = 1 * MIB
    # One CSV or JSON line (one record); the arXiv snapshot's longest lines (thousands of authors) are ~200 KiB.
    max_line_bytes: int = 1 * MIB
    # A draft's passages are each embedded; 5,000 passages is ~3.5 M characters, a long book.
    max_passages: int = 5_000
    # Gzip streams: the arXiv snapshot (~5 GB unpacked) fits; a bomb (deflate reaches ~1000:1) trips the ratio.
    max_decompressed_bytes: int = 32 * GIB
    max_compression_ratio: int = 100
    # The ratio is judged once this much is unpacked: enough to measure it, little enough that a bomb of tiny
    # valid rows is stopped after a few hundred thousand of them rather than hundreds of millions.
    ratio_check_after_bytes: int = 1 * MIB
    # JSON records are flat; deep nesting is either a mistake or an attack on the recursive parser.
    max_json_depth: int = 64

    def __post_init__(self) -> None:
        for name, value in self.__dict__.items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"ReadLimits.{name} must be a positive integer, got {value!r}")

    def with_options(
        self, *, max_file_mb: float | None = None, max_line_kb: float | None = None, max_passages: int | None = None
    ) -> "ReadLimits":
        """These limits with the CLI's overrides applied (None keeps a limit as it is)."""
        changes: dict[str, int] = {}
        if max_file_mb is not None:
            # A size the user names applies to LaTeX too: they chose to wait for the slow conversion.
            changes["max_file_bytes"] = changes["max_tex_bytes"] = max(1, int(max_file_mb * MIB))
        if max_line_kb is not None:
            changes["max_line_bytes"] = max(1, int(max_line_kb * KIB))
        if max_passages is not None:
            changes["max_passages"] = max_passages
        return replace(self, **changes)


DEFAULT_LIMITS = ReadLimits()


def describe_bytes(count: int) -> str:
    """A byte count as people read it in an error message: '20 MiB', '1 KiB', '300 bytes'."""
    for unit, size in (("GiB", GIB), ("MiB", MIB), ("KiB", KIB)):
        if count >= size:
            value = count / size
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{count} bytes"
