"""Scripts in every writing system, tested at the script level.

No offline voice speaks Mandarin, Japanese or Arabic well enough for Whisper
(espeak-ng's Mandarin is heard as English), so these scripts are made by hand
with known words and times, and go through what real ones go through:
paragraphs, subtitles, DOCX, Fountain, edits and renames.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from tui.engine.formats import write
from tui.engine.formats.subtitles import MAX_LINE, MAX_LINE_WIDE, build_cues, render_srt
from tui.engine.script import PARAGRAPH_SOFT_WORDS, Script, Word, build_turns
from tui.engine.writing import display_width, is_rtl, join_words, split_units

# Chinese as Whisper gives it: words without spaces, punctuation on the word before.
ZH = "大家好，欢迎收看今天的节目。我们今天聊一聊怎么用手机拍视频。首先，光线很重要！然后，声音也要清楚。最后，别忘了剪辑？"
AR = "مرحبا بكم في البرنامج. اليوم نتحدث عن التصوير بالهاتف."
JA = "こんにちは、今日は動画の撮り方について話します。"


def timed(tokens: list[str], start: int = 0, step: int = 300) -> list[Word]:
    return [Word(t, start + i * step, start + (i + 1) * step - 20) for i, t in enumerate(tokens)]


ZH_WORDS = (
    "大家 好， 欢迎 收看 今天 的 节目。 我们 今天 聊一聊 怎么 用 手机 拍 视频。 首先， "
    "光线 很 重要！ 然后， 声音 也要 清楚。 最后， 别忘了 剪辑？"
).split()


def zh_words() -> list[Word]:
    # Words as Whisper gives them for Chinese: no spaces, punctuation on the word before.
    assert "".join(ZH_WORDS) == ZH
    return timed(ZH_WORDS)


def script_of(words: list[Word], language: str, speakers: list[str] | None = None) -> Script:
    ids = speakers or ["S1"] * len(words)
    script = Script(language=language, languages=[language], turns=build_turns(words, ids))
    script.speakers = {s: f"Speaker {s[1:]}" for s in dict.fromkeys(ids)}
    script.source = f"talk_{language}.mp4"
    script.duration_ms = words[-1].e + 500
    return script


def test_chinese_words_join_without_spaces() -> None:
    script = script_of(zh_words(), "zh")
    assert script.turns[0].text == ZH
    assert " " not in script.text.split(": ", 1)[1]
    # Mixed with a spaced script, the spaces stay where they belong.
    assert join_words(["我们", "用", "Python", "写", "代码。"]) == "我们用 Python 写代码。"


def test_chinese_paragraphs_end_at_chinese_sentence_marks() -> None:
    words = timed(["你好"] * (PARAGRAPH_SOFT_WORDS - 1) + ["结束了。", "下一段", "开始。"])
    turns = build_turns(words, ["S1"] * len(words))
    assert len(turns) == 2
    assert turns[0].text.endswith("你好结束了。") and turns[1].text == "下一段开始。"


def test_subtitle_lines_are_measured_in_display_cells(tmp_path: Path) -> None:
    script = script_of(zh_words() + timed(list(JA), 30_000, 120), "zh")
    cues = build_cues(script)
    assert len(cues) > 1
    for cue in cues:
        assert len(cue.lines) <= 2
        for line in cue.lines:
            assert display_width(line) <= MAX_LINE_WIDE, line
            assert 8 <= len(line) <= 18 or cue is cues[-1] or len(cue.lines) == 1
            assert " " not in line  # no space pushed between CJK characters
    # A wide line of 18 characters is 36 cells, under the 42 a Latin line may take.
    assert display_width("你" * 18) == MAX_LINE_WIDE < MAX_LINE
    srt = render_srt(script)
    assert "欢迎收看" in srt and "00:00:00,000 --> " in srt


def test_latin_subtitles_keep_42_characters() -> None:
    words = timed(("the quick brown fox jumps over the lazy dog and runs away " * 3).split())
    for cue in build_cues(script_of(words, "en")):
        assert all(len(line) <= MAX_LINE for line in cue.lines)


def test_cjk_edit_keeps_the_times_of_unchanged_words() -> None:
    script = script_of(zh_words(), "zh")
    before = [(w.w, w.s, w.e) for w in script.turns[0].words]
    at = ZH_WORDS.index("手机")
    edited = ZH.replace("手机", "相机")  # one word changed, no spaces anywhere
    script.edit_turn_text(0, edited)
    turn = script.turns[0]
    assert turn.text == edited
    after = [(w.w, w.s, w.e) for w in turn.words]
    assert "".join(w for w, _, _ in after) == edited
    # Every other word keeps its exact times; the new word takes the old one's span.
    assert after[:at] == before[:at]
    changed = len(after) - len(before) + 1
    assert after[at + changed :] == before[at + 1 :]
    new = after[at : at + changed]
    assert "".join(w for w, _, _ in new) == "相机"
    assert new[0][1] == before[at][1] and new[-1][2] == before[at][2]


def test_split_units_uses_the_recognised_words() -> None:
    assert split_units("你好世界。", {"你好", "世界"}) == ["你好", "世界。"]
    assert split_units("你好世界", set()) == ["你", "好", "世", "界"]
    assert split_units("hello 世界 world") == ["hello", "世", "界", "world"]


def test_rtl_text_stays_in_logical_order_with_a_right_to_left_docx(tmp_path: Path) -> None:
    words = timed(AR.split())
    script = script_of(words, "ar")
    script.speakers = {"S1": "سارة"}
    assert script.turns[0].text == AR  # logical order: exactly as spoken, never reversed
    assert is_rtl(script.turns[0].text)
    path = write(script, "docx", tmp_path)
    xml = zipfile.ZipFile(path).read("word/document.xml").decode("utf-8")
    assert "<w:bidi/>" in xml and "<w:rtl/>" in xml and 'w:bidi="ar"' in xml
    assert "البرنامج" in xml and "سارة" in xml
    import docx

    paragraph = docx.Document(str(path)).paragraphs[-1]
    assert paragraph.text.endswith(AR)


def test_fountain_and_docx_with_non_latin_names(tmp_path: Path) -> None:
    words = zh_words()
    speakers = ["S1"] * 10 + ["S2"] * (len(words) - 10)
    script = script_of(words, "zh", speakers)
    script.rename_speaker("Speaker 1", "王芳")
    script.rename_speaker("S2", "Алексей")
    fountain = write(script, "fountain", tmp_path).read_text(encoding="utf-8")
    assert "\n@王芳\n" in fountain and "\n@АЛЕКСЕЙ\n" in fountain
    assert "Chinese (zh) audio" in fountain
    xml = zipfile.ZipFile(write(script, "docx", tmp_path)).read("word/document.xml").decode()
    assert "王芳: " in xml and "Алексей: " in xml and 'w:eastAsia="zh"' in xml
    md = write(script, "md", tmp_path).read_text(encoding="utf-8")
    assert "- Language: Chinese (zh)" in md and "**[00:00:00] 王芳:** 大家好，" in md


def test_translated_and_two_language_headers(tmp_path: Path) -> None:
    script = script_of(timed("Hello and welcome.".split()), "en")
    script.translated_from = "fr"
    assert (
        "- Language: English (translated from French)" in write(script, "md", tmp_path).read_text()
    )
    script.translated_from, script.languages = "", ["es", "fr"]
    assert "- Language: Spanish (es), French (fr)" in write(script, "md", tmp_path).read_text()


def test_a_full_cue_leaves_no_word_alone_in_the_next() -> None:
    """A sentence one word too long for a cue is cut evenly, not into a full cue and a
    one-word cue ("número." alone on screen for a second)."""
    sentence = (
        "clave incorrecta, por favor ingrese su número de agentes seguido por la tecla de número."
    )
    words = timed(sentence.split(), 0, 350) + timed(["Gracias."], 20_000)
    cues = build_cues(script_of(words, "es"))
    shown = [" ".join(c.lines) for c in cues]
    assert " ".join(shown).split() == [w.w for w in words]
    assert shown[-1] == "Gracias."  # alone after a pause: that is the speech's own rhythm
    assert [len(s.split()) for s in shown[:-1]] == [7, 8], shown  # was 14 and 1
    for cue in cues:
        assert len(cue.lines) <= 2 and all(len(line) <= MAX_LINE for line in cue.lines)
    # The same in a script without spaces: no one-word cue after a full one.
    # (24 characters of 0.3 s: the 7 s a cue may last hold 23 of them; "。" was left alone.)
    zh_cues = build_cues(
        script_of(timed(list("我们今天聊一聊怎么用手机拍视频然后再聊一聊剪辑。")), "zh")
    )
    assert ["".join(c.lines) for c in zh_cues] == [
        "我们今天聊一聊怎么用手机",
        "拍视频然后再聊一聊剪辑。",
    ]
