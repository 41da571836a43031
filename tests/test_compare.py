"""rasid-eval --compare: per-label deltas and the segments whose prediction changed."""

from __future__ import annotations

import json

import pytest

from conftest import CORPUS, load_jsonl, make_checkpoint
from rasid.training.compare import changed_segments, compare
from rasid.training.evaluate import main as eval_main


@pytest.fixture(scope="module")
def two_models(tmp_path_factory):
    d = tmp_path_factory.mktemp("cmp")
    return make_checkpoint(d / "old", seed=0), make_checkpoint(d / "new", seed=1)


@pytest.fixture(scope="module")
def gold(tmp_path_factory):
    path = tmp_path_factory.mktemp("gold") / "dev.jsonl"
    recs = load_jsonl(CORPUS / "dev.jsonl")[:25]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs), encoding="utf-8")
    return path, recs


def ex(gold_ents, pred_ents, gold_types=(), pred_types=()):
    return {"id": "x", "text": "abcdefghij", "gold_entities": gold_ents, "pred_entities": pred_ents,
            "gold_types": list(gold_types), "pred_types": [{"label": t, "score": 0.9} for t in pred_types]}


def test_changed_segments_verdicts():
    g = [{"start": 0, "end": 3, "label": "ACTOR"}]
    wrong = [{"start": 0, "end": 2, "label": "ACTOR"}]
    same = ex(g, g)
    old = [ex(g, wrong), ex(g, g), same, ex(g, g, ["AMBUSH"], ["AMBUSH"]), ex(g, wrong)]
    new = [ex(g, g), ex(g, wrong), same, ex(g, g, ["AMBUSH"], ["BOMBING"]),
           ex(g, [{"start": 1, "end": 3, "label": "ACTOR"}])]
    got = changed_segments(old, new)
    assert [c["verdict"] for c in got] == ["better", "worse", "worse", "different"]
    assert got[2]["old_types"][0]["label"] == "AMBUSH" and got[2]["errors_new"] == 2


def test_compare_deltas_and_changes(two_models, gold):
    from rasid.inference.predictor import Predictor

    old, new = (Predictor.from_pretrained(p) for p in two_models)
    _, recs = gold
    res = compare(old, new, recs)
    for key in ("entities", "attack_types"):
        for name, row in res["deltas"][key].items():
            for m in ("precision", "recall", "f1"):
                if row["old"][m] is not None and row["new"][m] is not None:
                    assert row["delta"][m] == pytest.approx(row["new"][m] - row["old"][m], abs=1e-4)
    assert set(res["deltas"]["entities"]) >= {"micro", "macro", "ACTOR", "KILLED", "WOUNDED"}
    assert set(res["deltas"]["attack_types"]) >= {"micro", "AMBUSH", "BOMBING"}
    # the changed segments are exactly those where the two models' predictions differ
    texts = [r["text"] for r in recs]
    po, pn = old.predict(texts), new.predict(texts)

    def spans(p):
        return sorted((e["start"], e["end"], e["label"], e.get("count")) for e in p["entities"])

    differ = {r["id"] for r, a, b in zip(recs, po, pn) if spans(a) != spans(b)}
    changed = {c["id"] for c in res["changed"]}
    assert differ <= changed and changed  # type-only changes may add more
    assert sum(res["verdicts"].values()) == len(res["changed"])
    same = compare(old, old, recs)
    assert same["changed"] == [] and all(r["delta"]["f1"] in (0, None) for r in same["deltas"]["entities"].values())


def test_compare_cli(two_models, gold, tmp_path, capsys):
    path, _ = gold
    html, out = tmp_path / "cmp.html", tmp_path / "cmp.json"
    assert eval_main(["--compare", str(two_models[0]), str(two_models[1]), "--data", str(path),
                      "--html", str(html), "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "ΔF1" in printed and "segment(s) changed" in printed and "ACTOR" in printed and "AMBUSH" in printed
    res = json.loads(out.read_text())
    page = html.read_text()
    assert "rasid model comparison" in page and f"Changed predictions: {len(res['changed'])} of 25" in page
    assert page.count('class="card"') == len(res["changed"])
    assert eval_main(["--compare", str(two_models[0]), str(tmp_path / "none"), "--data", str(path)]) == 2
    with pytest.raises(SystemExit):
        eval_main(["--data", str(path)])  # neither --model nor --compare
