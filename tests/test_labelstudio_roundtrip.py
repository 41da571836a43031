"""Predictions -> Label Studio tasks -> (a person edits, skips or leaves them) -> export -> rasid JSONL.

The exported shapes follow Label Studio's JSON task format: tasks keep our
``data`` and ``predictions`` and gain an ``id``, ``annotations`` (edited,
cancelled) and Label Studio's bookkeeping fields."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET

from conftest import CORPUS, load_jsonl
from rasid.data import cli
from rasid.data.convert import read_labelstudio
from rasid.inference import labelstudio as ls
from rasid.inference.batch import main as predict_main
from rasid.inference.counts import parse_count

TEXT = "قُتل سبعة جنود وأصيب ٢٣ آخرون 😢 في هجوم شنّه مسلحو تنظيم داعش على حاجز"
PRED = {
    "id": "doc-1", "theatre": "iraq",
    "entities": [
        {"start": 5, "end": 14, "label": "KILLED", "text": "سبعة جنود", "score": 0.91, "count": 7, "qualifier": "exact"},
        {"start": 21, "end": 30, "label": "WOUNDED", "text": "٢٣ آخرون", "score": 0.62, "count": 23, "qualifier": "exact"},
        {"start": 51, "end": 61, "label": "ACTOR", "text": "تنظيم داعش", "score": 0.55},
    ],
    "attack_types": [{"label": "ARMED_ASSAULT", "score": 0.81}],
}


def key(rec: dict):
    """What must survive the round trip: spans, labels, counts and attack types."""
    ents = sorted((e["start"], e["end"], e["label"], e.get("count")) for e in rec["entities"])
    return ents, sorted(rec["attack_types"])


def pred_key(rec: dict):
    ents = sorted((e["start"], e["end"], e["label"], e.get("count")) for e in rec["entities"])
    return ents, sorted(t["label"] if isinstance(t, dict) else t for t in rec["attack_types"])


def fix_text(p: dict) -> dict:
    p = copy.deepcopy(p)
    p["text"] = TEXT
    for e in p["entities"]:
        e["start"] = TEXT.index(e["text"])
        e["end"] = e["start"] + len(e["text"])
    return p


def as_exported(tasks: list[dict]) -> list[dict]:
    """The tasks as Label Studio exports them after import: ids and bookkeeping added."""
    out = []
    for n, t in enumerate(tasks):
        t = copy.deepcopy(t)
        t.update({"id": 900 + n, "annotations": [], "drafts": [], "meta": {}, "created_at": "2025-01-10T09:00:00.000Z",
                  "updated_at": "2025-01-10T09:00:00.000Z", "inner_id": n + 1, "total_annotations": 0,
                  "cancelled_annotations": 0, "total_predictions": 1, "project": 7})
        for p in t["predictions"]:
            p.update({"id": 500 + n, "created_ago": "2 minutes", "model_version": p["model_version"], "task": t["id"],
                      "project": 7, "created_at": "2025-01-10T09:00:00.000Z", "updated_at": "2025-01-10T09:00:00.000Z"})
        out.append(t)
    return out


def annotation(result: list[dict], cancelled: bool = False, who: int = 3, when: str = "2025-01-11T10:00:00.000Z") -> dict:
    return {"id": 70 + who, "completed_by": who, "result": result, "was_cancelled": cancelled, "ground_truth": False,
            "created_at": when, "updated_at": when, "lead_time": 12.5, "prediction": {}, "result_count": len(result),
            "task": None, "project": 7, "parent_prediction": 500, "parent_annotation": None, "last_action": None}


def test_result_shapes_follow_label_studio():
    rec = fix_text(PRED)
    task = ls.prediction_task(rec, TEXT, "tiny@abc", 0, {"theatre": "iraq"})
    assert task["data"] == {"text": TEXT, "rasid_id": "doc-1", "theatre": "iraq"}
    pred = task["predictions"][0]
    assert pred["model_version"] == "tiny@abc" and pred["score"] == 0.55  # the least sure span or type
    labels = [r for r in pred["result"] if r["type"] == "labels"]
    numbers = [r for r in pred["result"] if r["type"] == "number"]
    choices = [r for r in pred["result"] if r["type"] == "choices"]
    assert [r["value"]["labels"] for r in labels] == [["KILLED"], ["WOUNDED"], ["ACTOR"]]
    assert all({"id", "from_name", "to_name", "type", "value"} <= set(r) for r in pred["result"])
    # a count is a per-region attribute: same id as its region, and the region's offsets
    by_id = {r["id"]: r for r in labels}
    assert [(by_id[n["id"]]["value"]["labels"][0], n["value"]["number"]) for n in numbers] == [("KILLED", 7), ("WOUNDED", 23)]
    assert all(n["value"]["start"] == by_id[n["id"]]["value"]["start"] for n in numbers)
    assert choices[0]["value"] == {"choices": ["ARMED_ASSAULT"]} and choices[0]["from_name"] == "attack_type"
    # the emoji (beyond U+FFFF) counts as two UTF-16 units, as in Label Studio: the ACTOR after it shifts by one
    actor = by_id[[r["id"] for r in labels if r["value"]["labels"] == ["ACTOR"]][0]]["value"]
    assert actor["start"] == rec["entities"][2]["start"] + 1 and actor["text"] == "تنظيم داعش"
    assert labels[0]["value"]["score"] == 0.91


def test_labelling_config_declares_the_model_labels():
    xml = ls.labeling_config(["PERS", "KILLED"], ["BOMBING", "AMBUSH"])
    root = ET.fromstring(xml)
    assert [x.get("value") for x in root.find("Labels")] == ["PERS", "KILLED"]
    number = root.find("Number")
    assert number.get("perRegion") == "true" and number.get("name") == ls.COUNT_NAME
    assert [x.get("value") for x in root.find("Choices")] == ["BOMBING", "AMBUSH"]
    assert root.find("Choices").get("choice") == "multiple"
    assert root.find(".//Text").get("value") == "$text"
    # no count labels, no attack types: no Number, no Choices
    bare = ET.fromstring(ls.labeling_config(["PERS", "LOC"], []))
    assert bare.find("Number") is None and bare.find("Choices") is None


def test_round_trip_prediction_only_tasks(tmp_path):
    """Untouched pre-annotations come back exactly with --unannotated predictions, and are skipped by default."""
    recs = [fix_text(PRED)]
    gold = [dict(r, text=r["text"]) for r in load_jsonl(CORPUS / "dev.jsonl")[:40]]  # gold records as predictions
    recs += gold
    tasks = tmp_path / "tasks.json"
    n, xml = ls.write_tasks(recs, tasks, "m@1")
    assert n == 41 and xml == tmp_path / "tasks.labelstudio.xml" and xml.is_file()
    exported = tmp_path / "export.json"
    exported.write_text(json.dumps(as_exported(json.loads(tasks.read_text())), ensure_ascii=False), encoding="utf-8")
    skipped = read_labelstudio(exported)
    assert skipped.records == [] and "skipped 41 task(s)" in skipped.notes[0] and "--unannotated predictions" in skipped.notes[0]
    conv = read_labelstudio(exported, unannotated="predictions")
    assert not conv.problems
    assert [r["id"] for r in conv.records] == ["doc-1"] + [r["id"] for r in gold]
    for got, want in zip(conv.records, recs):
        assert got["text"] == want["text"]
        assert key(got) == pred_key(want), want["id"]
    assert any("converted from their most recent prediction" in n for n in conv.notes)
    # the utf16 note tells the offsets were converted back
    assert any("UTF-16" in n for n in conv.notes)


def test_edited_skipped_and_unlabelled_tasks(tmp_path):
    recs = [fix_text(PRED), fix_text(PRED), fix_text(PRED)]
    for i, r in enumerate(recs):
        r["id"] = f"doc-{i}"
    tasks = tmp_path / "tasks.json"
    ls.write_tasks(recs, tasks, "m@1")
    exp = as_exported(json.loads(tasks.read_text()))
    # task 0: a person accepted the pre-annotation and corrected it
    result = copy.deepcopy(exp[0]["predictions"][0]["result"])
    for r in result:
        r["origin"] = "prediction-changed"
        if r["type"] == "number" and r["value"]["number"] == 23:
            r["value"]["number"] = 25  # count corrected
        if r["type"] == "labels" and r["value"]["labels"] == ["ACTOR"]:
            r["value"]["labels"] = ["WOUNDED"]  # relabelled (a WOUNDED span with no number: count read from its text)
        if r["type"] == "choices":
            r["value"]["choices"] = ["AMBUSH", "ARMED_ASSAULT"]
    result = [r for r in result if not (r["type"] == "labels" and r["value"]["labels"] == ["KILLED"])
              and not (r["type"] == "number" and r["value"]["number"] == 7)]  # one span deleted with its count
    exp[0]["annotations"] = [annotation(result)]
    # task 1: skipped by the annotator (cancelled annotation, empty result)
    exp[1]["annotations"] = [annotation([], cancelled=True)]
    # task 2: left unlabelled (predictions only)
    path = tmp_path / "export.json"
    path.write_text(json.dumps(exp, ensure_ascii=False), encoding="utf-8")

    conv = read_labelstudio(path)
    assert not conv.problems
    assert [r["id"] for r in conv.records] == ["doc-0"]
    ents, types = key(conv.records[0])
    t = TEXT
    a = t.index("تنظيم")
    read = parse_count(t[a:a + 10], t[a + 10:a + 30])[0]  # no number given: read from the span text, as for any import
    assert ents == [(t.index("٢٣"), t.index("٢٣") + 8, "WOUNDED", 25), (a, a + 10, "WOUNDED", read)]
    assert types == ["AMBUSH", "ARMED_ASSAULT"]
    assert any("1 with predictions only, 1 with only cancelled annotations" in n for n in conv.notes)

    conv = read_labelstudio(path, unannotated="predictions")
    assert [r["id"] for r in conv.records] == ["doc-0", "doc-2"]  # the skipped task stays out
    assert key(conv.records[1]) == pred_key(recs[2])


def test_bad_count_is_reported_with_its_task(tmp_path):
    tasks = tmp_path / "tasks.json"
    ls.write_tasks([fix_text(PRED)], tasks, "m@1")
    exp = as_exported(json.loads(tasks.read_text()))
    result = copy.deepcopy(exp[0]["predictions"][0]["result"])
    next(r for r in result if r["type"] == "number")["value"]["number"] = 2.5
    exp[0]["annotations"] = [annotation(result)]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(exp, ensure_ascii=False), encoding="utf-8")
    conv = read_labelstudio(path)
    assert conv.records == [] and len(conv.problems) == 1
    assert "task 900" in conv.problems[0] and "count 2.5 is not a whole number" in conv.problems[0]


def test_predict_cli_writes_tasks_and_config(tmp_path, tiny_ckpt, capsys):
    src = tmp_path / "in.jsonl"
    dev = load_jsonl(CORPUS / "dev.jsonl")[:6]
    src.write_text("".join(json.dumps({"id": r["id"], "text": r["text"], "theatre": r.get("theatre")},
                                      ensure_ascii=False) + "\n" for r in dev), encoding="utf-8")
    out = tmp_path / "tasks.json"
    assert predict_main(["--model", str(tiny_ckpt), "--input", str(src), "--output", str(out),
                         "--format", "labelstudio", "--quiet"]) == 0
    tasks = json.loads(out.read_text())
    assert [t["data"]["rasid_id"] for t in tasks] == [r["id"] for r in dev]
    assert all(t["data"]["text"] == r["text"] for t, r in zip(tasks, dev))
    assert tasks[0]["predictions"][0]["model_version"].startswith("model@")
    assert (tmp_path / "tasks.labelstudio.xml").is_file() and not list(tmp_path.glob("*.partial.jsonl"))
    # round trip against what the predictor says
    exported = tmp_path / "export.json"
    exported.write_text(json.dumps(as_exported(tasks), ensure_ascii=False), encoding="utf-8")
    back = tmp_path / "back.jsonl"
    assert cli.main(["convert", "--from", "labelstudio", "--to", "jsonl", "--unannotated", "predictions",
                     str(exported), str(back)]) == 0
    from rasid.inference.predictor import Predictor

    preds = Predictor.from_pretrained(tiny_ckpt).predict([r["text"] for r in dev])
    assert [key(r) for r in load_jsonl(back)] == [pred_key(p) for p in preds]
    # export-labelstudio from a predictions file gives the same tasks
    pj = tmp_path / "pred.jsonl"
    assert predict_main(["--model", str(tiny_ckpt), "--input", str(src), "--output", str(pj), "--keep-text", "--quiet"]) == 0
    again = tmp_path / "again.json"
    assert cli.main(["export-labelstudio", str(pj), str(again), "--model", str(tiny_ckpt),
                     "--config-xml", str(tmp_path / "cfg.xml")]) == 0
    assert json.loads(again.read_text()) == tasks and (tmp_path / "cfg.xml").is_file()


def test_export_needs_the_text(tmp_path, capsys):
    pj = tmp_path / "pred.jsonl"
    pj.write_text(json.dumps({"id": 1, "entities": [], "attack_types": []}) + "\n", encoding="utf-8")
    assert cli.main(["export-labelstudio", str(pj), str(tmp_path / "t.json")]) == 1
    err = capsys.readouterr().err
    assert f"{pj}:1: no non-empty string field 'text'" in err and "--keep-text" in err
    assert predict_main(["--model", "x", "--input", str(pj), "--output", str(tmp_path / "o"),
                         "--format", "labelstudio", "--engine", "ray"]) == 2
