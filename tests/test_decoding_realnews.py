"""Decoding on published-news forms (data/corpus/AUTHORING.md R10-R16) and
attack-type threshold tuning that does not overfit a small dev set.

The decoder is driven with constructed word probabilities: each test says which
words the "model" tags, and checks the spans and counts the Predictor returns.
"""

from __future__ import annotations

import unicodedata

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rasid.inference.encoding import prepare
from rasid.inference.predictor import refine_spans


def tag_words(predictor, text: str, marks: list[tuple[str, str]]):
    """Prepared text and word probabilities that tag the words covering each
    (label, substring) mark B-/I-label with probability 0.9, the rest O."""
    prep = prepare(text, predictor.norm_cfg, predictor.stems)
    tags = ["O"] * len(prep.words)
    pos = 0
    for label, sub in marks:
        i = text.index(sub, pos)
        j = i + len(sub)
        inside = [k for k, (s, e) in enumerate(prep.words) if prep.src[s] < j and prep.src[e - 1] >= i]
        assert inside, (sub, text)
        for n, k in enumerate(inside):
            tags[k] = ("B-" if n == 0 else "I-") + label
        pos = j
    n_tags = len(predictor.tags)
    probs = {}
    for k, tag in enumerate(tags):
        p = np.full(n_tags, 0.1 / (n_tags - 1))
        p[predictor.tags.index(tag)] = 0.9
        probs[k] = (0, p)
    return prep, probs


def decode(predictor, text, *marks):
    prep, probs = tag_words(predictor, text, list(marks))
    ents = predictor._decode_entities(prep, probs, 0)
    for e in ents:
        assert text[e["start"] : e["end"]] == e["text"]
    return [(e["label"], e["text"]) + ((e["count"], e["qualifier"]) if "count" in e else ()) for e in ents]


# ---------------------------------------------------------------- 1. punctuation and quotes (R10, R11)
@pytest.mark.parametrize("text, marks, expected", [
    # a bare quote or bracket is never a span
    ('أعلن " الحشد الشعبي', [("ACTOR", '"')], []),
    ("قتل ( 15 جنديا", [("KILLED", "(")], []),
    ("هاجم « داعش القرية", [("ACTOR", "«")], []),
    ("هاجم داعش ، القرية", [("ACTOR", "،")], []),
    # quotes around the whole mention stay outside
    ('تبنى "الحشد الشعبي" الهجوم', [("ACTOR", '"الحشد الشعبي"')], [("ACTOR", "الحشد الشعبي")]),
    ("قال «داعش» في بيان", [("ACTOR", "«داعش»")], [("ACTOR", "داعش")]),
    # a quote inside the name: the closing mark belongs to the span
    ('تبنت كتائب "أبو علي مصطفى" الهجوم', [("ACTOR", 'كتائب "أبو علي مصطفى"')],
     [("ACTOR", 'كتائب "أبو علي مصطفى"')]),
    ("هاجمت جماعة «أنصار الإسلام» القرية", [("ACTOR", "جماعة «أنصار الإسلام»")],
     [("ACTOR", "جماعة «أنصار الإسلام»")]),
    # ... also when the model stopped before it
    ('تبنت كتائب "أبو علي مصطفى" الهجوم', [("ACTOR", 'كتائب "أبو علي مصطفى')],
     [("ACTOR", 'كتائب "أبو علي مصطفى"')]),
    ("هاجمت جماعة «أنصار الإسلام» القرية", [("ACTOR", "جماعة «أنصار")], [("ACTOR", "جماعة «أنصار الإسلام»")]),
    # never ends on an opening quote or bracket
    ("هاجمت جماعة «أنصار الإسلام» القرية", [("ACTOR", "جماعة «")], [("ACTOR", "جماعة")]),
    ('هاجمت قوات " النظام', [("ACTOR", 'قوات "')], [("ACTOR", "قوات")]),
    ("هاجمت قوات سوريا الديمقراطية (قسد) القرية", [("ACTOR", "قوات سوريا الديمقراطية (")],
     [("ACTOR", "قوات سوريا الديمقراطية")]),
    # a name at a bracket, a span at a comma: cut in two
    ("هاجمت قوات سوريا الديمقراطية (قسد) القرية", [("ACTOR", "قوات سوريا الديمقراطية (قسد)")],
     [("ACTOR", "قوات سوريا الديمقراطية"), ("ACTOR", "قسد")]),
    ("اشتبكت قوات النظام، وداعش قرب", [("ACTOR", "قوات النظام، وداعش")], [("ACTOR", "قوات النظام"), ("ACTOR", "داعش")]),
    ("هاجم داعش.", [("ACTOR", "داعش.")], [("ACTOR", "داعش")]),
    # brackets around a casualty number belong to the count (R11)
    ("وأصيب (15) جريحاً في الهجوم", [("WOUNDED", "15")], [("WOUNDED", "(15) جريحاً", 15, "exact")]),
    ("وأصيب (15) جريحاً في الهجوم", [("WOUNDED", "(15")], [("WOUNDED", "(15) جريحاً", 15, "exact")]),
    ("وأصيب (15) جريحاً في الهجوم", [("WOUNDED", "جريحاً")], [("WOUNDED", "(15) جريحاً", 15, "exact")]),
    ("وقتل (3) عناصر من الشرطة", [("KILLED", "(3) عناصر")], [("KILLED", "(3) عناصر", 3, "exact")]),
])
def test_punctuation(predictor, text, marks, expected):
    assert decode(predictor, text, *marks) == expected


# ---------------------------------------------------------------- 2. speech verbs and function words
@pytest.mark.parametrize("text, marks, expected", [
    ("وقال الجيش إن مسلحين هاجموا", [("ACTOR", "قال")], []),
    ("أفاد مصدر أمني بأن", [("ACTOR", "أفاد")], []),
    ("أكد البيان أن", [("ACTOR", "أكد")], []),
    ("أعلنت الشرطة", [("ACTOR", "أعلنت")], []),
    ("ذكرت الوكالة", [("KILLED", "ذكرت")], []),
    ("وقع الهجوم في المدينة", [("ACTOR", "في")], []),
    ("هاجم مسلحون من القرية", [("ACTOR", "من")], []),
    ("سيطر على البلدة", [("ACTOR", "على")], []),
    ("قال إن القوات التي هاجمت", [("ACTOR", "إن"), ("ACTOR", "التي")], []),
    ("المسلحين الذي هاجموا", [("ACTOR", "الذي")], []),
    # such a word at the edge of a name is cut off
    ("وأعلن الجيش العراقي", [("ACTOR", "أعلن الجيش العراقي")], [("ACTOR", "الجيش العراقي")]),
    ("هاجم بعد ذلك في قوات النظام التي", [("ACTOR", "في قوات النظام التي")], [("ACTOR", "قوات النظام")]),
])
def test_function_words(predictor, text, marks, expected):
    assert decode(predictor, text, *marks) == expected


# ---------------------------------------------------------------- 3. unit numbers (R12)
@pytest.mark.parametrize("text, marks, expected", [
    ("قتل جنديان من اللواء 93 في هجوم", [("KILLED", "جنديان"), ("ACTOR", "اللواء"), ("KILLED", "93")],
     [("KILLED", "جنديان", 2, "exact"), ("ACTOR", "اللواء 93")]),
    ("قصفت الفرقة 17 القرية", [("ACTOR", "الفرقة"), ("WOUNDED", "17")], [("ACTOR", "الفرقة 17")]),
    ("انسحبت الكتيبة 50 من الموقع", [("KILLED", "50")], []),
    ("هاجم الفوج 46 البلدة", [("KILLED", "الفوج 46")], []),
    ("قتل جندي من للواء 93 وأصيب ثلاثة", [("KILLED", "93"), ("WOUNDED", "ثلاثة")], [("WOUNDED", "ثلاثة", 3, "exact")]),
    # a count after the unit number stays a count
    ("قتل في الفرقة 17 ثلاثة جنود", [("KILLED", "17 ثلاثة جنود")], [("KILLED", "ثلاثة جنود", 3, "exact")]),
])
def test_unit_numbers_are_not_casualties(predictor, text, marks, expected):
    assert decode(predictor, text, *marks) == expected


# ---------------------------------------------------------------- 4. whole number phrases (R15, R16)
@pytest.mark.parametrize("text, marks, expected", [
    ("ارتفعت الحصيلة إلى قرابة 12 ألف قتيل", [("KILLED", "12")], [("KILLED", "قرابة 12 ألف قتيل", 12000, "about")]),
    ("ارتفعت الحصيلة إلى قرابة 12 ألف قتيل", [("KILLED", "ألف قتيل")],
     [("KILLED", "قرابة 12 ألف قتيل", 12000, "about")]),
    ("قتل ثلاثة آلاف و215 شخصاً", [("KILLED", "ثلاثة آلاف")], [("KILLED", "ثلاثة آلاف و215 شخصاً", 3215, "exact")]),
    ("قتل ثلاثة آلاف و215 شخصاً", [("KILLED", "215 شخصاً")], [("KILLED", "ثلاثة آلاف و215 شخصاً", 3215, "exact")]),
    ("قتل ثلاثة آلاف و215 شخصاً", [("KILLED", "آلاف")], [("KILLED", "ثلاثة آلاف و215 شخصاً", 3215, "exact")]),
    ("قتل ألفي مدني", [("KILLED", "ألفي")], [("KILLED", "ألفي مدني", 2000, "exact")]),
    ("وقتل سبعة وثلاثين قتيلا", [("KILLED", "سبعة")], [("KILLED", "سبعة وثلاثين قتيلا", 37, "exact")]),
    ("وقتل سبعة وثلاثين قتيلا", [("KILLED", "ثلاثين قتيلا")], [("KILLED", "سبعة وثلاثين قتيلا", 37, "exact")]),
    ("سقط 15قتيلا في القصف", [("KILLED", "15")], [("KILLED", "15قتيلا", 15, "exact")]),
    ("قتل اربعة جنود", [("KILLED", "اربعة")], [("KILLED", "اربعة جنود", 4, "exact")]),
    ("قتل مسئول محلي", [("KILLED", "مسئول محلي")], [("KILLED", "مسئول محلي", 1, "exact")]),
    ("قتل إثنين من المدنيين", [("KILLED", "إثنين من المدنيين")], [("KILLED", "إثنين من المدنيين", 2, "exact")]),
    ("قتل اثنين من المدنيين", [("KILLED", "اثنين")], [("KILLED", "اثنين", 2, "exact")]),
    ("قتل أكثر من 20 فردًا", [("KILLED", "20")], [("KILLED", "أكثر من 20 فردًا", 20, "more_than")]),
    ("قتل ما لا يقل عن 40 شخصا", [("KILLED", "40 شخصا")], [("KILLED", "ما لا يقل عن 40 شخصا", 40, "at_least")]),
    ("قتل خمسة أشخاص على الأقل", [("KILLED", "خمسة")], [("KILLED", "خمسة أشخاص", 5, "at_least")]),
    ("قُتِلَ سَبْعَةُ جُنُودٍ", [("KILLED", "سَبْعَةُ")], [("KILLED", "سَبْعَةُ جُنُودٍ", 7, "exact")]),
    # a number cut in pieces by stray B- tags is one count
    ("قتل سبعة وعشرين منتسبا", [("KILLED", "سبعة"), ("KILLED", "و"), ("KILLED", "عشرين منتسبا")],
     [("KILLED", "سبعة وعشرين منتسبا", 27, "exact")]),
    ("قتل ثلاثة آلاف و215 شخصاً", [("KILLED", "ثلاثة آلاف"), ("KILLED", "215")],
     [("KILLED", "ثلاثة آلاف و215 شخصاً", 3215, "exact")]),
    ("وأصيب أكثر من خمسين آخرين", [("WOUNDED", "أكثر"), ("WOUNDED", "من"), ("WOUNDED", "خمسين"), ("WOUNDED", "آخرين")],
     [("WOUNDED", "أكثر من خمسين آخرين", 50, "more_than")]),
    # two numbers joined by و are two counts, and a verb stops the phrase
    ("قتل 5 وأصيب 7 آخرون", [("KILLED", "5"), ("WOUNDED", "7")],
     [("KILLED", "5", 5, "exact"), ("WOUNDED", "7 آخرون", 7, "exact")]),
    ("قتل 5 و 7 جرحى", [("KILLED", "5")], [("KILLED", "5", 5, "exact")]),
    # the killing or wounding word and a trailing preposition stay outside
    ("أسفر عن مقتل 25 شخصا", [("KILLED", "مقتل 25")], [("KILLED", "25 شخصا", 25, "exact")]),
    ("قتل ثلاثة من عناصر التنظيم", [("KILLED", "ثلاثة من")], [("KILLED", "ثلاثة", 3, "exact")]),
    # extension never takes a word of another span
    ("قتل 12 ألف مدني", [("KILLED", "12"), ("ACTOR", "ألف")], [("KILLED", "12", 12, "exact"), ("ACTOR", "ألف")]),
])
def test_number_phrases(predictor, text, marks, expected):
    assert decode(predictor, text, *marks) == expected


# ---------------------------------------------------------------- properties
_SENTENCES = [
    'أعلنت كتائب "أبو علي مصطفى" و«سرايا القدس» مقتل (15) جنديا من اللواء 93، وإصابة ثلاثة آلاف و215 شخصاً.',
    "قال مسؤول إن قرابة 12 ألف قتيل سقطوا، بينهم 15قتيلا من الفرقة 17 (التابعة للجيش) و«داعش».",
    'وأفاد "المرصد" بأن سبعة وثلاثين قتيلا و( 4 ) جرحى سقطوا في قصف لـ"قوات النظام" على إدلب!',
]


def _is_punct(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "PS"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(_SENTENCES), st.data())
def test_spans_never_start_or_end_on_punctuation(predictor, text, data):
    prep = prepare(text, predictor.norm_cfg, predictor.stems)
    tags = data.draw(st.lists(st.sampled_from(predictor.tags), min_size=len(prep.words), max_size=len(prep.words)))
    probs = {}
    for k, tag in enumerate(tags):
        p = np.full(len(predictor.tags), 0.01)
        p[predictor.tags.index(tag)] = 1.0
        probs[k] = (0, p / p.sum())
    ents = predictor._decode_entities(prep, probs, 0)
    last_end = -1
    for e in sorted(ents, key=lambda x: x["start"]):
        t = e["text"]
        assert text[e["start"] : e["end"]] == t and t.strip() == t
        assert e["start"] >= last_end, "spans overlap"
        last_end = e["end"]
        assert any(c.isalnum() for c in t)
        if e["label"] in ("KILLED", "WOUNDED"):
            assert not _is_punct(t[0]) or t[0] in "(["
            assert not _is_punct(t[-1]) or t[-1] in ")]"
        else:
            assert not _is_punct(t[0]), t
            assert not _is_punct(t[-1]) or t[-1] in '"»”', t
            if _is_punct(t[-1]):  # a closing quote only after its opening mark inside the name
                opener = {"»": "«", "”": "“", '"': '"'}[t[-1]]
                assert opener in t[1:-1], t
        assert t.split()[-1] not in ("«", "(", '"', "في", "من", "قال")


def test_refine_spans_on_words():
    words = ["قتل", "(", "15", ")", "جريحا", "من", "اللواء", "93"]
    spans = [("KILLED", 2, 2, 0.9), ("ACTOR", 6, 6, 0.8), ("WOUNDED", 7, 7, 0.7)]
    assert refine_spans(spans, words) == [("KILLED", 1, 4, 0.9), ("ACTOR", 6, 7, 0.8)]


def test_a_span_on_the_quantifier_alone_grows_to_the_number_phrase():
    words = ["مقتل", "ما", "يربو", "على", "40", "ألف", "شخص", "في", "الحرب"]
    assert refine_spans([("KILLED", 1, 2, 0.6)], words) == [("KILLED", 1, 6, 0.6)]
    # a quantifier with no number after it stays as it was
    words = ["قتل", "أكثر", "من", "المدنيين"]
    assert refine_spans([("KILLED", 1, 1, 0.6)], words) == [("KILLED", 1, 1, 0.6)]


# ---------------------------------------------------------------- 5. attack-type thresholds
from rasid.training.evaluate import THRESHOLD_BOUNDS, _best_threshold, shrink_threshold, tune_thresholds  # noqa: E402


def _label(n_pos: int, n_neg: int, pos_scores, neg_scores, seed: int = 0):
    rng = np.random.default_rng(seed)
    gold = np.array([True] * n_pos + [False] * n_neg)
    scores = np.concatenate([rng.uniform(*pos_scores, n_pos), rng.uniform(*neg_scores, n_neg)])
    return gold, scores


def _stack(*labels):
    return np.stack([g for g, _ in labels], 1), np.stack([s for _, s in labels], 1)


def test_a_label_with_few_positives_is_pulled_toward_the_pooled_threshold():
    n = 400
    well = [_label(60, n - 60, (0.5, 1.0), (0.0, 0.45), seed=k) for k in range(3)]  # best near 0.5
    low = _label(5, n - 5, (0.06, 0.09), (0.0, 0.04), seed=7)  # 5 positives: raw best 0.05
    high = _label(6, n - 6, (0.91, 0.99), (0.0, 0.9), seed=8)  # 6 positives: raw best 0.9
    gold, scores = _stack(*well, low, high)
    labels = ["A", "B", "C", "LOW", "HIGH"]
    raw = tune_thresholds(gold, scores, labels, prior=0.0)
    assert raw["LOW"] == 0.05 and raw["HIGH"] == 0.9  # without shrinkage: the extremes
    th = tune_thresholds(gold, scores, labels)
    pooled = 0.5
    assert abs(th["LOW"] - pooled) < abs(raw["LOW"] - pooled) * 0.85
    assert abs(th["HIGH"] - pooled) < abs(raw["HIGH"] - pooled) * 0.85
    assert 0.2 < th["LOW"] < 0.45 and 0.55 < th["HIGH"] < 0.8
    for lab in "ABC":  # 60 positives each: barely moved
        assert abs(th[lab] - raw[lab]) <= 0.05


def test_a_flat_head_keeps_its_low_thresholds():
    """All labels score low (a weak attack head): the pooled optimum is low too,
    and the thresholds stay there instead of being dragged to 0.5, where nothing passes."""
    labels = [_label(25, 200, (0.1, 0.3), (0.0, 0.12), seed=k) for k in range(4)]
    gold, scores = _stack(*labels)
    th = tune_thresholds(gold, scores, list("ABCD"))
    assert all(t <= 0.15 for t in th.values()), th
    pred = scores >= np.array(list(th.values()))
    assert (pred & gold).sum() / gold.sum() > 0.6  # at 0.5 it would be 0


def test_no_positive_and_bounds():
    gold, scores = _stack(_label(50, 150, (0.6, 1.0), (0.0, 0.55)), (np.zeros(200, bool), np.linspace(0, 1, 200)))
    th = tune_thresholds(gold, scores, ["A", "NONE"])
    assert th["NONE"] == _best_threshold(gold, scores)  # the pooled value
    assert tune_thresholds(np.zeros((5, 2), bool), np.random.default_rng(0).random((5, 2)), ["A", "B"]) == {"A": 0.5, "B": 0.5}
    assert shrink_threshold(0.9, 20, target=0.5) == pytest.approx(0.7)
    assert shrink_threshold(0.1, 0, target=0.3) == 0.3
    assert shrink_threshold(0.99, 10_000, bounds=(0.2, 0.8)) == 0.8
    assert THRESHOLD_BOUNDS[0] <= shrink_threshold(0.0, 10_000) <= THRESHOLD_BOUNDS[1]


# ---------------------------------------------------------------- do no harm
def test_gold_spans_pass_through_unchanged():
    """The shipped corpus follows the schema: refining its gold spans (as if the
    model had tagged them exactly) must leave them as they are."""
    from conftest import CORPUS, load_jsonl
    from rasid.inference.normalize import NormalizationConfig
    from rasid.inference.words import DEFAULT_STEMS, spans_to_iob
    from rasid.training.train import _learnt_stems

    recs = [r for split in ("train", "dev", "test") for r in load_jsonl(CORPUS / f"{split}.jsonl")]
    stems = DEFAULT_STEMS | _learnt_stems(load_jsonl(CORPUS / "train.jsonl"))
    total, changed = 0, []
    for r in recs:
        prep = prepare(r["text"], NormalizationConfig(), stems)
        tags = spans_to_iob([(prep.src[s], prep.src[e - 1] + 1) for s, e in prep.words], r.get("entities", []))
        spans = []
        for k, t in enumerate(tags):
            if t.startswith("B-"):
                spans.append([t[2:], k, k, 1.0])
            elif t.startswith("I-"):
                spans[-1][2] = k
        spans = [tuple(sp) for sp in spans]
        total += len(spans)
        changed += [(r["id"], sp) for sp in set(spans) - set(refine_spans(spans, prep.word_strings()))]
    assert total > 1000
    assert len(changed) / total < 0.002, changed[:20]
