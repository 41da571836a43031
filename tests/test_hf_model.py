"""rasid as a transformers model: Auto classes, Trainer checkpoints, format-1 checkpoints, Hub card and upload."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import CORPUS, load_jsonl
from rasid.inference.hub import machine_paths
from rasid.inference.predictor import Predictor
from rasid.models.modeling import CheckpointError, RasidConfig, RasidForEventExtraction

TEXTS = ["قتل سبعة جنود وأصيب ٢٣ آخرون في هجوم شنه مسلحو تنظيم داعش", "غارة جوية على مواقع للمسلحين في ريف إدلب"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny model trained for 12 steps by rasid-train's own code, with Trainer checkpoints at 6 and 12."""
    from test_training import SHRINK, compose_cfg

    from rasid.training.config import to_settings
    from rasid.training.train import train

    root = tmp_path_factory.mktemp("hf")
    recs = load_jsonl(CORPUS / "train.jsonl")
    for name, part in (("train", recs[:100]), ("dev", recs[100:130]), ("test", recs[130:160])):
        (root / f"{name}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in part), encoding="utf-8")
    out = root / "run"
    s = to_settings(compose_cfg(SHRINK + [f"data.train={root}/train.jsonl", f"data.dev={root}/dev.jsonl",
                                          f"data.test={root}/test.jsonl", f"output_dir={out}", "trainer.args.max_steps=12",
                                          "trainer.args.save_strategy=steps", "trainer.args.save_steps=6", "trainer.args.eval_strategy=steps",
                                          "trainer.args.eval_steps=6", "trainer.args.save_total_limit=5",
                                          "trainer.early_stopping_patience=0", "trainer.html_reports=false"]))
    train(s)
    return out


def _batch(tokenizer, texts):
    enc = tokenizer(texts, padding=True, return_tensors="np")
    return enc["input_ids"].astype(np.int64), enc["attention_mask"].astype(np.int64)  # (B, T) each


@pytest.mark.slow
def test_auto_classes_load_a_trained_checkpoint_and_match_the_predictor(trained):
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    d = trained / "model"
    cfg = AutoConfig.from_pretrained(d)
    assert isinstance(cfg, RasidConfig) and cfg.format_version == 2 and cfg.tags == ["O"] + [
        f"{p}-{lab}" for lab in ("ACTOR", "KILLED", "WOUNDED") for p in "BI"]
    assert cfg.id2label[1] == "B-ACTOR" and set(cfg.thresholds) == set(cfg.attack_types)
    model = AutoModel.from_pretrained(d).eval()
    assert isinstance(model, RasidForEventExtraction)
    tok = AutoTokenizer.from_pretrained(d)
    assert tok.is_fast and tok("قتل")["input_ids"][0] == tok.cls_token_id
    ids, mask = _batch(tok, TEXTS)
    with torch.inference_mode():
        out = model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask))
    assert out.loss is None and out.token_logits.shape == (*ids.shape, len(cfg.tags))
    ref = Predictor.from_pretrained(d, device="cpu").backend(ids, mask)
    np.testing.assert_allclose(out.token_logits.numpy(), ref["token_logits"], atol=1e-5, rtol=0)
    np.testing.assert_allclose(out.type_logits.numpy(), ref["type_logits"], atol=1e-5, rtol=0)


@pytest.mark.slow
def test_importing_the_predictor_registers_the_auto_classes(trained):
    code = ("import sys; from rasid.inference import Predictor; from transformers import AutoModel, AutoTokenizer; "
            "m = AutoModel.from_pretrained(sys.argv[1]); t = AutoTokenizer.from_pretrained(sys.argv[1]); "
            "print(type(m).__name__, type(t).__name__)")
    r = subprocess.run([sys.executable, "-c", code, str(trained / "model")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split() == ["RasidForEventExtraction", "TokenizersBackend"]


@pytest.mark.slow
def test_trainer_checkpoints_share_the_final_weight_layout(trained):
    from safetensors.torch import load_file

    ckpts = sorted((trained / "checkpoints").glob("checkpoint-*"))
    assert [c.name for c in ckpts] == ["checkpoint-12", "checkpoint-6"]
    final = load_file(str(trained / "model" / "model.safetensors"))
    model = RasidForEventExtraction.from_pretrained(trained / "model")
    for ckpt in ckpts:
        state = load_file(str(ckpt / "model.safetensors"))
        assert set(state) == set(final)  # no wrapper prefix: same names, nothing to rename
        model.load_state_dict(state, strict=True)
        # a Trainer checkpoint is itself a loadable checkpoint (config, weights, tokenizer)
        res = Predictor.from_pretrained(ckpt, device="cpu").predict(TEXTS[0])
        assert set(res) == {"entities", "attack_types", "events"}
    # the final model is the Trainer's best checkpoint, weight for weight
    best = json.loads((ckpts[0] / "trainer_state.json").read_text())["best_model_checkpoint"]
    best_state = load_file(str(trained / "checkpoints" / Path(best).name / "model.safetensors"))
    assert all(torch.equal(best_state[k], final[k]) for k in final)


@pytest.mark.slow
def test_card_and_config_are_hub_ready_without_machine_paths(trained):
    from huggingface_hub import ModelCard

    d = trained / "model"
    card, config = (d / "README.md").read_text(encoding="utf-8"), (d / "config.json").read_text(encoding="utf-8")
    for text in (card, config):
        assert str(trained.parent) not in text and machine_paths(text) == []
    meta = ModelCard.load(d / "README.md").data.to_dict()
    assert meta["language"] == ["ar"] and meta["license"] == "apache-2.0"
    assert meta["pipeline_tag"] == "token-classification" and "rasid" in meta["tags"]
    metrics = json.loads((d / "metrics.json").read_text())
    results = {(r["dataset"]["split"], m["name"]): m["value"] for r in meta["model-index"][0]["results"] for m in r["metrics"]}
    assert results[("test", "entity F1 (strict IOB2, micro)")] == metrics["test"]["entities"]["micro"]["f1"]
    assert results[("dev", "attack-type F1 (macro)")] == metrics["dev"]["attack_types"]["macro"]["f1"]
    files = json.loads(config)["training_data"]
    assert [(f["role"], f["name"]) for f in files] == [("train", "train.jsonl"), ("dev", "dev.jsonl"), ("test", "test.jsonl")]
    import hashlib

    raw = (trained.parent / "train.jsonl").read_bytes()
    assert files[0]["bytes"] == len(raw) and files[0]["sha256"] == hashlib.sha256(raw).hexdigest()
    assert files[0]["sha256"] in card


class FakeHfApi:
    """Records what would be uploaded: the folder's files and bytes at upload time."""

    def __init__(self, token=None):
        self.calls, self.uploaded = [], {}

    def create_repo(self, repo_id, **kw):
        self.calls.append(("create_repo", repo_id, kw))
        return f"https://huggingface.co/{repo_id}"

    def upload_folder(self, folder_path, repo_id, **kw):
        self.calls.append(("upload_folder", repo_id, kw))
        self.uploaded = {p.name: p.read_bytes() for p in Path(folder_path).iterdir()}


@pytest.mark.slow
def test_push_to_hub_uploads_exactly_the_checkpoint_files(trained, monkeypatch, capsys):
    import huggingface_hub

    from rasid.inference.export import main as export_main

    apis = []
    monkeypatch.setattr(huggingface_hub, "HfApi", lambda token=None: apis.append(FakeHfApi(token)) or apis[-1])
    d = trained / "model"
    assert export_main(["--model", str(d), "--push-to-hub", "my-org/rasid-tiny", "--private"]) == 0
    api = apis[0]
    assert [c[0] for c in api.calls] == ["create_repo", "upload_folder"]
    assert api.calls[0][1] == "my-org/rasid-tiny" and api.calls[0][2]["private"] is True
    assert sorted(api.uploaded) == ["README.md", "config.json", "metrics.json", "model.safetensors",
                                    "tokenizer.json", "tokenizer_config.json"]
    assert all(api.uploaded[n] == (d / n).read_bytes() for n in api.uploaded)
    assert "https://huggingface.co/my-org/rasid-tiny" in capsys.readouterr().out


# ---------------------------------------------------------------- format 1
def write_format_1(src: Path, dst: Path, encoder_path: str = "/root/.cache/rasid/some-encoder") -> Path:
    """The checkpoint layout rasid wrote before it was a transformers model: its own config.json
    (a dataclass dump, the encoder config with its machine path) and safetensors with the same names."""
    from safetensors.torch import save_file

    dst.mkdir(parents=True)
    new = json.loads((src / "config.json").read_text())
    enc = RasidConfig.from_dict(new).encoder.to_dict()
    enc["_name_or_path"] = encoder_path
    old = {k: new[k] for k in ("task", "entity_labels", "attack_types", "thresholds", "max_length", "stride",
                               "pooling", "pooled_norm", "label_all_subwords", "classifier_dropout",
                               "normalization", "clitic_stems")}
    old.update(encoder=enc, format_version=1, model_type="rasid", id2label=dict(enumerate(RasidConfig.from_dict(new).tags)))
    (dst / "config.json").write_text(json.dumps(old, ensure_ascii=False, indent=2), encoding="utf-8")
    model = RasidForEventExtraction.from_pretrained(src)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(dst / "model.safetensors"),
              metadata={"format": "pt", "rasid": "1"})
    for f in ("tokenizer.json", "tokenizer_config.json"):
        (dst / f).write_bytes((src / f).read_bytes())
    (dst / "README.md").write_text(f"---\nlicense: apache-2.0\n---\n# rasid model\n- Encoder: {encoder_path}\n")
    return dst


def test_format_1_checkpoints_load_predict_the_same_and_convert(tiny_ckpt, tmp_path):
    from transformers import AutoModel

    from rasid.inference.export import main as export_main
    from rasid.inference.hub import stage_upload

    v1 = write_format_1(tiny_ckpt, tmp_path / "v1")
    texts = [r["text"] for r in load_jsonl(CORPUS / "dev.jsonl")[:40]]
    ref = Predictor.from_pretrained(tiny_ckpt, device="cpu").predict(texts)
    assert Predictor.from_pretrained(v1, device="cpu").predict(texts) == ref
    model = AutoModel.from_pretrained(v1)
    assert isinstance(model, RasidForEventExtraction) and model.config.format_version == 1
    with pytest.raises(CheckpointError, match="--convert-to"):  # its card and config are not fit to publish
        stage_upload(v1, tmp_path / "upload")
    assert export_main(["--model", str(v1), "--convert-to", str(tmp_path / "v2")]) == 0
    v2 = tmp_path / "v2"
    cfg = json.loads((v2 / "config.json").read_text())
    assert cfg["format_version"] == 2 and "_name_or_path" not in cfg["encoder"]
    assert machine_paths((v2 / "README.md").read_text()) == [] and "some-encoder" in (v2 / "README.md").read_text()
    assert Predictor.from_pretrained(v2, device="cpu").predict(texts) == ref
    assert "model.safetensors" in stage_upload(v2, tmp_path / "upload")  # the test fixture has no metrics: card still valid


def test_pickle_only_directory_is_refused_with_the_conversion_command(tiny_ckpt, tmp_path):
    import shutil

    from transformers import AutoModel

    d = tmp_path / "p"
    shutil.copytree(tiny_ckpt, d)
    (d / "model.safetensors").rename(d / "pytorch_model.bin")
    with pytest.raises(CheckpointError, match=r"pickle weights \(pytorch_model.bin\)") as err:
        AutoModel.from_pretrained(d)
    assert "save_file(torch.load(" in str(err.value) and str(d / "model.safetensors") in str(err.value)


def test_forward_returns_the_weighted_joint_loss(tiny_ckpt):
    model = RasidForEventExtraction.from_pretrained(tiny_ckpt).eval()
    model.config.tag_weight, model.config.type_weight = 0.7, 2.0
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(5, 100, (3, 9), generator=g)  # (B, T)
    labels = torch.randint(0, len(model.config.tags), (3, 9), generator=g)
    labels[:, 0] = -100  # unlabelled positions are ignored
    types = torch.randint(0, 2, (3, len(model.config.attack_types)), generator=g).float()  # (B, C)
    out = model(input_ids=ids, labels=labels, type_labels=types)
    ce = torch.nn.functional.cross_entropy(out.token_logits.reshape(-1, out.token_logits.size(-1)), labels.reshape(-1),
                                           ignore_index=-100)
    bce = torch.nn.functional.binary_cross_entropy_with_logits(out.type_logits, types)
    assert torch.allclose(out.loss, 0.7 * ce + 2.0 * bce)
    only_tags = model(input_ids=ids, labels=labels).loss
    assert torch.allclose(only_tags, 0.7 * ce)
    assert isinstance(model(input_ids=ids, return_dict=False), tuple)


def test_type_attention_reads_tokens_ignores_padding_and_exports(tmp_path):
    """Per-type attention: saved and reloaded with the checkpoint, blind to padding, the same logits in ONNX."""
    from conftest import make_checkpoint
    from safetensors import safe_open

    path = make_checkpoint(tmp_path / "att", type_attention=True, pooled_norm=True)
    with safe_open(str(path / "model.safetensors"), "pt") as f:
        assert {"type_query.weight", "type_value.weight", "type_value.bias"} <= set(f.keys())
    model = RasidForEventExtraction.from_pretrained(path).eval()
    assert model.config.type_attention and model.type_query.weight.shape == (8, 32)
    with torch.no_grad():  # sharp attention, so a change in the attended tokens moves the logits
        model.type_query.weight.normal_(0, 2.0)
        model.type_value.weight.normal_(0, 2.0)
    ids, mask = _batch(model_tokenizer(path), TEXTS + ["هجوم"])
    ids, mask = torch.from_numpy(ids), torch.from_numpy(mask)
    n = int(mask[2].sum())
    assert n < ids.shape[1], "the last text must be the padded one"
    with torch.no_grad():
        batch = model(input_ids=ids, attention_mask=mask).type_logits  # (3, 8): the last one padded
        alone = model(input_ids=ids[2:, :n], attention_mask=mask[2:, :n]).type_logits  # (1, 8)
        no_att = model.type_head(model.type_norm.eval()(_mean_pooled(model, ids, mask)))  # the pooled part only
    assert torch.allclose(batch[2:], alone, atol=1e-5)  # padding tokens receive no attention
    both = batch
    assert (both - no_att).abs().max() > 1e-2  # the attention adds its own evidence

    pytest.importorskip("onnxruntime")
    import onnxruntime as ort

    from rasid.inference.export import export_onnx

    model.save_pretrained(path)
    export_onnx(path, tmp_path / "onnx")
    sess = ort.InferenceSession(str(tmp_path / "onnx" / "model.onnx"), providers=["CPUExecutionProvider"])
    token_logits, type_logits = sess.run(None, {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})
    assert np.allclose(type_logits, both.numpy(), atol=1e-4)


def model_tokenizer(path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(path)


def _mean_pooled(model, ids, mask):
    h = model.encoder(input_ids=ids, attention_mask=mask).last_hidden_state  # (B, T, H)
    m = mask.unsqueeze(-1).float()
    return (h * m).sum(1) / m.sum(1)  # (B, H)
