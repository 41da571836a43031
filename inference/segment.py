"""Split articles into segments the size of the training units.

The model was trained on sentences and short paragraphs, so a long article is
cut into paragraphs, and paragraphs longer than ``max_words`` into runs of
whole sentences. Segments are spans of the original text; nothing is dropped
(a sentence longer than ``max_words`` stays whole and is windowed later).
"""

from __future__ import annotations

import re

_PARAGRAPH = re.compile(r"[^\n]+")  # one line = one paragraph; blank lines vanish
# Sentence end: . ! ? ؟ … followed by space; not inside numbers like 3.5
_SENTENCE_END = re.compile(r"(?<=[.!?\u061f\u2026])\s+")
_WORD = re.compile(r"\S+")


def _sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    out, pos = [], start
    for m in _SENTENCE_END.finditer(text, start, end):
        out.append((pos, m.start()))
        pos = m.end()
    if pos < end:
        out.append((pos, end))
    return [(s, e) for s, e in out if text[s:e].strip()]


def split_segments(text: str, max_words: int = 80) -> list[tuple[int, int]]:
    """Segment spans ``(start, end)`` of ``text``: stripped, non-empty, in order."""
    segments: list[tuple[int, int]] = []
    for para in _PARAGRAPH.finditer(text):
        s, e = para.span()
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if s == e:
            continue
        if len(_WORD.findall(text, s, e)) <= max_words:
            segments.append((s, e))
            continue
        # Greedy packing of whole sentences up to max_words.
        cur_s, cur_e, cur_n = None, None, 0
        for ss, se in _sentences(text, s, e):
            n = len(_WORD.findall(text, ss, se))
            if cur_s is not None and cur_n + n > max_words:
                segments.append((cur_s, cur_e))
                cur_s, cur_n = None, 0
            if cur_s is None:
                cur_s = ss
            cur_e, cur_n = se, cur_n + n
        if cur_s is not None:
            segments.append((cur_s, cur_e))
    return segments
