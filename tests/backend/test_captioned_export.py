"""The captioned export through the API: resolution, progress, cancel, the latest script, free."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import av
import numpy as np

from tests.backend.conftest import EXTRACT
from tests.live_server import LiveServer
from tui.client.http import Client, InvalidRequest


async def scripted(api: Client, video: Path) -> str:
    session = await api.create_session(language="en")
    await api.upload_files(session.session_id, [video])
    async for _ in api.run_sse(session.session_id, EXTRACT):
        pass
    assert (await api.state(session.session_id))["script"]["turns"]
    return session.session_id


def caption_band(path: Path, seconds: float) -> np.ndarray:
    with av.open(str(path)) as c:
        shown = None
        for frame in c.decode(video=0):
            if frame.time > seconds:
                break
            shown = frame
        assert shown is not None
        picture = shown.to_ndarray(format="gray").astype(np.int32)
    return picture[int(picture.shape[0] * 0.55) : int(picture.shape[0] * 0.93)]


def leftovers(server: LiveServer) -> set[Path]:
    return {p for p in server.data_dir.rglob("*captioned*") if p.is_file()}


async def test_an_edited_script_is_the_one_rendered_and_exports_stay_free(
    rich_client: Client, speech_video: Path, tmp_path: Path
) -> None:
    api = rich_client
    sid = await scripted(api, speech_video)
    credits = await api.credits()
    first = await api.export(sid, "captioned", tmp_path / "a.mp4", resolution="source")
    with av.open(str(first)) as c:
        stream = c.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (320, 180)
        assert c.streams.audio

    state = await api.state(sid)
    script = dict(state["script"])
    turn = script["turns"][0]
    turn["text"] = "Completely different words are shown now in the first caption"
    await api.put_script(sid, script)
    second = await api.export(sid, "captioned", tmp_path / "b.mp4", resolution="source")

    inside = (turn["start_ms"] + 300) / 1000
    last = script["turns"][-1]
    unchanged = (last["end_ms"] - 200) / 1000
    assert np.abs(caption_band(first, inside) - caption_band(second, inside)).mean() > 3
    assert np.abs(caption_band(first, unchanged) - caption_band(second, unchanged)).mean() < 1
    said = [e async for e in api.run_sse(sid, "导出原尺寸视频")]  # "export the source-size video"
    [exported] = [r["response"] for e in said for r in e.function_responses]
    assert exported["status"] == "completed" and exported["url"].endswith("/download"), exported
    assert any("captions in the picture" in (e.text or "") for e in said)
    media = (await api.state(sid))["generated_media"]
    assert [m["format"] for m in media].count("captioned") == 3
    assert (await api.credits())["total"] == credits["total"]  # free, like every export


async def test_progress_then_cancel_keeps_nothing(
    rich_client: Client, live_server: LiveServer, speech_video: Path
) -> None:
    api = rich_client
    sid = await scripted(api, speech_video)
    before = leftovers(live_server)
    render = await api.render(sid, "captioned", resolution="1080x1920", fit="crop")
    deadline = time.monotonic() + 120
    while not (render["status"] == "rendering" and render["progress"] > 0.1):
        assert render["status"] in ("queued", "rendering") and time.monotonic() < deadline, render
        await asyncio.sleep(0.05)
        render = await api.render_status(render["id"])
    assert 0.1 < render["progress"] < 1
    cancelled = await api.cancel_render(render["id"])
    assert cancelled["status"] == "failed" and "cancel" in cancelled["error"]
    for _ in range(100):  # the render stops at its next frame and removes its temp file
        if leftovers(live_server) == before:
            break
        await asyncio.sleep(0.1)
    assert leftovers(live_server) == before
    assert (await api.render_status(render["id"]))["status"] == "failed"


async def test_a_resolution_outside_the_contract_is_refused(
    rich_client: Client, speech_video: Path
) -> None:
    session = await rich_client.create_session(language="en")
    try:
        await rich_client.render(session.session_id, "captioned", resolution="4k")
    except InvalidRequest as error:
        assert "resolution" in str(error)
    else:
        raise AssertionError("a 4k resolution was accepted")
