"""Proclitic splitting: و/ف split off only where the lexicon says so; names and verbs stay whole."""

from __future__ import annotations

import re
import tomllib

import pytest

from conftest import CORPUS, REPO, load_jsonl
from rasid.inference.encoding import prepare
from rasid.inference.normalize import NormalizationConfig
from rasid.inference.words import LEXICON_PATH, fold, lexicon, split_words


def words(text: str, **kw) -> list[str]:
    return [text[s:e] for s, e in split_words(text, **kw)]


@pytest.mark.parametrize("word", [
    # names
    "فيصل", "وليد", "فاطمة", "فؤاد", "فنزويلا", "فيسبوك", "فاغنر", "فيلادلفيا", "وزيرستان",
    # trigger verbs and other words whose و/ف is a root letter
    "فجّر", "فجر", "فجرت", "فجروا", "فجّروا", "فتحوا", "فروا", "وقعت", "وصلت", "فيما", "وراء", "وقود", "وقوع",
    "وفيات", "واسعة", "فلول", "فدية",
    # hamza and vowel spellings of the same words
    "فُؤاد", "فَيْصَل", "فاطمه",
])
def test_real_words_stay_whole(word):
    assert words(word) == [word]
    norm = prepare(word, NormalizationConfig())
    assert len(norm.words) == 1


@pytest.mark.parametrize("text, expected", [
    ("والجيش", ["و", "الجيش"]),
    ("وقتل", ["و", "قتل"]),
    ("فقتل", ["ف", "قتل"]),
    ("للنظام", ["لل", "نظام"]),
    ("بتنظيم", ["ب", "تنظيم"]),
    ("لقوات", ["ل", "قوات"]),
    ("وبالقوات", ["وب", "القوات"]),
    ("وقال", ["و", "قال"]),
    ("وأصيب", ["و", "أصيب"]),
    ("واصيب", ["و", "اصيب"]),
    ("وقتلوا", ["و", "قتلوا"]),
    ("فقتلوا", ["ف", "قتلوا"]),
    ("وعشرين", ["و", "عشرين"]),
    ("وفيصل", ["و", "فيصل"]),  # conjunction before a name
    ("وفرنسا", ["و", "فرنسا"]),
    ("ومسلحين", ["و", "مسلحين"]),
    ("وقوات", ["و", "قوات"]),  # an entity stem
])
def test_conjunctions_still_split(text, expected):
    assert words(text) == expected


def test_mark_on_the_conjunction_stays_with_it():
    assert words("وَقتل") == ["وَ", "قتل"]
    assert words("فَجَّرَ") == ["فَجَّرَ"]


def test_learnt_stems_split_after_a_conjunction():
    # قسد is rare in the lexicon; a checkpoint that learnt it as an entity start splits it
    assert words("وقسد", stems=frozenset({"قسد"})) == ["و", "قسد"]


def test_in_a_sentence():
    text = "وقال فيصل إن مسلحين فجّروا سيارة وقتلوا جنديين، فيما أعلنت وزارة الدفاع والجيش ذلك."
    assert words(text) == ["و", "قال", "فيصل", "إن", "مسلحين", "فجّروا", "سيارة", "و", "قتلوا", "جنديين", "،",
                           "فيما", "أعلنت", "وزارة", "الدفاع", "و", "الجيش", "ذلك", "."]


def test_proclitics_setting():
    text = "والجيش وقتل للنظام فيصل"
    assert words(text, proclitics="with") == ["والجيش", "وقتل", "للنظام", "فيصل"]
    assert words(text, proclitics="without") == words(text) == ["و", "الجيش", "و", "قتل", "لل", "نظام", "فيصل"]
    with pytest.raises(ValueError, match="proclitics"):
        split_words(text, proclitics="some")


def test_lexicon_file_is_small_documented_and_folded():
    raw = LEXICON_PATH.read_text(encoding="utf-8")
    assert len(raw.encode()) < 500_000
    header = [line for line in raw.splitlines() if line.startswith("#")]
    assert any("wordfreq" in line for line in header) and any("CC BY-SA 4.0" in line for line in header)
    assert (LEXICON_PATH.parent / "README.md").is_file()
    lex = lexicon()
    assert len(lex) > 20_000
    assert all(fold(w) == w and re.fullmatch("[\u0621-\u064a]+", w) for w in lex)
    assert "يصل" in lex and "فيصل" in lex and "قتل" in lex and "وقتل" not in lex


def test_lexicon_ships_in_both_distributions():
    for path in (REPO / "pyproject.toml", REPO / "inference" / "pyproject.toml"):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        assert "lexicon/*.txt" in data["tool"]["setuptools"]["package-data"]["rasid.inference"], path


def test_proclitic_convention_travels_in_the_normalisation_config():
    import pytest

    from rasid.inference.encoding import prepare
    from rasid.inference.normalize import NormalizationConfig

    assert prepare("والجيش قتل", NormalizationConfig(proclitics="with")).word_strings() == ["والجيش", "قتل"]
    assert prepare("والجيش قتل", NormalizationConfig()).word_strings() == ["و", "الجيش", "قتل"]
    old = NormalizationConfig().to_dict()
    del old["proclitics"]  # a checkpoint written before the setting existed
    assert NormalizationConfig.from_dict(old).proclitics == "without"
    with pytest.raises(ValueError, match="proclitics"):
        NormalizationConfig(proclitics="sometimes")
