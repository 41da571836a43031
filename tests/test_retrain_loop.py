"""The README walk-through end to end, small: train -> select -> predict as Label Studio tasks ->
a simulated annotator edits, skips or leaves tasks -> import -> validate -> retrain -> compare."""

from __future__ import annotations

import json

import pytest

from conftest import CORPUS, load_jsonl
from rasid.data import cli as data_cli
from rasid.inference import labelstudio as ls
from rasid.inference.batch import main as predict_main
from rasid.training.evaluate import main as eval_main
from test_training import SHRINK, compose_cfg

pytestmark = pytest.mark.slow


def write(path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def train_model(out, train_files, dev):
    from rasid.training.config import to_settings
    from rasid.training.train import train

    files = "[" + ",".join(str(f) for f in train_files) + "]"
    train(to_settings(compose_cfg(SHRINK + [f"data.train={files}", f"data.dev={dev}", "data.test=null",
                                            "trainer.html_reports=false", f"output_dir={out}"])))
    return out / "model"


def test_retrain_loop_end_to_end(tmp_path, capsys):
    corpus = load_jsonl(CORPUS / "train.jsonl")
    gold = {r["id"]: r for r in corpus}
    seed_set = write(tmp_path / "labelled.jsonl", corpus[:60])
    pool = write(tmp_path / "pool.jsonl", [{"id": r["id"], "text": r["text"]} for r in corpus[60:140]])
    dev = write(tmp_path / "dev.jsonl", corpus[140:170])
    old = train_model(tmp_path / "old", [seed_set], dev)

    # 1. pick what to label
    picked = tmp_path / "picked.jsonl"
    assert data_cli.main(["select", "--model", str(old), "--input", str(pool), "--k", "8",
                          "--strategy", "uncertainty", "--seed", "1", "--output", str(picked), "--quiet"]) == 0
    picked_ids = [r["id"] for r in load_jsonl(picked)]
    assert len(picked_ids) == 8 and set(picked_ids) <= {r["id"] for r in corpus[60:140]}

    # 2. pre-annotate for Label Studio
    tasks_path = tmp_path / "tasks.json"
    assert predict_main(["--model", str(old), "--input", str(picked), "--output", str(tasks_path),
                         "--format", "labelstudio", "--quiet"]) == 0
    assert (tmp_path / "tasks.labelstudio.xml").is_file()
    tasks = json.loads(tasks_path.read_text())

    # 3. the simulated annotator corrects six tasks to gold, skips one, leaves one
    for n, t in enumerate(tasks):
        t.update({"id": 100 + n, "annotations": [], "project": 1})
        rid = t["data"]["rasid_id"]
        if n < 6:
            g = gold[rid]
            t["annotations"] = [{"id": n, "completed_by": 1, "was_cancelled": False, "ground_truth": False,
                                 "created_at": "2025-02-01T10:00:00Z", "updated_at": "2025-02-01T10:00:00Z",
                                 "result": ls.result_items(g["text"], g["entities"], g["attack_types"], f"a{n}")}]
        elif n == 6:
            t["annotations"] = [{"id": n, "completed_by": 1, "was_cancelled": True, "result": []}]
    export = tmp_path / "export.json"
    export.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")

    # 4. import and validate
    new_labels = tmp_path / "new_labels.jsonl"
    assert data_cli.main(["convert", "--from", "labelstudio", "--to", "jsonl", str(export), str(new_labels)]) == 0
    err = capsys.readouterr().err
    assert "skipped 2 task(s)" in err and "1 with predictions only, 1 with only cancelled annotations" in err
    got = load_jsonl(new_labels)
    assert [r["id"] for r in got] == picked_ids[:6]
    for r in got:
        g = gold[r["id"]]
        assert r["text"] == g["text"] and r["attack_types"] == g["attack_types"]
        assert [(e["start"], e["end"], e["label"], e.get("count")) for e in r["entities"]] == \
               [(e["start"], e["end"], e["label"], e.get("count")) for e in g["entities"]]
    assert data_cli.main(["validate", str(new_labels)]) == 0

    # 5. retrain on both files and compare on dev
    new = train_model(tmp_path / "new", [seed_set, new_labels], dev)
    html = tmp_path / "compare.html"
    assert eval_main(["--compare", str(old), str(new), "--data", str(dev), "--html", str(html)]) == 0
    out = capsys.readouterr().out
    assert "ΔF1" in out and "segment(s) changed" in out
    assert "rasid model comparison" in html.read_text()
