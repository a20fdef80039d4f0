"""Voices in the engine and the store: a remembered person is named in another recording,
and nobody else gets the name; one identity's voices are not another's."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.backend.store import Store
from tui.backend.voices_store import VoiceBook, VoiceError, print_of, save_prints
from tui.engine import voices

from .conftest import reference


@pytest.fixture(scope="module")
def prints() -> dict[str, dict[str, voices.Print]]:
    out = {}
    for name in ("conv_2spk_short", "conv_3spk_mixed", "conv_3spk_quiet"):
        audio, script = reference(name)
        found = voices.prints(audio, script)
        out[name] = {script.people[sid]: p for sid, p in found.items()}  # type: ignore[attr-defined]
    return out


def test_named_in_another_recording_and_nobody_else(prints, tmp_path: Path) -> None:
    book = VoiceBook(Store(tmp_path), "alice")
    book.remember("Pedersen", prints["conv_2spk_short"]["pedersen"], "a")
    book.remember("Gonzalez", prints["conv_2spk_short"]["gonzalez"], "a")
    audio, script = reference("conv_3spk_quiet")  # pedersen, juarez, lewis: no gonzalez
    made = voices.label(script, audio, book.profiles())
    named = {script.people[sid]: m["voice"] for sid, m in script.speaker_matches.items()}  # type: ignore[attr-defined]
    assert named == {"pedersen": "Pedersen"}
    sid = next(s for s, p in script.people.items() if p == "pedersen")  # type: ignore[attr-defined]
    assert script.speakers[sid] == "Pedersen"
    assert 0.56 <= script.speaker_matches[sid]["confidence"] <= 1.0
    assert set(made) == set(script.speakers)
    # A file where neither remembered person speaks: no names at all.
    assert voices.match(prints["conv_3spk_mixed"], book.profiles()) == {}


def test_one_name_never_goes_to_two_speakers(prints) -> None:
    p = prints["conv_3spk_quiet"]["pedersen"]
    profile = voices.enrol(None, "Pedersen", p, "x")
    twins = {"S1": p, "S2": voices.Print(p.vector.copy(), p.seconds)}
    assert len(voices.match(twins, [profile])) == 1


def test_book_changes_and_isolation(prints, tmp_path: Path) -> None:
    store = Store(tmp_path)
    alice, bob = VoiceBook(store, "alice"), VoiceBook(store, "bob")
    alice.remember("Sheila", prints["conv_2spk_short"]["pedersen"], "a")
    alice.remember("Sheila", prints["conv_3spk_quiet"]["pedersen"], "b")
    alice.remember("Sheila again", prints["conv_3spk_mixed"]["lewis"], "c")
    assert [len(p.centroids) for p in alice.profiles()] == [2, 1]
    assert bob.listing() == [] and bob.profiles() == []
    with pytest.raises(VoiceError):
        bob.forget("Sheila")
    with pytest.raises(VoiceError, match="already called"):
        alice.rename("Sheila again", "sheila")
    alice.merge("Sheila again", "Sheila")
    assert [(v["name"], v["centroids"]) for v in alice.listing()] == [("Sheila", 3)]
    alice.rename("Sheila", "Sheila Roe")
    exported = alice.export()
    assert alice.forget("sheila roe") == "Sheila Roe" and alice.listing() == []
    assert bob.import_(exported) == ["Sheila Roe"] and len(bob.profiles()[0].centroids) == 3
    with pytest.raises(VoiceError, match="not a voices export"):
        bob.import_({"voices": []})
    # A file's prints are kept for a later "remember", by video and speaker.
    save_prints(store, "vid_1", {"S2": prints["conv_3spk_quiet"]["lewis"]}, "sha")
    kept = print_of(store, "vid_1", "S2")
    assert kept is not None and kept[1] == "sha"
    assert float(kept[0].vector @ prints["conv_3spk_quiet"]["lewis"].vector) > 0.999
    assert print_of(store, "vid_1", "S1") is None


def test_old_encoder_is_not_matched(prints) -> None:
    profile = voices.enrol(None, "Pedersen", prints["conv_2spk_short"]["pedersen"], "a")
    profile.encoder = "resemblyzer/256"
    assert not profile.usable()
    assert voices.match(prints["conv_3spk_quiet"], [profile]) == {}
