"""Runs the review app headless in its own process, decides on its one draft, then waits to be killed."""

# Used by test_review_crash.py: the parent sends SIGKILL the moment this prints DECIDED, so nothing after the
# decision (no quit, no close, no checkpoint) gets a chance to run.

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from tests.review_helpers import settle
from triage.workspace import Workspace
from tui.app import build_app
from tui.messages import DecisionRecorded, WriteFinished


async def main(home: str, draft: str) -> None:
    recorded = asyncio.Event()

    def hook(message) -> None:
        if isinstance(message, WriteFinished) and isinstance(message.result, DecisionRecorded):
            recorded.set()

    app = build_app(Workspace.at(home), None, "crash", "carol", [Path(draft)], cursor_blink=False)
    async with app.run_test(size=(80, 24), message_hook=hook) as pilot:
        await settle(pilot)
        await pilot.press("r", *"weights leak", "tab", "space", "ctrl+s")
        await asyncio.wait_for(recorded.wait(), 30)
        print("DECIDED", flush=True)
        await asyncio.sleep(600)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
