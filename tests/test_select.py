"""rasid-data select: uncertainty scores, the three strategies, determinism, and the CLI."""

from __future__ import annotations

import json
from argparse import Namespace
from types import SimpleNamespace

import numpy as np
import pytest

from conftest import CORPUS, load_jsonl
from rasid.data import cli
from rasid.data.active import run_select
from rasid.data.select import kmeans, pick, score_analysis, tag_uncertainty, type_uncertainty

TAGS = ["O", "B-ACTOR", "I-ACTOR"]


def test_tag_uncertainty_is_the_most_doubtful_word():
    sure = np.array([[0.98, 0.01, 0.01], [0.01, 0.98, 0.01]])
    assert tag_uncertainty(sure, np.array([0, 1])) == pytest.approx(0.03)
    doubt = np.array([[0.98, 0.01, 0.01], [0.45, 0.50, 0.05]])
    assert tag_uncertainty(doubt, np.array([0, 1])) == pytest.approx(0.95)
    # the constrained path took a tag below the best one: as uncertain as it gets
    assert tag_uncertainty(np.array([[0.2, 0.1, 0.7]]), np.array([1])) == 1.0
    assert tag_uncertainty(np.array([[1 / 3] * 3]), np.array([0]), "entropy") == pytest.approx(1.0)
    assert tag_uncertainty(sure, np.array([0, 1]), "entropy") < 0.2


def test_type_uncertainty_peaks_at_the_threshold():
    th = np.array([0.5, 0.2])
    assert type_uncertainty(np.array([0.5, 0.0]), th) == pytest.approx(1.0)
    assert type_uncertainty(np.array([0.0, 1.0]), th) == pytest.approx(0.0)
    assert type_uncertainty(np.array([0.0, 0.1]), th) == pytest.approx(0.5)  # half-way below a 0.2 threshold
    assert type_uncertainty(np.array([0.0, 0.6]), th) == pytest.approx(0.5)  # half-way above it


def test_uncertainty_ranks_and_is_deterministic():
    scores = np.array([0.1, 0.9, 0.5, 0.9, 0.3, 0.9])
    picks, _ = pick("uncertainty", 6, 4, seed=1, scores=scores)
    assert set(picks[:3]) == {1, 3, 5} and picks[3] == 2
    assert pick("uncertainty", 6, 4, seed=1, scores=scores)[0] == picks  # same seed, same picks
    orders = {tuple(pick("uncertainty", 6, 3, seed=s, scores=scores)[0]) for s in range(12)}
    assert len(orders) > 1 and all(set(o) == {1, 3, 5} for o in orders)  # ties broken by the seed, not input order


def test_random_is_seeded_and_needs_no_scores():
    a, _ = pick("random", 100, 10, seed=3)
    assert a == pick("random", 100, 10, seed=3)[0] and len(set(a)) == 10
    assert a != pick("random", 100, 10, seed=4)[0]
    with pytest.raises(ValueError, match="needs one uncertainty score"):
        pick("uncertainty", 5, 2, seed=0)


def test_diverse_takes_the_most_uncertain_of_each_cluster():
    rng = np.random.default_rng(0)
    centres = np.eye(4)[:3] * 10  # three well separated stories
    emb = np.concatenate([c + rng.normal(0, 0.1, (6, 4)) for c in centres])  # rows 0-5, 6-11, 12-17
    scores = np.linspace(0.2, 0.3, 18)
    scores[:6] = [0.95, 0.94, 0.93, 0.92, 0.91, 0.90]  # story A is the most uncertain throughout
    scores[8], scores[15] = 0.5, 0.4
    unc, _ = pick("uncertainty", 18, 3, seed=0, scores=scores)
    assert set(unc) == {0, 1, 2}  # three versions of one story
    div, labels = pick("diverse", 18, 3, seed=0, scores=scores, embeddings=emb)
    assert div == [0, 8, 15]  # one per story, each story's most uncertain, best first
    assert len({labels[i] for i in div}) == 3
    assert pick("diverse", 18, 3, seed=0, scores=scores, embeddings=emb)[0] == div
    # more picks than clusters: round robin over the clusters
    div6, _ = pick("diverse", 18, 6, seed=0, scores=scores, embeddings=emb, clusters=3)
    assert div6[:3] == [0, 8, 15] and div6[3] == 1


def test_kmeans_separates_blobs():
    x = np.concatenate([np.zeros((5, 2)), np.ones((5, 2)) * 5]) + np.random.default_rng(1).normal(0, 0.05, (10, 2))
    lab = kmeans(x, 2, seed=0)
    assert len(set(lab[:5])) == 1 and len(set(lab[5:])) == 1 and lab[0] != lab[5]


class FakePredictor:
    """A scorer whose uncertainty we know: a text containing "?" is unsure of its second word."""

    config = SimpleNamespace(attack_types=["BOMBING"])
    thresholds = {"BOMBING": 0.5}

    def analyze(self, texts, batch_size=32, embeddings=False):
        out = []
        for t in texts:
            p2 = [0.4, 0.35, 0.25] if "?" in t else [0.97, 0.02, 0.01]
            probs = np.array([[0.97, 0.02, 0.01], p2])
            out.append({"prediction": {}, "segments": [{"start": 0, "end": len(t), "word_probs": probs,
                                                         "path": probs.argmax(1), "type_probs": np.array([0.05]),
                                                         "embedding": np.array([len(t), 1.0]) if embeddings else None}]})
        return out


def select_args(tmp_path, **kw):
    base = dict(model="fake", input=str(tmp_path / "pool.jsonl"), output=str(tmp_path / "picked.jsonl"), k=2,
                strategy="uncertainty", seed=0, measure="margin", clusters=None, exclude=[], text_field="text",
                id_field="id", batch_size=8, score_random=False, html=str(tmp_path / "sel.html"), quiet=True)
    return Namespace(**{**base, **kw})


def test_run_select_with_a_known_scorer(tmp_path):
    pool = [{"id": f"s{i}", "text": f"نص رقم {i}" + (" ?" if i in (3, 7) else ""), "theatre": "x"} for i in range(10)]
    (tmp_path / "pool.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in pool), encoding="utf-8")
    stats = run_select(select_args(tmp_path), predictor=FakePredictor())
    picked = load_jsonl(tmp_path / "picked.jsonl")
    assert {r["id"] for r in picked} == {"s3", "s7"} and picked[0] in pool  # the records as they were
    assert stats["score"]["picked_min"] > stats["score"]["pool_mean"] and stats["picks"][0]["rank"] == 1
    assert json.loads((tmp_path / "picked.stats.json").read_text())["picked"] == 2
    assert "s3" in (tmp_path / "sel.html").read_text()
    # already labelled records are left out
    (tmp_path / "done.jsonl").write_text(json.dumps({"id": "s3", "text": "x"}) + "\n", encoding="utf-8")
    stats = run_select(select_args(tmp_path, exclude=[str(tmp_path / "done.jsonl")]), predictor=FakePredictor())
    assert stats["excluded"] == 1 and "s3" not in {r["id"] for r in load_jsonl(tmp_path / "picked.jsonl")}


def test_analyze_matches_predict(predictor):
    texts = [r["text"] for r in load_jsonl(CORPUS / "dev.jsonl")[:5]]
    res = predictor.analyze(texts, embeddings=True)
    assert [r["prediction"] for r in res] == predictor.predict(texts)
    seg = res[0]["segments"][0]
    assert seg["word_probs"].shape[1] == len(predictor.tags) and np.allclose(seg["word_probs"].sum(1), 1, atol=1e-5)
    assert seg["path"].shape == (len(seg["word_probs"]),) and seg["embedding"].shape == (32,)
    assert seg["type_probs"].shape == (len(predictor.config.attack_types),)
    th = np.array([predictor.thresholds[t] for t in predictor.config.attack_types])
    assert 0.0 <= score_analysis(res[0], th).score <= 1.0


def test_select_cli_with_a_model(tmp_path, tiny_ckpt, capsys):
    pool = tmp_path / "pool.jsonl"
    recs = load_jsonl(CORPUS / "dev.jsonl")[:30]
    pool.write_text("".join(json.dumps({"id": r["id"], "text": r["text"]}, ensure_ascii=False) + "\n" for r in recs),
                    encoding="utf-8")
    outs = {}
    for strategy, seed in (("uncertainty", 0), ("uncertainty", 0), ("diverse", 5), ("random", 5)):
        out = tmp_path / f"{strategy}-{seed}.jsonl"
        args = ["select", "--model", str(tiny_ckpt), "--input", str(pool), "--k", "5", "--strategy", strategy,
                "--seed", str(seed), "--output", str(out), "--quiet"]
        assert cli.main(args) == 0
        ids = [r["id"] for r in load_jsonl(out)]
        if (strategy, seed) in outs:
            assert outs[(strategy, seed)] == ids  # same seed, same picks
        outs[(strategy, seed)] = ids
    stats = json.loads((tmp_path / "uncertainty-0.stats.json").read_text())
    assert len(stats["picks"]) == 5 and stats["score"]["picked_min"] >= stats["score"]["pool_mean"]
    assert [p["score"] for p in stats["picks"]] == sorted((p["score"] for p in stats["picks"]), reverse=True)
    assert json.loads((tmp_path / "diverse-5.stats.json").read_text())["clusters"]["covered"] == 5
    assert "picked 5 of 30 records" in capsys.readouterr().err
    # bad input: every bad line named
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "text": "نص"}\n{"id": 2}\nnot json\n', encoding="utf-8")
    assert cli.main(["select", "--input", str(bad), "--output", str(tmp_path / "o.jsonl"), "--strategy", "random"]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:2: no non-empty string field 'text'" in err and f"{bad}:3:" in err
    assert cli.main(["select", "--input", str(pool), "--output", str(tmp_path / "o.jsonl")]) == 2
    assert "needs --model" in capsys.readouterr().err
