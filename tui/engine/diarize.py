"""Speaker labels: who speaks when, from speaker embeddings and clustering.

Interface (replaceable: a better method plugs in behind :func:`get_diarizer`):

    diarizer = get_diarizer("builtin")            # or "pyannote"
    result = diarizer.diarize(audio, words, num_speakers=None, min_speakers=None,
                              max_speakers=None, progress=None)
    result.word_speakers   # one 0-based speaker index per word, in order
    result.segments        # [SpeakerSegment(start_ms, end_ms, speaker)] speaker regions
    result.speech          # [(start_ms, end_ms)] speech regions found by VAD
    result.num_speakers

``audio`` is 16 kHz mono float32 (numpy), ``words`` the ASR words
(:class:`tui.engine.script.Word`, times in ms).
"""

from __future__ import annotations
