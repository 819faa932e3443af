"""The review app as a real process for the kill tests: `python -m tests.review_app_worker HOME SESSION MODE KEY RATIONALE`.

It opens the app headless (Textual's Pilot) on the session's first item, decides with KEY, types RATIONALE and
presses ctrl+s, says "decided" on stdout, then waits to be killed with SIGKILL. MODE says when it speaks:
"settled" once Pilot has delivered the key and the screen has updated, "queued" the instant the app's save
handler returns (the decision handed to the app's writer thread, not yet known to be in the store).
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path


async def decide_then_wait(home: Path, session: str, mode: str, key: str, rationale: str) -> None:
    from triage.workspace import Workspace
    from tui.app import build_app

    app = build_app(Workspace.at(home), None, session, "alice", [], cursor_blink=False)
    if mode == "queued":
        save = app.save_decision

        def save_then_say(*args, **kwargs):
            save(*args, **kwargs)
            os.write(1, b"decided\n")  # unbuffered: the parent kills on reading it

        app.save_decision = save_then_say  # type: ignore[method-assign]
    async with app.run_test(size=(100, 30)) as pilot:
        while not app.main.loaded:
            await pilot.pause(0.02)
        await pilot.press(key)
        await pilot.press(*rationale)
        await pilot.press("ctrl+s")
        if mode == "settled":
            os.write(1, b"decided\n")
        while True:
            await pilot.pause(1.0)


if __name__ == "__main__":
    home, session, mode, key, rationale = sys.argv[1:6]
    asyncio.run(decide_then_wait(Path(home), session, mode, key, rationale))
