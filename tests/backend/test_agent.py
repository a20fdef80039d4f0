"""The message rules of agent.py: what each phrase (English and Chinese) is understood as."""

from __future__ import annotations

import pytest

from tui.backend.agent import understand


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
