"""The workspace folder: where it is, what it holds, and opening its store. Nothing is created at import."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from triage.errors import TriageError

ENV_HOME = "TRIAGE_HOME"
APP_NAME = "pubtriage"


def default_home() -> Path:
    """`TRIAGE_HOME` when set, else the platform's user data folder."""
    env = os.environ.get(ENV_HOME)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


@dataclass(frozen=True)
class Workspace:
    """Paths of one workspace: `triage.db`, `index/`, `probes/`, `onnx/`."""

    home: Path

    @classmethod
    def at(cls, home: Path | str | None = None) -> "Workspace":
        return cls(Path(home).expanduser().resolve() if home else default_home().resolve())

    @property
    def db_path(self) -> Path:
        return self.home / "triage.db"

    @property
    def index_dir(self) -> Path:
        return self.home / "index"

    @property
    def probes_dir(self) -> Path:
        return self.home / "probes"

    @property
    def onnx_dir(self) -> Path:
        return self.home / "onnx"

    def ensure(self) -> None:
        """Create the folder on first use."""
        if self.home.exists() and not self.home.is_dir():
            raise TriageError(f"workspace path {self.home} exists and is not a folder")
        try:
            self.home.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TriageError(f"cannot create workspace {self.home}: {exc.strerror}") from exc
