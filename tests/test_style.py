"""Style channel (rasid.data.style) and the R13 aircraft pass of the augmentation generator."""

import random

from conftest import CORPUS, load_jsonl
from rasid.data.augment import _tag_aircraft
from rasid.data.markup import parse_markup
from rasid.data.schema import validate_record
from rasid.data.style import _bracket_count, _quote_actor, style_markup, styled_copies


def test_styled_copies_keep_labels_counts_and_validate():
    recs = load_jsonl(CORPUS / "train.jsonl")[:300]
    out = styled_copies(recs, copies=2, seed=3)
    assert len(out) == 600 and len({r["id"] for r in out}) == 600
    for src, new in zip((r for r in recs for _ in range(2)), out):
        assert validate_record(new) == []
        assert new["attack_types"] == src["attack_types"]
        assert [(e["label"], e.get("count")) for e in new["entities"]] == [(e["label"], e.get("count")) for e in src["entities"]]
    changed = sum(a["text"] != b["text"] for a, b in zip((r for r in recs for _ in range(2)), out))
    assert changed >= 500  # nearly every copy differs from its source
    assert styled_copies(recs[:20], 1, seed=3) == styled_copies(recs[:20], 1, seed=3)


def test_each_outlet_form_appears():
    recs = load_jsonl(CORPUS / "train.jsonl")
    texts = [r["text"] for r in styled_copies(recs, 1, seed=0)]
    joined = "\n".join(texts)
    for form in ("(رويترز)", "«", "(1", "(2"):
        assert form in joined
    assert sum(t.startswith(("بغداد", "دمشق", "صنعاء", "(", "مقديشو", "بيروت", "غزة")) for t in texts) > 100
    assert any(c in joined for c in "٠١٢٣٤٥٦٧٨٩")


def test_quotes_inside_a_name_belong_to_the_span():
    rng = random.Random(0)
    text, ents = parse_markup(_quote_actor(rng, "ACTOR", "جماعة أنصار الإسلام"))
    assert text[ents[0]["start"]:ents[0]["end"]] == text and text[-1] in "»\"”" and text.split()[1][0] in "«\"“"
    text, ents = parse_markup(_quote_actor(rng, "ACTOR", "داعش"))
    assert text[ents[0]["start"]:ents[0]["end"]] == "داعش" and len(text) == 6  # marks outside the span


def test_bracketed_numbers_stay_inside_the_count():
    text, ents = parse_markup(_bracket_count("WOUNDED 15", "15 جريحًا"))
    assert text == "(15) جريحًا" and ents[0]["count"] == 15 and (ents[0]["start"], ents[0]["end"]) == (0, len(text))


def test_markup_heads_are_never_respelled():
    rng = random.Random(1)
    for _ in range(50):
        m = style_markup(rng, "أعلنت [[ACTOR|القوات الأمنية]] مقتل [[KILLED 5 more_than|أكثر من 5 أشخاص]] في إدلب", "syria")
        text, ents = parse_markup(m)
        assert [(e["label"], e["count"], e["qualifier"]) for e in ents if e["label"] == "KILLED"] == [("KILLED", 5, "more_than")]


def test_aircraft_become_actors_with_proclitics_outside():
    m = _tag_aircraft("استهدفت طائرة مسيّرة مجهولة سيارة ثم قصفت بطائرات مسيّرة تابعة لل[[ACTOR|جيش]] و[[ACTOR|مقاتلات]]")
    text, ents = parse_markup(m)
    spans = [text[e["start"]:e["end"]] for e in ents]
    assert spans == ["طائرة مسيّرة مجهولة", "طائرات مسيّرة", "جيش", "مقاتلات"]


def test_the_standalone_markup_script_uses_the_package_label_set():
    from rasid.data import markup
    from rasid.inference import schema

    assert markup.ENTITY_LABELS == schema.ENTITY_LABELS and markup.ATTACK_TYPES == schema.ATTACK_TYPES
