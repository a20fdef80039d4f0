"""``reelscript transcribe`` as a user runs it: outputs, exit codes, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.engine.conftest import DATA
from tests.engine.scoring import truth_of

ROOT = DATA.parents[1]


def reelscript(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", "transcribe", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("kind", "code", "reason"),
    [
        ("missing", 3, "no such file"),
        ("empty", 4, "the file is empty"),
        ("text", 5, "not a media file"),
        ("truncated", 5, "truncated or corrupt"),
        ("truncated_mp4", 5, "damaged or incomplete"),
        ("no_audio", 6, "has no audio stream"),
    ],
)
def test_bad_input_exit_codes(
    bad_media: dict[str, Path], tmp_path: Path, kind: str, code: int, reason: str
) -> None:
    result = reelscript(str(bad_media[kind]), "-o", str(tmp_path), "-q")
    assert result.returncode == code
    line = one_line_error(result)
    assert line.startswith(f"error: {bad_media[kind]}: ") and reason in line
    assert list(tmp_path.iterdir()) == []


def test_file_over_the_limit(bad_media: dict[str, Path], tmp_path: Path) -> None:
    result = reelscript(str(bad_media["large"]), "--max-size-mb", "2", "-o", str(tmp_path))
    assert result.returncode == 7
    assert "over the 2 MB limit" in one_line_error(result)


def test_silence_writes_a_script_saying_so(bad_media: dict[str, Path], tmp_path: Path) -> None:
    result = reelscript(str(bad_media["silence"]), "-o", str(tmp_path), "-q")
    assert result.returncode == 10
    assert "no speech was found" in one_line_error(result)
    assert "No speech was found in this file." in (tmp_path / "silence.md").read_text()


@pytest.mark.slow
def test_one_bad_file_does_not_stop_the_others(bad_media: dict[str, Path], tmp_path: Path) -> None:
    result = reelscript(
        str(bad_media["text"]), str(DATA / "reading_short.wav"), "-o", str(tmp_path), "-f", "md,srt"
    )
    assert result.returncode == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reading_short.md", "reading_short.srt"]
    assert "notes.mp4" in result.stderr and "Traceback" not in result.stderr
    assert f"wrote {tmp_path / 'reading_short.md'}" in result.stderr


def test_unwritable_output_folder(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = reelscript(str(DATA / "reading_short.wav"), "-o", str(blocker / "out"))
    assert result.returncode == 8
    assert "output folder cannot be written" in one_line_error(result)


def test_unknown_format_is_a_usage_error(tmp_path: Path) -> None:
    result = reelscript(str(DATA / "reading_short.wav"), "-f", "md,pdf", "-o", str(tmp_path))
    assert result.returncode == 2
    assert one_line_error(result) == (  # said as every other error is
        "error: unknown format pdf; choose from md, txt, srt, vtt, json, docx, fountain, mp4, "
        "captioned, rttm"
    )


@pytest.mark.parametrize(
    ("args", "env", "reason"),
    [
        (["--model", "/no/such/model"], {}, "does not exist"),
        (["--language", "fr", "--model", "tiny.en"], {}, "English only"),
        # An existing model name that is not downloaded, with the hub offline.
        (
            ["--model", "small"],
            {"HF_HUB_OFFLINE": "1", "HF_HOME": "{tmp}"},
            "could not be downloaded",
        ),
    ],
)
def test_model_problems_are_explained(
    tmp_path: Path, args: list[str], env: dict[str, str], reason: str
) -> None:
    env = {k: v.format(tmp=tmp_path / "hf") for k, v in env.items()}
    result = reelscript(str(DATA / "reading_short.wav"), *args, "-o", str(tmp_path), env=env)
    assert result.returncode == 9
    assert reason in one_line_error(result)


def test_translate_with_the_english_only_model_is_refused(tmp_path: Path) -> None:
    """--translate needs a multilingual model; tiny.en alone says so before any work."""
    out = tmp_path / "out"
    result = reelscript(
        str(DATA / "reading_short.wav"), "--translate", "--model", "tiny.en", "-o", str(out)
    )
    assert result.returncode == 9
    line = one_line_error(result)
    assert line == (
        "error: the model tiny.en understands English only and cannot translate; translating "
        "to English needs a multilingual model (e.g. the bundled --model base)"
    )
    assert not out.exists()  # refused before the output folder was even made


@pytest.mark.slow
def test_readme_first_command(tmp_path: Path) -> None:
    """`reelscript transcribe tests/data/demo.mp4 -o demo-out` gives a good script."""
    result = subprocess.run(
        [
            Path(sys.executable).with_name("reelscript"),
            "transcribe",
            DATA / "demo.mp4",
            "-o",
            tmp_path / "demo-out",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "demo-out" / "demo.md").read_text()
    assert "- Speakers: Speaker 1, Speaker 2" in text
    turns = truth_of(DATA / "demo.mp4")["turns"]
    assert text.count("**[00:") == len(turns)
    assert "Welcome back to the show" in text and "thank you for joining us" in text.lower()


@pytest.mark.slow
def test_options_reach_the_outputs(tmp_path: Path) -> None:
    result = reelscript(
        str(DATA / "phone_call.avi"),
        *("--speakers", "2", "--language", "en", "--no-timestamps", "-q"),
        *("-f", "md,txt,json", "-o", str(tmp_path)),
    )
    assert result.returncode == 0 and result.stderr == ""
    md = (tmp_path / "phone_call.md").read_text()
    assert "- Speakers: Speaker 1, Speaker 2" in md and "[00:" not in md
    assert md.count("**Speaker ") == len(truth_of(DATA / "phone_call.avi")["turns"])
    assert (tmp_path / "phone_call.json").read_text().startswith("{")


def _has_open(pid: int, path: Path) -> bool:
    """Whether process ``pid`` holds ``path`` open (Linux: its /proc/<pid>/fd links)."""
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(fd) == str(path):
                return True
        except OSError:  # closed meanwhile
            continue
    return False


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_writes_nothing(tmp_path: Path) -> None:
    import signal
    import time
    import wave

    from tui.engine.media import decode_audio

    # Two minutes of real speech: long enough to be interrupted mid-way.
    speech = decode_audio(DATA / "reading.m4a")
    pcm = (np.tile(speech, 5) * 32767).astype(np.int16)
    long = tmp_path / "long.wav"
    with wave.open(str(long), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(pcm.tobytes())
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "transcribe", str(long), "-o", str(out), "-q"],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Interrupt it once it is at work on the file (reading it), not at a guessed time.
    deadline = time.monotonic() + 120
    while not _has_open(proc.pid, long):
        assert proc.poll() is None, "finished before it could be interrupted"
        assert time.monotonic() < deadline, "never started reading its input"
        time.sleep(0.005)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "Traceback" not in stderr and f"{long}: cancelled" in stderr
    assert list(out.iterdir()) == []


@pytest.mark.slow
def test_two_inputs_with_one_name_never_overwrite(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = tmp_path / "a" / "talk.wav", tmp_path / "b" / "talk.mp3"
    first.write_bytes((DATA / "reading_short.wav").read_bytes())
    second.write_bytes((DATA / "reading.mp3").read_bytes())
    out = tmp_path / "out"
    result = reelscript(str(first), str(second), "-o", str(out), "-q", "--diarizer", "none")
    assert result.returncode == 8
    assert f"{second}: its outputs would overwrite those of {first}" in one_line_error(result)
    assert (
        "Dashwood" in (out / "talk.md").read_text()
        and "himself" not in (out / "talk.md").read_text()
    )


@pytest.mark.slow
def test_the_diarizer_given_before_the_command_labels_the_script(tmp_path: Path) -> None:
    """`reelscript --diarizer none transcribe` (the option before the command, as for the app
    and watch) reaches the labels: one speaker where the default finds demo.mp4's two."""
    result = subprocess.run(
        [sys.executable, "-m", "tui.cli", "--diarizer", "none", "transcribe"]
        + [str(DATA / "demo.mp4"), "-o", str(tmp_path), "-q"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "- Speakers: Speaker 1\n" in (tmp_path / "demo.md").read_text()


@pytest.mark.parametrize(
    "order",
    [
        "both before watch",
        "server after watch",
        "both after watch",
        "both after the app's folder",
    ],
)
def test_a_diarizer_for_someone_elses_server_is_a_usage_error(tmp_path: Path, order: str) -> None:
    """The app and watch start a backend with --diarizer; a --server labels as it was started.
    The options of ``reelscript`` itself work after the command's name too."""
    diarizer, server = ["--diarizer", "campplus"], ["--server", "http://127.0.0.1:9"]
    args = {
        "both before watch": [*diarizer, *server, "watch", str(tmp_path)],
        "server after watch": [*diarizer, "watch", str(tmp_path), *server],
        "both after watch": ["watch", str(tmp_path), *diarizer, *server],
        "both after the app's folder": [str(tmp_path), *server, *diarizer],
    }[order]
    result = subprocess.run(
        [sys.executable, "-m", "tui.cli", *args], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "labels as it was started (reelscript serve --diarizer ...)" in result.stderr
