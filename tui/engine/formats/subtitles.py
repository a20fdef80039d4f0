"""SRT and WebVTT subtitles made from the words' timings, following usual practice.

A cue holds at most two lines of about 42 characters, shows for 1 to 7
seconds, never spans two speakers, and starts with the speaker's name when
the speaker changes (when the script has more than one speaker).  A cue that
fills up one or two words before its sentence ends is cut evenly with the
next instead, so that no word is left alone on screen.

Line length is measured in display cells (``wcwidth``): a Chinese or Japanese
character takes two, and such lines hold at most MAX_LINE_WIDE cells (18
characters, the usual 16-20 for CJK subtitles).  Words of scripts written
without spaces are joined without them, and lines break between any two of
their characters as well as at spaces.
"""

from __future__ import annotations

from dataclasses import dataclass

from tui.engine.script import Script, Word
from tui.engine.writing import CLAUSE_MARKS, display_width, ends_sentence, join_words, needs_space

MAX_LINE = 42
MAX_LINE_WIDE = 36  # cells, for lines with East Asian wide characters
MAX_LINES = 2
MIN_MS = 1000
MAX_MS = 7000
# A pause this long, or a sentence end once a cue has this much time, closes a cue
# so that cues follow the rhythm of speech rather than filling up blindly.
PAUSE_MS = 800
SENTENCE_MS = 2500
#: A full cue whose sentence would end in a next cue of this many words or fewer
#: ("número." alone for a second) is cut at the most even place instead.
ORPHAN_WORDS = 2


@dataclass
class Cue:
    start_ms: int
    end_ms: int
    lines: list[str]
    speaker: str


def build_cues(script: Script, max_line: int = MAX_LINE) -> list[Cue]:
    """Cut the script's words into subtitle cues of lines up to ``max_line`` cells
    (``max_line * MAX_LINE_WIDE / MAX_LINE`` for lines with wide characters)."""
    named = len({t.speaker for t in script.turns}) > 1
    cues: list[Cue] = []
    previous_speaker: str | None = None
    for turn in script.turns:
        prefix = ""
        if named and turn.speaker != previous_speaker:
            prefix = f"{script.speaker_name(turn.speaker)}: "
        previous_speaker = turn.speaker
        words = turn.words or []
        start = 0
        while start < len(words):
            end = _cue_end(words, start, prefix, max_line)
            end = _no_orphan(words, start, end, prefix, max_line)
            chunk = words[start:end]
            text = prefix + join_words(w.w for w in chunk)
            cues.append(Cue(chunk[0].s, chunk[-1].e, wrap(text, max_line), turn.speaker))
            prefix = ""
            start = end
    _fix_durations(cues)
    return cues


def _cue_end(words: list[Word], start: int, prefix: str, max_line: int = MAX_LINE) -> int:
    """Index one past the last word of the cue that begins at ``start``."""
    end = start + 1
    while end < len(words):
        nxt = words[end]
        text = prefix + join_words(w.w for w in words[start : end + 1])
        if not _fits(text, max_line) or nxt.e - words[start].s > MAX_MS:
            # Full: end at the last clause break after its first third, if there is
            # one, rather than leave "quickly." alone on the next cue.
            for k in range(end, start + max(1, (end - start) // 3), -1):
                if _ends_clause(words[k - 1].w):
                    return k
            break
        last = words[end - 1]
        if nxt.s - last.e >= PAUSE_MS:
            break
        if ends_sentence(last.w) and last.e - words[start].s >= SENTENCE_MS:
            break
        end += 1
    return end


def _full(words: list[Word], start: int, end: int, prefix: str, max_line: int) -> bool:
    """Whether the cue ``words[start:end]`` ended for want of room (or of time)."""
    if end >= len(words):
        return False
    text = prefix + join_words(w.w for w in words[start : end + 1])
    return not _fits(text, max_line) or words[end].e - words[start].s > MAX_MS


def _no_orphan(words: list[Word], start: int, end: int, prefix: str, max_line: int) -> int:
    """``end``, or where to cut instead so that a full cue does not leave one or two
    words alone in the next: the two cues split as evenly as their widths allow."""
    if not _full(words, start, end, prefix, max_line):
        return end
    after = _cue_end(words, end, "", max_line)
    if after - end > ORPHAN_WORDS or _full(words, end, after, "", max_line):
        return end
    best, best_width = end, None
    for k in range(start + 1, after):
        a = prefix + join_words(w.w for w in words[start:k])
        b = join_words(w.w for w in words[k:after])
        if not (_fits(a, max_line) and _fits(b, max_line)):
            continue
        if words[k - 1].e - words[start].s > MAX_MS or words[after - 1].e - words[k].s > MAX_MS:
            continue
        # Most even first; at the same evenness, after a clause mark.
        width = (max(display_width(a), display_width(b)), not _ends_clause(words[k - 1].w))
        if best_width is None or width < best_width:
            best, best_width = k, width
    return best


def _ends_clause(word: str, marks: str = CLAUSE_MARKS) -> bool:
    return ends_sentence(word, marks)


def line_limit(text: str, max_line: int = MAX_LINE) -> int:
    """Cells a line of ``text`` may take: fewer when it holds wide (CJK) characters."""
    if display_width(text) > len(text):
        return max_line * MAX_LINE_WIDE // MAX_LINE
    return max_line


def _fits(text: str, max_line: int = MAX_LINE) -> bool:
    lines = wrap(text, max_line)
    limit = line_limit(text, max_line)
    return len(lines) <= MAX_LINES and all(display_width(line) <= limit for line in lines)


def wrap(text: str, max_line: int = MAX_LINE) -> list[str]:
    """One line if it fits, else two lines split at the most balanced break.

    Breaks are spaces, and the places between two characters of a script
    written without spaces; widths are display cells.
    """
    if display_width(text) <= line_limit(text, max_line):
        return [text]
    breaks = [i for i in range(1, len(text)) if _breaks_at(text, i)]
    best: list[str] | None = None
    best_width = 0
    for i in breaks:
        a, b = text[:i].rstrip(" "), text[i:].lstrip(" ")
        width = max(display_width(a), display_width(b))
        if a and b and (best is None or width < best_width):
            best, best_width = [a, b], width
    return best or [text]


def _breaks_at(text: str, i: int) -> bool:
    """Whether a line may break before ``text[i]`` (never before closing punctuation)."""
    if text[i] == " ":
        return True
    if text[i - 1] == " " or text[i] in CLAUSE_MARKS + "」』）】》":
        return False
    return not needs_space(text[i - 1], text[i])


def _fix_durations(cues: list[Cue]) -> None:
    """Hold each cue at least MIN_MS and at most MAX_MS, never overlapping its neighbours.

    A short cue ("Okay.") first takes the silence after it, then the silence
    before it; only when both are too short does the next cue wait (by less
    than a second), so cues drift from the speech as little as possible.
    """
    for i, cue in enumerate(cues):
        nxt = cues[i + 1] if i + 1 < len(cues) else None
        previous_end = cues[i - 1].end_ms if i else 0
        cue.end_ms = min(cue.end_ms, cue.start_ms + MAX_MS)
        if cue.end_ms - cue.start_ms < MIN_MS:
            limit = nxt.start_ms if nxt is not None else cue.start_ms + MIN_MS
            cue.end_ms = max(cue.end_ms, min(cue.start_ms + MIN_MS, limit))
        if cue.end_ms - cue.start_ms < MIN_MS:
            cue.start_ms = max(previous_end, cue.end_ms - MIN_MS)
        if cue.end_ms - cue.start_ms < MIN_MS:
            cue.end_ms = cue.start_ms + MIN_MS
        if nxt is not None and nxt.start_ms < cue.end_ms:
            shift = cue.end_ms - nxt.start_ms
            nxt.start_ms += shift
            nxt.end_ms += shift


def _stamp(ms: int, sep: str) -> str:
    ms = max(0, int(ms))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, milli = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{milli:03d}"


def render_srt(script: Script, *, timestamps: bool = True) -> str:
    blocks = []
    for n, cue in enumerate(build_cues(script), 1):
        times = f"{_stamp(cue.start_ms, ',')} --> {_stamp(cue.end_ms, ',')}"
        blocks.append(f"{n}\n{times}\n" + "\n".join(cue.lines) + "\n")
    return "\n".join(blocks)


def render_vtt(script: Script, *, timestamps: bool = True) -> str:
    blocks = ["WEBVTT\n"]
    for cue in build_cues(script):
        times = f"{_stamp(cue.start_ms, '.')} --> {_stamp(cue.end_ms, '.')}"
        blocks.append(f"{times}\n" + "\n".join(cue.lines) + "\n")
    return "\n".join(blocks)
