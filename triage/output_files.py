"""Files the user names for output (`batch --out`, `report --html`, `review export --out`): one rule for all of them.

The rule, documented in docs/RELIABILITY.md:

- The path is the user's to choose: relative to the current folder or absolute, `..` included (refusing `..`
  while accepting absolute paths confined nothing). A symlink is followed: the file it points to is written,
  the link stays a link.
- Refused before anything is written (exit 2): a name without the command's suffix; a folder; anything that
  exists and is not a regular file (a FIFO, a device); anything inside the workspace (its database, index,
  probes); any file the same command reads.
- The file is written to a temporary file beside it, fsynced and renamed over it, so a reader never sees half a file;
  folders that had to be created for it are removed again if the write fails; an error names the file the user
  gave, never the temporary one.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from models.atomic_files import atomic_path
from triage.errors import TriageError, UsageError


def _real(path: Path | str) -> Path:
    # realpath, not resolve(): it follows a link whose target does not exist yet, so the new file lands there.
    return Path(os.path.realpath(Path(path).expanduser()))


def output_target(
    path: Path | str, *, suffixes: Sequence[str], workspace_home: Path | None = None, inputs: Iterable[Path | str] = (),
) -> Path:
    """Where to write `path` under the rule above (the real path, links followed), or a UsageError saying why not."""
    given = Path(path)
    if given.suffix.lower() not in suffixes:
        raise UsageError(f"{path}: the output must end in {' or '.join(suffixes)}")
    target = _real(given)
    if target.is_dir():
        raise UsageError(f"{path}: is a folder")
    if target.exists() and not target.is_file():
        raise UsageError(f"{path}: exists and is not a regular file")
    if workspace_home is not None:
        home = _real(workspace_home)
        if target == home or target.is_relative_to(home):
            raise UsageError(f"{path}: is inside the workspace ({home}); write it somewhere else")
    for source in inputs:
        source_path = _real(source)
        if source_path == target or (target.exists() and source_path.exists() and os.path.samefile(source_path, target)):
            raise UsageError(f"{path}: is also an input of this command; name another file")
    return target


def _missing_parents(folder: Path) -> list[Path]:
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing[::-1]


@contextmanager
def replacing(target: Path, shown: Path | str | None = None) -> Iterator[Path]:
    """A temporary path beside `target` (links followed) to write; fsynced and renamed over it when the block ends
    without error (`atomic_path`).

    On any failure the temporary file and the folders made for it are removed; an OSError becomes one line
    naming `shown` (what the user typed; default `target`).
    """
    shown = shown or target
    target = _real(target)  # a symlink is written through, never replaced
    created = _missing_parents(target.parent)
    try:
        for folder in created:
            folder.mkdir()
        with atomic_path(target) as tmp:
            yield tmp
    except BaseException as exc:
        for folder in reversed(created):
            try:
                folder.rmdir()
            except OSError:
                break  # not empty or already gone: not ours to remove
        if isinstance(exc, OSError):
            raise TriageError(f"{shown}: cannot write: {exc.strerror or exc}") from None
        raise
