"""A decision survives the app being killed (SIGKILL) right after it is made."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.review_helpers import FLASHMIX
from triage.review import ReviewSession
from triage.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_decision_survives_sigkill(tmp_path):
    home = tmp_path / "ws"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TRIAGE_HOME": str(home)}
    driver = subprocess.Popen(
        [sys.executable, "-m", "tests.review_kill_driver", str(home), str(FLASHMIX)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = driver.stdout.readline()
        assert line.strip() == "DECIDED", driver.stderr.read() if driver.poll() is not None else line
        driver.send_signal(signal.SIGKILL)
        assert driver.wait(timeout=30) == -signal.SIGKILL
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()

    workspace = Workspace.at(home)
    db = sqlite3.connect(workspace.db_path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    review = ReviewSession.open(workspace, "crash", create=False)
    [decision] = review.log()
    assert (decision.reviewer, decision.state, decision.rationale) == ("carol", "restrict", "weights leak")
    assert decision.checklist["capability_uplift"] is True
    assert review.queue("carol")[0].state == "restrict"
