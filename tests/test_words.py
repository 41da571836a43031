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


def test_learnt_stem_does_not_break_a_whole_number_word():
    """احد (hamza-less أحد, "one of") is learnt as a span start after و; واحد ("one") stays whole."""
    stems = frozenset({"احد", "أحد"})
    text = "قتل جندي واحد وأحد المدنيين وواحدة من النساء"
    assert [text[s:e] for s, e in split_words(text, stems)] == [
        "قتل", "جندي", "واحد", "و", "أحد", "المدنيين", "و", "واحدة", "من", "النساء"]


def test_shipped_gold_spans_fall_on_word_boundaries():
    cfg = NormalizationConfig()
    report = AlignmentReport(examples=[])
    for split in ("train", "dev", "test"):
        for rec in load_jsonl(CORPUS / f"{split}.jsonl"):
            word_tags(rec, prepare(rec["text"], cfg), report)
    assert report.spans > 1000
    assert report.misaligned / report.spans < 0.01, report.examples


def test_whole_word_input_reads_written_words_and_labels_the_stem():
    text = "وقال مسؤول إن والجيش وقوات الأمن انتشرت للنظام"
    split = prepare(text, NormalizationConfig(normalize_alef=False))
    whole = prepare(text, NormalizationConfig(normalize_alef=False, word_input="whole"))
    assert whole.words == split.words  # spans are still cut after و ف ب ل
    assert whole.input_strings() == whole.norm.split()
    assert len(split.input_strings()) > len(whole.input_strings())
    # each written word speaks for its last part: the stem after the proclitic
    assert [whole.word_strings()[whole.owner(i)] for i in range(len(whole.inputs))] == [
        "قال", "مسؤول", "إن", "الجيش", "قوات", "الأمن", "انتشرت", "نظام"]
    # "with" keeps written words whole already: nothing to map
    assert prepare(text, NormalizationConfig(proclitics="with", word_input="whole")).owners is None
    with pytest.raises(ValueError, match="word_input"):
        NormalizationConfig(word_input="merged")


def test_whole_word_features_put_the_stem_label_on_the_written_word():
    from rasid.training.features import build_features
    from rasid.training.tokenizer import build_wordpiece

    text = "انسحب والجيش من المدينة"
    rec = {"id": "x-1", "text": text, "attack_types": [],
           "entities": [{"start": text.index("الجيش"), "end": text.index("الجيش") + 5, "label": "ACTOR"}]}
    tok = build_wordpiece([text.split(), ["و", "الجيش"]], vocab_size=200, min_frequency=1)
    tags = ["O", "B-ACTOR", "I-ACTOR", "B-KILLED", "I-KILLED", "B-WOUNDED", "I-WOUNDED"]
    out = {}
    for mode in ("split", "whole"):
        feats, _ = build_features([rec], tok, tags, [], 32, 8, NormalizationConfig(word_input=mode), with_types=False)
        labels = [tags[t] for t in feats[0]["labels"] if t != -100]
        out[mode] = labels
    assert out["split"] == ["O", "O", "B-ACTOR", "O", "O"]  # انسحب و الجيش من المدينة
    assert out["whole"] == ["O", "B-ACTOR", "O", "O"]  # انسحب والجيش من المدينة
