"""Shared fixtures: tiny checkpoints built on the fly (no network, seconds)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "data" / "corpus"
ATTACK_TYPES = ["BOMBING", "SUICIDE_BOMBING", "AIRSTRIKE", "SHELLING", "AMBUSH", "ARMED_ASSAULT", "ASSASSINATION", "KIDNAPPING"]


def load_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def make_checkpoint(path: Path, task: str = "joint", hidden: int = 32, layers: int = 1, max_length: int = 32,
                    stride: int = 8, seed: int = 0, **config) -> Path:
    """A random-weight rasid checkpoint with a WordPiece vocabulary from corpus text; ``config``: more RasidConfig fields."""
    import torch

    from rasid.inference.encoding import prepare
    from rasid.inference.normalize import NormalizationConfig
    from rasid.models.modeling import RasidConfig, RasidForEventExtraction
    from rasid.training.tokenizer import build_wordpiece

    torch.manual_seed(seed)
    texts = [r["text"] for r in load_jsonl(CORPUS / "dev.jsonl")]
    norm = NormalizationConfig()
    tok = build_wordpiece((prepare(t, norm).word_strings() for t in texts), vocab_size=600, min_frequency=1)
    cfg = RasidConfig(
        task=task,
        encoder={"model_type": "bert", "hidden_size": hidden, "num_hidden_layers": layers, "num_attention_heads": 2,
                 "intermediate_size": hidden * 2, "max_position_embeddings": 128, "vocab_size": len(tok)},
        entity_labels=["ACTOR", "KILLED", "WOUNDED"] if task != "classification" else [],
        attack_types=ATTACK_TYPES if task != "tagging" else [],
        thresholds={t: 0.5 for t in ATTACK_TYPES} if task != "tagging" else {},
        max_length=max_length, stride=stride, normalization=norm.to_dict(), **config,
    )
    model = RasidForEventExtraction(cfg)
    with torch.no_grad():  # make the token head emit entities sometimes: bias towards B-/I- tags
        if model.token_head is not None:
            model.token_head.bias.copy_(torch.linspace(-0.5, 0.5, model.token_head.bias.numel()))
    model.save_pretrained(path)
    tok.save_pretrained(str(path))
    return path


@pytest.fixture(scope="session")
def tiny_ckpt(tmp_path_factory) -> Path:
    return make_checkpoint(tmp_path_factory.mktemp("ckpt") / "model")


@pytest.fixture(scope="session")
def predictor(tiny_ckpt):
    from rasid.inference.predictor import Predictor

    return Predictor.from_pretrained(tiny_ckpt)
