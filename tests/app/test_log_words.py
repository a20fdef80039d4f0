"""The Log speaks to people: what happened to which file, in words; raw calls behind `v`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from tests.app.driving import type_text, wait_for, wait_for_group
from tests.backend.media import make_video
from tests.live_server import start_server
from tui.app.app import make_app
from tui.app.panes.sse_log import SSELog


@pytest.mark.slow
async def test_the_log_says_what_happened_in_words(tmp_path: Path) -> None:
    server = start_server(tmp_path / "server", "--starting-credits", "unlimited")
    try:
        folder = tmp_path / "videos"
        folder.mkdir()
        video = make_video(folder / "panel.mp4", seconds=2.0)
        app = make_app(folder, server=server.url, token_file=tmp_path / "token.json")
        async with app.run_test(size=(120, 40)) as pilot:
            log = app.query_one(SSELog)
            await wait_for(pilot, lambda: app.connection.session_id, 30, "a session")
            app.jobs.submit_files([video])
            await wait_for_group(pilot, "job")

            async def ask(text: str, expect: str) -> None:
                await pilot.press("f6")
                await type_text(pilot, text)
                await pilot.press("enter")
                await wait_for(
                    pilot, lambda: any(expect in line for line in log.shown_lines), 30, expect
                )

            await ask("credits", "credits: ∞ (unlimited)")
            await ask("status", "panel.mp4 (0:02): script done")
            await ask("export srt and txt", "saved panel.txt in")
            # The two downloads run side by side: either may be saved first.
            await wait_for(
                pilot,
                lambda: any("saved panel.srt in" in line for line in log.shown_lines),
                30,
                "saved panel.srt",
            )
            shown = "\n".join(log.shown_lines)
            assert "panel.mp4: script ready, 0 speakers" in shown
            for raw in ("None available", "job script completed", "/api/render", "extract("):
                assert raw not in shown, raw

            # The raw calls are kept, behind the verbose toggle.
            await pilot.press("f3", "v")
            assert log.verbose and "verbose" in str(log.border_title)
            assert any("extract(" in line for line in log.shown_lines)
    finally:
        server.stop()


async def test_the_log_wraps_again_after_a_resize(media_folder: Path) -> None:
    app = make_app(media_folder, autoconnect=False)
    async with app.run_test(size=(80, 24)) as pilot:
        log = app.query_one(SSELog)
        log.add("info", "a long line about what happened " * 6, datetime(2026, 1, 5, 9, 30))
        await pilot.pause()
        narrow = len(log.query_one("#log-lines").lines)
        await pilot.resize_terminal(200, 40)
        await pilot.pause(0.2)
        await pilot.pause()
        wide = len(log.query_one("#log-lines").lines)
        assert wide < narrow, (narrow, wide)
