"""Error messages the backend builds from engine errors: each says things once, in the user's words.

The engine's messages name the file they were given (in the backend: a temp
or content-addressed file) and, for undecodable media, end with the list of
supported formats; the backend must neither repeat that list nor show its
own paths.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.backend.conftest import EXTRACT
from tests.engine.conftest import DATA
from tests.live_server import LiveServer
from tui.backend.errors import Unsupported
from tui.backend.probe import SUPPORTED, probe_media
from tui.client.http import Client
from tui.engine.media_kinds import MEDIA_FORMATS, STILL_FORMATS


def bad_files(folder: Path) -> list[Path]:
    """Undecodable files that reach each of the engine's 4001 messages."""
    text = folder / "notes.mp4"
    text.write_text("meeting notes, not a video\n" * 40)
    picture = folder / "photo.jpg"
    picture.write_text("not a picture either")
    demo = (DATA / "demo.mp4").read_bytes()
    cut = folder / "cut.mp4"
    cut.write_bytes(demo[: len(demo) // 2])
    return [text, picture, cut]


def test_a_cut_short_upload_is_called_damaged_without_the_list_of_formats(tmp_path: Path) -> None:
    """An mp4 cut in half is a supported format that is damaged: the list would mislead."""
    with pytest.raises(Unsupported) as caught:
        probe_media(bad_files(tmp_path)[2])
    message = caught.value.message
    assert message.startswith("damaged or incomplete: it starts as an mp4"), message
    assert "supported:" not in message and str(tmp_path) not in message
    assert caught.value.data == {"supported": SUPPORTED, "damaged": True}


@pytest.mark.parametrize("index", [0, 1])
def test_unsupported_upload_message_lists_the_formats_once(tmp_path: Path, index: int) -> None:
    path = bad_files(tmp_path)[index]
    with pytest.raises(Unsupported) as caught:
        probe_media(path)
    message = caught.value.message
    assert message.count("supported:") == 1, message
    assert message.endswith(f"; supported: {SUPPORTED}"), message
    for fmt in MEDIA_FORMATS + STILL_FORMATS:
        assert len(re.findall(rf"\b{fmt}\b", message)) == 1, (fmt, message)
    assert str(tmp_path) not in message and "\n" not in message
    assert caught.value.data == {"supported": SUPPORTED}


async def test_job_failing_in_the_engine_names_the_users_file_once(
    rich_client: Client, live_server: LiveServer, tmp_path: Path
) -> None:
    data = (DATA / "real_conversation.mkv").read_bytes()
    cut = tmp_path / "truncated.mkv"  # probes fine; decoding finds it cut short
    cut.write_bytes(data[: len(data) // 3])
    session = await rich_client.create_session()
    [info] = await rich_client.upload_files(session.session_id, [cut])
    before = await rich_client.credits()
    events = [e async for e in rich_client.run_sse(session.session_id, EXTRACT)]
    [done] = [r["response"] for e in events for r in e.function_responses]
    assert done["status"] == "failed" and done["error_code"] == 4001, done
    error = done["error"]
    assert error.startswith("truncated.mkv: the file is truncated or corrupt"), error
    assert error.count("truncated.mkv") == 1 and str(live_server.data_dir) not in error
    said = " ".join(e.text for e in events if e.text)
    assert "Could not script truncated.mkv: the file is truncated" in said
    assert str(live_server.data_dir) not in said and info["video_id"] not in said
    [job] = (await rich_client.state(session.session_id))["jobs"]
    assert job["status"] == "failed" and job["error"] == error
    assert (await rich_client.credits())["available"] == before["available"]
