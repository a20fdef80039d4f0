"""Every export format written from a real script and read back; subtitle rules; atomic writes."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import av
import docx
import pytest

from tests.engine.conftest import CONVERSATIONS, DATA
from tui.engine import errors, media
from tui.engine.formats import FORMATS, output_name, parse_formats, write
from tui.engine.formats.subtitles import MAX_LINE, build_cues
from tui.engine.script import Script

CUE = re.compile(
    r"(\d\d):(\d\d):(\d\d)[,.](\d{3}) --> (\d\d):(\d\d):(\d\d)[,.](\d{3})\n((?:.+\n?)+)"
)


def _ms(h: str, m: str, s: str, f: str) -> int:
    return ((int(h) * 60 + int(m)) * 60 + int(s)) * 1000 + int(f)


def read_cues(text: str) -> list[tuple[int, int, list[str]]]:
    return [
        (_ms(*m.groups()[:4]), _ms(*m.groups()[4:8]), m.group(9).strip("\n").split("\n"))
        for m in CUE.finditer(text)
    ]


@pytest.fixture(scope="module")
def demo(script_of: Callable[[str], Script]) -> Script:
    return script_of("demo.mp4")


@pytest.fixture(scope="module")
def written(demo: Script, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("formats")
    # The captioned video (a re-encoding) has its own tests: tests/engine/test_captioned.py.
    return {
        fmt: write(demo, fmt, out, source_media=DATA / "demo.mp4")
        for fmt in FORMATS
        if fmt != "captioned"
    }


def test_output_names_are_stem_dot_ext(written: dict[str, Path]) -> None:
    """One naming rule everywhere: ``<stem>.<fmt>``, and the two videos never ``<stem>.mp4``."""
    texts = {f"demo.{f}" for f in FORMATS if f not in ("mp4", "captioned")}
    assert {p.name for p in written.values()} == texts | {"demo.script.mp4"}
    assert output_name("talk.mp4", "captioned") == "talk.captioned.mp4"
    assert output_name("talk.mp4", "mp4") == "talk.script.mp4"
    assert output_name("/x/talk.final.mov", "srt") == "talk.final.srt"
    assert parse_formats("md, SRT,vtt,md") == ("md", "srt", "vtt")
    with pytest.raises(ValueError, match="unknown format pdf"):
        parse_formats("md,pdf")


def test_markdown_has_header_and_one_paragraph_per_turn(demo: Script, written: dict) -> None:
    text = written["md"].read_text()
    for line in (
        "# demo",
        "- Source: demo.mp4",
        "- Duration: 00:00:29",
        "- Language: English (en)",
    ):
        assert line in text
    assert "- Speakers: Speaker 1, Speaker 2" in text and "- Model: tiny.en" in text
    paragraphs = re.findall(r"^\*\*\[(\d\d:\d\d:\d\d)\] (Speaker \d):\*\* (.+)$", text, re.M)
    assert len(paragraphs) == len(demo.turns)
    assert [p[2] for p in paragraphs] == [t.text for t in demo.turns]


def test_no_timestamps(demo: Script, tmp_path: Path) -> None:
    for fmt in ("md", "txt", "docx", "fountain"):
        path = write(demo, fmt, tmp_path, timestamps=False)
        text = (
            "\n".join(p.text for p in docx.Document(str(path)).paragraphs)
            if fmt == "docx"
            else path.read_text()
        )
        assert not re.search(r"\[\[?\d\d:\d\d:\d\d\]", text), fmt
        assert demo.turns[1].text in text


def test_json_is_the_api_script_object(demo: Script, written: dict) -> None:
    data = json.loads(written["json"].read_text())
    assert isinstance(data["video_id"], str) and isinstance(data["revision"], int)
    assert isinstance(data["language"], str)
    assert data["speakers"] == {"S1": "Speaker 1", "S2": "Speaker 2"}
    for turn in data["turns"]:
        assert set(turn) == {"speaker", "start_ms", "end_ms", "text", "words"}
        assert turn["speaker"] in data["speakers"] and turn["start_ms"] <= turn["end_ms"]
        for word in turn["words"]:
            assert set(word) == {"w", "s", "e", "p"}
            assert isinstance(word["w"], str) and isinstance(word["s"], int)
            assert isinstance(word["e"], int) and 0.0 <= word["p"] <= 1.0
    assert Script.from_dict(data).to_dict() == demo.to_dict()


def test_txt_docx_fountain_read_back(demo: Script, written: dict) -> None:
    txt = written["txt"].read_text()
    assert txt.count("\n\n") == len(demo.turns) - 1 and txt.startswith("[00:00:0")
    paragraphs = [p.text for p in docx.Document(str(written["docx"])).paragraphs]
    assert paragraphs[0] == "demo"
    assert [p for p in paragraphs if "Speaker" in p and "]" in p] == [
        f"[{_clock(t.start_ms)}] {demo.speaker_name(t.speaker)}: {t.text}" for t in demo.turns
    ]
    fountain = written["fountain"].read_text()
    assert fountain.startswith("Title: demo\n")
    assert fountain.count("@SPEAKER 1\n") + fountain.count("@SPEAKER 2\n") == len(demo.turns)


def _clock(ms: int) -> str:
    s = ms // 1000
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def test_srt_and_vtt_carry_the_same_cues(demo: Script, written: dict) -> None:
    srt = written["srt"].read_text()
    vtt = written["vtt"].read_text()
    assert vtt.startswith("WEBVTT\n\n") and srt.startswith("1\n00:00:0")
    assert read_cues(srt) == read_cues(vtt) != []
    spoken = " ".join(line for _, _, lines in read_cues(srt) for line in lines)
    assert spoken.startswith("Speaker 1: ") and "Speaker 2: " in spoken


@pytest.mark.slow
@pytest.mark.parametrize("name", CONVERSATIONS)
def test_subtitle_rules_on_real_output(script_of: Callable[[str], Script], name: str) -> None:
    script = script_of(name)
    cues = build_cues(script)
    assert cues
    previous_end, previous_speaker = 0, None
    # Names are shown only when more than one person speaks in the turns.
    named = len({t.speaker for t in script.turns}) > 1
    for cue in cues:
        assert 1 <= len(cue.lines) <= 2
        assert all(len(line) <= MAX_LINE or " " not in line for line in cue.lines)
        assert 1000 <= cue.end_ms - cue.start_ms <= 7000
        assert cue.start_ms >= previous_end
        text = " ".join(cue.lines)
        prefix = f"{script.speaker_name(cue.speaker)}: "
        # The name is shown exactly when the speaker changes.
        assert text.startswith(prefix) == (named and cue.speaker != previous_speaker)
        previous_end, previous_speaker = cue.end_ms, cue.speaker
    # Every word is in exactly one cue, and no cue mixes two speakers' words.
    words = [w.w for t in script.turns for w in t.words]
    shown = " ".join(" ".join(c.lines) for c in cues)
    for sid in script.speakers:
        shown = shown.replace(f"{script.speaker_name(sid)}: ", "")
    assert shown.split() == words


def test_mp4_copies_the_streams_and_adds_subtitles(demo: Script, written: dict) -> None:
    with av.open(str(DATA / "demo.mp4")) as src, av.open(str(written["mp4"])) as out:
        kinds = {s.type: s.codec_context.name for s in out.streams}
        assert kinds == {"video": "h264", "audio": "aac", "subtitle": "mov_text"}
        assert out.streams.video[0].frames == src.streams.video[0].frames
        texts = [bytes(p)[2:].decode() for p in out.demux(out.streams.subtitles[0]) if p.size > 2]
    assert len(texts) == len(build_cues(demo))
    assert texts[0].startswith("Speaker 1: ")
    assert media.probe(written["mp4"]).duration_ms == pytest.approx(29900, abs=200)


def test_mp4_from_webm_reencodes_only_what_mp4_cannot_hold(
    script_of: Callable[[str], Script], tmp_path: Path
) -> None:
    path = write(
        script_of("noisy_meeting.webm"), "mp4", tmp_path, source_media=DATA / "noisy_meeting.webm"
    )
    with av.open(str(path)) as out:
        kinds = {s.type: s.codec_context.name for s in out.streams}
    assert kinds == {"video": "h264", "audio": "opus", "subtitle": "mov_text"}


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp(demo: Script, tmp_path: Path) -> None:
    target = tmp_path / "demo.mp4"
    target.write_bytes(b"the previous export")
    not_media = tmp_path / "notes.txt"
    not_media.write_text("not a video")
    with pytest.raises(errors.UnsupportedMedia):
        write(demo, "mp4", target, source_media=not_media)
    assert target.read_bytes() == b"the previous export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.mp4", "notes.txt"]


def test_unwritable_destination_is_a_clear_error(demo: Script, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(errors.OutputNotWritable, match="cannot write"):
        write(demo, "md", blocker / "out" / "demo.md")


def test_no_speech_is_said_in_every_text_format(tmp_path: Path) -> None:
    script = Script(source="quiet.mp4", duration_ms=6000, model="tiny.en")
    for fmt in ("md", "txt", "fountain"):
        assert "No speech was found" in write(script, fmt, tmp_path).read_text()
    # no language claimed where nothing was heard (the script's code is only a default)
    assert "- Language: none (no speech)" in write(script, "md", tmp_path).read_text()
    assert read_cues(write(script, "srt", tmp_path).read_text()) == []


def test_mp4_export_never_replaces_its_source(demo: Script, tmp_path: Path) -> None:
    source = tmp_path / "demo.mp4"
    source.write_bytes((DATA / "demo.mp4").read_bytes())
    with pytest.raises(errors.OutputNotWritable, match="replace its own source"):
        write(demo, "mp4", source, source_media=source)  # named so on purpose
    assert source.read_bytes() == (DATA / "demo.mp4").read_bytes()
    # Into the source's own folder, the export gets its own name.
    assert write(demo, "mp4", tmp_path, source_media=source) == tmp_path / "demo.script.mp4"
    assert source.read_bytes() == (DATA / "demo.mp4").read_bytes()


def test_a_short_cue_takes_the_silence_around_it() -> None:
    from tui.engine.formats.subtitles import Cue, _fix_durations

    cues = [
        Cue(0, 3000, ["Right then."], "S1"),
        Cue(3500, 3900, ["Okay."], "S2"),
        Cue(4000, 6000, ["Let us go on."], "S1"),
    ]
    _fix_durations(cues)
    # "Okay." borrows 500 ms of the pause before it; the next cue stays on its speech.
    assert [(c.start_ms, c.end_ms) for c in cues] == [(0, 3000), (3000, 4000), (4000, 6000)]


def test_rttm_is_who_speaks_when_from_the_scripts_segments(demo: Script, written: dict) -> None:
    """One SPEAKER line per labelled segment, speakers by display name, read back exactly."""
    lines = written["rttm"].read_text().splitlines()
    assert demo.segments and len(lines) == len([g for g in demo.segments if g[1] > g[0]])
    names = {demo.speaker_name(sid).replace(" ", "_") for sid in demo.speakers}
    for line in lines:
        f = line.split()
        assert (
            len(f) == 10
            and f[:3] == ["SPEAKER", "demo", "1"]
            and f[7] in names | {f"Speaker_{n}" for n in range(1, 10)}
        )
        assert float(f[3]) >= 0 and float(f[4]) > 0
    # every recognised word lies in some segment of its own speaker's voice or near one
    talk = sum(float(line.split()[4]) for line in lines)
    assert talk >= 0.5 * sum(w.e - w.s for w in demo.words) / 1000
