"""A file scripted again (or translated) keeps the names its user gave the speakers.

The labeller numbers speakers by first appearance, so a new script of the same
recording may call the same voice by another id; the names follow the speech,
not the ids.
"""

from __future__ import annotations

from tui.engine.script import Script, Turn, Word, carry_names


def _script(turns: list[tuple[str, int, int]], speakers: dict[str, str] | None = None) -> Script:
    """A script whose turns are (speaker id, start ms, end ms), one word each."""
    made = [Turn(sid, s, e, "words", [Word("words", s, e)]) for sid, s, e in turns]
    ids = sorted({sid for sid, _, _ in turns})
    return Script(
        video_id="v",
        speakers={**{i: f"Speaker {i[1:]}" for i in ids}, **(speakers or {})},
        turns=made,
    )


TIMES = [(0, 4000), (4000, 9000), (9000, 12000), (12000, 20000)]


def test_names_follow_the_voice_not_the_id() -> None:
    before = _script([("S1", *TIMES[0]), ("S2", *TIMES[1]), ("S1", *TIMES[2]), ("S3", *TIMES[3])],
                     {"S1": "Diane", "S2": "Tom"})  # fmt: skip
    # Scripted again, the ids come out in another order and the boundaries a little apart.
    after = _script(
        [("S2", 0, 4200), ("S1", 4200, 9100), ("S2", 9100, 12000), ("S3", 12000, 20000)]
    )
    assert carry_names(before, after) == {"S2": "Diane", "S1": "Tom"}
    assert after.speakers == {"S1": "Tom", "S2": "Diane", "S3": "Speaker 3"}


def test_no_name_goes_where_the_speech_does_not_match() -> None:
    before = _script([("S1", 0, 10000), ("S2", 10000, 20000)], {"S1": "Diane", "S2": "Tom"})
    # The new script heard one voice where the old had two: it holds only half of each.
    after = _script([("S1", 0, 20000)])
    assert carry_names(before, after) == {}
    assert after.speakers == {"S1": "Speaker 1"}


def test_a_remembered_voice_and_a_name_in_use_win() -> None:
    before = _script([("S1", 0, 10000), ("S2", 10000, 20000)], {"S1": "Diane", "S2": "Tom"})
    after = _script([("S1", 0, 10000), ("S2", 10000, 20000)], {"S1": "Sheila"})
    after.speaker_matches["S1"] = {"voice": "Sheila", "confidence": 0.8}
    assert carry_names(before, after) == {"S2": "Tom"}
    assert after.speakers == {"S1": "Sheila", "S2": "Tom"}
    # A name the new script already gives someone is not given twice.
    again = _script([("S1", 0, 10000), ("S2", 10000, 20000)], {"S2": "diane"})
    assert carry_names(before, again) == {}


def test_the_labellers_segments_decide_where_both_scripts_have_them() -> None:
    before = _script([("S1", 0, 10000), ("S2", 10000, 20000)], {"S2": "Tom"})
    before.segments = [(0, 10000, "S1"), (10000, 20000, "S2")]
    # Words only at the start of the new S1's speech, but its segment covers Tom's time.
    after = _script([("S2", 0, 10000), ("S1", 10000, 11000)])
    after.segments = [(0, 10000, "S2"), (10000, 20000, "S1")]
    assert carry_names(before, after) == {"S1": "Tom"}
    # Nothing renamed, nothing carried.
    plain = _script([("S1", 0, 20000)])
    assert carry_names(plain, _script([("S1", 0, 20000)])) == {}
