"""Writing systems: joining words, splitting text, display width and direction.

Chinese, Japanese, Thai and a few others write words without spaces, so words
are joined with a space only where one of the two sides is a spaced script
("我们 use Python" keeps its spaces, "你好世界" gets none).  Display width
(East Asian characters take two terminal/subtitle cells) comes from the
``wcwidth`` package.  Right-to-left text (Arabic, Hebrew) is always stored in
logical order; :func:`is_rtl` tells a writer which direction to declare.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable

from wcwidth import wcswidth, wcwidth


def plural(count: int, noun: str) -> str:
    """``1 turn``, ``3 turns`` (English nouns that take an s)."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


# Scripts written without spaces between words (code point ranges).
_NO_SPACE_RANGES = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x0F00, 0x0FFF),  # Tibetan
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x2E80, 0x2FFF),  # CJK radicals
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3100, 0x31FF),  # Bopomofo, Katakana extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF00, 0xFF60),  # full-width forms (，！？ and friends)
    (0xFF61, 0xFF9F),  # half-width Katakana
    (0x20000, 0x3FFFF),  # CJK extensions B and later
)
#: Characters that end a sentence, in any script.
SENTENCE_MARKS = ".!?。！？…؟।"
#: Characters after which a line or a cue may break (clause ends).
CLAUSE_MARKS = ",;:.?!，、；：。！？…،؛؟"
_TRAILING = "\"')”’」』）】》"


def text_pattern(text: str, whole_words: bool = False) -> re.Pattern[str]:
    """``text`` as typed (not a pattern), ignoring case; with ``whole_words``, not inside a
    longer word or number of a spaced script ("the" is not in "they", "Rene" is not in
    "René"); a word of a script written without spaces needs no boundary either way."""
    head = tail = ""
    if whole_words:
        head = rf"(?<!{_SPACED_WORD})" if _in_spaced_word(text[:1]) else ""
        tail = rf"(?!{_SPACED_WORD})" if _in_spaced_word(text[-1:]) else ""
    return re.compile(head + re.escape(text) + tail, re.IGNORECASE)


# One character of a word of a spaced script: a letter or digit (any script) or a
# combining mark ("e" + U+0301), but not one of a script written without spaces.
_SPACED_WORD = (
    "(?:[^\\W_"
    + "".join(f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in _NO_SPACE_RANGES)
    + "]|[\\u0300-\\u036f])"
)


def _in_spaced_word(ch: str) -> bool:
    return bool(ch) and re.fullmatch(_SPACED_WORD, ch) is not None


def replace_text(text: str, old: str, new: str, whole_words: bool = False) -> tuple[str, int]:
    """``text`` with every match of :func:`text_pattern` ``old`` made ``new`` (as typed,
    never a pattern's backreference), and how many there were."""
    if not old:
        return text, 0
    return text_pattern(old, whole_words).subn(lambda _: new, text)


def no_space(ch: str) -> bool:
    """Whether ``ch`` belongs to a script written without spaces between words."""
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _NO_SPACE_RANGES)


def has_no_space_script(text: str) -> bool:
    return any(no_space(ch) for ch in text)


def needs_space(left: str, right: str) -> bool:
    """Whether two adjacent tokens are written with a space between them."""
    if not left or not right:
        return False
    return not (no_space(left[-1]) and no_space(right[0]))


def join_words(words: Iterable[str]) -> str:
    """Join word tokens into text: a space between them except inside spaceless scripts."""
    out = ""
    for word in words:
        word = word.strip()
        if not word:
            continue
        out = out + (" " if out and needs_space(out, word) else "") + word
    return out


def ends_sentence(token: str, marks: str = SENTENCE_MARKS) -> bool:
    """Whether ``token`` ends with one of ``marks`` (closing quotes and brackets aside)."""
    return token.strip().rstrip(_TRAILING).endswith(tuple(marks))


def split_units(text: str, vocabulary: Collection[str] = ()) -> list[str]:
    """Split ``text`` into word units: at spaces, and inside spaceless scripts.

    Within a run of a spaceless script the longest word of ``vocabulary`` that
    matches is taken (so words the recogniser found survive an edit whole),
    else one character; punctuation stays on the unit before it.
    """
    vocabulary = {v.strip().rstrip(CLAUSE_MARKS + _TRAILING) for v in vocabulary} - {""}
    longest = max((len(v) for v in vocabulary), default=1)
    units: list[str] = []
    for chunk in text.split():
        latin = ""  # a run of a spaced script inside the chunk
        after_spaceless = False  # the last unit was a spaceless-script word
        i = 0
        while i < len(chunk):
            ch = chunk[i]
            if _is_punct(ch) and after_spaceless and not latin:
                units[-1] += ch  # "好" + "。" stays one unit
                i += 1
            elif no_space(ch) and not _is_punct(ch):
                if latin:
                    units.append(latin)
                    latin = ""
                size = next(
                    (n for n in range(min(longest, len(chunk) - i), 1, -1)
                     if chunk[i : i + n] in vocabulary),
                    1,
                )  # fmt: skip
                units.append(chunk[i : i + size])
                after_spaceless = True
                i += size
            else:
                latin += ch
                after_spaceless = False
                i += 1
        if latin:
            units.append(latin)
    return units


def _is_punct(ch: str) -> bool:
    return unicodedata.category(ch).startswith("P")


def display_width(text: str) -> int:
    """Cells ``text`` takes on a screen or in a subtitle (East Asian wide = 2)."""
    width = wcswidth(text)
    if width >= 0:
        return width
    return sum(max(0, wcwidth(ch)) for ch in text)  # control characters count 0


def is_rtl(text: str) -> bool:
    """Whether ``text`` reads right to left (its first strongly directional letter is RTL)."""
    for ch in text:
        kind = unicodedata.bidirectional(ch)
        if kind in ("R", "AL"):
            return True
        if kind == "L":
            return False
    return False


def norm(token: str) -> str:
    """A token without case or punctuation, for comparing words across edits."""
    return re.sub(r"[^\w']", "", token.casefold())
