"""Word segmentation shared by training, evaluation and inference.

Labels live on words (the first sub-word of each word carries the tag), so
every entity boundary must fall on a word boundary. Arabic attaches
conjunctions and prepositions to the next word, and the schema puts span
starts after them (``والميليشيات`` -> span ``الميليشيات``; ``للنظام`` ->
``نظام``). This module splits those proclitics off, conservatively: the
definite article makes the split safe; without it we split only conjunctions
(و، ف) before words of three letters or more, and prepositions (ب، ل، ك) before
stems known to start entities.
"""

from __future__ import annotations

import re

# Letters with their combining marks and tatweel (kept when not normalised away).
_MARKS = "\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640"
_TOKEN = re.compile(rf"(?:[^\W\d_]|[{_MARKS}])+|\d+(?:[.,\u066b\u066c]\d+)*|\S")
_ARABIC = re.compile(r"[\u0600-\u06ff]")

# Stems that begin entity spans after a preposition (لقوات، بتنظيم). Checkpoints
# may add their own (learnt from the training spans).
DEFAULT_STEMS = frozenset(
    """قوات تنظيم جماعة حركة ميليشيا ميليشيات مليشيا مليشيات مسلحي مسلحين مسلحو مسلحون
    عناصر فصائل فصيل كتائب كتيبة سرايا لواء ألوية الوية جيش حزب جبهة هيئة وحدات وحدة
    خلايا خلية شرطة قوة مقاتلي مقاتلين مجموعات مجموعة متمردي متمردين عصابات عصابة
    حرس سلاح طيران مدفعية بحرية جنود جنديين أفراد منتسبي متمردو قيادة قيادات جهاز فيلق فرقة
    مجلس طالبان داعش حماس فاغنر بوكو حزام ائتلاف تحالف مغاوير قوى""".split()
)
# Frequent words whose first letter is و/ف but not a conjunction.
_NOT_CLITIC = frozenset(
    """وزارة وزير وزراء وزيرة وكالة وكالات ولاية ولايات وسط وقت وقف وحدات وحدة واشنطن وادي
    وفاة وفق وفقا وقائع واقع واقعة وثيقة وجود وصول وضع وطني وطنية ولاية وكيل وسيط وساطة
    فريق فرقة فصائل فصيل فرع فرنسا فلسطين فلسطيني فلسطينية فجر فترة فجرا فندق فيديو
    فيلق فوج فتاة فتيات فتى فتية فقط فوق فور فورا واحد واحدة واحدا وحيد وحيدا فرد فردا افراد""".split()
)


def _split_clitics(word: str, stems: frozenset[str]) -> list[str]:
    if not _ARABIC.match(word) or len(word) < 4:
        return [word]
    # (و|ف)? + لل + stem: للنظام -> لل | نظام
    m = re.match(r"^([وف]?لل)(.{2,})$", word)
    if m:
        return list(m.groups())
    # (و|ف)? (ب|ل|ك)? + ال...: والجيش -> و | الجيش, بالقوات -> ب | القوات
    m = re.match(r"^([وف]?[بلك]?)(ال.{2,})$", word)
    if m and m.group(1):
        return list(m.groups())
    # (و|ف)? (ب|ل|ك) + known stem: لقوات -> ل | قوات, وبتنظيم -> وب | تنظيم
    m = re.match(r"^([وف]?[بلك])(.{3,})$", word)
    if m and m.group(2) in stems:
        return list(m.groups())
    # و|ف + word of three letters or more: وقتل -> و | قتل
    if word[0] in "وف" and word not in _NOT_CLITIC and len(word) >= 4:
        return [word[0], word[1:]]
    return [word]


def split_words(text: str, stems: frozenset[str] = DEFAULT_STEMS) -> list[tuple[int, int]]:
    """Character spans ``(start, end)`` of the words of ``text``, in order."""
    spans: list[tuple[int, int]] = []
    for m in _TOKEN.finditer(text):
        pos = m.start()
        for piece in _split_clitics(m.group(0), stems):
            spans.append((pos, pos + len(piece)))
            pos += len(piece)
    return spans


def spans_to_iob(words: list[tuple[int, int]], spans: list[dict]) -> list[str]:
    """IOB2 tag per word for character spans (``start``, ``end``, ``label``):
    a word belongs to a span it overlaps; earlier spans win on conflict."""
    tags = ["O"] * len(words)
    for sp in sorted(spans, key=lambda x: x["start"]):
        inside = [i for i, (s, e) in enumerate(words) if s < sp["end"] and e > sp["start"]]
        for j, i in enumerate(inside):
            if tags[i] == "O":
                tags[i] = ("B-" if j == 0 else "I-") + sp["label"]
    return tags
