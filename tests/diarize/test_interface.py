"""The diarizer interface the engine calls: shapes, numbering, errors, edge cases, encoder."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tests.diarize.scoring import Conv
from tui.engine import clustering, speakers
from tui.engine.diarize import (
    BadSpeakerCount,
    DiarizationResult,
    DiarizerUnavailable,
    get_diarizer,
)
from tui.engine.errors import EngineError
from tui.engine.script import Word


def test_result_shape_and_numbering(
    convs: dict[str, Conv], labelled: dict[str, DiarizationResult]
) -> None:
    for name, result in labelled.items():
        conv = convs[name]
        assert len(result.word_speakers) == len(conv.words)
        # numbered in order of first appearance among the words
        seen: list[int] = []
        for s in result.word_speakers:
            if s not in seen:
                seen.append(s)
        assert seen == list(range(len(seen)))
        assert {g.speaker for g in result.segments} == set(range(result.num_speakers))
        starts = [g.start_ms for g in result.segments]
        assert starts == sorted(starts)
        assert all(g.start_ms < g.end_ms for g in result.segments)
        for a, b in zip(result.segments, result.segments[1:], strict=False):
            assert a.end_ms <= b.start_ms  # one speaker at a time
        assert result.speech and all(s < e for s, e in result.speech)


def test_progress_is_reported_up_to_one(convs: dict[str, Conv]) -> None:
    conv = convs["conv_2spk_short"]
    seen: list[float] = []
    get_diarizer().diarize(conv.audio, conv.words, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0 and 0 <= seen[0]


def test_own_vad_finds_speech_without_words(convs: dict[str, Conv]) -> None:
    """No words, no speech given: Silero finds the speech, the voices are still told apart."""
    conv = convs["conv_3spk_mixed"]
    result = get_diarizer("builtin").diarize(conv.audio, [])
    assert result.word_speakers == []
    assert result.num_speakers == 3
    talk = sum(e - s for s, e, _ in conv.turns)
    assert sum(e - s for s, e in result.speech) >= 0.8 * talk


def test_silence_and_empty_input() -> None:
    silence = np.zeros(16000 * 3, dtype=np.float32)
    result = get_diarizer("builtin").diarize(silence, [])
    assert result.num_speakers == 0 and result.segments == [] and result.word_speakers == []
    tiny = get_diarizer("builtin").diarize(np.zeros(100, dtype=np.float32), [])
    assert tiny.num_speakers == 0


def test_words_in_silence_still_get_a_speaker() -> None:
    """A word the VAD missed is put on the timeline from its own span."""
    audio = np.zeros(16000 * 2, dtype=np.float32)
    words = [Word("hm", 500, 800)]
    result = get_diarizer("builtin").diarize(audio, words)
    assert result.word_speakers == [0]
    assert result.speech == [(500, 800)]


def test_none_diarizer_is_one_speaker(convs: dict[str, Conv]) -> None:
    conv = convs["conv_3spk_mixed"]
    result = get_diarizer("none").diarize(conv.audio, conv.words, speech=conv.speech)
    assert set(result.word_speakers) == {0} and result.num_speakers == 1


def test_pyannote_without_its_model_is_a_clear_engine_error(
    convs: dict[str, Conv], monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.setenv("REELSCRIPT_PYANNOTE_MODEL", str(tmp_path))
    conv = convs["conv_2spk_short"]
    with pytest.raises(DiarizerUnavailable) as caught:
        get_diarizer("pyannote").diarize(conv.audio, conv.words)
    assert isinstance(caught.value, EngineError)
    assert "pyannote" in str(caught.value) and "\n" not in str(caught.value)


def test_unknown_diarizer_and_bad_counts() -> None:
    with pytest.raises(DiarizerUnavailable):
        get_diarizer("magic")
    audio = np.zeros(16000, dtype=np.float32)
    for kwargs in ({"num_speakers": 0}, {"min_speakers": 3, "max_speakers": 2}):
        with pytest.raises(BadSpeakerCount):
            get_diarizer().diarize(audio, [], **kwargs)


def test_encoder_loads_without_webrtcvad_or_pkg_resources() -> None:
    """resemblyzer's weights load with neither its VAD dependency nor pkg_resources imported."""
    code = (
        "import sys; from tui.engine import speakers; speakers.get_encoder(); "
        "bad = {'webrtcvad', 'pkg_resources', 'resemblyzer', 'librosa'} & set(sys.modules); "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_encoder_equals_resemblyzer_network_and_features() -> None:
    """Same mel features as librosa (resemblyzer's), same encoder output as its weights give."""
    import librosa

    rng = np.random.default_rng(0)
    audio = (rng.standard_normal(16000 * 2) * 0.05).astype(np.float32)
    ours = speakers.mel_spectrogram(audio)
    theirs = librosa.feature.melspectrogram(
        y=audio, sr=16000, n_fft=400, hop_length=160, n_mels=40
    ).T
    assert ours.shape == theirs.shape
    assert np.allclose(ours, theirs, rtol=1e-3, atol=1e-6 * theirs.max())
    emb = speakers.embed_windows([ours[:160]])
    assert emb.shape == (1, 256) and abs(float(np.linalg.norm(emb[0])) - 1) < 1e-4


def test_window_level_is_normalised() -> None:
    rng = np.random.default_rng(1)
    audio = (rng.standard_normal(16000 * 2) * 0.05).astype(np.float32)
    loud = speakers.embed_windows([speakers.mel_spectrogram(audio)[:160]])
    soft = speakers.embed_windows([speakers.mel_spectrogram(audio * 0.01)[:160]])
    assert float(loud[0] @ soft[0]) > 0.999


def test_long_files_cluster_globally_on_a_bounded_sample(convs: dict[str, Conv]) -> None:
    """More windows than the linkage takes (an hour's worth): same speakers, all assigned."""
    conv = convs["conv_3spk_mixed"]
    mel = speakers.mel_spectrogram(conv.audio)
    pieces = [mel[f : f + 160] for f in range(0, len(mel) - 160, 80)]
    base = speakers.embed_windows(pieces)
    rng = np.random.default_rng(2)
    copies = -(-(clustering.MAX_POINTS * 2) // len(base))
    many = np.concatenate([base + rng.normal(0, 0.01, base.shape) for _ in range(copies)])
    assert len(many) > clustering.MAX_POINTS
    labels, centroids = clustering.estimate_labels(many.astype(np.float32))
    assert len(labels) == len(many)
    small, _ = clustering.estimate_labels(base)
    assert len(centroids) == int(small.max()) + 1
