"""Bench models for one shape, random weights: rasid (torch, ONNX fp32, ONNX int8) and the two HF baselines.

    work/SHAPE/rasid    rasid checkpoint       work/SHAPE/hf_tok  BertForTokenClassification
    work/SHAPE/onnx     model.onnx + int8      work/SHAPE/hf_cls  BertForSequenceClassification
    work/SHAPE/onnx_unfused  the same without kernel fusion (rasid-export --no-optimize)
    work/SHAPE/onnx_int8_all the feed-forward layers int8 too (rasid-export --int8-keep none)

Every model of a shape shares one tokenizer. The ``e5`` shape uses the default
encoder's own pruned SentencePiece tokenizer when ``make setup`` has put it in
the cache (its pieces per word decide the sequence lengths), else a WordPiece of
the same size trained on the corpus, as the other shapes do.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

from common import SHAPES, segments

from rasid.inference.schema import ATTACK_TYPES, ENTITY_LABELS


def shape_tokenizer(shape: str):
    """(tokenizer, where it came from) for ``shape``."""
    from rasid.inference.encoding import prepare
    from rasid.inference.normalize import NormalizationConfig
    from rasid.training.tokenizer import build_wordpiece

    if shape == "e5":
        from rasid.models import e5

        cached = e5.default_dir()
        if (cached / "tokenizer.json").is_file():
            from transformers import AutoTokenizer

            return AutoTokenizer.from_pretrained(str(cached), local_files_only=True), "e5 pruned SentencePiece (cache)"
    words = [prepare(t, NormalizationConfig()).word_strings() for t in segments(2000)]
    return build_wordpiece(words, SHAPES[shape]["vocab_size"], 1), "WordPiece trained on the corpus"


def build(shape: str, work: Path) -> str:
    """Write the shape's models under ``work/shape``; returns where the tokenizer came from."""
    from transformers.utils import logging as hf_logging

    with warnings.catch_warnings():  # tracer and quantiser advice on random bench models: noise in the tables
        warnings.simplefilter("ignore")
        logging.getLogger().setLevel(logging.ERROR)
        hf_logging.disable_progress_bar()
        return _build(shape, work)


def _build(shape: str, work: Path) -> str:
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertForTokenClassification

    from rasid.inference.export import export_onnx
    from rasid.inference.normalize import NormalizationConfig
    from rasid.models.modeling import RasidConfig, RasidForEventExtraction

    torch.manual_seed(0)
    d = work / shape
    norm = NormalizationConfig()
    tok, tok_source = shape_tokenizer(shape)
    dims = {**SHAPES[shape], "max_position_embeddings": 512, "pad_token_id": tok.pad_token_id or 0}
    cfg = RasidConfig(task="joint", encoder={"model_type": "bert", **dims}, entity_labels=list(ENTITY_LABELS),
                      attack_types=list(ATTACK_TYPES), thresholds={t: 0.5 for t in ATTACK_TYPES}, max_length=256,
                      stride=64, normalization=norm.to_dict())
    RasidForEventExtraction(cfg).save_pretrained(d / "rasid")
    tok.save_pretrained(str(d / "rasid"))
    export_onnx(d / "rasid", d / "onnx", quantize="int8")  # fused kernels, then int8: what rasid-export writes
    export_onnx(d / "rasid", d / "onnx_unfused", quantize="int8", optimize=False)  # the plain traced graph, to compare
    export_onnx(d / "rasid", d / "onnx_int8_all", quantize="int8", int8_keep="none")  # every dense layer int8
    BertForTokenClassification(BertConfig(**dims, num_labels=len(cfg.tags))).save_pretrained(d / "hf_tok")
    BertForSequenceClassification(BertConfig(**dims, num_labels=len(ATTACK_TYPES))).save_pretrained(d / "hf_cls")
    for sub in ("hf_tok", "hf_cls"):
        tok.save_pretrained(str(d / sub))
    return tok_source
