"""Predictor: API shape, offsets into the caller's text, long documents, safety."""

import json
import shutil

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rasid.inference.predictor import Predictor
from rasid.inference.segment import split_segments
from rasid.models.modeling import CheckpointError

SAMPLE = "قُتِلَ سبعةُ جنودٍ وأصيب ٢٣ آخرون في هجوم شنّه مسلحو تنظيم داعش على حاجز لـلجيش العراقي."


def check_result(text, res):
    assert set(res) == {"entities", "attack_types", "events"}
    for e in res["entities"]:
        assert 0 <= e["start"] < e["end"] <= len(text)
        assert text[e["start"]:e["end"]] == e["text"]
        assert e["label"] in ("ACTOR", "KILLED", "WOUNDED")
        assert 0.0 <= e["score"] <= 1.0
        if e["label"] in ("KILLED", "WOUNDED"):
            assert "count" in e and "qualifier" in e
    for a in res["attack_types"]:
        assert 0.0 <= a["score"] <= 1.0


def test_single_and_list_input_order(predictor):
    one = predictor.predict(SAMPLE)
    assert isinstance(one, dict)
    check_result(SAMPLE, one)
    texts = [SAMPLE, "", "نص قصير", SAMPLE * 3]
    many = predictor.predict(texts, batch_size=2)
    assert isinstance(many, list) and len(many) == 4
    assert many[0] == one  # same text, same result, whatever the batch
    assert many[1] == {"entities": [], "attack_types": [], "events": []}
    for t, r in zip(texts, many):
        check_result(t, r)


def test_rejects_non_strings(predictor):
    with pytest.raises(TypeError, match="input 1 is int"):
        predictor.predict(["ok", 5])


hostile = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.sampled_from(list("قتلجنودالهجوم ٢٣0123\u0640\u064e\u0651\u200d\u200f\u202e\n\t😀<>&\x00")), max_size=300),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hostile)
def test_offsets_always_valid(predictor, text):
    check_result(text, predictor.predict(text))


def test_unpaired_surrogate_and_huge_input(predictor):
    t = "قتل \ud800 جنود " + "كلمة " * 20
    check_result(t, predictor.predict(t))
    big = ("هجوم على قوات الجيش في المدينة. " * 30 + "\n") * 20  # ~20k chars, many segments
    check_result(big, predictor.predict(big, batch_size=64))


class MarkerBackend:
    """Token logits that tag the word 'داعش' B-ACTOR wherever it appears: a
    deterministic stand-in model to test windowing, merging and offsets."""

    def __init__(self, tokenizer, tags, n_types):
        self.marker = tokenizer.convert_tokens_to_ids("داعش")
        assert self.marker != tokenizer.unk_token_id
        self.b_actor, self.n_tags, self.n_types = tags.index("B-ACTOR"), len(tags), n_types

    def __call__(self, ids, mask):
        logits = np.zeros(ids.shape + (self.n_tags,), dtype=np.float32)  # (B, T, num_tags)
        logits[..., 0] = 1.0
        logits[ids == self.marker, self.b_actor] = 5.0
        return {"token_logits": logits, "type_logits": np.zeros((ids.shape[0], self.n_types), dtype=np.float32)}


def test_long_article_last_paragraph_offsets(tiny_ckpt):
    p = Predictor.from_pretrained(tiny_ckpt)
    p.backend = MarkerBackend(p.tokenizer, p.tags, len(p.config.attack_types))
    filler = "وقال مسؤول محلي إن الوضع في المنطقة ما زال متوترا بعد أيام من المواجهات بين الأطراف. "
    paragraphs = [filler * 6 for _ in range(6)]
    paragraphs[-1] += "وتبنى تنظيم داعش الهجوم في بيان."
    # one very long sentence with no full stop: must be windowed, not cut
    paragraphs.insert(3, "كلمة " * 700 + "ثم أعلن داعش المسؤولية")
    text = "\n\n".join(paragraphs)
    assert len(text) > 3000 and p.config.max_length == 32
    res = p.predict(text)
    starts = [i for i in range(len(text)) if text.startswith("داعش", i)]
    assert [(e["start"], e["text"]) for e in res["entities"]] == [(s, "داعش") for s in starts]
    assert res["entities"][-1]["start"] > text.rindex("\n\n")


def test_segments_cover_text():
    text = "جملة أولى. جملة ثانية!\n\nفقرة ثانية؟ " + "كلمة " * 200 + ". نهاية"
    segs = split_segments(text, max_words=50)
    covered = "".join(text[s:e] for s, e in segs).replace(" ", "").replace("\n", "")
    assert covered == text.replace(" ", "").replace("\n", "")


def test_thresholds_from_checkpoint(tiny_ckpt, tmp_path):
    import shutil

    ckpt = tmp_path / "m"
    shutil.copytree(tiny_ckpt, ckpt)
    cfg = json.loads((ckpt / "config.json").read_text())
    cfg["thresholds"] = {t: 0.0 for t in cfg["attack_types"]}
    (ckpt / "config.json").write_text(json.dumps(cfg))
    res = Predictor.from_pretrained(ckpt).predict(SAMPLE)
    assert len(res["attack_types"]) == len(cfg["attack_types"])  # everything passes a zero threshold
    assert res["events"] and {"acled_sub_event", "gtd_attack_type"} <= set(res["events"][0]["attack_types"][0])


def test_refuses_pickle_and_remote_code(tiny_ckpt, tmp_path):
    import shutil

    ckpt = tmp_path / "p"
    shutil.copytree(tiny_ckpt, ckpt)
    (ckpt / "model.safetensors").rename(ckpt / "pytorch_model.bin")
    with pytest.raises(CheckpointError, match="pickle"):
        Predictor.from_pretrained(ckpt)
    shutil.copytree(tiny_ckpt, tmp_path / "r")
    cfg = json.loads((tmp_path / "r" / "config.json").read_text())
    cfg["auto_map"] = {"AutoModel": "evil.Model"}
    (tmp_path / "r" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="remote code"):
        Predictor.from_pretrained(tmp_path / "r")


@pytest.mark.parametrize("edit, message", [
    (lambda c: c.update(entity_labels=["../../etc/passwd"]), "invalid label name"),
    (lambda c: c.update(task="summarise"), "unknown task"),
    (lambda c: c.update(tokenizer_file="/etc/passwd"), "reads files only from the checkpoint"),
    (lambda c: c.update(model_type="bert"), "not a rasid config"),
    (lambda c: c.update(task="tagging", attack_types=[]), "does not match config.json"),
])
def test_bad_checkpoint_configs(tiny_ckpt, tmp_path, edit, message):
    import shutil

    ckpt = tmp_path / "c"
    shutil.copytree(tiny_ckpt, ckpt)
    cfg = json.loads((ckpt / "config.json").read_text())
    edit(cfg)
    (ckpt / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match=message):
        Predictor.from_pretrained(ckpt)


def test_mismatched_tokenizer(tiny_ckpt, tmp_path):
    import shutil

    ckpt = tmp_path / "t"
    shutil.copytree(tiny_ckpt, ckpt)
    cfg = json.loads((ckpt / "config.json").read_text())
    cfg["encoder"]["vocab_size"] = 50  # as if the tokenizer of a bigger model sat beside it
    (ckpt / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="different models"):
        Predictor.from_pretrained(ckpt)


def test_missing_directory_message(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        Predictor.from_pretrained(tmp_path / "nope")


def test_inference_imports_no_training_stack():
    import subprocess
    import sys

    code = ("import sys, rasid.inference; from rasid.inference import Predictor; import rasid.inference.batch, "
            "rasid.inference.report; bad = [m for m in ('hydra', 'datasets', 'seqeval', 'sklearn', 'omegaconf') "
            "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_onnx_backend_agrees_with_torch_on_test_split(tiny_ckpt, tmp_path):
    """fp32 ONNX vs torch over the shipped test split: >= 99% identical entity and attack-type decisions."""
    pytest.importorskip("onnxruntime")
    from conftest import CORPUS, load_jsonl
    from rasid.inference.export import export_onnx

    export_onnx(tiny_ckpt, tmp_path / "onnx", quantize="int8")
    texts = [r["text"] for r in load_jsonl(CORPUS / "test.jsonl")]
    a = Predictor.from_pretrained(tiny_ckpt).predict(texts)
    b = Predictor.from_pretrained(tmp_path / "onnx", backend="onnx", onnx_file="model.onnx").predict(texts)
    ents_a = {(i, e["start"], e["end"], e["label"]) for i, r in enumerate(a) for e in r["entities"]}
    ents_b = {(i, e["start"], e["end"], e["label"]) for i, r in enumerate(b) for e in r["entities"]}
    assert ents_a, "the test model should predict some entities"
    assert len(ents_a & ents_b) / len(ents_a | ents_b) >= 0.99
    types_a = {(i, t["label"]) for i, r in enumerate(a) for t in r["attack_types"]}
    types_b = {(i, t["label"]) for i, r in enumerate(b) for t in r["attack_types"]}
    decisions = len(texts) * 8
    assert 1 - len(types_a ^ types_b) / decisions >= 0.99
    q = Predictor.from_pretrained(tmp_path / "onnx", backend="onnx")  # picks model.int8.onnx
    assert q.backend.session is not None and len(q.predict(texts[:5])) == 5


@pytest.mark.parametrize("keep", ["ffn+attn-output", "ffn", "none"])
def test_int8_export_keeps_the_feed_forward_layers_fp32_when_asked(tiny_ckpt, tmp_path, keep):
    pytest.importorskip("onnxruntime")
    import onnx

    from rasid.inference.export import export_onnx

    export_onnx(tiny_ckpt, tmp_path / "onnx", quantize="int8", int8_keep=keep)
    nodes = onnx.load(str(tmp_path / "onnx" / "model.int8.onnx")).graph.node
    fp32_ffn = [n.name for n in nodes if n.op_type == "MatMul" and ("/intermediate/dense/" in n.name or (
        "/output/dense/" in n.name and "/attention/" not in n.name))]
    fp32_attn_out = [n.name for n in nodes if n.op_type == "MatMul" and "/attention/output/dense/" in n.name]
    layers = 1  # the tiny checkpoint's depth: two feed-forward MatMuls and one attention output per layer
    assert len(fp32_ffn) == (2 * layers if keep in ("ffn", "ffn+attn-output") else 0)
    assert len(fp32_attn_out) == (layers if keep == "ffn+attn-output" else 0)
    assert any(n.op_type in ("MatMulInteger", "DynamicQuantizeMatMul", "QAttention") for n in nodes)  # the rest is int8
    p = Predictor.from_pretrained(tmp_path / "onnx", backend="onnx")
    assert len(p.predict(["قتل ثلاثة جنود في هجوم", "غارة جوية"])) == 2


def test_whole_word_input_predicts_spans_after_the_proclitic(tiny_ckpt, tmp_path):
    """word_input="whole": the encoder reads `والجيش` as written; the span it tags starts after و."""
    d = tmp_path / "whole"
    shutil.copytree(tiny_ckpt, d)
    cfg = json.loads((d / "config.json").read_text())
    cfg["normalization"]["word_input"] = "whole"
    (d / "config.json").write_text(json.dumps(cfg))
    p = Predictor.from_pretrained(d)
    first = p.tokenizer(["والجيش"], is_split_into_words=True, add_special_tokens=False)["input_ids"][0]
    text = "انسحب والجيش من المدينة"
    others = p.tokenizer(["انسحب", "من", "المدينة"], is_split_into_words=True, add_special_tokens=False)["input_ids"]
    assert first not in others  # only the written word `والجيش` starts with this piece

    class FirstPieceBackend(MarkerBackend):
        def __init__(self):
            self.marker, self.b_actor = first, p.tags.index("B-ACTOR")
            self.n_tags, self.n_types = len(p.tags), len(p.config.attack_types)

    p.backend = FirstPieceBackend()
    ents = p.predict(text)["entities"]
    assert [(e["start"], e["end"], e["text"]) for e in ents] == [(text.index("الجيش"), text.index("الجيش") + 5, "الجيش")]
    # two ACTORs joined by و: the proclitic has no prediction of its own but still keeps them apart
    text = "انسحب والجيش والجيش من المدينة"
    ents = p.predict(text)["entities"]
    assert [e["text"] for e in ents] == ["الجيش", "الجيش"]
    assert ents[0]["end"] < ents[1]["start"]
