"""The start-up sweep removes only what no row refers to (real SQLite, real files)."""

from __future__ import annotations

import time
from pathlib import Path

from tui.backend import credits, housekeeping
from tui.backend.store import Store


def _file(path: Path, data: bytes = b"data") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_sweep_removes_orphans_and_keeps_everything_referenced(tmp_path: Path) -> None:
    store = Store(tmp_path)
    token = credits.authenticate(store, credits.issue_token(store, "c", 5)["token"])
    assert token
    sid = store.create_session(token, "p", "en")["session_id"]
    sha = "a" * 64
    media = _file(store.media_dir / "aa" / f"{sha}.mp4")
    store.add_file(sid, sha, media, {"name": "talk.mp4"})
    # A user's file may be called ".hidden.mp4": its completed export starts with a dot too.
    done = _file(store.exports_dir / "render_1" / ".hidden.md")
    with store.tx() as db:
        for render_id, status, path in (
            ("render_1", "completed", str(done)),
            ("render_2", "failed", None),
        ):
            db.execute(
                "INSERT INTO exports (id, token, session_id, video_id, format, status, path,"
                " created_at) VALUES (?, ?, ?, 'v', 'md', ?, ?, ?)",
                (render_id, token, sid, status, path, time.time()),
            )
    orphans = [
        _file(store.tmp_dir / "upload-abc", b"x" * 1000),
        _file(store.tmp_dir / "url-def"),
        _file(store.exports_dir / "render_1" / ".part-123.md"),
        _file(store.exports_dir / "render_2" / ".part-456.docx"),
        _file(store.media_dir / "bb" / f"{'b' * 64}.wav"),
    ]
    other = _file(store.media_dir / "bb" / "README")  # not a stored upload's name: left alone

    swept = housekeeping.sweep(store)

    assert not any(p.exists() for p in orphans)
    assert media.exists() and done.exists() and other.exists()
    assert not (store.exports_dir / "render_2").exists()  # emptied, so removed
    assert swept.files == len(orphans) + 1 and swept.bytes >= 1000
    assert housekeeping.sweep(store).files == 0  # a second sweep finds nothing


def test_a_moved_data_dir_finds_its_files(tmp_path: Path) -> None:
    store = Store(tmp_path / "old")
    media = _file(store.media_dir / "cc" / f"{'c' * 64}.mp3")
    export = _file(store.exports_dir / "render_9" / "talk.srt")
    store.close()
    (tmp_path / "old").rename(tmp_path / "new")
    moved = Store(tmp_path / "new")
    assert moved.located(str(media)) == moved.media_dir / "cc" / media.name
    assert moved.located(str(export)) == moved.exports_dir / "render_9" / "talk.srt"
    assert moved.located(str(tmp_path / "elsewhere" / "x.mp4")) == tmp_path / "elsewhere" / "x.mp4"
