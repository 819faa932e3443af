"""The review app under stress: SIGKILL right after a decision, and a whole Pilot session behind a network guard."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests import network_guard
from tests.review_helpers import SAE, settle
from tests.test_crash_and_concurrency import FIGURES
from tests.test_readers import make_pdf
from triage.review import ReviewSession
from triage.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
KILLS = int(os.environ.get("TRIAGE_REVIEW_KILLS", "5"))


def _kill_after_decision(home: Path, mode: str, n: int) -> int:
    """Run the app as a real process, decide, SIGKILL it on "decided"; returns the session's log length after."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.review_app_worker", str(home), "killed", mode, "h", f"held {n}"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    try:
        while True:
            line = process.stdout.readline()
            if not line or line.strip() == b"decided":
                break
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL, process.stderr.read().decode()[-2000:]
    return len(ReviewSession.open(Workspace.at(home), "killed", create=False).log())


@pytest.fixture
def killed_session(workspace) -> Path:
    ReviewSession.open(workspace, "killed").add_drafts([SAE])
    return workspace.home


@pytest.mark.slow
def test_a_decision_survives_sigkill_right_after_the_save_key(killed_session):
    """Killed as soon as the key has been delivered and the screen updated: reopened, every decision is there."""
    for n in range(KILLS):
        assert _kill_after_decision(killed_session, "settled", n) == n + 1
    log = ReviewSession.open(Workspace.at(killed_session), "killed", create=False).log()
    assert [d.rationale for d in log] == [f"held {n}" for n in range(KILLS)]
    FIGURES["review app SIGKILLs after a decision (decisions kept)"] = f"{KILLS} ({len(log)})"


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.mark.slow
@pytest.mark.anyio
async def test_a_pilot_review_session_end_to_end_opens_no_connection(seeded_real_home, tmp_path, monkeypatch):
    """Queue a PDF draft, load the real model (fresh, from the bundled files), score, decide, undo, quit."""
    from models.embedders import SentenceTransformerEmbedder
    from tui.app import build_app

    home = tmp_path / "ws"
    shutil.copytree(seeded_real_home.home, home)
    draft = tmp_path / "draft.pdf"
    draft.write_bytes(make_pdf(b"BT /F1 12 Tf 72 720 Td (We probe reward models for deceptive alignment signals, draft 5521.) Tj ET", title="Guarded Draft"))

    def fresh_model():
        embedder = SentenceTransformerEmbedder("default", device="cpu")
        embedder.load()
        return embedder

    with network_guard.guarded(monkeypatch) as attempts:
        app = build_app(Workspace.at(home), fresh_model, "guarded", "alice", [draft], cursor_blink=False)
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            [entry] = app.main.visible_items
            assert entry.score is not None and entry.title == "Guarded Draft"
            await pilot.press("r", *"capability uplift", "ctrl+s")
            await settle(pilot)
            await pilot.press("u")
            await settle(pilot)
            await pilot.press("q")
            await pilot.pause()
    assert attempts == []
    log = ReviewSession.open(Workspace.at(home), "guarded", create=False).log()
    assert [d.state for d in log] == ["restrict", None]
