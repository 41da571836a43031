"""Evaluation scores every attack type without touching the predictor's thresholds; importing the
predictor leaves the host process's environment alone."""

import os
import subprocess
import sys

import pytest

from conftest import CORPUS, load_jsonl
from rasid.training.evaluate import evaluate


def test_a_failing_evaluation_leaves_the_thresholds_as_they_were(predictor, monkeypatch):
    before = dict(predictor.thresholds)
    real = predictor._predict

    def boom(*a, **k):
        raise RuntimeError("backend died mid-evaluation")

    monkeypatch.setattr(predictor, "_predict", boom)
    with pytest.raises(RuntimeError):
        evaluate(predictor, load_jsonl(CORPUS / "dev.jsonl")[:4])
    monkeypatch.setattr(predictor, "_predict", real)
    assert predictor.thresholds == before


def test_per_call_thresholds_do_not_stick(predictor):
    text = load_jsonl(CORPUS / "dev.jsonl")[0]["text"]
    everything = predictor.predict(text, thresholds={t: 0.0 for t in predictor.config.attack_types})
    assert len(everything["attack_types"]) == len(predictor.config.attack_types)
    nothing = predictor.predict(text, thresholds={t: 1.01 for t in predictor.config.attack_types})
    assert nothing["attack_types"] == []
    assert predictor.predict(text) == predictor.predict(text, thresholds=None)


def test_importing_the_predictor_does_not_set_hub_variables():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    code = "import os, rasid.inference.predictor; print(os.environ.get('HF_HUB_OFFLINE'))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "None"
