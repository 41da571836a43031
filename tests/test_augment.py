"""Template + lexicon augmentation (rasid.data.augment)."""

import json
import re
from collections import Counter

import pytest

from rasid.data import augment
from rasid.data.schema import validate_record

ATTACK_TYPES = ("BOMBING", "SUICIDE_BOMBING", "AIRSTRIKE", "SHELLING", "AMBUSH",
                "ARMED_ASSAULT", "ASSASSINATION", "KIDNAPPING")
INDIC = str.maketrans("٠١٢٣٤٥٦٧٨٩", "0123456789")
SHIPPED = augment.__file__.rsplit("/", 1)[0] + "/corpus/augmented.jsonl"


@pytest.fixture(scope="module")
def records():
    return augment.generate(2000, seed=1)


def test_deterministic_for_a_seed():
    assert augment.generate(150, seed=7) == augment.generate(150, seed=7)
    assert augment.generate(150, seed=7) != augment.generate(150, seed=8)


def test_every_record_is_valid(records):
    assert len(records) == 2000
    for r in records:
        assert validate_record(r) == [], r
        assert r["source"] == "augmented" and r["theatre"]
        assert set(r) == {"id", "text", "entities", "attack_types", "theatre", "source"}


def test_ids_unique(records):
    ids = [r["id"] for r in records]
    assert len(set(ids)) == len(ids)
    assert ids[0] == "aug-000001"


def test_attack_type_shares(records):
    n = len(records)
    shares = Counter(a for r in records for a in r["attack_types"])
    for t in ATTACK_TYPES:
        assert shares[t] / n >= 0.05, (t, shares[t])
    assert sum(not r["attack_types"] for r in records) / n >= 0.20
    assert sum(len(r["attack_types"]) >= 2 for r in records) / n >= 0.05
    for r in records:
        assert all(a in ATTACK_TYPES for a in r["attack_types"])


def test_counts(records):
    seen_digits = seen_words = seen_null = 0
    for r in records:
        for e in r["entities"]:
            if e["label"] not in ("KILLED", "WOUNDED"):
                assert "count" not in e
                continue
            assert "count" in e
            c = e["count"]
            assert c is None or (type(c) is int and c >= 0)
            span = r["text"][e["start"]:e["end"]].translate(INDIC)
            digits = re.findall(r"\d+", span)
            if digits:
                assert c == int(digits[0]), (span, e)
                seen_digits += 1
            elif c is None:
                seen_null += 1
                assert "qualifier" not in e
            else:
                seen_words += 1
            if "أكثر من" in span:
                assert e["qualifier"] == "more_than", span
            if re.match(r"(نحو|حوالي) ", span):
                assert e["qualifier"] == "about", span
            if r["text"][e["end"]:].startswith(" على الأقل"):
                assert e["qualifier"] == "at_least"
    assert min(seen_digits, seen_words, seen_null) > 100


def test_spans_are_clean(records):
    for r in records:
        for e in r["entities"]:
            s = r["text"][e["start"]:e["end"]]
            assert s == s.strip() and "[[" not in s and "|" not in s
            # a proclitic is outside the span: never inside before an ACTOR name
            if e["label"] == "ACTOR":
                assert not s.startswith("لل"), s
        assert "[[" not in r["text"] and "]]" not in r["text"] and "{" not in r["text"]
        assert "<" not in r["text"] and "(" not in r["text"]


def test_no_collapse_onto_few_frames(records):
    assert len({r["text"] for r in records}) >= 1500
    openings = Counter(" ".join(r["text"].split()[:2]) for r in records)
    assert openings.most_common(1)[0][1] / len(records) < 0.05
    lengths = [len(r["text"].split()) for r in records]
    assert min(lengths) >= 8 and max(lengths) <= 60


def test_number_words_agreement():
    import random
    rng = random.Random(0)
    assert augment.number_words(rng, 3, False, True) == "ثلاثة"
    assert augment.number_words(rng, 3, True, True) == "ثلاث"
    assert augment.number_words(rng, 12, False, True) == "اثنا عشر"
    assert augment.number_words(rng, 12, False, False) == "اثني عشر"
    assert augment.number_words(rng, 13, True, False) == "ثلاث عشرة"
    assert augment.number_words(rng, 21, False, True) == "واحد وعشرون"
    assert augment.number_words(rng, 35, False, False) == "خمسة وثلاثين"
    assert augment.number_words(rng, 200, False, False) == "مئتي"
    assert augment.number_words(rng, 300, False, True) in ("ثلاثمئة", "ثلاثمائة")


def test_cli_writes_valid_jsonl(tmp_path):
    out = tmp_path / "aug.jsonl"
    assert augment.main(["--n", "40", "--seed", "2", "--out", str(out)]) == 0
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 40 and all(validate_record(r) == [] for r in lines)


def test_shipped_augmented_set_is_reproduced():
    """The lexicons moved from code into data/lexicons/: the shipped set (seed 0) is what they generate."""
    with open(SHIPPED, encoding="utf-8") as f:
        first = [json.loads(next(f)) for _ in range(300)]
    assert augment.generate(300, seed=0) == first


@pytest.mark.parametrize("name, key, value, message", [
    ("nouns", "soldiers", [["جندي", "جنديًا", "جنود", "جنديان", "جنديين", "الجنود", "x"]], "rows of 6 strings and a gender m|f"),
    ("actors", "theatre_weights", {"syria": "six"}, "an object of positive integers"),
    ("templates", "events", {"BOMBING": [["V", "f", "انفجرت عبوة ناسفة {PT}"]]}, "rows of (V|S|E, m|f, template"),
    ("places", "targets", [["دورية", "دورية", "yes", "v", 1]], "feminine true|false"),
    ("noise", "diacritized", [], "an object of strings"),
])
def test_lexicon_errors_name_file_and_key(tmp_path, monkeypatch, name, key, value, message):
    import shutil

    from rasid.data import lexicon

    shutil.copytree(lexicon.DIR, tmp_path / "lexicons")
    monkeypatch.setattr(lexicon, "DIR", tmp_path / "lexicons")
    path = tmp_path / "lexicons" / f"{name}.json"
    good = json.loads(path.read_text(encoding="utf-8"))

    def load_with(data):
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        with pytest.raises(lexicon.LexiconError) as err:
            lexicon.load.__wrapped__(name)  # past the cache
        return str(err.value)

    err = load_with({**good, key: value})
    assert err.startswith(f"{path}: {key}: expected ") and message in err, err
    assert load_with({k: v for k, v in good.items() if k != key}) == f"{path}: {key}: missing"
    assert load_with({**good, "typo": 1}).startswith(f"{path}: typo: not a known key")


# Wordings the templates state in plain words, and the labels the schema gives them (R18, R19).
# Each must show up in the shipped set with its label, so a template edit that drops a label
# (or a wording) fails here, not on published news.
PLAIN_WORDINGS = [
    ("صواريخ وطائرات مسيّرة", {"SHELLING", "AIRSTRIKE"}),
    ("هجوم بطائرة مسيّرة", {"AIRSTRIKE"}),
    ("هجوم بقنبلة", {"BOMBING"}),
    ("احتجاز رهائن", {"ARMED_ASSAULT", "KIDNAPPING"}),
    ("سترة ناسفة", {"SUICIDE_BOMBING"}),
    ("بقنابل يدوية", {"ARMED_ASSAULT"}),
    ("النار على المتظاهرين", {"ARMED_ASSAULT"}),
    ("تفجير مزدوج", {"BOMBING"}),
    ("الهجوم الجوي", {"AIRSTRIKE"}),
    ("ثم فتحت النار على", {"BOMBING", "ARMED_ASSAULT"}),
    ("تخلله اختطاف", {"ARMED_ASSAULT", "KIDNAPPING"}),
    ("بقذيفة الياسين 105", {"ARMED_ASSAULT"}),
]

# Background that names attack kinds without reporting one (section 4: attacks mentioned only
# in general, denials, tallies over years) must stay without a type.
NO_ATTACK_WORDINGS = ["غالبًا ما", "تسببت الألغام التي", "تسليم الأسلحة الثقيلة"]


@pytest.fixture(scope="module")
def shipped_records():
    with open(SHIPPED, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


@pytest.mark.parametrize("wording,labels", PLAIN_WORDINGS)
def test_plain_wordings_carry_their_labels(shipped_records, wording, labels):
    hits = [r for r in shipped_records if wording in r["text"]]
    assert len(hits) >= 5, wording
    for r in hits:
        assert labels <= set(r["attack_types"]), (wording, r["attack_types"], r["text"])


@pytest.mark.parametrize("wording", NO_ATTACK_WORDINGS)
def test_background_wordings_carry_no_type(shipped_records, wording):
    hits = [r for r in shipped_records if wording in r["text"]]
    assert len(hits) >= 5, wording
    for r in hits:
        assert r["attack_types"] == [], (wording, r["attack_types"], r["text"])
