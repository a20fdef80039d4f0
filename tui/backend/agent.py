"""What ``/run_sse`` understands: plain rules from message text to one action.

Rules are tried in this order (the first that matches wins), English and
Chinese phrases side by side:

1. help         "help", "?", "what can you do", "帮助"
   voices       "remember Speaker 2 as Sheila", "forget Sheila", "who is Speaker 3?"
                (tui.backend.voices_actions)
2. rename       "rename Speaker 1 to Diane", "Speaker 2 is Sheila", "call speaker 2 Sheila",
                "把 Speaker 1 改名为 Diane"
3. merge        "merge Speaker 2 into Speaker 1", "merge speakers 1 and 2", "合并 Speaker 1 和 Speaker 2"
4. fillers      "remove filler words", "remove ums", "去掉语气词"
   replace      "replace Shiela with Sheila", 'replace "new york" with "New York"',
                "把 Shiela 替换为 Sheila" (whole words, ignoring case)
5. translate    "translate to English", "翻译成英文", "translate file 2"
6. export       "export srt", "export the script as docx", "导出 srt" (default format md);
                the captions burned into the picture: "export 1080p MP4", "export vertical
                video with captions" (1080x1920), "导出竖屏视频", "crop to 9:16"
7. credits      "credits", "balance", "积分", "余额"
8. status       "status", "show tracks", "jobs", "状态"
9. extract      "extract a full written script from this video with speaker labels",
                "transcribe", "提取脚本", with options in words: "2 speakers", "in French",
                "without timestamps", "file 2", "the second file", "interview.mp4", "all files"
10. anything else: a short list of what it can do (never an error)

A message may ask for several things: "rename Speaker 1 to Host and export
srt", "transcribe, then export srt and vtt", "Speaker 1 is Ann and Speaker 2
is Bo".  It is cut into clauses at "and", "then", commas and semicolons (然后,
并且, ，) -- but only where what follows starts like a request of its own (a
verb of the rules above, or "Speaker N is/to ..." after a rename); otherwise
the words stay with the clause before ("merge speakers 1 and 2", "rename
Speaker 1 to Tom and Jerry", "transcribe, 2 speakers, in French").  "export
srt and vtt" is two exports.  The clauses are done in order; what comes after
an extraction waits for its script (see :mod:`tui.backend.actions`).

Each action answers in docs/api.md's event format: a ``function_call`` part, then
its ``function_response`` and a ``text``; an extraction queues a job whose
progress events and final answer follow on the same stream.  The actions
themselves live in :mod:`tui.backend.actions`.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from tui.backend import actions, voices_actions
from tui.backend.config import Backend

NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "一": 1, "两": 2, "二": 2, "三": 3, "四": 4, "五": 5,
}  # fmt: skip
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "last": -1}
LANGUAGES = {
    "english": "en", "chinese": "zh", "mandarin": "zh", "french": "fr", "german": "de",
    "spanish": "es", "italian": "it", "japanese": "ja", "korean": "ko", "portuguese": "pt",
    "russian": "ru", "dutch": "nl", "arabic": "ar", "hindi": "hi", "中文": "zh", "英文": "en",
    "英语": "en", "法语": "fr", "德语": "de", "日语": "ja", "西班牙语": "es",
}  # fmt: skip
FORMAT_WORDS = {
    "srt": "srt", "vtt": "vtt", "webvtt": "vtt", "subtitles": "srt", "subtitle": "srt",
    "md": "md", "markdown": "md", "txt": "txt", "text": "txt", "json": "json", "docx": "docx",
    "word": "docx", "fountain": "fountain", "mp4": "mp4", "video": "mp4", "字幕": "srt",
}  # fmt: skip

SPEAKER = r"(speaker\s*\d+|s\d+|\d+|[^\s,]+)"
RENAME = [
    re.compile(rf"\brename\s+{SPEAKER}\s+(?:to|as)\s+(?P<name>.+)", re.I),
    re.compile(r"\b(?P<who>speaker\s*\d+)\s+(?:is|=)\s+(?P<name>.+)", re.I),
    re.compile(r"\bcall\s+(?P<who>speaker\s*\d+)\s+(?P<name>.+)", re.I),
    re.compile(r"把\s*(?P<who>.+?)\s*(?:改名为|改名成|重命名为|改成)\s*(?P<name>.+)"),
    re.compile(r"(?P<who>speaker\s*\d+|说话人\s*\d+)\s*(?:是|叫)\s*(?P<name>.+)", re.I),
]
REPLACE = [
    re.compile(
        r"\breplace\s+(?P<old>\"[^\"]+\"|“[^”]+”|'[^']+'|.+?)\s+(?:with|by)\s+(?P<new>.+)", re.I
    ),
    re.compile(r"(?:把|将)\s*(?P<old>.+?)\s*(?:替换为|替换成|换成)\s*(?P<new>.+)"),
]
MERGE = [
    re.compile(rf"\bmerge\s+(?:speakers\s+)?{SPEAKER}\s+(?:into|with|and|to)\s+{SPEAKER}", re.I),
    re.compile(r"合并\s*(\S+?)\s*(?:和|与|到)\s*(\S+)"),
]


@dataclass
class Intent:
    """One understood message: the action's name and its arguments."""

    action: str
    args: dict[str, Any] = field(default_factory=dict)
    said: str = ""


def _has(text: str, *words: str) -> bool:
    return any(re.search(_word(w), text) for w in words)


def _word(word: str) -> str:
    """``word`` standing alone (not inside a longer word), as a pattern."""
    return rf"(?<![a-z]){re.escape(word)}(?![a-z])"


def _clean_name(name: str) -> str:
    return name.strip().strip(".!。！\"'“”").strip()


#: Where a message may be cut into clauses (kept, so a clause not cut off is rejoined whole).
SEPARATOR = re.compile(
    r"(\s*[;；]\s*|\s*,?\s+(?:and\s+)?then\s+|\s*,\s*and\s+|\s+and\s+|\s*[,，]\s*"
    r"|\s*(?:然后|并且|再)\s*)",
    re.I,
)
#: How a clause of its own begins: a request's verb (after "please", "also", "then").
CLAUSE_START = re.compile(
    r"^(?:(?:please|also|then|and|finally|请|也)\s*)*"
    r"(?:rename|replace|remember|forget|who\s+is|call\s|merge|remove|delete|drop|clean|translate|export|download|save\s+as"
    r"|show|check|what|how\s+many|extract|transcribe|script\s|status|credits?\b|balance"
    r"|help\b|speaker\s*\d+\s+(?:is|=)|把|将|合并|去掉|删除|翻译|导出|下载|提取|转录|转写|显示"
    r"|查看|状态|积分|余额|帮助|说话人\s*\d+\s*(?:是|叫))",
    re.I,
)
#: "..., Speaker 2 to Guest" right after a rename is a rename too.
RENAME_MORE = re.compile(rf"^{SPEAKER}\s+(?:to|as)\s+\S", re.I)
#: Format words that name a format exactly (others, like "subtitles" or "video", only
#: count when none of these is said).
EXACT_FORMATS = {"srt", "vtt", "webvtt", "md", "markdown", "txt", "json", "docx", "fountain", "mp4"}
#: Words asking for the captions in the picture (a video to post), and for a vertical frame.
CAPTIONED = re.compile(
    r"1080|720|\bhd\b|vertical|portrait|9\s*:\s*16|16\s*:\s*9|burn|hard[\s-]*sub|captioned"
    r"|(?:captions?|subtitles?)\s+(?:in|on|into)\s+the\s+(?:picture|video|image)"
    r"|(?:video|mp4)\s+with\s+(?:the\s+)?(?:captions?|subtitles?)|shorts|reels?\b|tiktok"
    r"|竖屏|横屏|竖版|横版|烧录|硬字幕|带字幕的视频|字幕视频|抖音|视频号|快手"
    r"|(?:导出|下载)\S{0,4}视频",
    re.I,
)
VERTICAL = re.compile(r"vertical|portrait|9\s*:\s*16|1080\s*x\s*1920|shorts|reels?\b|tiktok"
                      r"|竖屏|竖版|抖音|视频号|快手", re.I)  # fmt: skip


def understand_all(text: str) -> list[Intent]:
    """Every request of ``text``, in order (see the module docstring); at least one."""
    pieces = SEPARATOR.split(text.strip())
    clauses = [pieces[0]]
    for separator, piece in zip(pieces[1::2], pieces[2::2], strict=True):
        before = understand(clauses[-1]).action
        if before == "rename" and RENAME_MORE.match(piece):
            clauses.append("rename " + piece)
        elif CLAUSE_START.match(piece) and understand(piece).action not in ("unknown", "help"):
            clauses.append(piece)
        else:
            clauses[-1] += separator + piece
    intents: list[Intent] = []
    for clause in clauses:
        intent = understand(clause)
        if intent.action == "export":
            formats = _formats(clause)
            frame = video_frame(clause)
            intents.extend(
                Intent(
                    "export",
                    {**intent.args, "format": fmt, **(frame if fmt == "captioned" else {})},
                    f"export {fmt}" if len(formats) > 1 else clause.strip(),
                )
                for fmt in formats
            )
        else:
            intents.append(Intent(intent.action, intent.args, clause.strip()))
    return intents


def _formats(text: str) -> list[str]:
    """The export formats ``text`` names, in order and once each; md when it names none."""
    lower = text.lower()
    said = sorted(
        (match.start(), word) for word in FORMAT_WORDS for match in re.finditer(_word(word), lower)
    )
    exact = [word for _, word in said if word in EXACT_FORMATS]
    if CAPTIONED.search(lower):  # "export 1080p MP4", "vertical video with captions"
        return list(dict.fromkeys([FORMAT_WORDS[w] for w in exact if w != "mp4"] + ["captioned"]))
    words = exact or [word for _, word in said]
    return list(dict.fromkeys(FORMAT_WORDS[w] for w in words)) or ["md"]


def video_frame(text: str) -> dict[str, str]:
    """The captioned export's frame said in words: vertical or not, cropped or blurred."""
    lower = text.lower()
    if VERTICAL.search(lower):
        resolution = "1080x1920"
    elif re.search(r"source|original\s+size|原尺寸|原始尺寸|原画", lower):
        resolution = "source"
    else:
        resolution = "1080p"
    fit = "crop" if re.search(r"(?<![a-z])crop|裁剪|裁切", lower) else "blur"
    return {"resolution": resolution, "fit": fit}


def understand(text: str) -> Intent:
    """The rules of the module docstring, in order, for one request."""
    lower = text.strip().lower()
    if not lower or lower in ("?", "help") or _has(lower, "help", "what can you do", "帮助"):
        return Intent("help")
    voice = voices_actions.understand(text)
    if voice is not None:
        return Intent(*voice)
    for pattern in REPLACE:
        match = pattern.search(text)
        if match and _clean_name(match.group("old")) and _clean_name(match.group("new")):
            return Intent(
                "replace",
                {"old": _clean_name(match.group("old")), "new": _clean_name(match.group("new"))},
            )
    for pattern in RENAME:
        match = pattern.search(text)
        if match:
            who = match.group("who") if "who" in match.groupdict() else match.group(1)
            return Intent(
                "rename", {"speaker": who.strip(), "name": _clean_name(match.group("name"))}
            )
    for pattern in MERGE:
        match = pattern.search(text)
        if match:
            return Intent("merge", {"source": match.group(1), "target": match.group(2)})
    if _has(lower, "filler", "fillers", "ums", "uhs", "语气词", "口头禅", "填充词"):
        return Intent("fillers")
    if _has(lower, "translate", "translation", "翻译"):
        which = extract_options(text).get("file")  # "translate file 2", "translate interview.mp4"
        return Intent("translate", {"language": "en", **({"file": which} if which else {})})
    if _has(lower, "export", "download", "save as", "导出", "下载"):
        fmt = _formats(text)[0]
        args = {"format": fmt, "timestamps": not _no_timestamps(lower)}
        return Intent("export", {**args, **(video_frame(text) if fmt == "captioned" else {})})
    if _has(lower, "credit", "credits", "balance", "积分", "余额"):
        return Intent("credits")
    if _has(lower, "status", "track", "tracks", "jobs", "progress", "状态", "轨道"):
        return Intent("status")
    if _has(lower, "extract", "transcribe", "transcript", "script", "提取", "脚本", "转录", "转写"):
        return Intent("extract", extract_options(text))
    return Intent("unknown")


def _no_timestamps(lower: str) -> bool:
    return bool(
        re.search(r"(without|no|off|hide)\s+time\s*stamps?|time\s*stamps?\s+off|不要时间", lower)
    )


def extract_options(text: str) -> dict[str, Any]:
    """Options said in words: speakers, language, timestamps, which file."""
    lower = text.lower()
    options: dict[str, Any] = {"timestamps": not _no_timestamps(lower)}
    # The first number before "speakers" (not "with speaker labels": "with" is no number).
    for said in re.finditer(
        r"(\d+|[a-z]+|[一二两三四五])\s*(?:个)?\s*(?:speakers?|people|voices|说话人|人)", lower
    ):
        word = said.group(1)
        count = int(word) if word.isdigit() else NUMBERS.get(word)
        if count:
            options["speakers"] = count
            break
    match = re.search(r"speakers?\s*[:=]\s*(\d+)", lower)
    if match:
        options["speakers"] = int(match.group(1))
    match = re.search(r"language\s*[:=]?\s*([a-z]{2,3})\b", lower)
    if match and match.group(1) not in ("is", "of"):
        options["language"] = match.group(1)
    for name, code in LANGUAGES.items():
        if re.search(rf"\b(in|into|language)\s+{name}\b", lower) or (
            not name.isascii() and name in lower
        ):
            options["language"] = code
    if _has(lower, "all files", "every file", "each file", "all videos", "所有", "全部"):
        options["file"] = "all"
    match = re.search(r"\b(?:file|video|#)\s*(\d+)", lower) or re.search(r"第\s*(\d+)\s*个", lower)
    if match:
        options["file"] = int(match.group(1))
    match = re.search(r"\b(first|second|third|fourth|fifth|last)\s+(?:file|video|one)", lower)
    if match:
        options["file"] = ORDINALS[match.group(1)]
    match = re.search(r"([\w.-]+\.(?:mp4|mov|avi|webm|mkv|mp3|wav|m4a|aac))\b", text, re.I)
    if match:
        options["file"] = match.group(1)
    return options


def handle(
    backend: Backend, session: sqlite3.Row, token: str, text: str, if_edited: str | None = None
) -> str:
    """Understand ``text``, act on it, store the answer's events; returns the invocation id.

    Raises an API error (e.g. 2001 not enough credits) before anything is
    stored when the request cannot start at all.  ``if_edited`` is the
    request's choice for scripts holding the user's edits (see docs/api.md).
    """
    intents = understand_all(text)
    if any(intent.action == "translate" for intent in intents):
        _ = backend.model_multilingual  # resolved (and cached) before the action's transaction
    return actions.perform(
        backend, session, token, text, [(i.action, i.args, i.said) for i in intents], if_edited
    )
