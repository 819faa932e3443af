"""The one atomic, durable file write (temporary file beside the target, fsync, rename, folder fsync), for every layer.

It lives in `models`, the lowest layer that writes files of its own (probes, the ONNX cache); `triage` builds on it.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Iterator


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A temporary path beside `target` to write; when the block ends without error it is fsynced and renamed over
    `target`, so readers see the old file or the whole new one, and a power cut keeps one of them. On any error the
    temporary file is removed and `target` is untouched. A replaced file keeps its mode; a new one gets 0644."""
    # A short name of its own: one built from the target's name could pass the 255-byte limit the target meets.
    handle, name = tempfile.mkstemp(prefix=".triage-", suffix=".tmp", dir=target.parent)
    os.close(handle)
    tmp = Path(name)
    try:
        os.chmod(tmp, target.stat().st_mode & 0o777 if target.exists() else 0o644)  # mkstemp makes 0600
        yield tmp
        with tmp.open("rb+") as written:
            os.fsync(written.fileno())
        os.replace(tmp, target)
        _fsync_folder(target.parent)
    except BaseException:
        with suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise


def atomic_write(target: Path, data: bytes) -> None:
    """Write `data` to `target` through `atomic_path`."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def _fsync_folder(folder: Path) -> None:
    # The rename is durable only once the folder's entry is on disk; some file systems refuse to open a folder.
    with suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
