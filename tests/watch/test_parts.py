"""The watcher's parts on real files and a real SQLite ledger: arrival, ledger, outputs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.watch.media import write_tone_mp4
from tui.engine.formats.names import parse_formats
from tui.watch.ledger import Ledger, sha256_file
from tui.watch.outputs import (
    OutputWriter,
    Staged,
    output_target,
    sweep_stale_temps,
)
from tui.watch.stable import ArrivalTracker, is_watched_name, probe


def _age(path: Path, seconds: float) -> None:
    old = time.time() - seconds
    os.utime(path, (old, old))


def test_only_visible_media_names_are_watched() -> None:
    assert is_watched_name(Path("/x/talk.MP4"))
    assert is_watched_name(Path("/x/a b.mkv"))
    assert not is_watched_name(Path("/x/talk.md"))
    assert not is_watched_name(Path("/x/.talk.mp4"))  # rsync / our own temp files
    assert not is_watched_name(Path("/x/talk.mp4.part"))
    assert not is_watched_name(Path("/x/still.png"))


def test_probe_tells_media_from_partial_and_junk(tmp_path: Path) -> None:
    clip = write_tone_mp4(tmp_path / "clip.mp4")
    assert probe(clip) is None
    partial = tmp_path / "partial.mp4"
    partial.write_bytes(clip.read_bytes()[: clip.stat().st_size // 3])
    assert probe(partial) is not None
    junk = tmp_path / "junk.mp4"
    junk.write_text("this is not a video\n" * 50)
    assert probe(junk) is not None


def test_growing_file_is_ready_only_after_settle(tmp_path: Path) -> None:
    tracker = ArrivalTracker(settle=2.0)
    path = tmp_path / "in.mp4"
    path.write_bytes(b"x" * 100)
    tracker.see(path, now=100.0)
    assert tracker.settled(now=101.0) == []
    with path.open("ab") as handle:  # still being copied
        handle.write(b"y" * 100)
    assert tracker.settled(now=101.5) == []  # the change restarts the clock
    assert tracker.settled(now=103.0) == []
    assert tracker.settled(now=103.6) == [(path, False)]


def test_renamed_in_file_is_ready_at_once(tmp_path: Path) -> None:
    tracker = ArrivalTracker(settle=2.0)
    staging = tmp_path / "elsewhere.mp4"
    staging.write_bytes(b"x" * 100)
    _age(staging, 60)
    moved = tmp_path / "in.mp4"
    staging.rename(moved)  # a rename keeps the old mtime
    tracker.see(moved, now=100.0)
    assert tracker.settled(now=100.0) == [(moved, False)]


def test_unreadable_file_is_handed_on_after_grace(tmp_path: Path) -> None:
    tracker = ArrivalTracker(settle=1.0)
    path = tmp_path / "bad.mp4"
    path.write_bytes(b"junk")
    start = time.monotonic()
    tracker.see(path, now=start)
    assert tracker.settled(now=start + 1.1) == [(path, False)]
    tracker.undecodable(path, "moov atom not found", now=start + 1.1)
    assert "moov atom" in tracker.waiting_reason(path)
    assert tracker.settled(now=start + 1.2) == []  # not re-probed at once
    assert tracker.settled(now=start + tracker.grace + 0.1) == [(path, True)]


def test_arrival_order_is_kept(tmp_path: Path) -> None:
    tracker = ArrivalTracker(settle=0.5)
    paths = [tmp_path / f"{name}.mp4" for name in ("c", "a", "b")]
    for i, path in enumerate(paths):
        path.write_bytes(b"x")
        tracker.see(path, now=10.0 + i * 0.01)
    assert [p for p, _ in tracker.settled(now=20.0)] == paths


def test_ledger_survives_restart_and_knows_content_not_names(tmp_path: Path) -> None:
    video = write_tone_mp4(tmp_path / "a.mp4")
    ledger = Ledger(tmp_path / "home" / "watch.db")
    digest = ledger.content_hash(video)
    ledger.mark_done(digest, video, [tmp_path / "a.md"])
    ledger.close()

    copy = tmp_path / "renamed.mp4"
    shutil.copy(video, copy)
    video.touch()
    again = Ledger(tmp_path / "home" / "watch.db")
    assert again.content_hash(video) == digest
    assert again.content_hash(copy) == digest
    record = again.get(digest)
    assert record is not None and record.status == "done"
    assert again.known_status(video) == "done"
    assert again.known_status(tmp_path / "never seen.mp4") is None
    assert record.outputs == (tmp_path / "a.md",)
    again.mark_failed("0" * 64, copy, "no audio stream", 4001)
    failed = again.get("0" * 64)
    assert failed is not None and (failed.status, failed.reason, failed.code) == (
        "failed",
        "no audio stream",
        4001,
    )


def _stage(writer: OutputWriter, target: Path, text: str) -> Staged:
    temp = writer.temp_for(target)
    temp.write_text(text)
    return Staged(temp, target, target.suffix.lstrip("."))


def test_outputs_are_replaced_only_when_unedited(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "watch.db")
    writer = OutputWriter(ledger)
    video = tmp_path / "talk.mp4"
    target = output_target(video, "md", tmp_path, None)
    assert target == tmp_path / "talk.md"

    written, notes = writer.commit([_stage(writer, target, "first\n")], video, "h1")
    assert written == [target] and notes == []
    written, notes = writer.commit([_stage(writer, target, "second\n")], video, "h1")
    assert written == [target] and target.read_text() == "second\n"  # ours, unchanged: replace

    target.write_text("second, edited by hand\n")
    written, notes = writer.commit([_stage(writer, target, "third\n")], video, "h1")
    assert written == [tmp_path / "talk.2.md"]
    assert target.read_text() == "second, edited by hand\n"
    assert "talk.md" in notes[0] and "talk.2.md" in notes[0]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]  # no temp left
    assert ledger.output_record(tmp_path / "talk.2.md") == (
        sha256_file(tmp_path / "talk.2.md"),
        video,
    )


def test_another_video_with_the_same_stem_does_not_take_the_name(tmp_path: Path) -> None:
    writer = OutputWriter(Ledger(tmp_path / "watch.db"))
    target = tmp_path / "talk.md"
    writer.commit([_stage(writer, target, "from mp4\n")], tmp_path / "talk.mp4", "h1")
    written, notes = writer.commit(
        [_stage(writer, target, "from mov\n")], tmp_path / "talk.mov", "h2"
    )
    assert written == [tmp_path / "talk.mov.md"]
    assert target.read_text() == "from mp4\n"
    assert notes == ["talk.md was written for talk.mp4, so kept; wrote talk.mov.md"]
    # and the mp4's own script is still replaced in place when it is redone
    written, notes = writer.commit([_stage(writer, target, "again\n")], tmp_path / "talk.mp4", "h1")
    assert (written, notes) == ([target], [])


def test_a_users_own_file_with_the_name_is_kept(tmp_path: Path) -> None:
    writer = OutputWriter(Ledger(tmp_path / "watch.db"))
    (tmp_path / "talk.md").write_text("my notes\n")
    staged = [_stage(writer, tmp_path / "talk.md", "script\n")]
    staged.append(_stage(writer, tmp_path / "talk.srt", "1\n"))
    (tmp_path / "talk.srt").write_text("my subtitles\n")
    written, notes = writer.commit(staged, tmp_path / "talk.mp4", "h1")
    assert written == [tmp_path / "talk.2.md", tmp_path / "talk.2.srt"]
    assert notes == [
        "talk.md, talk.srt were not written by reelscript, so kept; wrote talk.2.md, talk.2.srt"
    ]
    assert (tmp_path / "talk.md").read_text() == "my notes\n"


def test_out_folder_mirrors_sub_folders_and_mp4_keeps_the_video(tmp_path: Path) -> None:
    folder, out = tmp_path / "in", tmp_path / "out"
    video = folder / "day1" / "talk.mp4"
    assert output_target(video, "srt", folder, out) == out / "day1" / "talk.srt"
    assert output_target(video, "mp4", folder, None) == folder / "day1" / "talk.script.mp4"


def test_formats_are_checked() -> None:
    assert parse_formats("md, SRT,md,docx") == ("md", "srt", "docx")
    with pytest.raises(ValueError, match="unknown format pdf"):
        parse_formats("md,pdf")


def test_only_old_temp_files_of_ours_are_swept(tmp_path: Path) -> None:
    ours_old = tmp_path / ".talk.md.0a1b2c3d.part"
    clients_old = tmp_path / "..talk.md.0a1b2c3d.part.x7_yq2z"
    ours_young = tmp_path / ".clip.srt.00ff00ff.part"
    users = tmp_path / ".notes.part"
    for path in (ours_old, clients_old, ours_young, users):
        path.write_text("x")
    _age(ours_old, 3600)
    _age(clients_old, 3600)
    _age(users, 3600)
    assert sweep_stale_temps([tmp_path], recursive=False) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [".clip.srt.00ff00ff.part", ".notes.part"]


def test_one_watcher_at_a_time_per_video_across_processes(tmp_path: Path) -> None:
    db = tmp_path / "watch.db"
    other = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from tui.watch.ledger import Ledger;"
            f" assert Ledger(Path({str(db)!r})).claim('abc') is None; print('claimed', flush=True);"
            " time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == "claimed"
        ledger = Ledger(db)
        assert ledger.claim("abc") == other.pid  # the other watcher is on it
        assert ledger.claim("def") is None
    finally:
        other.kill()
        other.wait()
    assert ledger.claim("abc") is None  # its process is gone: the claim counts for nothing
    ledger.release("abc")
    assert ledger.claim("abc") is None


def test_the_watch_command_takes_the_captioned_frame_and_refuses_an_unknown_one(
    tmp_path: Path,
) -> None:
    import subprocess
    import sys

    command = [sys.executable, "-m", "tui.cli", "watch", str(tmp_path), "-f", "captioned"]
    usage = subprocess.run([*command, "--help"], capture_output=True, text=True, timeout=60)
    assert usage.returncode == 0 and "captioned" in usage.stdout and "--frame" in usage.stdout
    bad = subprocess.run([*command, "--frame", "4:3"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "'4:3' is not one of '16:9', '9:16', 'source'" in bad.stderr
    assert "Traceback" not in bad.stderr
