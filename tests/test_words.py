"""Word segmentation: proclitics split where the schema starts spans."""

import pytest

from conftest import CORPUS, load_jsonl
from rasid.inference.normalize import NormalizationConfig
from rasid.inference.words import split_words
from rasid.training.features import AlignmentReport, word_tags
from rasid.inference.encoding import prepare


@pytest.mark.parametrize(
    "text, words",
    [
        ("والميليشيات", ["و", "الميليشيات"]),
        ("للنظام", ["لل", "نظام"]),
        ("لقوات", ["ل", "قوات"]),
        ("بتنظيم", ["ب", "تنظيم"]),
        ("وبالقوات", ["وب", "القوات"]),
        ("وقتل", ["و", "قتل"]),
        ("وزارة", ["وزارة"]),
        ("قتل 20شخصا.", ["قتل", "20", "شخصا", "."]),
        ("لبنان", ["لبنان"]),
        ("1,200 جندي", ["1,200", "جندي"]),
    ],
)
def test_split(text, words):
    assert [text[s:e] for s, e in split_words(text)] == words


def test_shipped_gold_spans_fall_on_word_boundaries():
    cfg = NormalizationConfig()
    report = AlignmentReport(examples=[])
    for split in ("train", "dev", "test"):
        for rec in load_jsonl(CORPUS / f"{split}.jsonl"):
            word_tags(rec, prepare(rec["text"], cfg), report)
    assert report.spans > 1000
    assert report.misaligned / report.spans < 0.01, report.examples
