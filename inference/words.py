"""Word segmentation shared by training, evaluation and inference.

Labels live on words (the first sub-word of each word carries the tag), so
every entity boundary must fall on a word boundary. Arabic attaches
conjunctions and prepositions to the next word, and the schema puts span
starts after them (``والميليشيات`` -> span ``الميليشيات``; ``للنظام`` ->
``نظام``). This module splits those proclitics off, conservatively:

* the definite article makes the split safe (``والجيش`` -> ``و | الجيش``),
  unless the lexicon knows the whole as a word (``والدتهما``);
* prepositions (ب، ل، ك) are split only before stems known to start entities
  (``لقوات`` -> ``ل | قوات``);
* a conjunction (و، ف) before anything else is split only where the lexicon
  says the remainder is a word and the whole is not: ``وقتل`` -> ``و | قتل``,
  ``فقتل`` -> ``ف | قتل``, but ``فيصل``, ``وليد``, ``فاطمة``, ``فنزويلا``,
  ``فيسبوك`` and ``فجّر`` stay whole. The lexicon is ``lexicon/ar_words.txt``,
  derived once from wordfreq's Arabic list (see ``lexicon/README.md``); a
  remainder also counts as a word when it is a number word (``وستمئة``) or an
  entity stem (``وقسد``), and an entity stem is never split itself.

Punctuation marks are words of their own (one character each), digits runs
are words, and digits glued to letters are split from them (``20شخصا``).

``split_words(text, proclitics="with")`` keeps every word whole: for a
labelling convention whose spans include the proclitics. The schema's
convention, and the default, is ``"without"``.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from .normalize import MARK_RANGES, TATWEEL

# Letters with their combining marks and tatweel (kept when not normalised away).
_MARKS = MARK_RANGES + TATWEEL
_TOKEN = re.compile(rf"(?:[^\W\d_]|[{_MARKS}])+|\d+(?:[.,\u066b\u066c]\d+)*|\S")
_ARABIC = re.compile(r"[\u0600-\u06ff]")
_MARKS_RE = re.compile(f"[{_MARKS}]")

PROCLITIC_MODES = ("without", "with")  # spans start after proclitics (schema) / include them

# Stems that begin entity spans after a preposition (لقوات، بتنظيم). Checkpoints
# may add their own (learnt from the training spans).
DEFAULT_STEMS = frozenset(
    """قوات تنظيم جماعة حركة ميليشيا ميليشيات مليشيا مليشيات مسلحي مسلحين مسلحو مسلحون
    عناصر فصائل فصيل كتائب كتيبة سرايا لواء ألوية الوية جيش حزب جبهة هيئة وحدات وحدة
    خلايا خلية شرطة قوة مقاتلي مقاتلين مجموعات مجموعة متمردي متمردين عصابات عصابة
    حرس سلاح طيران مدفعية بحرية جنود جنديين أفراد منتسبي متمردو قيادة قيادات جهاز فيلق فرقة
    مجلس طالبان داعش حماس فاغنر بوكو حزام ائتلاف تحالف مغاوير قوى قسد عصائب كارتل فارك فانو""".split()
)
# ---------------------------------------------------------------- lexicon
LEXICON_PATH = Path(__file__).resolve().parent / "lexicon" / "ar_words.txt"
# Lookup form, shared with lexicon/build_ar_words.py: no marks or tatweel, one
# alef, ه for ة (outlets spell these freely; normalisation may too). ى stays:
# folded to ي, وإلى would read as والي.
_FOLD = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه"})
# Endings and imperfect prefixes peeled off a remainder the lexicon lacks, to
# find the word under them (`اقتادوهم` -> `اقتاد`, `مجندان` -> `مجند`, `متطوعي` -> `متطوع`).
_PRONOUNS = ("هما", "هم", "هن", "ها", "كم", "نا", "ه")
_ENDINGS = ("تما", "تين", "تان", "يين", "تم", "وا", "ون", "ين", "ان", "ات", "تا", "ت", "ه", "ا", "ن", "و", "ي")
_IMPERFECT = ("ي", "ت", "ن")


def fold(word: str) -> str:
    """Lexicon lookup form of a word."""
    return _MARKS_RE.sub("", word).translate(_FOLD)


# Frequent words whose first letter is و/ف but not a conjunction: a safety net
# under the lexicon (which knows all of them too).
_NOT_CLITIC_WORDS = frozenset(
    """وزارة وزير وزراء وزيرة وكالة وكالات ولاية ولايات وسط وقت وقف وحدات وحدة واشنطن وادي
    وفاة وفق وفقا وقائع واقع واقعة وثيقة وجود وصول وضع وطني وطنية ولاية وكيل وسيط وساطة
    فريق فرقة فصائل فصيل فرع فرنسا فلسطين فلسطيني فلسطينية فجر فترة فجرا فندق فيديو
    فيلق فوج فتاة فتيات فتى فتية فقط فوق فور فورا واحد واحدة واحدا وحيد وحيدا فرد فردا افراد""".split()
)
_NOT_CLITIC = frozenset(fold(w) for w in _NOT_CLITIC_WORDS)


def remainder_forms(rest: str) -> list[str]:
    """``rest`` (folded) and the stems under its pronoun suffix, inflection
    ending and imperfect prefix; every form keeps at least three letters."""
    forms = [rest]
    for p in _PRONOUNS:
        if rest.endswith(p) and len(rest) - len(p) >= 3:
            forms.append(rest[: -len(p)])
            break
    for f in list(forms):
        forms.extend(f[: -len(e)] for e in _ENDINGS if f.endswith(e) and len(f) - len(e) >= 3)
    for f in list(forms):
        if f[0] in _IMPERFECT and len(f) >= 4:
            forms.append(f[1:])
    return forms


@functools.lru_cache(maxsize=1)
def lexicon() -> frozenset[str]:
    """The shipped word list (folded forms), read once."""
    try:
        lines = LEXICON_PATH.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{LEXICON_PATH} is missing: the word list that decides و/ف splits ships with rasid.inference "
            "(package-data lexicon/*.txt); reinstall the package"
        ) from None
    return frozenset(w for w in (line.strip() for line in lines) if w and not w.startswith("#"))


@functools.lru_cache(maxsize=65536)
def _conjunction_splits(word: str) -> bool:
    """A leading و/ف is a conjunction: the lexicon knows the remainder (or its
    stem) as a word and does not know the whole."""
    key = fold(word)
    if len(key) < 4 or key in _NOT_CLITIC:
        return False
    words = lexicon()
    if key in words:
        return False
    from .counts import is_number_word  # number words of any spelling: وستمئة -> و | ستمئة

    return any(f in words for f in remainder_forms(key[1:])) or is_number_word(word[1:])


@functools.lru_cache(maxsize=65536)
def _known_whole(word: str) -> bool:
    return fold(word) in lexicon()


def _after_marks(word: str, i: int) -> int:
    """First index at or after ``i`` that is not a combining mark or tatweel."""
    while i < len(word) and _MARKS_RE.match(word[i]):
        i += 1
    return i


def _split_clitics(word: str, stems: frozenset[str]) -> list[str]:
    if not _ARABIC.match(word) or len(word) < 4:
        return [word]
    # (و|ف)? + لل + stem: للنظام -> لل | نظام
    m = re.match(r"^([وف]?لل)(.{2,})$", word)
    if m:
        # ل + ال before a noun that starts with ل is written لل too: للواء is
        # ل | لواء (the lexicon knows لواء, not واء); للألعاب stays لل | ألعاب
        if not _known_whole(m.group(2)) and _known_whole("ل" + m.group(2)):
            return [m.group(1)[:-1], "ل" + m.group(2)]
        return list(m.groups())
    # (و|ف)? (ب|ل|ك)? + ال...: والجيش -> و | الجيش, بالقوات -> ب | القوات;
    # not a word the lexicon knows whole (والدتهما)
    m = re.match(r"^([وف]?[بلك]?)(ال.{2,})$", word)
    if m and m.group(1):
        if m.group(1)[0] in "وف" and _known_whole(word):
            return [word]
        return list(m.groups())
    # (و|ف)? (ب|ل|ك) + known stem: لقوات -> ل | قوات, وبتنظيم -> وب | تنظيم
    m = re.match(r"^([وف]?[بلك])(.{3,})$", word)
    if m and m.group(2) in stems:
        return list(m.groups())
    # و|ف + a stem that starts entities (وقوات), or + a word: وقتل -> و | قتل;
    # فيصل, فجّر stay whole
    # these words as written stay whole even before a learnt stem: واحد is "one",
    # not و + احد (the hamza-less أحد that begins "one of" spans); وأحد still splits
    if word[0] in "وف" and word not in stems and word not in _NOT_CLITIC_WORDS:  # an entity stem is whole (فاغنر، فصائل)
        cut = _after_marks(word, 1)  # a mark on the conjunction stays with it (وَقتل)
        if cut < len(word) and (word[cut:] in stems or _conjunction_splits(word)):
            return [word[:cut], word[cut:]]
    return [word]


def split_words(text: str, stems: frozenset[str] = DEFAULT_STEMS, proclitics: str = "without") -> list[tuple[int, int]]:
    """Character spans ``(start, end)`` of the words of ``text``, in order.

    ``proclitics="without"`` (the schema's convention) splits attached
    conjunctions and prepositions off where entity spans start after them;
    ``"with"`` keeps every written word whole."""
    if proclitics == "with":
        return [m.span() for m in _TOKEN.finditer(text)]
    if proclitics != "without":
        raise ValueError(f"proclitics must be one of {PROCLITIC_MODES}, not {proclitics!r}")
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
