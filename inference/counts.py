"""Casualty counts: the integer a KILLED/WOUNDED span states, and its qualifier.

The schema (docs/SCHEMA.md) allows four kinds of span: a number (digits
or words), a dual noun (`جنديين`), an indefinite singular victim (`ضابط`) and a
vague quantity (`العشرات`, `عدد من`, `آخرين`). `parse_count` tries them in that
order on the span's *head*: the first word after any quantifier (`أكثر من`).

Number words go through pyarabic's `text2number`, which already sums units,
teens, tens, hundreds and multiplies by thousands. We feed it only the run of
number words (it would otherwise add up every number-like word in the span)
and spell each word the way its lexicon does; the few forms it lacks or
misreads (construct duals, regional spellings with ت for ث) are mapped in
`_EXTRA_WORDS` below. A number phrase may mix digits and words across `و` after
thousands (`ثلاثة آلاف و215` 3215, `12 ألف وخمسمائة` 12500): `_read_number`.
"""

from __future__ import annotations

import re
import unicodedata

from pyarabic import araby

from .normalize import MARK_RANGES
from pyarabic.number import text2number
from pyarabic.number_const import NUMBER_WORDS

QUALIFIERS = ("exact", "more_than", "about", "at_least")
_NONE: tuple[None, None] = (None, None)

# ---------------------------------------------------------------- normalisation
# Harakat, shadda, sukun, dagger alef, Quranic marks: removed before lookup but
# kept in the raw token, where a fatha tells a dual from a plural (see _is_dual).
_MARKS = MARK_RANGES
_MARKS_RE = re.compile(f"[{_MARKS}]")
# Spelling of hamza on alef, ى/ي and ة/ه varies between outlets; ٬ and ٫ are the
# Arabic thousands and decimal separators.
# Hamza on a seat (ؤ ئ) is folded to ء too: `مسئول` and `مسؤول` are one word.
_FOLD = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ؤ": "ء", "ئ": "ء",
                       "\u066c": ",", "\u066b": "."})
_TOKEN = re.compile(rf"\d+(?:[.,\u066b\u066c]\d+)*|(?:[^\W\d_]|[{_MARKS}])+")


def _fold(text: str) -> str:
    """Lookup form: no marks or tatweel, one alef, ي for ى, ه for ة, ء for ؤ/ئ, ASCII digits."""
    text = _MARKS_RE.sub("", araby.strip_tatweel(text))
    # Every Unicode decimal digit (٠-٩, ۰-۹, ...) becomes its ASCII digit.
    text = "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in text)
    return text.translate(_FOLD)


def _tokens(text: str) -> list[tuple[str, str]]:
    """(raw token with its marks, folded token) pairs; punctuation dropped."""
    # NFKC turns presentation forms (ﻻ) and superscript digits into plain ones.
    raw = araby.strip_tatweel(unicodedata.normalize("NFKC", text))
    pairs = [(tok, _fold(tok)) for tok in _TOKEN.findall(raw)]
    return [(r, f) for r, f in pairs if f]


def _folded_set(words: str) -> frozenset[str]:
    return frozenset(_fold(w) for w in words.split())


# ---------------------------------------------------------------- number words
# pyarabic's lexicon keyed by folded spelling -> pyarabic's own spelling.
_CANON = {_fold(w): w for w in NUMBER_WORDS}
# Forms text2number does not know (it returns 0) or misreads; mapped to a
# spelling it reads with the same value.
_EXTRA_WORDS = {
    "مئتي": "مئتين", "مئتا": "مئتان", "مائتين": "مئتين", "مائتان": "مئتان",  # construct/old spelling of 200
    "مائتي": "مئتين", "مائتا": "مئتان",
    "اثنتين": "اثنين", "اثنتان": "اثنان", "ثنتين": "اثنين", "ثنتان": "اثنان",  # feminine 2
    "اثنتي": "اثني", "اثنتا": "اثنا",  # feminine 12
    "واحدة": "واحد",  # text2number strips its و as if it were the conjunction
    "ثلثمائة": "ثلاثمائة", "ثلثمئة": "ثلاثمئة",  # classical spelling of 300
    "ألفي": "ألفين",  # construct dual of 1000: ألفي مدني
    # regional spellings (ت for ث): Egyptian and Levantine outlets and quotes
    "اتنين": "اثنين", "اتنان": "اثنان", "تلاتة": "ثلاثة", "تلات": "ثلاث", "تلاتين": "ثلاثين",
    "تلاتون": "ثلاثون", "تمانية": "ثمانية", "تمان": "ثمان", "تمانين": "ثمانين", "تمانون": "ثمانون",
}
_CANON.update({_fold(k): v for k, v in _EXTRA_WORDS.items()})
# `ثلاث مئة` written apart: text2number adds (103), so we join it first.
_HUNDREDS = {v: w for w, v in NUMBER_WORDS.items() if 300 <= v <= 900 and w.endswith("مئة")}
_HUNDRED = _folded_set("مئة مائة")
# Plural multipliers mean nothing without a quantity before them (`آلاف` alone is vague).
_PLURAL_MULT = _folded_set("آلاف ملايين مليارات")
# Multipliers after digits: `20 ألف`, `3 آلاف`, `1.5 مليون`.
_DIGIT_MULT = {_fold(w): v for w, v in {"ألف": 10**3, "ألفا": 10**3, "آلاف": 10**3, "مليون": 10**6,
                                        "ملايين": 10**6, "مليار": 10**9, "مليارات": 10**9}.items()}


def _number_word(tok: str, first: bool) -> str | None:
    """pyarabic spelling of a folded number word, or None. A conjunction و is
    accepted inside a compound (`وعشرون`), not at its start."""
    if tok in _CANON:
        return _CANON[tok]
    if tok.endswith("ا") and tok[:-1] in _CANON:  # accusative tanween: واحدًا
        return _CANON[tok[:-1]]
    if not first and tok.startswith("و") and len(tok) > 1:
        return _number_word(tok[1:], first=True)
    return None


def is_number_word(word: str) -> bool:
    """A cardinal number word in any case or gender (`عشرين`, `ثلاث`, `مئتي`)."""
    return _number_word(_fold(word), first=True) is not None


def _read_words(toks: list[str], i: int, lead_and: bool = False) -> tuple[int | None, int]:
    """Value of the number-word run starting at toks[i] (None if there is none)
    and the index just past its last number word. ``lead_and`` accepts a
    leading conjunction (`وخمسمائة` after `ألف`)."""
    words: list[str] = []
    end = i
    while i < len(toks):
        tok = toks[i]
        if tok == "و" and words:  # `خمسة و عشرون`, written apart
            i += 1
            continue
        word = _number_word(tok, first=not (words or lead_and))
        if word is None:
            break
        unit = NUMBER_WORDS[words[-1]] if words else 0
        if tok in _HUNDRED and 3 <= unit <= 9 and toks[i - 1] != "و":
            words[-1] = _HUNDREDS[unit * 100]  # ثلاث مئة -> ثلاثمئة
        else:
            words.append(word)
        i += 1
        end = i
    if not words or _fold(words[0]) in _PLURAL_MULT:
        return None, end
    return text2number(" ".join(words)), end


def _read_digits(tok: str, nxt: str) -> int | None:
    """Value of a digit token, times a following ألف/مليون; None if unreadable."""
    if not tok[0].isdigit():
        return None
    parts = re.split(r"[.,]", tok)
    if len("".join(parts)) > 15:  # no casualty count has 16 digits; keeps int() cheap
        return None
    mult = _DIGIT_MULT.get(nxt, 1)
    if len(parts) == 1:
        value: float = int(parts[0])
    elif mult > 1 and len(parts) == 2 and "." in tok:
        value = float(f"{parts[0]}.{parts[1]}")  # 1.5 ألف
    elif all(len(p) == 3 for p in parts[1:]):
        value = int("".join(parts))  # 1,200 / 1٬200 / 1.200
    else:
        return None
    return round(value * mult)


def _read_group(toks: list[str], i: int, lead_and: bool = False) -> tuple[int | None, int]:
    """One number group at toks[i]: digits (times a multiplier after them) or a
    run of number words. Returns (value or None, index past the group)."""
    if i >= len(toks):
        return None, i
    nxt = toks[i + 1] if i + 1 < len(toks) else ""
    value = _read_digits(toks[i], nxt)
    if value is not None:
        return value, i + (2 if nxt in _DIGIT_MULT else 1)
    return _read_words(toks, i, lead_and)


def _scale(value: int) -> int:
    """Largest power of 1000 that divides ``value`` (1 if none)."""
    scale = 1
    while value and value % (scale * 1000) == 0:
        scale *= 1000
    return scale


def _read_number(toks: list[str], i: int) -> int | None:
    """A whole number phrase at toks[i]: a group, then `و` + smaller groups after
    thousands, in digits or words (`ثلاثة آلاف و215` 3215, `12 ألف وخمسمائة` 12500)."""
    value, end = _read_group(toks, i)
    while value and end < len(toks) and _scale(value) >= 1000:
        if toks[end] == "و":
            more, nxt_end = _read_group(toks, end + 1)
        elif toks[end].startswith("و") and len(toks[end]) > 1:
            more, nxt_end = _read_words(toks, end, lead_and=True)
        else:
            break
        if not more or more >= _scale(value):
            break
        value, end = value + more, nxt_end
    return value


# ---------------------------------------------------------------- quantifiers
# Matched as whole words on the folded, punctuation-free span; first hit wins,
# `ما لا يقل عن` is tested before anything that shares words with it.
_QUALIFIER_TEXT = [
    ("at_least", ["ما لا يقل عن", "لا يقل عن", "ما لا يقل على", "على الأقل", "على أقل تقدير", "في الأقل"]),
    ("more_than", ["أكثر من", "ما يزيد عن", "ما يزيد على", "يزيد عن", "يزيد على", "أزيد من",
                   "ما يربو على", "يربو على", "ما فوق"]),
    ("about", ["نحو", "حوالي", "حوالى", "قرابة", "زهاء", "ما يقارب", "يقارب", "ما يقرب من", "يقرب من", "تقريبا",
               "ما يناهز", "يناهز", "ما يصل إلى", "يصل إلى"]),  # "up to" reads as an estimate
]
_QUALIFIER_PHRASES = [(q, [f" {_fold(p)} " for p in ps]) for q, ps in _QUALIFIER_TEXT]
# Words of those phrases, skipped to find the head (`أكثر من 20` -> `20`).
_QUANT_WORDS = frozenset(w for _, ps in _QUALIFIER_PHRASES for p in ps for w in p.split()) | {"و"}
# A trailing `على الأقل` or `تقريبًا` just after the span (the schema leaves both outside, R15), bare
# or set off by commas (`4 اشخاص، علي الاقل، في`); between commas only when a comma or the end
# follows, since `، علي الاقل 3 منهم` qualifies the number after it.
_TRAILING = r"\s*(?:\(?\s*(?:{0})(?!\w)|[،,]\s*(?:{0})\s*(?:[،,.]|$))"
_AT_LEAST_AFTER = re.compile(_TRAILING.format(r"علي\s+ال?اقل|علي\s+اقل\s+تقدير|في\s+الاقل"))
_ABOUT_AFTER = re.compile(_TRAILING.format(r"تقريبا|علي\s+وجه\s+التقريب"))
# An appositive number may follow the head (`مستوطنين اثنين`), but not past these.
_STOP = _folded_set("من منهم في على إلى عن بين بينهم خلال جراء إثر")

# ---------------------------------------------------------------- nouns
# Dual rule. A dual ends in ان (nominative) or ين (accusative/genitive); a
# sound masculine plural ends in ون / ين. So:
#   * ان after a person noun is always dual (plurals of person nouns in ان,
#     `شبان، صبيان`, are listed in _PLURALS);
#   * ين is dual only when the noun cannot take the sound plural: singulars in
#     _BROKEN pluralise otherwise (جندي/جنود، طفل/أطفال، عنصر/عناصر), so
#     `جنديين` is two soldiers, while `مدنيين، مستوطنين` (_SOUND) stay plural,
#     hence vague, unless the vowels say dual (`مدنيَّين`: fatha before ين);
#   * تين / تان is always dual: feminine nouns pluralise in ات;
#   * a construct dual drops its ن (`عنصري أمن`): accepted for _BROKEN nouns.
_BROKEN = _folded_set("""جندي طفل عنصر ضابط شرطي دركي رجل امرأة فتاة سيدة شاب شخص فرد قتيل جريح حارس
    راكب راعي طبيب قائد طالب ولد صبي شقيق شيخ زعيم نائب أمير قاضي عالم رقيب ابن شهيد نجل""")
_SOUND = _folded_set("""مدني مستوطن مسلح مقاتل مواطن موظف متطوع مسعف صحفي مسؤول قيادي عسكري مجند
    منتسب سائق عامل مزارع ناشط مصور مراسل معلم مهندس مقيم إعلامي مدرس متظاهر آخر""")
_PLURALS = _folded_set("""جنود عناصر رجال نساء شبان شباب قتلى جرحى أسرى ضحايا صبيان فتيان عميان غلمان
    سكان جيران فرسان حراس ركاب ضباط طلاب عمال قادة أهالي مارة عساكر بنات""")
_VAGUE = _folded_set("""عشرات العشرات مئات المئات آلاف الآلاف عدة عدد بعض جميع كل معظم غالبية أغلب
    العديد عديد بضع بضعة آخرين آخرون كثيرين كثيرون الكثير كثير المزيد منهم بينهم""")
_PERSONS = _BROKEN | _SOUND
_FATHA, _KASRA, _SUKUN = "\u064e", "\u0650", "\u0652"
_CONSTRUCT_FATHA = re.compile(f"{_FATHA}[{_MARKS}]*ي[{_MARKS}]*$")
# A dual loses its ن before a possessive pronoun: طفليها، ابنيه، حارساه. Only for _BROKEN nouns,
# since a sound plural in construct looks the same (مرافقيه is his escorts).
_POSSESSED_DUAL = re.compile("(.{3,}?)[يا](?:ه|ها|هم|هما)")
_YN_MARKS = re.compile(f"([{_MARKS}]*)ي([{_MARKS}]*)ن([{_MARKS}]*)$")


def _vowels_say_dual(raw: str) -> bool | None:
    """True for -َيْن (dual), False for -ِين (plural), None when unvocalised."""
    m = _YN_MARKS.search(raw)
    if not m:
        return None
    before, on_ya, on_nun = m.groups()
    if _KASRA in before:
        return False
    if _FATHA in before or _SUKUN in on_ya or _KASRA in on_nun:
        return True
    return None


def _is_dual(raw: str, tok: str, has_next: bool, next_tok: str = "") -> bool:
    if tok in _PLURALS or tok.startswith("ال") or len(tok) < 4:
        return False
    if tok.endswith(("تين", "تان")) and not tok.endswith("ستان"):  # not أفغانستان
        stem = tok[:-3]
        if stem in _PERSONS or stem + "ه" in _PERSONS:
            return True
        return len(stem) >= 3 and stem[-1] not in "او"  # بساتين، روتين are not duals
    if tok.endswith("ان"):
        stem = tok[:-2]
        return (stem in _PERSONS
                or (len(stem) >= 3 and stem.endswith("ي"))  # nisba: عسكريان، إيرانيان
                or (len(stem) >= 4 and stem.startswith("م"))  # participle: مجندان، مسلحان
                or (len(stem) == 4 and stem[1] == "ا")  # فاعل: حارسان، راكبان
                or (len(stem) == 4 and stem[2] == "ا"))  # فعّال: صيادان، بحاران
    possessed = _POSSESSED_DUAL.fullmatch(tok)
    if possessed and possessed.group(1) in _BROKEN:
        return True
    if tok.endswith("ين"):
        vowels = _vowels_say_dual(raw)
        return vowels if vowels is not None else tok[:-2] in _BROKEN
    if tok.endswith("ي") and has_next:  # construct dual: عنصري أمن، عنصرَي أمن
        return tok[:-1] in _BROKEN or bool(_CONSTRUCT_FATHA.search(raw))
    if (tok.endswith("ا") and has_next and "\u064b" not in raw and not next_tok.endswith("ا")
            and not (next_tok[:1] in "بلك" and len(next_tok) >= 4) and next_tok not in _STOP):
        # nominative construct dual (فردا أمن، عنصرا شرطة); not the accusative
        # singular, which has tanween, an agreeing adjective (طبيبًا معروفًا) or a
        # prepositional phrase after it (ضابطا برتبة رائد)
        return tok[:-1] in _BROKEN
    return False


def _is_singular(tok: str) -> bool:
    """An indefinite singular person noun (`ضابط`, `قاضيًا`, `إمام`)."""
    base = tok[:-1] if tok.endswith("ا") and len(tok) > 3 else tok  # accusative tanween
    if base in _PERSONS:
        return True
    if not re.fullmatch("[\u0621-\u064a]{3,}", base) or base.startswith("ال"):
        return False  # not Arabic, or definite (the schema does not count named/definite people)
    if tok in _PLURALS or base in _PLURALS:
        return False
    if len(base) >= 5 and base.endswith(("ون", "ين", "ات", "ان", "اء")):  # stem of 3+ letters: plural
        return False  # (`أمين`, `سجين` are singular)
    return not (len(base) == 5 and base[0] == "ا" and base[3] == "ا")  # أفعال plural: أطفال، أشخاص


# ---------------------------------------------------------------- for the decoder
# The predictor extends a casualty span that stops inside a number phrase
# (AUTHORING.md R15): it needs to know number words, multipliers, the
# quantifiers that may stand before the number and the nouns a number counts.
_MULTIPLIERS = _folded_set("ألف ألفا ألفان ألفين ألفي آلاف مليون مليونا مليونين ملايين مليار مليارات")
_COUNTED_EXTRA = _folded_set("""أشخاص أطفال أفراد أسر عائلات نازحين لاجئين مهاجرين جنديا شخصا قتيلا جريحا
    مدنيا عنصرا فردا طفلا مواطنا مسلحا مقاتلا آخرين آخرون أخريات""")
_NOUN_ENDINGS = ("تين", "تان", "يين", "ين", "ون", "ان", "ات", "ه", "ا", "ي")
# Quantifiers that belong inside a count span, before the number (R15); the
# trailing `على الأقل` stays outside and is read from `after`.
LEADING_QUANTIFIERS = tuple(
    tuple(_fold(w) for w in p.split())
    for q, ps in _QUALIFIER_TEXT for p in ps
    if p not in ("على الأقل", "على أقل تقدير", "في الأقل", "تقريبا")
)


_LONGEST_QUANTIFIER = max(map(len, LEADING_QUANTIFIERS))


def _longest_quantifier(folded: tuple[str, ...], ending: bool) -> int:
    """Words in the longest leading quantifier at the end (``ending``) or start of ``folded``."""
    return max((len(p) for p in LEADING_QUANTIFIERS
                if (folded[len(folded) - len(p):] if ending else folded[:len(p)]) == p), default=0)


def quantifier_before(words: list[str], i: int) -> int:
    """Number of words just before ``words[i]`` that form a leading quantifier
    (`أكثر من`, `ما لا يقل عن`, `قرابة`); 0 if none. Longest phrase wins."""
    return _longest_quantifier(tuple(_fold(w) for w in words[max(0, i - _LONGEST_QUANTIFIER):i]), ending=True)


def quantifier_at(words: list[str], i: int) -> int:
    """Number of words of the longest leading quantifier that starts at ``words[i]``; 0 if none."""
    return _longest_quantifier(tuple(_fold(w) for w in words[i:i + _LONGEST_QUANTIFIER]), ending=False)


def is_multiplier(word: str) -> bool:
    """ألف، آلاف، مليون... (also after digits: `12 ألف`)."""
    return _fold(word) in _MULTIPLIERS


def is_counted_noun(word: str) -> bool:
    """A noun a casualty number counts: person nouns in singular, dual or plural,
    any case (`قتيلا`, `جريحًا`, `شخصًا`, `مدنيين`, `عناصر`, `آخرين`)."""
    tok = _fold(word)
    if tok in _PERSONS or tok in _PLURALS or tok in _COUNTED_EXTRA:
        return True
    for end in _NOUN_ENDINGS:
        if tok.endswith(end) and len(tok) - len(end) >= 3:
            base = tok[: -len(end)]
            if base in _PERSONS or base + "ه" in _PERSONS or base.rstrip("ي") in _PERSONS:
                return True
    return False


# ---------------------------------------------------------------- parse_count
def _qualifier(folded_span: str, after: str) -> str:
    padded = f" {folded_span} "
    for qualifier, phrases in _QUALIFIER_PHRASES:
        if any(p in padded for p in phrases):
            return qualifier
    return trailing_qualifier(after) or "exact"


def trailing_qualifier(after: str) -> str | None:
    """`at_least` / `about` when the text just after a count span starts with
    `على الأقل` / `تقريبًا` (outside the span, R15), bare or between commas, else None."""
    tail = _fold(after[:40])
    if _AT_LEAST_AFTER.match(tail):
        return "at_least"
    if _ABOUT_AFTER.match(tail):
        return "about"
    return None


def _count(pairs: list[tuple[str, str]]) -> int | None:
    toks = [f for _, f in pairs]
    # an article glued to digits (`قرابة ال30 شخصا`) is split off by _TOKEN: skip it like a quantifier
    head = next((i for i, t in enumerate(toks) if t not in _QUANT_WORDS
                 and not (t == "ال" and toks[i + 1:i + 2] and toks[i + 1][0].isdigit())), None)
    if head is None:
        return None
    # 1. A number at the head (`سبعة أفراد`, `20 شخصًا`) or as an appositive
    #    after the counted noun (`مستوطنين اثنين`, `جنديًا واحدًا`).
    value = _read_number(toks, head)
    j = head + 1
    while value is None and j < min(len(toks), head + 4) and toks[j] not in _STOP:
        value = _read_words(toks, j)[0]  # no leading و here: `جندي وأربعة` is two counts
        j += 1
    if value is not None:
        return value
    raw, tok = pairs[head]
    base = tok[:-1] if tok.endswith("ا") else tok
    # 2. A dual noun, before the vague words so that `آخرَين` (vocalised dual) counts.
    if _is_dual(raw, tok, head + 1 < len(toks), toks[head + 1] if head + 1 < len(toks) else ""):
        return 2
    # 3. Vague quantities.
    if tok in _VAGUE or base in _VAGUE:
        return None
    # 4. One indefinite victim.
    return 1 if _is_singular(tok) else None


def parse_count(span: str, after: str = "") -> tuple[int | None, str | None]:
    """Integer stated by a KILLED/WOUNDED span and its qualifier.
    `span` is the entity text exactly as in the article (may contain diacritics, tatweel,
    Arabic-Indic digits, a leading quantifier). `after` is the text that follows the span
    (used only to detect a trailing `على الأقل` -> at_least or `تقريبًا` -> about).
    Returns (count, qualifier); (None, None) for vague quantities (العشرات، عدد من، آخرين، آخرون، عدة أشخاص، بعض...).

    Bad input is what a caller can pass: a non-string (-> (None, None)), any text
    (read as far as it makes sense, or (None, None)), huge numbers (more than 15
    digits -> None). Nothing in the parse raises on a string (the hypothesis
    tests in tests/test_counts.py check it), so no exception is swallowed here:
    an error would be a bug, and it should surface rather than become a silent
    `count: null`."""
    if not isinstance(span, str):
        return _NONE
    if not isinstance(after, str):
        after = ""
    pairs = _tokens(span)
    count = _count(pairs)
    if count is None or count < 0:
        return _NONE
    return int(count), _qualifier(" ".join(f for _, f in pairs), after)
