"""The start-up sweep removes only what no row refers to (real SQLite, real files)."""

from __future__ import annotations

import time
from pathlib import Path

from tests.backend.conftest import db
from tests.live_server import start_server
from tui.backend import credits, housekeeping
from tui.backend.store import Store
from tui.client.http import Client

SCRIPT = {
    "revision": 0,
    "language": "en",
    "speakers": {"S1": "Ann"},
    "turns": [{"speaker": "S1", "start_ms": 0, "end_ms": 900, "text": "Kept.", "words": []}],
}


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


async def test_keep_days_removes_what_idle_sessions_hold_and_keeps_their_scripts(
    tmp_path: Path, speech_video: Path, data_dir: Path
) -> None:
    """``serve --keep-days``: a real server, restarted after its sessions' times were put
    back (the only thing a test cannot wait for); the upload an active session shares stays."""
    server = start_server(tmp_path / "data", "--keep-days", "30")
    token_file = tmp_path / "token.json"
    try:
        async with Client(server.url, token_file=token_file) as api:
            old = (await api.create_session()).session_id
            [info] = await api.upload_files(old, [speech_video])
            await api.put_script(old, SCRIPT | {"video_id": info["video_id"]})
            export = await api.export(old, "md", tmp_path / "talk.md")
            shared = (await api.create_session()).session_id
            await api.upload_files(shared, [speech_video])  # the same content
            alone = (await api.create_session()).session_id
            [tone] = await api.upload_files(alone, [data_dir / "panel.mov"])
        stored = {p.name for p in (server.data_dir / "media").rglob("*.*")}
        assert len(stored) == 2 and export.exists()
        server.stop()
        with db(server) as conn:  # 31 days ago, all of it (the "shared" session is not)
            idle = (old, alone)
            conn.execute(
                "UPDATE sessions SET created_at = created_at - 31 * 86400,"
                " used_at = used_at - 31 * 86400 WHERE id IN (?, ?)",
                idle,
            )
            for table, column in (("files", "created_at"), ("scripts", "updated_at"),
                                  ("exports", "created_at"), ("exports", "finished_at"),
                                  ("invocations", "created_at")):  # fmt: skip
                conn.execute(
                    f"UPDATE {table} SET {column} = {column} - 31 * 86400"
                    " WHERE session_id IN (?, ?)",
                    idle,
                )
            conn.commit()
        server.start()
        media = sorted((server.data_dir / "media").rglob("*.*"))
        assert [p.suffix for p in media] == [".mp4"]  # the shared one stays; panel.mov went
        assert not any((server.data_dir / "exports").iterdir())
        async with Client(server.url, token_file=token_file) as api:
            state = await api.state(old)
            assert state["script"]["turns"][0]["text"] == "Kept."  # the script stays
            assert state["generated_media"] == []  # no link to a removed file
            out = await api.export(old, "txt", tmp_path / "again.txt")
            assert "Kept." in out.read_text()  # and still exports
            state = await api.state(alone)
            assert [v["video_id"] for v in state["video_infos"]] == [tone["video_id"]]
            events = [e async for e in api.run_sse(alone, "transcribe")]
            [done] = [r["response"] for e in events for r in e.function_responses]
            assert done["status"] == "failed" and "upload the file again" in done["error"]
            assert (await api.credits())["frozen"] == 0
    finally:
        server.stop()
