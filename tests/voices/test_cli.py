"""`reelscript voices ...` on a real data dir: enrol from a clip, list, rename, export,
forget, import; bad input is one line and exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
import wave
from pathlib import Path

from tui.cli.voices import book_for_transcribe


def cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", "--data-dir", str(home), "voices", *args],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_voices_from_the_command_line(pedersen_clip: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert book_for_transcribe(None, home) is None  # nothing remembered: --voices is off
    assert "no voices remembered" in cli(home, "list").stdout
    added = cli(home, "add", "Sheila", str(pedersen_clip))
    assert added.returncode == 0 and added.stdout.startswith("remembered Sheila"), added.stderr
    assert book_for_transcribe(None, home) is not None  # now on by default
    assert book_for_transcribe(False, home) is None
    assert cli(home, "list").stdout.startswith("Sheila\t1 file\tlast heard ")
    assert cli(home, "rename", "sheila", "Sheila Roe").returncode == 0
    export = tmp_path / "voices.json"
    assert cli(home, "export", str(export)).returncode == 0
    data = json.loads(export.read_text())
    assert [v["name"] for v in data["voices"]] == ["Sheila Roe"]
    assert len(data["voices"][0]["centroids"][0]["vector"]) == 192  # embeddings, no audio
    assert cli(home, "forget", "Sheila Roe").stdout.strip() == "forgot Sheila Roe"
    assert "no voices remembered" in cli(home, "list").stdout
    other = tmp_path / "other"  # another machine
    assert "imported 1 voices: Sheila Roe" in cli(other, "import", str(export)).stdout
    silence = tmp_path / "silence.wav"
    with wave.open(str(silence), "wb") as out:  # 5 s of digital silence
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(bytes(2 * 16000 * 5))
    two = Path(__file__).resolve().parent.parent / "data" / "demo.mp4"  # two people, 15 s + 11 s
    for args, says in (
        (("add", "X", str(silence)), "too little speech for a voice"),
        (("add", "speaker 3", str(pedersen_clip)), "what unnamed speakers are called"),
        (("add", "X", str(two)), "2 voices speak in it"),
        (("forget", "Nobody"), "no remembered voice is called 'Nobody'"),
        (("import", str(pedersen_clip)), "cannot read"),
        (("add", "X", str(tmp_path / "missing.wav")), "missing.wav"),
        (("export", str(export / "v.json")), "cannot write to the folder"),  # a file in the way
    ):
        bad = cli(other, *args)
        assert bad.returncode == 2 and says in bad.stderr, bad.stderr
        assert len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr
        assert bad.stderr.count(says) == 1, bad.stderr  # the file is named once
    listed = cli(other, "list").stdout.splitlines()
    assert len(listed) == 1 and listed[0].startswith("Sheila Roe\t")  # nothing refused was kept


def test_transcribe_names_a_remembered_voice(pedersen_clip: Path, tmp_path: Path) -> None:
    """`transcribe` uses the data dir's voices by default; --no-voices turns them off."""
    home, out = tmp_path / "home", tmp_path / "out"
    assert cli(home, "add", "Sheila", str(pedersen_clip)).returncode == 0
    video = Path(__file__).resolve().parent.parent / "data" / "conv_3spk_quiet.webm"
    # --data-dir after the command's name, as after `reelscript` itself
    base = [sys.executable, "-m", "tui.cli", "transcribe", str(video), "--data-dir", str(home)]
    args = [*base, "--speakers", "3", "--diarizer", "campplus", "-f", "json", "-o", str(out), "-q"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    script = json.loads(next(out.glob("*.json")).read_text())
    assert sorted(m["voice"] for m in script["speaker_matches"].values()) == ["Sheila"]
    assert "Sheila" in script["speakers"].values()
    listed = subprocess.run(
        [sys.executable, "-m", "tui.cli", "voices", "list", "--data-dir", str(home)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert listed.stdout.startswith("Sheila\t2 files\t"), listed.stderr  # heard once more
