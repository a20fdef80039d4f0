"""The message rules of agent.py: what each phrase (English and Chinese) is understood as."""

from __future__ import annotations

import pytest

from tui.backend.agent import understand, understand_all


@pytest.mark.parametrize(
    ("text", "action", "args"),
    [
        (
            "extract a full written script from this video with speaker labels",
            "extract",
            {"timestamps": True},
        ),
        ("transcribe", "extract", {}),
        ("提取脚本", "extract", {}),
        ("transcribe with 3 speakers in French", "extract", {"speakers": 3, "language": "fr"}),
        (
            "extract the script, two speakers, without timestamps",
            "extract",
            {"speakers": 2, "timestamps": False},
        ),
        ("transcribe the second file", "extract", {"file": 2}),
        (
            "extract a full written script from this video with speaker labels, 3 speakers",
            "extract",
            {"speakers": 3},
        ),
        ("transcribe interview.mp4", "extract", {"file": "interview.mp4"}),
        ("transcribe all files", "extract", {"file": "all"}),
        ("提取第2个视频的脚本，两个说话人", "extract", {"file": 2, "speakers": 2}),
        ("rename Speaker 1 to Diane", "rename", {"speaker": "Speaker 1", "name": "Diane"}),
        ("Speaker 2 is Sheila", "rename", {"speaker": "Speaker 2", "name": "Sheila"}),
        ("把 Speaker 1 改名为 Diane", "rename", {"speaker": "Speaker 1", "name": "Diane"}),
        ("merge Speaker 2 into Speaker 1", "merge", {"source": "Speaker 2", "target": "Speaker 1"}),
        ("merge speakers 1 and 2", "merge", {"source": "1", "target": "2"}),
        ("合并 Speaker1 和 Speaker2", "merge", {"source": "Speaker1", "target": "Speaker2"}),
        ("remove filler words", "fillers", {}),
        ("去掉语气词", "fillers", {}),
        ("replace Shiela with Sheila", "replace", {"old": "Shiela", "new": "Sheila"}),
        ('replace "new york" with "New York"', "replace", {"old": "new york", "new": "New York"}),
        ("把 王方 替换为 王芳", "replace", {"old": "王方", "new": "王芳"}),
        ("translate to English", "translate", {"language": "en"}),
        ("翻译成英文", "translate", {}),
        ("translate file 2 to English", "translate", {"file": 2, "language": "en"}),
        ("status", "status", {}),
        ("show tracks", "status", {}),
        ("状态", "status", {}),
        ("credits", "credits", {}),
        ("积分", "credits", {}),
        ("余额", "credits", {}),
        ("export srt", "export", {"format": "srt"}),
        ("export the script as a word document", "export", {"format": "docx"}),
        ("导出", "export", {"format": "md"}),
        ("export vtt without timestamps", "export", {"format": "vtt", "timestamps": False}),
        ("help", "help", {}),
        ("帮助", "help", {}),
        ("what's the weather like?", "unknown", {}),
    ],
)
def test_understand(text: str, action: str, args: dict) -> None:
    intent = understand(text)
    assert intent.action == action, intent
    for key, value in args.items():
        assert intent.args.get(key) == value, (key, intent)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rename Speaker 1 to Host and export srt", [("rename", "Host"), ("export", "srt")]),
        ("transcribe, then export srt and vtt", [("extract", None), ("export", "srt"), ("export", "vtt")]),
        ("Speaker 1 is Ann and Speaker 2 is Bo", [("rename", "Ann"), ("rename", "Bo")]),
        ("rename Speaker 1 to Host and Speaker 2 to Guest", [("rename", "Host"), ("rename", "Guest")]),
        ("merge speakers 1 and 2 and export srt", [("merge", None), ("export", "srt")]),
        ("remove filler words; export txt without timestamps", [("fillers", None), ("export", "txt")]),
        ("提取脚本，然后导出 srt", [("extract", None), ("export", "srt")]),
        ("replace rock and roll with jazz and export srt", [("replace", None), ("export", "srt")]),
        ("export srt, vtt and docx", [("export", "srt"), ("export", "vtt"), ("export", "docx")]),
        # One request, whatever its "and"s and commas:
        ("rename Speaker 1 to Tom and Jerry", [("rename", "Tom and Jerry")]),
        ("extract the script, two speakers, in French and without timestamps", [("extract", None)]),
        ("export the subtitles as vtt", [("export", "vtt")]),
        ("rename Speaker 1 to Host and fix the script", [("rename", "Host and fix the script")]),
    ],
)  # fmt: skip
def test_understand_all_cuts_only_between_requests(
    text: str, expected: list[tuple[str, str | None]]
) -> None:
    intents = understand_all(text)
    assert [i.action for i in intents] == [action for action, _ in expected], intents
    for intent, (_, detail) in zip(intents, expected, strict=True):
        if detail is not None:
            assert detail in (intent.args.get("name"), intent.args.get("format")), intent
    assert understand_all("extract the script, two speakers, in French and without timestamps")[
        0
    ].args == {"timestamps": False, "speakers": 2, "language": "fr"}
