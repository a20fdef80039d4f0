"""The script as the editor shows it, and back: one turn per paragraph.

A turn reads ``[00:01:23] DIANE: what she said ...``; paragraphs are separated
by a blank line.  Parsing the edited text back gives a new :class:`Script`
whose edited words are re-aligned to the old timings
(:meth:`Script.edit_turn_text`), so subtitles made from it stay in sync.

Paragraphs are matched to the turns they came from by their time stamp (in
order, so two turns starting in the same second still match): a paragraph
whose stamp is new becomes a new turn at that time, a deleted paragraph
deletes its turn, and a header-less paragraph joins the one before it.
"""

from __future__ import annotations

import copy
import re
from collections import defaultdict, deque

from tui.engine.script import Script, Turn, Word, speaker_id
from tui.engine.timecode import clock

_HEADER = re.compile(
    r"^\[(?P<stamp>\d{1,2}:\d{2}:\d{2})\]\s*(?P<name>[^:\n]{1,60}):\s?(?P<text>.*)$", re.S
)


def parse_stamp(stamp: str) -> int:
    hours, minutes, seconds = (int(part) for part in stamp.split(":"))
    return (hours * 3600 + minutes * 60 + seconds) * 1000


def script_to_text(script: Script) -> str:
    """The editor's text of a script: one paragraph per turn."""
    return "\n\n".join(
        f"[{clock(t.start_ms)}] {script.speaker_name(t.speaker)}: {t.text}" for t in script.turns
    )


def paragraph_starts(text: str) -> list[tuple[int, int]]:
    """(line number, start ms) of every paragraph header in the editor's text."""
    starts: list[tuple[int, int]] = []
    for number, line in enumerate(text.split("\n")):
        match = _HEADER.match(line)
        if match:
            starts.append((number, parse_stamp(match["stamp"])))
    return starts


def text_to_script(text: str, original: Script) -> Script:
    """Apply the editor's text to a copy of ``original`` and return it.

    Raises ``ValueError`` when the text cannot be read as a script (nothing
    changes then: the caller keeps the user's text and says why).
    """
    script = copy.deepcopy(original)
    paragraphs = _paragraphs(text)
    by_stamp: dict[str, deque[int]] = defaultdict(deque)
    for index, turn in enumerate(original.turns):
        by_stamp[clock(turn.start_ms)].append(index)

    new_turns: list[Turn] = []
    for stamp, name, body in paragraphs:
        speaker = _speaker_for(script, name)
        queue = by_stamp.get(stamp)
        if queue:
            index = queue.popleft()
            old = original.turns[index]
            turn = Turn(old.speaker, old.start_ms, old.end_ms, old.text, list(old.words))
            holder = Script(turns=[turn])
            if " ".join(body.split()) != old.text:
                holder.edit_turn_text(0, body)
            turn = holder.turns[0]
            turn.speaker = speaker
        else:
            start = parse_stamp(stamp)
            turn = Turn(speaker, start, start, " ".join(body.split()), [])
        new_turns.append(turn)

    _time_new_turns(new_turns, original.duration_ms)
    script.turns = [t for t in new_turns if t.text]
    used = {t.speaker for t in script.turns}
    # Speakers that no paragraph uses any more are dropped, unless they had a name
    # the user chose (they may come back in a later edit).
    script.speakers = {
        sid: name
        for sid, name in script.speakers.items()
        if sid in used or name != f"Speaker {sid[1:]}"
    }
    return script


def _paragraphs(text: str) -> list[tuple[str, str, str]]:
    """(stamp, speaker name, text) of every paragraph; header-less ones join the previous."""
    out: list[tuple[str, str, str]] = []
    for block in re.split(r"\n\s*\n", text.strip()):
        block = block.strip()
        if not block:
            continue
        match = _HEADER.match(block)
        if match:
            out.append((match["stamp"], match["name"].strip(), match["text"].strip()))
        elif out:
            stamp, name, body = out[-1]
            out[-1] = (stamp, name, f"{body} {block}")
        else:
            raise ValueError(
                "the first paragraph has no [hh:mm:ss] SPEAKER: header; "
                "each turn starts like [00:01:23] Diane: ..."
            )
    return out


def _speaker_for(script: Script, name: str) -> str:
    """The id of the speaker called ``name``; a new name makes a new speaker."""
    try:
        return script.resolve_speaker(name)
    except KeyError:
        pass
    number = 1
    while speaker_id(number - 1) in script.speakers:
        number += 1
    new_id = speaker_id(number - 1)
    script.speakers[new_id] = name
    return new_id


def _time_new_turns(turns: list[Turn], duration_ms: int) -> None:
    """Give typed-in turns (no words yet) words spread up to the next turn."""
    for index, turn in enumerate(turns):
        if turn.words or not turn.text:
            continue
        following = [t.start_ms for t in turns[index + 1 :] if t.start_ms > turn.start_ms]
        end = following[0] if following else max(duration_ms, turn.start_ms + 1000)
        tokens = turn.text.split()
        step = (end - turn.start_ms) / len(tokens)
        turn.words = [
            Word(tok, round(turn.start_ms + i * step), round(turn.start_ms + (i + 1) * step))
            for i, tok in enumerate(tokens)
        ]
        turn.end_ms = turn.words[-1].e
