"""Real files in, nothing lost silently: CoNLL variants, Label Studio exports,
foreign label sets (validate / stats / training), and cards and reports that
describe the labels a model really has."""

from __future__ import annotations

import colorsys
import itertools
import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import REPO, load_jsonl
from rasid.data import cli
from rasid.data import convert as cv
from rasid.data import schema as sc
from rasid.data.convert import conll_to_jsonl, labelstudio_to_jsonl
from rasid.data.schema import DataError, LabelSet, load_corpus, validate_file

# New names are looked up at call time, so each test fails on its own before the fix.
def read_conll(*a, **k):
    return cv.read_conll(*a, **k)


def read_labelstudio(*a, **k):
    return cv.read_labelstudio(*a, **k)


def infer_entity_labels(*a, **k):
    return sc.infer_entity_labels(*a, **k)

FIX = Path(__file__).parent / "fixtures"
ANER = FIX / "anercorp_sample.txt"
CONLL03 = FIX / "conll2003_sample.conll"
LS = FIX / "labelstudio_export.json"
LS_MIN = FIX / "labelstudio_min.json"
LS_TASK = FIX / "labelstudio_task.json"


def surfaces(rec):
    return [(rec["text"][e["start"]:e["end"]], e["label"]) for e in rec["entities"]]


def run_convert(args, capsys):
    rc = cli.main(["convert", *map(str, args)])
    return rc, capsys.readouterr().err


# ------------------------------------------------------------------ CoNLL
def test_conll2003_style_file_keeps_dummy_columns_out(tmp_path, capsys):
    out = tmp_path / "c.jsonl"
    rc, err = run_convert(["--from", "conll", "--to", "jsonl", CONLL03, out], capsys)
    assert rc == 0, err
    recs = load_jsonl(out)
    assert len(recs) == 3  # two -DOCSTART- lines are boundaries, not records
    assert all("-X-" not in r["text"] and "DOCSTART" not in r["text"] and " _ " not in r["text"] for r in recs)
    assert recs[0]["text"] == "أعلنت وزارة الدفاع العراقية أن قواتها دخلت الموصل ."
    assert surfaces(recs[0]) == [("وزارة الدفاع العراقية", "ORG"), ("الموصل", "LOC")]
    assert surfaces(recs[2]) == [("الهلال الأحمر", "ORG"), ("غزة", "LOC")]


def test_anercorp_two_columns(tmp_path):
    recs = conll_to_jsonl(ANER)
    assert len(recs) == 3
    assert surfaces(recs[0]) == [("إيمانويل ماكرون", "PERS"), ("باريس", "LOC"), ("الاتحاد الأوروبي", "ORG")]
    assert surfaces(recs[2]) == [("الشرق الأوسط", "LOC"), ("كأس العرب", "MISC"), ("محمد بن سلمان", "PERS")]


def test_conll2003_original_columns_iob1(tmp_path):
    # word POS chunk NER, tags in IOB1 (I- opens an entity, B- only splits two adjacent ones)
    p = tmp_path / "eng.train"
    p.write_text("-DOCSTART- -X- -X- O\n\nEU NNP I-NP I-ORG\nrejects VBZ I-VP O\nGerman JJ I-NP I-MISC\n"
                 "call NN I-NP O\n. . O O\n\nPeter NNP I-NP I-PER\nBlackburn NNP I-NP I-PER\nJohn NNP I-NP B-PER\n"
                 "Smith NNP I-NP I-PER\n", encoding="utf-8")
    recs = conll_to_jsonl(p)
    assert [r["text"] for r in recs] == ["EU rejects German call .", "Peter Blackburn John Smith"]
    assert surfaces(recs[0]) == [("EU", "ORG"), ("German", "MISC")]
    assert surfaces(recs[1]) == [("Peter Blackburn", "PER"), ("John Smith", "PER")]


@pytest.mark.parametrize("tags", [
    ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC", "I-LOC"],  # IOB2
    ["I-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-LOC", "I-LOC"],  # IOB1
    ["B-PER", "E-PER", "O", "S-LOC", "B-LOC", "I-LOC", "E-LOC"],  # BIOES
    ["B-PER", "L-PER", "O", "U-LOC", "B-LOC", "I-LOC", "L-LOC"],  # BILOU
])
def test_tag_schemes(tmp_path, tags):
    words = ["Ali", "Hasan", "in", "Aden", "Sanaa", "old", "city"]
    p = tmp_path / "s.conll"
    p.write_text("".join(f"{w}\t{t}\n" for w, t in zip(words, tags)), encoding="utf-8")
    assert surfaces(conll_to_jsonl(p)[0]) == [("Ali Hasan", "PER"), ("Aden", "LOC"), ("Sanaa old city", "LOC")]


def test_extra_columns_tag_last(tmp_path):
    p = tmp_path / "x.conll"
    p.write_text("1\tقتل\tVERB\t_\tO\n2\tجنود\tNOUN\t_\tB-KILLED\n", encoding="utf-8")
    conv = read_conll(p, word_column=1)
    assert conv.problems == [] and conv.records[0]["text"] == "قتل جنود"
    assert surfaces(conv.records[0]) == [("جنود", "KILLED")]


def test_file_without_blank_lines_warns_with_line_number(tmp_path):
    p = tmp_path / "giant.txt"
    p.write_text("# a header comment\n" + "كلمة O\n" * 620, encoding="utf-8")
    conv = read_conll(p)
    assert len(conv.records) == 1 and conv.problems == []
    assert any(n.startswith(f"{p}:2:") and "620 words" in n and "blank line" in n for n in conv.notes), conv.notes
    assert not read_conll(ANER).notes


def test_literal_space_token_is_skipped_and_reported(tmp_path, capsys):
    p = tmp_path / "sp.conll"
    # tab-separated: a token that is one space; space-separated: the same, and a no-break space
    p.write_text("قتل\tO\n \tO\nجنود\tB-KILLED\n\nقتل O\n  O\n\u00a0 O\nجنود B-KILLED\n", encoding="utf-8")
    out = tmp_path / "sp.jsonl"
    rc, err = run_convert(["--from", "conll", "--to", "jsonl", p, out], capsys)
    assert rc == 0, err
    assert [r["text"] for r in load_jsonl(out)] == ["قتل جنود", "قتل جنود"]
    assert "3 whitespace-only token(s)" in err and "lines 2, 6, 7" in err


def test_every_bad_line_reported_in_one_pass(tmp_path, capsys):
    p = tmp_path / "bad.conll"
    p.write_text("a O\nb BAD\nc O\nd\n\ne O\nf I_PER\n\ng O\nh B-PER\n\ni B-\n", encoding="utf-8")
    conv = read_conll(p)
    assert [x.split(": ", 1)[0] for x in conv.problems] == [f"{p}:2", f"{p}:4", f"{p}:7", f"{p}:12"]
    assert [r["text"] for r in conv.records] == ["g h"]  # the good segment still converts
    with pytest.raises(DataError) as exc:
        conll_to_jsonl(p)
    assert len(exc.value.problems) == 4
    rc, err = run_convert(["--from", "conll", "--to", "jsonl", p, tmp_path / "o.jsonl"], capsys)
    assert rc == 1 and all(f"{p}:{n}:" in err for n in (2, 4, 7, 12))


def test_conll_crlf_bom_and_column_mismatch(tmp_path):
    p = tmp_path / "w.conll"
    p.write_bytes("\ufeffقتل\tO\r\nجنود\tB-KILLED\r\n".encode("utf-8"))
    assert surfaces(conll_to_jsonl(p)[0]) == [("جنود", "KILLED")]
    p.write_text("a -X- _ O\nb -X- _ O\nc _ O\n", encoding="utf-8")
    assert read_conll(p).problems == [f"{p}:3: 3 columns, the rest of the file has 4"]


# ------------------------------------------------------------ Label Studio
def by_id(recs):
    return {r["id"]: r for r in recs}


def test_labelstudio_unannotated_tasks_are_skipped_and_counted():
    conv = read_labelstudio(LS)
    recs = by_id(conv.records)
    assert "102" not in recs and "103" not in recs  # predictions only / only a cancelled annotation
    note = next(n for n in conv.notes if "without a usable annotation" in n)
    assert "2 task(s)" in note and "1 with predictions only" in note and "1 with only cancelled" in note
    kept = read_labelstudio(LS, unannotated="keep")
    assert by_id(kept.records)["102"]["entities"] == [] and "103" in by_id(kept.records)
    assert any("kept 2 task(s) without a usable annotation" in n for n in kept.notes)


@pytest.mark.parametrize("policy, attack", [
    ("most-recent", "AMBUSH"), ("first", "ARMED_ASSAULT"), ("last", "BOMBING")])
def test_labelstudio_annotation_policy(policy, attack):
    conv = read_labelstudio(LS, annotation=policy)
    assert by_id(conv.records)["101"]["attack_types"] == [attack]
    assert any("1 task(s) with several annotations" in n and policy in n for n in conv.notes), conv.notes


def test_labelstudio_annotation_fail_names_task_and_annotators():
    conv = read_labelstudio(LS, annotation="fail")
    assert "101" not in by_id(conv.records)
    msg = next(p for p in conv.problems if "task 101" in p)
    assert "3 annotations" in msg and "3, 5, 8" in msg


def test_default_annotation_policy_is_in_the_help(capsys):
    with pytest.raises(SystemExit):
        cli.main(["convert", "--help"])
    assert re.search(r"most-recent.*\(default\)", " ".join(capsys.readouterr().out.split()))


def test_labelstudio_relations_are_counted():
    conv = read_labelstudio(LS)
    assert any("dropped 2 relation(s) in 1 task(s)" in n for n in conv.notes), conv.notes
    assert surfaces(by_id(conv.records)["104"]) == [
        ("أربعة عناصر من الشرطة", "KILLED"), ("خمسة آخرون", "WOUNDED"), ("تنظيم داعش", "ACTOR")]


def test_labelstudio_bad_task_is_reported_and_the_rest_converted(tmp_path, capsys):
    conv = read_labelstudio(LS)
    assert any(p.startswith(f"{LS}: task 105:") and "no data.text" in p for p in conv.problems)
    assert {"101", "104", "107"} <= set(by_id(conv.records))
    out = tmp_path / "ls.jsonl"
    rc, err = run_convert(["--from", "labelstudio", "--to", "jsonl", LS, out], capsys)
    assert rc == 1 and "task 105" in err and "task 106" in err
    assert {r["id"] for r in load_jsonl(out)} == {"101", "104", "107"}


def test_labelstudio_offsets_are_checked_against_span_text():
    conv = read_labelstudio(LS)
    msg = next(p for p in conv.problems if "task 106" in p)
    assert "(8, 29)" in msg and "'مسلحون من حركة الشباب'" in msg and "'لحون من حركة الشباب ث'" in msg
    assert "106" not in by_id(conv.records)
    # emoji before a span: Label Studio counts UTF-16 code units; converted, and said so
    assert surfaces(by_id(conv.records)["107"]) == [("ثلاثة مدنيين", "KILLED")]
    assert any("UTF-16" in n and "1 region(s)" in n for n in conv.notes)


def test_labelstudio_json_min_export():
    conv = read_labelstudio(LS_MIN)
    recs = by_id(conv.records)
    assert conv.problems == [] and set(recs) == {"101", "103", "104"}
    assert recs["101"]["attack_types"] == ["AMBUSH"]  # two annotators: the most recent one
    assert surfaces(recs["101"]) == [("سبعة جنود", "KILLED"), ("تنظيم داعش", "ACTOR")]
    assert recs["101"]["entities"][0]["count"] == 7
    assert recs["104"]["attack_types"] == ["SUICIDE_BOMBING", "BOMBING"]
    assert recs["103"]["entities"] == [] and recs["103"]["attack_types"] == []


def test_labelstudio_single_task_file(tmp_path, capsys):
    recs = labelstudio_to_jsonl(LS_TASK)
    assert [r["id"] for r in recs] == ["104"] and len(recs[0]["entities"]) == 3
    rc, _ = run_convert(["--from", "labelstudio", "--to", "jsonl", LS_TASK, tmp_path / "t.jsonl"], capsys)
    assert rc == 0


def test_labelstudio_cli_flags(tmp_path, capsys):
    out = tmp_path / "k.jsonl"
    rc, err = run_convert(["--from", "labelstudio", "--to", "jsonl", "--unannotated", "keep", "--annotation", "first",
                       LS_MIN, out], capsys)
    assert rc == 0, err
    assert by_id(load_jsonl(out))["101"]["attack_types"] == ["AMBUSH"]  # JSON-MIN lists the newest first


# ------------------------------------------------------------ label sets
@pytest.fixture
def foreign(tmp_path):
    """A PERS/LOC/ORG/MISC corpus of a few thousand segments."""
    recs = conll_to_jsonl(ANER)
    p = tmp_path / "aner.jsonl"
    p.write_text("".join(json.dumps(r | {"id": f"{r['id']}-{i}"}, ensure_ascii=False) + "\n"
                         for i in range(1000) for r in recs), encoding="utf-8")
    return p


def test_validate_summarises_unknown_labels_once_per_file(foreign, capsys):
    assert cli.main(["validate", str(foreign), str(foreign)]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 2  # one line per file, not 8,000
    line = out[0]
    assert line.startswith(f"{foreign}:1:") and "8000 entities on 3000 lines" in line
    assert "'LOC' ×3000, 'ORG' ×2000, 'PERS' ×2000, 'MISC' ×1000" in line and "(known: ACTOR, KILLED, WOUNDED)" in line
    assert "lines 1, 2, 3" in line
    assert "--entity-labels LOC,MISC,ORG,PERS" in line and "data.entity_labels" in line


def test_stats_and_training_loader_name_the_way_out(foreign, capsys):
    assert cli.main(["stats", str(foreign)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") <= 3 and "--entity-labels" in err
    with pytest.raises(DataError) as exc:
        load_corpus([foreign], LabelSet())  # what rasid-train calls
    assert len(exc.value.problems) == 1 and "data.entity_labels=auto" in str(exc.value)
    assert cli.main(["stats", "--entity-labels", "LOC,MISC,ORG,PERS", str(foreign)]) == 0
    assert cli.main(["validate", "--entity-labels", "auto", str(foreign)]) == 0


def test_few_unknown_labels_keep_their_lines(tmp_path):
    p = tmp_path / "f.jsonl"
    good = {"id": "a", "text": "هاجم مسلحون القرية", "entities": [{"start": 5, "end": 11, "label": "ACTOR"}]}
    bad = {"id": "b", "text": "هاجم مسلحون القرية", "entities": [{"start": 12, "end": 18, "label": "PLACE"}]}
    p.write_text(json.dumps(good, ensure_ascii=False) + "\n" + json.dumps(bad, ensure_ascii=False) + "\n", encoding="utf-8")
    _, problems = validate_file(p)
    assert len(problems) == 1 and problems[0].startswith(f"{p}:2: entity 0 ('القرية'): unknown label 'PLACE'")
    assert "--entity-labels ACTOR,PLACE" in problems[0]


def test_infer_entity_labels_sorted_and_stable(foreign, tmp_path):
    assert infer_entity_labels([foreign]) == ["LOC", "MISC", "ORG", "PERS"]
    assert infer_entity_labels([foreign, foreign]) == infer_entity_labels([foreign])


def test_train_config_entity_labels_auto(foreign, tmp_path):
    from test_training import compose_cfg

    from rasid.training.config import resolve_entity_labels, to_settings

    s = to_settings(compose_cfg([f"data.train={foreign}", "data.entity_labels=auto", "data.use_augmented=false"]))
    assert s.data.entity_labels == "auto"
    assert resolve_entity_labels(s.data) == ["LOC", "MISC", "ORG", "PERS"]
    # the shipped augmented set speaks ACTOR/KILLED/WOUNDED: auto must not mix it in silently
    s = to_settings(compose_cfg([f"data.train={foreign}", "data.entity_labels=auto"]))
    with pytest.raises(ValueError, match="use_augmented=false"):
        resolve_entity_labels(s.data)
    s = to_settings(compose_cfg(["data.entity_labels=auto"]))  # the shipped corpus
    assert resolve_entity_labels(s.data) == ["ACTOR", "KILLED", "WOUNDED"]
    with pytest.raises(ValueError, match="list of labels or auto"):
        to_settings(compose_cfg(["data.entity_labels=sometimes"]))


def test_anercorp_and_conll2003_convert_and_validate_with_inferred_labels(tmp_path, capsys):
    for src in (ANER, CONLL03):
        out = tmp_path / f"{src.stem}.jsonl"
        rc, err = run_convert(["--from", "conll", "--to", "jsonl", src, out], capsys)
        assert rc == 0, err
        labels = infer_entity_labels([out])
        assert labels == (["LOC", "MISC", "ORG", "PERS"] if src == ANER else ["LOC", "ORG", "PERS"])
        recs, problems = validate_file(out, LabelSet(tuple(labels)))
        assert problems == [] and len(recs) == 3
        assert cli.main(["validate", "--entity-labels", ",".join(labels), str(out)]) == 0


# ------------------------------------------------------------ cards and reports
def card_for(tmp_path, entity_labels, attack_types=()):
    from rasid.training.card import write_model_card

    config = SimpleNamespace(task="joint" if attack_types else "tagging", entity_labels=list(entity_labels),
                             attack_types=list(attack_types), max_length=128, stride=32, normalization={},
                             thresholds={})
    s = SimpleNamespace(model=SimpleNamespace(name_or_path=None, encoder={}, preset="tiny"), seed=13,
                        data=SimpleNamespace(train=["aner.jsonl"], use_augmented=False, augmented=[]),
                        trainer=SimpleNamespace(args={"bf16": False, "fp16": False}))
    path = tmp_path / "README.md"
    write_model_card(path, config, {"dev": {"n_segments": 3}}, s)
    return path.read_text(encoding="utf-8")


def test_model_card_describes_the_labels_it_has(tmp_path):
    card = card_for(tmp_path, ["LOC", "MISC", "ORG", "PERS"])
    assert "ACTOR" not in card and "casualt" not in card.lower() and "KILLED" not in card
    assert "attack types" not in card.split("## Metrics")[0]
    assert "LOC, MISC, ORG, PERS" in card
    card = card_for(tmp_path, ["ACTOR", "KILLED", "WOUNDED"], ["BOMBING", "AMBUSH"])
    assert "armed ACTORs" in card and "casualty counts (KILLED, WOUNDED)" in card and "BOMBING, AMBUSH" in card


def _lab(colour: str):
    m = re.fullmatch(r"hsl\((\d+),(\d+)%,(\d+)%\)", colour)
    if m:
        rgb = colorsys.hls_to_rgb(int(m[1]) / 360, int(m[3]) / 100, int(m[2]) / 100)
    else:
        rgb = tuple(int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    xyz = [sum(w * c for w, c in zip(row, lin)) / n for row, n in (
        ((0.4124, 0.3576, 0.1805), 0.95047), ((0.2126, 0.7152, 0.0722), 1.0), ((0.0193, 0.1192, 0.9505), 1.08883))]
    f = [t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116 for t in xyz]
    return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])


def css_colours(page: str, labels) -> dict:
    from rasid.inference.report import label_class

    return {lab: re.search(rf"mark\.{re.escape(label_class(lab))}\{{background:([^}}]+)\}}", page)[1] for lab in labels}


@pytest.mark.parametrize("labels", [
    ["PERS", "ORG", "LOC", "MISC"],
    ["ACTOR", "KILLED", "WOUNDED", "PERS", "ORG", "LOC", "MISC", "WEAPON"],
    ["A", "B", "C", "D", "E", "F", "G", "H"],
])
def test_report_legend_and_distinct_colours(labels):
    from rasid.inference.report import render_predictions_html

    text = " ".join(f"كلمة{i}" for i in range(len(labels)))
    ents = [{"start": m.start(), "end": m.end(), "label": lab} for m, lab in zip(re.finditer(r"\S+", text), labels)]
    page = render_predictions_html([{"id": "x", "text": text, "entities": ents}])
    legend = re.search(r'<p class="legend">(.*?)</p>', page)[1]
    shown = re.findall(r"<mark [^>]*><bdi>([^<]+)</bdi></mark>", legend)
    assert sorted(shown) == sorted(labels)  # no ACTOR/KILLED/WOUNDED unless the model has them
    colours = css_colours(page, labels)
    labs = [_lab(c) for c in colours.values()]
    closest = min(sum((a - b) ** 2 for a, b in zip(x, y)) ** 0.5 for x, y in itertools.combinations(labs, 2))
    assert closest > 20, colours  # CIE76 ΔE: clearly different, not PERS ≈ ORG
    assert all(L > 70 for L, _, _ in labs)  # light enough for black text
    if "ACTOR" in labels:
        assert colours["ACTOR"] == "#a8d1ff" and colours["KILLED"] == "#ffa8a8"
    assert "counts:" not in legend or "KILLED" in labels


def test_report_legend_can_name_the_model_labels():
    from rasid.inference.report import render_predictions_html

    page = render_predictions_html([{"id": "x", "text": "نص", "entities": []}], labels=["PERS", "LOC"])
    legend = re.search(r'<p class="legend">(.*?)</p>', page)[1]
    assert re.findall(r"<bdi>([A-Z]+)</bdi></mark>", legend) == ["LOC", "PERS"]


def test_corpus_config_documents_auto():
    text = (REPO / "configs" / "data" / "corpus.yaml").read_text(encoding="utf-8")
    assert re.search(r"^entity_labels: .*#.*auto", text, re.M)
