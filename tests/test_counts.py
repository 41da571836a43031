"""parse_count: casualty count and qualifier of a KILLED/WOUNDED span."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rasid.inference.counts import parse_count

E, M, A, L = "exact", "more_than", "about", "at_least"

# (span, after, expected count, expected qualifier)
CASES = [
    # --- digits: Western, with thousands separators, Arabic-Indic, Persian
    ("20 شخصًا", "", 20, E),
    ("4 قتلى", "", 4, E),
    ("11 جريحًا", "", 11, E),
    ("1,200 شخص", "", 1200, E),
    ("1٬200 شخص", "", 1200, E),
    ("١٬٢٠٠ قتيل", "", 1200, E),
    ("٢٣ شخصًا", "", 23, E),
    ("١٤ شخصًا", "", 14, E),
    ("۲۵ نفرًا", "", 25, E),
    ("۱۷", "", 17, E),
    ("0 قتلى", "", 0, E),
    ("20 ألف شخص", "", 20000, E),
    ("3 آلاف مدني", "", 3000, E),
    ("٢٠ ألفًا", "", 20000, E),
    ("1.5 ألف", "", 1500, E),
    ("1.5 مليون", "", 1500000, E),
    ("نحو 101 ألف", "", 101000, A),
    # --- number words 1-10, both genders and cases
    ("واحد", "", 1, E),
    ("شخص واحد", "", 1, E),
    ("جنديًا واحدًا", "", 1, E),
    ("امرأة واحدة", "", 1, E),
    ("اثنان", "", 2, E),
    ("اثنين من المدنيين", "", 2, E),
    ("اثنتين من النساء", "", 2, E),
    ("ثلاثة من عناصرها", "", 3, E),
    ("فردا أمن", "", 2, E),
    ("صيادان", "", 2, E),
    ("ثلاث نساء", "", 3, E),
    ("أربعة جنود", "", 4, E),
    ("اربعة جنود", "", 4, E),
    ("أربع سيدات", "", 4, E),
    ("خمسة مدنيين", "", 5, E),
    ("ستة قتلى", "", 6, E),
    ("سبعة أفراد", "", 7, E),
    ("ثماني نساء", "", 8, E),
    ("ثمانية أشخاص", "", 8, E),
    ("ثمان نساء", "", 8, E),
    ("تسعة عسكريين", "", 9, E),
    ("عشرة جرحى", "", 10, E),
    ("عشر نساء", "", 10, E),
    ("أحد المارة", "", 1, E),
    ("إحدى النساء", "", 1, E),
    # --- teens
    ("أحد عشر شخصًا", "", 11, E),
    ("احد عشر شخصا", "", 11, E),
    ("إحدى عشرة امرأة", "", 11, E),
    ("اثنا عشر جنديًا", "", 12, E),
    ("اثني عشر مسلّحًا", "", 12, E),
    ("اثنتي عشرة امرأة", "", 12, E),
    ("ثلاثة عشر جنديًا", "", 13, E),
    ("ثلاث عشرة امرأة", "", 13, E),
    ("ستة عشر شخصًا", "", 16, E),
    ("خمسة عشر قتيلًا", "", 15, E),
    # --- tens and compounds, nominative and accusative/genitive
    ("عشرون شخصًا", "", 20, E),
    ("عشرين شخصًا", "", 20, E),
    ("أربعين قتيلًا", "", 40, E),
    ("تسعون", "", 90, E),
    ("واحد وعشرون شخصًا", "", 21, E),
    ("واحد وعشرين شخصًا", "", 21, E),
    ("خمسة وثلاثين", "", 35, E),
    ("ثلاث وأربعون", "", 43, E),
    ("ستة وعشرين راكبًا", "", 26, E),
    ("اثنين وعشرين جريحًا", "", 22, E),
    ("خمسة و عشرون", "", 25, E),
    # --- hundreds and thousands
    ("مئة", "", 100, E),
    ("مائة شخص", "", 100, E),
    ("مئتي شخص", "", 200, E),
    ("مئتا شخص", "", 200, E),
    ("مائتين", "", 200, E),
    ("مائتان", "", 200, E),
    ("ثلاثمئة شخص", "", 300, E),
    ("ثلاثمائة مدني", "", 300, E),
    ("ثلاث مئة", "", 300, E),
    ("ثلاث مائة", "", 300, E),
    ("خمسمائة", "", 500, E),
    ("ثماني مئة", "", 800, E),
    ("مئة وخمسون", "", 150, E),
    ("مئة و خمسون", "", 150, E),
    ("ثلاثة ومئة", "", 103, E),
    ("ألف", "", 1000, E),
    ("ألفين", "", 2000, E),
    ("ألفا", "", 1000, E),
    ("ثلاثة آلاف", "", 3000, E),
    ("عشرة آلاف", "", 10000, E),
    ("ألف وخمسمائة", "", 1500, E),
    ("مئتي ألف", "", 200000, E),
    # --- hamza, tatweel, diacritics
    ("ثلاثـة جنود", "", 3, E),
    ("ثلاثــــة", "", 3, E),
    ("ثَلَاثَةُ أَشْخَاصٍ", "", 3, E),
    ("ثمانيةِ عناصرَ", "", 8, E),
    ("أكثرُ من مئةٍ آخرين", "", 100, M),
    ("خمسة عشـر", "", 15, E),
    # --- duals of nouns
    ("جنديين", "", 2, E),
    ("جنديان", "", 2, E),
    ("طفلان", "", 2, E),
    ("طفلين", "", 2, E),
    ("طِفلَيْن", "", 2, E),
    ("شرطيين", "", 2, E),
    ("شرطيَّين", "", 2, E),
    ("مدنيَّين", "", 2, E),
    ("مدنيان", "", 2, E),
    ("امرأتين", "", 2, E),
    ("امرأتان", "", 2, E),
    ("عنصرين", "", 2, E),
    ("عُنصُرانِ", "", 2, E),
    ("عنصرَي أمن", "", 2, E),
    ("جُنْدِيّانِ", "", 2, E),
    ("عسكريّان", "", 2, E),
    ("مجندان", "", 2, E),
    ("حارسان أفغانيان", "", 2, E),
    ("حارسين", "", 2, E),
    ("راعيين", "", 2, E),
    ("مقاتلتين", "", 2, E),
    ("عاملتين صحيتين", "", 2, E),
    ("مقاتلَين", "", 2, E),
    ("متطوعَين آخرَين", "", 2, E),
    ("جنديين آخرين", "", 2, E),
    ("اثنان آخران", "", 2, E),
    ("مستوطنين اثنين", "", 2, E),
    ("مدنيين اثنين", "", 2, E),
    ("مدنيين فلسطينيين اثنين", "", 2, E),
    # the dual rule: a lone sound masculine plural stays plural (vague)
    ("مدنيين", "", None, None),
    ("مستوطنين", "", None, None),
    ("مدنيِّين", "", None, None),
    ("شبان", "", None, None),
    ("صبيان", "", None, None),
    ("جنديين من الفرقة 17", "", 2, E),
    # --- a single indefinite victim
    ("امرأة", "", 1, E),
    ("امرأةٍ", "", 1, E),
    ("ضابط", "", 1, E),
    ("ضابطًا", "", 1, E),
    ("جندي", "", 1, E),
    ("جندي تركي", "", 1, E),
    ("طفل", "", 1, E),
    ("طفلة", "", 1, E),
    ("مسؤول محلي", "", 1, E),
    ("مسؤولًا محليًا", "", 1, E),
    ("قيادي بارز", "", 1, E),
    ("قياديٍّ", "", 1, E),
    ("شخص", "", 1, E),
    ("مدني", "", 1, E),
    ("قاضيًا", "", 1, E),
    ("إمام مسجد", "", 1, E),
    ("أمين شرطة", "", 1, E),
    ("آخر", "", 1, E),
    ("منتسبٌ", "", 1, E),
    # --- quantifiers
    ("أكثر من 20 فردًا", "", 20, M),
    ("اكثر من 20", "", 20, M),
    ("أكثر من ٣٠ آخرين", "", 30, M),
    ("ما يزيد عن مئة", "", 100, M),
    ("ما يزيد على خمسين مسلحًا", "", 50, M),
    ("أزيد من عشرين", "", 20, M),
    ("أكثر من 43 ألف فلسطيني", "", 43000, M),
    ("نحو خمسين", "", 50, A),
    ("حوالي عشرة", "", 10, A),
    ("حوالى ٢٠ آخرين", "", 20, A),
    ("قرابة ١٢٠٠ شخص", "", 1200, A),
    ("ما يصل إلى 2000 شخص", "", 2000, A),
    ("ما يناهز ثلاثين قتيلًا", "", 30, A),
    ("ما يصل الى 15 جريحا", "", 15, A),
    ("زهاء ثلاثين", "", 30, A),
    ("ما يقارب مئتي شخص", "", 200, A),
    ("ما يقرب من أربعين", "", 40, A),
    ("ما لا يقل عن عشرة", "", 10, L),
    ("على الأقل خمسة", "", 5, L),
    ("خمسة أشخاص", " على الأقل، ", 5, L),
    ("17 شخصًا", " على الأقل في", 17, L),
    ("تسعة جنود", " على الاقل", 9, L),
    ("٦ منهم", " علي الأقل.", 6, L),
    ("ثلاثة عشر مدنيًا", " عَلَى الأَقَلِّ", 13, L),
    ("ثمانية أشخاص", " على أقل تقدير", 8, L),
    ("جنديين", " على الأقل", 2, L),
    ("ضابط", " على الأقل", 1, L),
    ("ثمانية أشخاص", " وأصيب على الأقل", 8, E),
    ("ثمانية أشخاص", ". على الأقل", 8, E),
    ("4 أشخاص", "، على الأقل، في الهجوم", 4, L),  # set off by commas
    ("4 أشخاص", "، على الأقل.", 4, L),
    ("ألف شخص", "، تقريبًا، ", 1000, A),
    ("11 شخصا", "، على الأقل 3 منهم أطفال", 11, E),  # qualifies the 3 that follows
    ("11 شخصا", "، وعلى الأقل،", 11, E),
    ("خمسة أشخاص", "", 5, E),
    ("ألف شخص", " تقريبًا، ", 1000, A),
    ("20 قتيلا", " (تقريبا)", 20, A),
    ("ثلاثين مدنيا", " على وجه التقريب", 30, A),
    ("ثلاثين مدنيا", " وتقريبا", 30, E),
    ("عشرين مقاتلا", " تقريبيا", 20, E),
    # --- vague
    ("العشرات", "", None, None),
    ("عشرات الجنود", "", None, None),
    ("العشرات منهم", "", None, None),
    ("المئات", "", None, None),
    ("مئات المدنيين", "", None, None),
    ("آلاف", "", None, None),
    ("آلاف المدنيين", "", None, None),
    ("عشرات الآلاف", "", None, None),
    ("عدد من أفراد", "", None, None),
    ("عددًا من المارة", "", None, None),
    ("عدة أشخاص", "", None, None),
    ("عدة آلاف", "", None, None),
    ("آخرين", "", None, None),
    ("آخرون", "", None, None),
    ("بعض المدنيين", "", None, None),
    ("جميع ركاب الحافلة", "", None, None),
    ("بضعة أشخاص", "", None, None),
    ("أكثر من عشرات", "", None, None),
    ("العشرات", " على الأقل", None, None),
    # عشرة / عشرات must not be confused
    ("عشرة", "", 10, E),
    ("عشرات", "", None, None),
    # --- partitives and counted nouns after the number
    ("ثلاثة من جنودها", "", 3, E),
    ("اثنان من مرافقيه", "", 2, E),
    ("خمسة من مقاتليها", "", 5, E),
    ("ثمانية منهم", "", 8, E),
    ("15 آخرين", "", 15, E),
    ("ستة آخرون", "", 6, E),
    ("أربعة", "", 4, E),
    # --- published-news forms (AUTHORING.md R11, R15, R16)
    ("قرابة 12 ألف قتيل", "", 12000, A),
    ("ثلاثة آلاف و215 شخصاً", "", 3215, E),
    ("ثلاثة آلاف و 215 شخصا", "", 3215, E),
    ("3 آلاف و215 مدنيا", "", 3215, E),
    ("12 ألف وخمسمائة", "", 12500, E),
    ("ألفين وخمسمائة", "", 2500, E),
    ("2 مليون و500 ألف", "", 2500000, E),
    ("ألفي مدني", "", 2000, E),
    ("الفي شخص", "", 2000, E),
    ("سبعة وثلاثين قتيلا", "", 37, E),
    ("سبعة وثلاثين قتيلًا", "", 37, E),
    ("(15) جريحاً", "", 15, E),
    ("(3) عناصر", "", 3, E),
    ("15قتيلا", "", 15, E),
    ("١٥قتيلا", "", 15, E),
    ("اربعة مدنيين", "", 4, E),
    ("مسئول", "", 1, E),
    ("مسئول محلي", "", 1, E),
    ("مسئولين اثنين", "", 2, E),
    ("إثنين", "", 2, E),
    ("إثنين من المدنيين", "", 2, E),
    ("اتنين", "", 2, E),
    ("تلاتة جنود", "", 3, E),
    ("تمانية أشخاص", "", 8, E),
    ("ما لا يقل عن 40 شخصا", "", 40, L),
    ("ما يزيد عن ألفي شخص", "", 2000, M),
    ("زهاء ثلاثة آلاف و200", "", 3200, A),
    ("ضابطا برتبة رائد", "", 1, E),
    ("ضابطا في الجيش", "", 1, E),
    ("شهيدين", "", 2, E),
    # و between two small numbers is two counts, not a sum
    ("5 و 7", "", 5, E),
    ("جندي وأربعة", "", 1, E),
    # a dual before a possessive pronoun drops its ن (only nouns whose plural is broken)
    ("طفليها", "", 2, E),
    ("ابنيه", "", 2, E),
    ("حارساه", "", 2, E),
    ("نجليه", "", 2, E),
    # an article glued to digits, as some outlets print it
    ("قرابة ال30 شخصا", "", 30, "about"),
    ("ال30 قتيلا", "", 30, E),
    # --- not a count
    ("ال", "", None, None),
    ("", "", None, None),
    ("   ", "", None, None),
    ("hello world", "", None, None),
    ("💥🔥", "", None, None),
    ("الجنود", "", None, None),
    ("أطفال", "", None, None),
    ("أكثر من", "", None, None),
]


def test_cases_are_distinct():
    keys = [(span, after) for span, after, _, _ in CASES]
    assert len(set(keys)) == len(keys)
    assert len(set(keys)) >= 90


@pytest.mark.parametrize("span,after,count,qualifier", CASES, ids=[f"{i}:{c[0]}" for i, c in enumerate(CASES)])
def test_parse_count(span, after, count, qualifier):
    assert parse_count(span, after) == (count, qualifier)


def test_sound_plural_in_construct_is_not_a_dual():
    # مرافقيه (his escorts) ends like طفليها (her two children); only broken-plural nouns read as duals
    assert parse_count("مرافقيه")[0] != 2
    assert parse_count("طفليها")[0] == 2


def test_default_after_and_int_type():
    count, qualifier = parse_count("ثلاثة عشر جنديًا")
    assert (count, qualifier) == (13, E) and type(count) is int


@pytest.mark.parametrize("bad", [None, 12, b"\xd8\xab", ["ثلاثة"]])
def test_non_string_input(bad):
    assert parse_count(bad) == (None, None)
    assert parse_count("ثلاثة", bad) == (3, E)


def test_bugs_are_not_swallowed(monkeypatch):
    """Only bad input is handled; an internal error surfaces instead of becoming count=None."""
    import rasid.inference.counts as counts

    def broken(pairs):
        raise RuntimeError("bug")

    monkeypatch.setattr(counts, "_count", broken)
    with pytest.raises(RuntimeError, match="bug"):
        counts.parse_count("ثلاثة جنود")


def test_very_long_inputs():
    assert parse_count("ثلاثة " + "جنود " * 20000) == (3, E)
    assert parse_count("9" * 5000) == (None, None)  # no real count; and int() of it would raise
    assert parse_count("عشرات " * 10000, "على الأقل " * 1000) == (None, None)


def _check_result(result):
    assert isinstance(result, tuple) and len(result) == 2
    count, qualifier = result
    if count is None:
        assert qualifier is None
    else:
        assert type(count) is int and count >= 0
        assert qualifier in (E, M, A, L)


# Arabic letters, marks, digits of three scripts, separators and a few words,
# so that the generator reaches the number and dual paths, not only noise.
_ARABIC_ALPHABET = st.sampled_from(
    list("ابتثجحخدذرسشصضطظعغفقكلمنهويةىأإآءئؤ ـًٌٍَُِّْ٠١٢٣٤٥٦٧٨٩۰۱۲0123456789,.٬٫، ")
    + ["ثلاثة", "عشر", "مئة", "آلاف", "ألف", "و", "من", "أكثر", "نحو", "على الأقل", "ين", "ان", "تين"]
)
_ARABIC_TEXT = st.lists(_ARABIC_ALPHABET, max_size=40).map("".join)


@settings(max_examples=400, deadline=None)
@given(span=st.text(max_size=200), after=st.text(max_size=60))
def test_never_raises_on_arbitrary_text(span, after):
    _check_result(parse_count(span, after))


@settings(max_examples=400, deadline=None)
@given(span=_ARABIC_TEXT, after=_ARABIC_TEXT)
def test_never_raises_on_arabic_like_text(span, after):
    _check_result(parse_count(span, after))
