"""Make docs/screenshot.svg: the app at 120x36 after scripting tests/data/demo.mp4.

Run from the repository root: ``python docs/screenshot.py`` (starts an
embedded backend in a temporary data dir, scripts the video, renames a
speaker, and saves Textual's SVG screenshot).
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.app.driving import type_text, wait_for, wait_for_group  # noqa: E402
from tui.app.app import make_app  # noqa: E402


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "videos"
        folder.mkdir()
        for name in ("demo.mp4", "panel.mov", "reading.mp3"):
            shutil.copy(ROOT / "tests" / "data" / name, folder / name)
        app = make_app(folder, data_dir=Path(tmp) / "home")
        async with app.run_test(size=(120, 36)) as pilot:
            await wait_for(pilot, lambda: app.connection.session_id, 60, "a session")
            await pilot.press("down", "enter")
            await wait_for(pilot, lambda: [w for w in app.workers if w.group == "job"], 5)
            await wait_for_group(pilot, "job")
            await pilot.press("ctrl+n")
            await type_text(pilot, "Diane")
            await pilot.press("enter")
            await wait_for_group(pilot, "save")
            await pilot.press("alt+3", "shift+right", "shift+right", "shift+right")
            await pilot.pause(0.5)
            app.save_screenshot("screenshot.svg", path=str(ROOT / "docs"))
            await pilot.press("ctrl+q")


if __name__ == "__main__":
    asyncio.run(main())
