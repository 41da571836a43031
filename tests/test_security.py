"""No network at run time: train and predict with sockets blocked."""

import socket

import pytest


@pytest.fixture
def no_network(monkeypatch):
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network disabled in this test")

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


def test_predict_opens_no_socket(no_network, tiny_ckpt):
    from rasid.inference.predictor import Predictor

    res = Predictor.from_pretrained(tiny_ckpt).predict(["قتل خمسة جنود في هجوم", "نص"])
    assert len(res) == 2
    assert no_network == []


@pytest.mark.slow
def test_train_opens_no_socket(no_network, tmp_path):
    from test_training import SHRINK, compose_cfg

    from conftest import CORPUS, load_jsonl
    from rasid.training.config import to_settings
    from rasid.training.train import train

    recs = load_jsonl(CORPUS / "dev.jsonl")
    import json

    for name, part in (("train", recs[:60]), ("dev", recs[60:80])):
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in part))
    s = to_settings(compose_cfg(SHRINK + [f"data.train={tmp_path}/train.jsonl", f"data.dev={tmp_path}/dev.jsonl",
                                          "data.test=null", f"output_dir={tmp_path / 'run'}"]))
    train(s)
    assert (tmp_path / "run" / "model" / "model.safetensors").is_file()
    assert no_network == []
