"""The Script model: words -> speaker turns -> readable paragraphs, and edits.

A :class:`Script` is what every other part of reelscript passes around: the
engine builds it, the backend stores it (as the ``script`` object of
docs/api.md), the formats write it, the editor changes it.  All times are in
milliseconds.  Speaker ids are stable strings (``"S1"``, ``"S2"``, ...); what a
reader sees is the display name in :attr:`Script.speakers` (``"Speaker 1"``
until renamed).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tui.engine import writing

# A paragraph (one turn in the script) is closed at a sentence end once it is
# this long, or at any word after a pause this long, so that a 5-minute
# monologue reads as paragraphs rather than one wall of text.
PARAGRAPH_SOFT_WORDS = 60
PARAGRAPH_HARD_WORDS = 120
PARAGRAPH_PAUSE_MS = 2000


@dataclass
class Word:
    """One recognised word: ``w`` as shown, start ``s`` / end ``e`` in ms, probability ``p``."""

    w: str
    s: int
    e: int
    p: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return {"w": self.w, "s": self.s, "e": self.e, "p": round(float(self.p), 3)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Word:
        return cls(
            w=str(data["w"]), s=int(data["s"]), e=int(data["e"]), p=float(data.get("p", 1.0))
        )


@dataclass
class Turn:
    """One paragraph of one speaker."""

    speaker: str
    start_ms: int
    end_ms: int
    text: str
    words: list[Word] = field(default_factory=list)
    #: The language spoken in this turn, where a file has more than one ("" otherwise).
    language: str = ""

    def to_dict(self) -> dict[str, Any]:
        out = {
            "speaker": self.speaker,
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "text": self.text,
            "words": [w.to_dict() for w in self.words],
        }
        if self.language:
            out["language"] = self.language
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Turn:
        words = [Word.from_dict(w) for w in data.get("words") or []]
        return cls(
            speaker=str(data["speaker"]),
            start_ms=int(data["start_ms"]),
            end_ms=int(data["end_ms"]),
            text=str(data.get("text", "")),
            words=words,
            language=str(data.get("language") or ""),
        )


@dataclass
class Script:
    """A speaker-labelled script of one media file (the ``script`` object of docs/api.md)."""

    video_id: str = ""
    revision: int = 0
    language: str = "en"
    speakers: dict[str, str] = field(default_factory=dict)
    turns: list[Turn] = field(default_factory=list)
    # Additions to docs/api.md's fields (allowed: "add to it, never rename").
    source: str = ""
    duration_ms: int = 0
    model: str = ""
    speech: list[tuple[int, int]] = field(default_factory=list)
    #: Every language detected, most spoken first (``language`` is the first).
    languages: list[str] = field(default_factory=list)
    #: The spoken language when the script is an English translation ("" otherwise).
    translated_from: str = ""
    #: Who speaks when, as the labeller found it (words or not): (start, end, speaker id);
    #: two speakers' segments may overlap.  Optional: empty when not labelled.
    segments: list[tuple[int, int, str]] = field(default_factory=list)
    #: Stretches where two or more people talk at once.  Optional.
    overlaps: list[tuple[int, int]] = field(default_factory=list)
    #: Speakers named by a remembered voice: id -> {"voice": name, "confidence": 0..1}.
    speaker_matches: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Each speaker's voice print (tui.engine.voices.Print) when voices were looked
    #: for; kept in memory only, never part of the API's script.
    voiceprints: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    # -- (de)serialisation ---------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "video_id": self.video_id,
            "revision": self.revision,
            "language": self.language,
            "speakers": dict(self.speakers),
            "turns": [t.to_dict() for t in self.turns],
            "source": self.source,
            "duration_ms": self.duration_ms,
            "model": self.model,
            "speech": [[s, e] for s, e in self.speech],
            "languages": list(self.languages or [self.language]),
            "translated_from": self.translated_from,
            "segments": [
                {"speaker": who, "start_ms": s, "end_ms": e} for s, e, who in self.segments
            ],
            "overlaps": [[s, e] for s, e in self.overlaps],
            "speaker_matches": {k: dict(v) for k, v in self.speaker_matches.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Script:
        """Build a script from its API form; raises ``ValueError`` on a malformed one."""
        try:
            turns = [Turn.from_dict(t) for t in data.get("turns") or []]
            speakers = {str(k): str(v) for k, v in (data.get("speakers") or {}).items()}
            speech = [(int(s), int(e)) for s, e in data.get("speech") or []]
            segments = [
                (int(g["start_ms"]), int(g["end_ms"]), str(g["speaker"]))
                for g in data.get("segments") or []
            ]
            overlaps = [(int(s), int(e)) for s, e in data.get("overlaps") or []]
            script = cls(
                video_id=str(data.get("video_id", "")),
                revision=int(data.get("revision", 0)),
                language=str(data.get("language", "en")),
                speakers=speakers,
                turns=turns,
                source=str(data.get("source", "")),
                duration_ms=int(data.get("duration_ms", 0)),
                model=str(data.get("model", "")),
                speech=speech,
                languages=[str(x) for x in data.get("languages") or []],
                translated_from=str(data.get("translated_from") or ""),
                segments=segments,
                overlaps=overlaps,
                speaker_matches={
                    str(k): {"voice": str(v["voice"]), "confidence": float(v["confidence"])}
                    for k, v in (data.get("speaker_matches") or {}).items()
                },
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"malformed script: {exc}") from exc
        for turn in script.turns:
            script.speakers.setdefault(turn.speaker, default_speaker_name(turn.speaker))
        return script

    # -- reading -------------------------------------------------------------
    def speaker_name(self, speaker_id: str) -> str:
        return self.speakers.get(speaker_id, default_speaker_name(speaker_id))

    @property
    def words(self) -> list[Word]:
        return [w for t in self.turns for w in t.words]

    @property
    def text(self) -> str:
        return "\n\n".join(f"{self.speaker_name(t.speaker)}: {t.text}" for t in self.turns)

    def speaker_order(self) -> list[str]:
        """Speaker ids in order of first appearance (unused named speakers last)."""
        seen: list[str] = []
        for turn in self.turns:
            if turn.speaker not in seen:
                seen.append(turn.speaker)
        return seen + [s for s in self.speakers if s not in seen]

    # -- edits ---------------------------------------------------------------
    def rename_speaker(self, speaker: str, new_name: str) -> None:
        """Rename a speaker given by id or by current display name."""
        speaker_id = self.resolve_speaker(speaker)
        new_name = new_name.strip()
        if not new_name:
            raise ValueError("a speaker name cannot be empty")
        self.speakers[speaker_id] = new_name
        if self.speaker_matches.get(speaker_id, {}).get("voice") != new_name:
            self.speaker_matches.pop(speaker_id, None)

    def merge_speakers(self, source: str, target: str) -> None:
        """Give every turn of ``source`` to ``target`` and join the paragraphs that now touch."""
        src = self.resolve_speaker(source)
        dst = self.resolve_speaker(target)
        if src == dst:
            return
        for turn in self.turns:
            if turn.speaker == src:
                turn.speaker = dst
        self.segments = _merge_segments(
            [(s, e, dst if who == src else who) for s, e, who in self.segments]
        )
        self.speakers.pop(src, None)
        self.speaker_matches.pop(src, None)
        self.turns = _join_adjacent(self.turns)

    def resolve_speaker(self, speaker: str) -> str:
        """Find a speaker id from an id, a display name or a bare number ("2")."""
        wanted = speaker.strip()
        if wanted in self.speakers:
            return wanted
        for sid, name in self.speakers.items():
            if name.casefold() == wanted.casefold():
                return sid
        if wanted.isdigit() and f"S{wanted}" in self.speakers:
            return f"S{wanted}"
        raise KeyError(f"no speaker called {speaker!r}")

    def edit_turn_text(self, index: int, new_text: str) -> None:
        """Replace a turn's text, re-aligning the new words to the old timings."""
        turn = self.turns[index]
        turn.words = realign_words(turn.words, new_text, turn.start_ms, turn.end_ms)
        turn.text = writing.join_words(new_text.split())
        if turn.words:
            turn.start_ms = turn.words[0].s
            turn.end_ms = turn.words[-1].e


def carry_names(before: Script, after: Script) -> dict[str, str]:
    """Give ``after``'s speakers the names the user gave in ``before``, a script of the same
    recording; returns speaker id -> the name carried.

    A speaker of ``after`` takes a renamed speaker's name of ``before`` where each holds
    most of the other's speech (so the pairing is one to one), it has no name of its own
    yet (a remembered voice's stays), and no other speaker of ``after`` goes by that name.
    A script's speech is its labeller's segments where it keeps them, its turns otherwise.
    """
    named = {
        sid: name for sid, name in before.speakers.items() if not is_default_speaker_name(name)
    }
    if not named:
        return {}
    old, new = _speech_of(before), _speech_of(after)
    taken = {
        name.casefold() for sid, name in after.speakers.items() if not is_default_speaker_name(name)
    }
    carried: dict[str, str] = {}
    for sid, spans in new.items():
        if sid in after.speaker_matches or not is_default_speaker_name(after.speaker_name(sid)):
            continue
        mine = _length(spans)
        shared = {o: _shared(spans, old_spans) for o, old_spans in old.items()}
        best = max(shared, key=lambda o: shared[o], default=None)
        if best is None or best not in named or named[best].casefold() in taken:
            continue
        if 2 * shared[best] > mine and 2 * shared[best] > _length(old[best]):
            carried[sid] = named[best]
            taken.add(named[best].casefold())
    for sid, name in carried.items():
        after.speakers[sid] = name
    return carried


def speaker_spans(script: Script) -> dict[str, list[tuple[int, int]]]:
    """Each speaker's turns of ``script`` as (start_ms, end_ms)."""
    spans: dict[str, list[tuple[int, int]]] = {}
    for turn in script.turns:
        if turn.words:
            spans.setdefault(turn.speaker, []).append((turn.start_ms, turn.end_ms))
    return spans


def _speech_of(script: Script) -> dict[str, list[tuple[int, int]]]:
    if not script.segments:
        return speaker_spans(script)
    spans: dict[str, list[tuple[int, int]]] = {}
    for start, end, who in script.segments:
        spans.setdefault(who, []).append((start, end))
    return spans


def _length(spans: list[tuple[int, int]]) -> int:
    return sum(max(0, e - s) for s, e in spans)


def _shared(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> int:
    """Milliseconds that spans ``a`` and ``b`` (each one speaker's, not overlapping) share."""
    a, b = sorted(a), sorted(b)
    i = j = total = 0
    while i < len(a) and j < len(b):
        total += max(0, min(a[i][1], b[j][1]) - max(a[i][0], b[j][0]))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return total


def default_speaker_name(speaker_id: str) -> str:
    number = speaker_id[1:] if speaker_id.startswith("S") else speaker_id
    return f"Speaker {number}"


def is_default_speaker_name(name: str) -> bool:
    """Whether ``name`` is a name like :func:`default_speaker_name` gives ("Speaker 3")."""
    return re.fullmatch(r"(?i)speaker\s*\d+", name.strip()) is not None


def speaker_id(index: int) -> str:
    """The stable id of the ``index``-th (0-based) speaker found."""
    return f"S{index + 1}"


def build_turns(words: Sequence[Word], speakers: Sequence[str]) -> list[Turn]:
    """Group words (each with its speaker id) into turns, one readable paragraph each."""
    if len(words) != len(speakers):
        raise ValueError("one speaker per word is needed")
    turns: list[Turn] = []
    current: list[Word] = []
    current_speaker = ""

    def close() -> None:
        if current:
            turns.append(_make_turn(current_speaker, current))

    for word, spk in zip(words, speakers, strict=True):
        if current:
            pause = word.s - current[-1].e
            new_para = (
                spk != current_speaker
                or pause >= PARAGRAPH_PAUSE_MS
                or len(current) >= PARAGRAPH_HARD_WORDS
                or (len(current) >= PARAGRAPH_SOFT_WORDS and _ends_sentence(current[-1].w))
            )
            if new_para:
                close()
                current = []
        current_speaker = spk
        current.append(word)
    close()
    return turns


def join_words(words: Iterable[str]) -> str:
    """Join word tokens into text (tokens carry their own punctuation; no spaces in CJK)."""
    return writing.join_words(words)


def realign_words(old: Sequence[Word], new_text: str, start_ms: int, end_ms: int) -> list[Word]:
    """Give the words of ``new_text`` timings taken from the ``old`` words.

    Unchanged words keep their exact times; replaced runs share the time span
    of the words they replace; inserted words are placed between their
    neighbours, so subtitles made from an edited script stay in sync.  Text
    without spaces (Chinese, Japanese) is split into the words the old ones
    had where they still match, else into characters.
    """
    tokens = writing.split_units(new_text, {w.w.strip() for w in old})
    if not tokens:
        return []
    if not old:
        return _spread(tokens, start_ms, end_ms, 1.0)
    matcher = difflib.SequenceMatcher(
        a=[_norm(w.w) for w in old], b=[_norm(t) for t in tokens], autojunk=False
    )
    out: list[Word] = []
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            for k in range(b1 - b0):
                ow = old[a0 + k]
                out.append(Word(tokens[b0 + k], ow.s, ow.e, ow.p))
        elif op == "replace":
            out.extend(_spread(tokens[b0:b1], old[a0].s, old[a1 - 1].e, 1.0))
        elif op == "insert":
            lo = old[a0 - 1].e if a0 > 0 else start_ms
            hi = old[a0].s if a0 < len(old) else max(end_ms, lo)
            if hi <= lo:
                # No gap: borrow the end of the previous word (or the start of the next).
                lo, hi = (old[a0 - 1].s, old[a0 - 1].e) if a0 > 0 else (old[0].s, old[0].e)
            out.extend(_spread(tokens[b0:b1], lo, hi, 1.0))
        # "delete": the removed words' time simply goes unused.
    return out


def _spread(tokens: Sequence[str], start: int, end: int, p: float) -> list[Word]:
    end = max(end, start)
    step = (end - start) / len(tokens)
    return [
        Word(t, int(round(start + i * step)), int(round(start + (i + 1) * step)), p)
        for i, t in enumerate(tokens)
    ]


def _norm(token: str) -> str:
    return writing.norm(token)


def _ends_sentence(token: str) -> bool:
    return writing.ends_sentence(token)


def _make_turn(speaker: str, words: list[Word]) -> Turn:
    return Turn(
        speaker=speaker,
        start_ms=words[0].s,
        end_ms=words[-1].e,
        text=join_words(w.w for w in words),
        words=list(words),
    )


def _merge_segments(segments: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """One speaker's overlapping or touching segments joined (after a merge of speakers)."""
    out: list[tuple[int, int, str]] = []
    last: dict[str, int] = {}
    for s, e, who in sorted(segments):
        i = last.get(who)
        if i is not None and s <= out[i][1]:
            out[i] = (out[i][0], max(out[i][1], e), who)
        else:
            last[who] = len(out)
            out.append((s, e, who))
    return out


def _join_adjacent(turns: list[Turn]) -> list[Turn]:
    """Re-paragraph turns after speakers changed (merge), keeping paragraph limits."""
    words: list[Word] = []
    speakers: list[str] = []
    wordless: list[Turn] = []
    for turn in turns:
        if not turn.words:
            wordless.append(turn)
            continue
        words.extend(turn.words)
        speakers.extend([turn.speaker] * len(turn.words))
    rebuilt = build_turns(words, speakers)
    if wordless:
        rebuilt = sorted(rebuilt + wordless, key=lambda t: t.start_ms)
    return rebuilt
