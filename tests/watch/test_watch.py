"""The folder watcher end to end: real watchfiles on a temp folder, the real backend on loopback."""

from __future__ import annotations

import asyncio
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.live_server import start_server
from tests.watch.conftest import watching
from tests.watch.media import write_tone_mp4
from tui.watch import (
    FileDone,
    FileFailed,
    FileQueued,
    FileSkipped,
    FileWaiting,
    FileWorking,
    FolderGone,
)
from tui.watch.ledger import Ledger


def _temp_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.startswith(".") or p.name.endswith(".part")]


async def test_a_file_copied_in_chunks_is_submitted_once_when_complete(
    folder: Path, tmp_path: Path, live_server, isolated_home: Path
) -> None:
    source = write_tone_mp4(tmp_path / "source.mp4", seconds=3.0).read_bytes()
    target = folder / "slow copy.mp4"
    async with watching(folder, live_server, isolated_home, settle=1.0) as run:
        chunks = 6
        with target.open("wb") as handle:
            for i in range(chunks):  # about 3 s of copying, each chunk flushed to disk
                if i:
                    await asyncio.sleep(0.6)
                handle.write(source[i * len(source) // chunks : (i + 1) * len(source) // chunks])
                handle.flush()
                os.fsync(handle.fileno())
        finished_writing = time.monotonic()
        await run.until(lambda r: bool(r.of(FileDone, target) or r.of(FileFailed, target)))

    assert run.of(FileFailed) == []
    assert len(run.of(FileQueued, target)) == 1
    starts = [e for e in run.of(FileWorking, target) if (e.stage, e.progress) == ("uploading", 0)]
    assert len(starts) == 1, "uploaded more than once"
    assert run.of(FileWaiting, target), "a growing file is reported as still arriving"
    [queued_at] = run.times(FileQueued, target)
    assert queued_at >= finished_writing + 0.9, "submitted before it had settled"
    [done] = run.of(FileDone, target)
    assert done.outputs == (folder / "slow copy.md",)
    assert (folder / "slow copy.md").read_text().strip()
    assert _temp_files(folder) == []


async def test_twenty_files_at_once_each_done_exactly_once_and_not_again_after_restart(
    folder: Path, tmp_path: Path, live_server, isolated_home: Path
) -> None:
    staging = tmp_path / "staging"
    staging.mkdir()
    distinct = [write_tone_mp4(staging / f"clip{i:02d}.mp4", 0.5, 300 + 40 * i) for i in range(10)]
    copies = []
    for i, clip in enumerate(distinct):  # the same videos again under other names
        copies.append(staging / f"copy of clip{i:02d}.mp4")
        shutil.copy(clip, copies[-1])
    dropped = [folder / p.name for p in distinct + copies]

    async with watching(folder, live_server, isolated_home) as run:
        for path in distinct + copies:
            path.rename(folder / path.name)  # all at once, by rename
        # each of the 20 arrivals ends in one of these; a second submission would show
        # as an 11th FileQueued below
        await run.until(lambda r: len(r.of(FileDone)) + len(r.of(FileSkipped)) >= 20)

    assert run.of(FileFailed) == []
    done = run.of(FileDone)
    assert len(done) == 10 and len(run.of(FileQueued)) == 10
    for i in range(10):  # each content once, under one of its two names
        names = {f"clip{i:02d}.mp4", f"copy of clip{i:02d}.mp4"}
        assert len([e for e in done if e.path.name in names]) == 1
    for event in done:
        assert event.outputs == (event.path.with_suffix(".md"),) and event.outputs[0].exists()
    assert sorted(e.path for e in run.of(FileSkipped)) == sorted(
        set(dropped) - {e.path for e in done}
    )

    # Restart, after touching one: nothing is processed again.
    (folder / "clip03.mp4").touch()
    async with watching(folder, live_server, isolated_home) as again:
        await again.until(lambda r: len(r.of(FileSkipped)) >= 20)
    assert again.of(FileQueued) == [] and again.of(FileDone) == []
    assert all("already done" in e.reason for e in again.of(FileSkipped))


async def test_a_bad_file_is_reported_and_the_next_good_one_still_processed(
    folder: Path, tmp_path: Path, live_server, isolated_home: Path
) -> None:
    corrupt = folder / "corrupt.mp4"
    async with watching(folder, live_server, isolated_home) as run:
        corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(20_000))
        await run.until(lambda r: bool(r.of(FileFailed, corrupt)), timeout=60)
        good = write_tone_mp4(tmp_path / "good.mp4", 1.0).rename(folder / "good.mp4")
        await run.until(lambda r: bool(r.of(FileDone, good) or r.of(FileFailed, good)))

    [failed] = run.of(FileFailed, corrupt)
    assert failed.code == 4001 and failed.reason
    assert run.of(FileDone, good) and (folder / "good.md").exists()
    assert not (folder / "corrupt.md").exists()
    ledger = Ledger.open(isolated_home)
    record = ledger.get(ledger.content_hash(corrupt))
    assert record is not None and record.status == "failed" and record.code == 4001


async def test_an_edited_output_is_not_overwritten(
    folder: Path, tmp_path: Path, live_server, isolated_home: Path
) -> None:
    video = folder / "talk.mp4"
    async with watching(folder, live_server, isolated_home) as run:
        write_tone_mp4(tmp_path / "v1.mp4", 1.0, 500).rename(video)
        await run.until(lambda r: len(r.of(FileDone) + r.of(FileFailed)) >= 1)
        script = folder / "talk.md"
        edited = script.read_text() + "\nA line the user added.\n"
        script.write_text(edited)
        # a new version of the video under the same name: scripted again
        write_tone_mp4(tmp_path / "v2.mp4", 1.5, 700).rename(video)
        await run.until(lambda r: len(r.of(FileDone) + r.of(FileFailed)) >= 2)

    assert run.of(FileFailed) == []
    first, second = run.of(FileDone)
    assert first.outputs == (script,)
    assert second.outputs == (folder / "talk.2.md",)
    assert script.read_text() == edited
    assert any("talk.md" in note and "talk.2.md" in note for note in second.notes)
    assert _temp_files(folder) == []


class _Process:
    """``reelscript watch`` in a subprocess, its output read line by line (not a terminal)."""

    def __init__(self, *args: str) -> None:
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "tui.cli", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float = 90.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            self.seen.append(line)
            if text in line:
                return line
        self.popen.kill()
        pytest.fail(f"no line with {text!r}; output so far:\n" + "\n".join(self.seen))

    def stop(self, signum: int) -> int:
        self.popen.send_signal(signum)
        code = self.popen.wait(30)
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return code


def test_the_command_stops_on_ctrl_c_without_partial_outputs_and_redoes_that_video_next_time(
    folder: Path, tmp_path: Path, live_server, isolated_home: Path, data_dir: Path
) -> None:
    args = ("--data-dir", str(isolated_home), "watch", str(folder), "--server", live_server.url)
    args += ("--settle", "0.5", "--format", "md,srt")
    run = _Process(*args)
    run.wait_for("watching")
    write_tone_mp4(tmp_path / "first.mp4", 1.0).rename(folder / "first.mp4")
    assert "first.md, first.srt" in run.wait_for("done     first.mp4")
    shutil.copy(data_dir / "demo.mp4", folder / "demo.mp4")
    run.wait_for("demo.mp4: transcribing")
    assert run.stop(signal.SIGINT) == 130
    assert any(line.endswith("stopped: 1 done, 0 failed, 0 queued") for line in run.seen)
    assert sorted(p.name for p in folder.iterdir()) == [
        "demo.mp4",
        "first.md",
        "first.mp4",
        "first.srt",
    ]  # nothing of demo's, no temp files

    again = _Process(*args)
    again.wait_for("skipped  first.mp4: already done")
    assert "demo.md, demo.srt" in again.wait_for("done     demo.mp4", timeout=120)
    assert again.stop(signal.SIGTERM) == 0  # a service stop
    script = (folder / "demo.md").read_text()
    assert script.startswith("# demo\n") and "Speaker" in script  # named after the user's file

    # A format added later: the videos done before are not redone, but it says so.
    more = _Process(*args[:-1], "md,srt,vtt")
    line = more.wait_for("skipped  first.mp4: already done")
    assert line.endswith("made without vtt: --force redoes it"), line
    assert more.stop(signal.SIGTERM) == 0


async def test_a_backend_that_is_down_is_not_the_videos_fault_so_it_is_tried_again(
    folder: Path, tmp_path: Path, isolated_home: Path
) -> None:
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    nobody = SimpleNamespace(url=f"http://127.0.0.1:{port}")
    video = folder / "talk.mp4"
    async with watching(folder, nobody, isolated_home, retry_after=0.3) as run:
        write_tone_mp4(tmp_path / "talk.mp4").rename(video)
        await run.until(lambda r: len(r.of(FileFailed, video)) >= 2, timeout=30)

    first, second = run.of(FileFailed, video)[:2]
    assert "cannot reach the backend" in first.reason
    assert (first.retry_in, second.retry_in) == (0.3, 0.6)
    assert run.watcher.stats.failed == 0 and video in run.watcher.stats.retrying
    ledger = Ledger.open(isolated_home)
    assert ledger.get(ledger.content_hash(video)) is None  # not remembered as failed


async def test_a_folder_moved_in_whole_is_watched_recursively_into_out(
    folder: Path, tmp_path: Path, live_server, isolated_home: Path
) -> None:
    batch = tmp_path / "batch"
    (batch / ".hidden").mkdir(parents=True)
    for i in range(2):
        write_tone_mp4(batch / f"clip{i}.mp4", 0.5, 350 + 100 * i)
    write_tone_mp4(batch / ".hidden" / "ignored.mp4", 0.5, 900)
    out = tmp_path / "scripts"
    async with watching(folder, live_server, isolated_home, recursive=True, out=out) as run:
        await run.watcher.ready.wait()  # watching before the folder arrives
        batch.rename(folder / "batch")  # one event for the folder, none for its files
        await run.until(lambda r: len(r.of(FileDone) + r.of(FileFailed)) >= 2)

    assert run.of(FileFailed) == []
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.md")) == [
        "batch/clip0.md",
        "batch/clip1.md",
    ]
    assert not any(p.suffix == ".md" for p in folder.rglob("*"))
    assert all(".hidden" not in e.path.parts for _, e in run.events)


async def test_new_only_leaves_old_files_alone_and_force_redoes_once(
    folder: Path, tmp_path: Path, live_server, isolated_home: Path
) -> None:
    old = write_tone_mp4(folder / "old.mp4", 0.5, 450)
    new = folder / "new.mp4"
    async with watching(folder, live_server, isolated_home, new_only=True) as run:
        write_tone_mp4(tmp_path / "new.mp4", 0.5, 650).rename(new)
        await run.until(lambda r: bool(r.of(FileDone, new) or r.of(FileFailed, new)))
    assert [e for _, e in run.events if e.path == old] == []
    assert run.of(FileDone, new)[0].outputs == (folder / "new.md",)

    async with watching(folder, live_server, isolated_home, force=True) as forced:
        await forced.until(lambda r: len(r.of(FileDone) + r.of(FileFailed)) >= 2)
    assert forced.of(FileFailed) == []
    assert sorted(e.path.name for e in forced.of(FileDone)) == ["new.mp4", "old.mp4"]
    # unedited, so replaced in place (no new.2.md); and done once, not in a loop
    assert forced.of(FileDone, new)[0].outputs == (folder / "new.md",)
    assert len(forced.of(FileQueued)) == 2


@pytest.mark.slow
async def test_a_job_outlasting_its_event_stream_is_followed_to_the_end(
    folder: Path, tmp_path: Path, isolated_home: Path, data_dir: Path
) -> None:
    # docs/api.md: a stream lasts 15 minutes at most, less than a long video's job may take.
    # Here it is cut after 1 s, well before the demo video is scripted.
    server = start_server(tmp_path / "server", REELSCRIPT_STREAM_LIMIT_S="1")
    try:
        video = folder / "demo.mp4"
        async with watching(folder, server, isolated_home) as run:
            shutil.copy(data_dir / "demo.mp4", tmp_path / "demo.mp4")
            (tmp_path / "demo.mp4").rename(video)
            await run.until(lambda r: bool(r.of(FileDone, video) or r.of(FileFailed, video)))
    finally:
        server.stop()
    assert run.of(FileFailed) == [] and len(run.of(FileQueued)) == 1
    assert "Speaker" in (folder / "demo.md").read_text()


async def test_the_mp4_export_landing_in_the_folder_is_not_taken_for_a_new_video(
    folder: Path, tmp_path: Path, live_server, isolated_home: Path
) -> None:
    first, second = folder / "one.mp4", folder / "two.mp4"
    async with watching(folder, live_server, isolated_home, formats="md,mp4") as run:
        write_tone_mp4(tmp_path / "one.mp4", 1.0, 520).rename(first)
        await run.until(lambda r: len(r.of(FileDone) + r.of(FileFailed)) >= 1)
        # by the time a second video is done, one.script.mp4 has long settled
        write_tone_mp4(tmp_path / "two.mp4", 1.0, 620).rename(second)
        await run.until(lambda r: len(r.of(FileDone) + r.of(FileFailed)) >= 2)

    assert run.of(FileFailed) == []
    assert run.of(FileDone, first)[0].outputs == (folder / "one.md", folder / "one.script.mp4")
    assert [e for _, e in run.events if e.path.name.endswith(".script.mp4")] == []
    assert len(run.of(FileQueued)) == 2


@pytest.mark.slow
async def test_captioned_vertical_videos_come_out_of_a_watched_folder(
    folder: Path, tmp_path: Path, live_server, isolated_home: Path, data_dir: Path
) -> None:
    """A creator's Shorts folder: every video dropped in comes out as subtitles and a
    1080x1920 video with the captions in the picture, which is not taken for a new video."""
    from tui.engine import media

    video = folder / "demo.mp4"
    picture = {"resolution": "1080x1920", "fit": "crop"}
    async with watching(
        folder, live_server, isolated_home, formats="srt,captioned", picture=picture
    ) as run:
        shutil.copy(data_dir / "demo.mp4", tmp_path / "demo.mp4")
        (tmp_path / "demo.mp4").rename(video)
        await run.until(lambda r: bool(r.of(FileDone, video) or r.of(FileFailed, video)), 600)
        await asyncio.sleep(1.5)  # the captioned video settles: it must not be queued

    assert run.of(FileFailed) == []
    made = folder / "demo.captioned.mp4"
    assert run.of(FileDone, video)[0].outputs == (folder / "demo.srt", made)
    info = media.probe(made)
    assert (info.width, info.height) == (1080, 1920)
    assert info.duration_ms == pytest.approx(29900, abs=300)
    assert [e for _, e in run.events if e.path == made] == []
    # The render's own progress reaches the watcher's: more than the two formats' steps.
    exporting = [e.progress for e in run.of(FileWorking, video) if e.stage == "exporting"]
    assert len(set(exporting)) > 3 and exporting == sorted(exporting)


async def test_a_removed_folder_stops_the_watcher_with_a_clear_error(
    folder: Path, isolated_home: Path
) -> None:
    nobody = SimpleNamespace(url="http://127.0.0.1:9")  # never reached: no video comes
    with pytest.raises(FolderGone, match="was removed or unmounted"):
        async with watching(folder, nobody, isolated_home) as run:
            shutil.rmtree(folder)
            assert run.task is not None
            await asyncio.wait([run.task], timeout=10)
