"""The languages Whisper knows: codes, English names, and names people type.

Codes are Whisper's own (``es``, ``zh``, ``yue``, ``haw``); :func:`check_code`
turns what a user typed into one, or raises :class:`UnknownLanguage` (a usage
error, exit 2) whose message says how to list them (``reelscript languages``).
:func:`parse_name` finds a language in words ("Spanish", "español", "西班牙语").
"""

from __future__ import annotations

from tui.engine.errors import EngineError

#: Whisper's languages (openai-whisper's table), code -> English name.
NAMES = {
    "af": "Afrikaans", "am": "Amharic", "ar": "Arabic", "as": "Assamese",
    "az": "Azerbaijani", "ba": "Bashkir", "be": "Belarusian", "bg": "Bulgarian",
    "bn": "Bengali", "bo": "Tibetan", "br": "Breton", "bs": "Bosnian",
    "ca": "Catalan", "cs": "Czech", "cy": "Welsh", "da": "Danish", "de": "German",
    "el": "Greek", "en": "English", "es": "Spanish", "et": "Estonian",
    "eu": "Basque", "fa": "Persian", "fi": "Finnish", "fo": "Faroese",
    "fr": "French", "gl": "Galician", "gu": "Gujarati", "ha": "Hausa",
    "haw": "Hawaiian", "he": "Hebrew", "hi": "Hindi", "hr": "Croatian",
    "ht": "Haitian Creole", "hu": "Hungarian", "hy": "Armenian", "id": "Indonesian",
    "is": "Icelandic", "it": "Italian", "ja": "Japanese", "jw": "Javanese",
    "ka": "Georgian", "kk": "Kazakh", "km": "Khmer", "kn": "Kannada", "ko": "Korean",
    "la": "Latin", "lb": "Luxembourgish", "ln": "Lingala", "lo": "Lao",
    "lt": "Lithuanian", "lv": "Latvian", "mg": "Malagasy", "mi": "Maori",
    "mk": "Macedonian", "ml": "Malayalam", "mn": "Mongolian", "mr": "Marathi",
    "ms": "Malay", "mt": "Maltese", "my": "Myanmar", "ne": "Nepali", "nl": "Dutch",
    "nn": "Nynorsk", "no": "Norwegian", "oc": "Occitan", "pa": "Punjabi",
    "pl": "Polish", "ps": "Pashto", "pt": "Portuguese", "ro": "Romanian",
    "ru": "Russian", "sa": "Sanskrit", "sd": "Sindhi", "si": "Sinhala",
    "sk": "Slovak", "sl": "Slovenian", "sn": "Shona", "so": "Somali",
    "sq": "Albanian", "sr": "Serbian", "su": "Sundanese", "sv": "Swedish",
    "sw": "Swahili", "ta": "Tamil", "te": "Telugu", "tg": "Tajik", "th": "Thai",
    "tk": "Turkmen", "tl": "Tagalog", "tr": "Turkish", "tt": "Tatar",
    "uk": "Ukrainian", "ur": "Urdu", "uz": "Uzbek", "vi": "Vietnamese",
    "yi": "Yiddish", "yo": "Yoruba", "zh": "Chinese", "yue": "Cantonese",
}  # fmt: skip

# Other names people use (own-language and Chinese names of the common ones).
_ALIASES = {
    "mandarin": "zh", "中文": "zh", "汉语": "zh", "漢語": "zh", "普通话": "zh",
    "英文": "en", "英语": "en", "英語": "en", "español": "es", "castellano": "es",
    "西班牙语": "es", "西班牙文": "es", "français": "fr", "法语": "fr", "法文": "fr",
    "deutsch": "de", "德语": "de", "德文": "de", "italiano": "it", "意大利语": "it",
    "русский": "ru", "俄语": "ru", "俄文": "ru", "日本語": "ja", "日语": "ja", "日文": "ja",
    "한국어": "ko", "韩语": "ko", "韩文": "ko", "português": "pt", "葡萄牙语": "pt",
    "العربية": "ar", "阿拉伯语": "ar", "עברית": "he", "希伯来语": "he", "粤语": "yue",
    "廣東話": "yue", "farsi": "fa", "panjabi": "pa", "burmese": "my", "moldavian": "ro",
    "flemish": "nl", "castilian": "es", "pushto": "ps", "sinhalese": "si",
}  # fmt: skip

#: Scripts written without spaces between words.
NO_SPACE_LANGUAGES = frozenset({"zh", "yue", "ja", "th", "lo", "my", "km", "bo"})
#: Scripts written right to left.
RTL_LANGUAGES = frozenset({"ar", "he", "fa", "ur", "yi", "ps", "sd"})

HOW_TO_LIST = "see the codes with: reelscript languages"


class UnknownLanguage(EngineError):
    """A language code Whisper does not know: a usage error."""

    api_code = 422
    exit_code = 2


def name(code: str) -> str:
    """English name of a code (the code itself when unknown)."""
    return NAMES.get(code, code)


def check_code(language: str | None) -> str | None:
    """Normalise a user's ``--language`` (code or name); None means auto-detect."""
    if language is None or language.strip().lower() in ("", "auto"):
        return None
    wanted = language.strip()
    code = wanted.lower().replace("_", "-").split("-")[0]  # "pt-BR" -> "pt"
    if code in NAMES:
        return code
    found = parse_name(wanted)
    if found is not None:
        return found
    raise UnknownLanguage(f"unknown language {language!r}; {HOW_TO_LIST}")


def parse_name(text: str) -> str | None:
    """The code of a language named in ``text`` ("Spanish", "español", "西班牙语"), else None."""
    low = text.strip().casefold()
    if low in _ALIASES:
        return _ALIASES[low]
    for code, english in NAMES.items():
        if english.casefold() == low:
            return code
    return None


def find_in(text: str) -> str | None:
    """The first language named anywhere in ``text`` (longest name wins at a place)."""
    low = text.casefold()
    best: tuple[int, int, str] | None = None
    candidates = list(_ALIASES.items()) + [(n.casefold(), c) for c, n in NAMES.items()]
    for word, code in candidates:
        at = _find_word(low, word)
        if at >= 0 and (best is None or (at, -len(word)) < (best[0], best[1])):
            best = (at, -len(word), code)
    return best[2] if best else None


def _find_word(text: str, word: str) -> int:
    """Where ``word`` stands as a word in ``text`` (CJK names need no word boundary)."""
    start = 0
    while (at := text.find(word, start)) >= 0:
        before = text[at - 1] if at else " "
        after = text[at + len(word)] if at + len(word) < len(text) else " "
        if not word.isascii() or not (before.isalnum() or after.isalnum()):
            return at
        start = at + 1
    return -1


def listing() -> str:
    """All codes with their names, one per line (``reelscript languages``)."""
    return "\n".join(f"{code:<4} {english}" for code, english in sorted(NAMES.items()))
