"""Devices and precision: the predictor and rasid-predict on cpu (tested here), cuda (tested where a GPU
exists), and the ONNX backend's execution providers."""

import json

import pytest
import torch

from conftest import CORPUS, load_jsonl
from rasid.inference.backends import DeviceError, onnx_providers, resolve_device, resolve_dtype
from rasid.inference.predictor import Predictor

TEXTS = [r["text"] for r in load_jsonl(CORPUS / "dev.jsonl")[:30]]
no_gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")


def test_cpu_device_is_fp32_and_predicts_as_the_default(tiny_ckpt, predictor):
    p = Predictor.from_pretrained(tiny_ckpt, device="cpu")
    params = list(p.backend.model.parameters())
    assert p.device == "cpu" and p.batch_size == 32
    assert {q.device.type for q in params} == {"cpu"} and {q.dtype for q in params} == {torch.float32}
    assert p.predict(TEXTS) == predictor.predict(TEXTS)
    assert p.predict(TEXTS, batch_size=5) == p.predict(TEXTS)  # batching changes no result


def test_explicit_bf16_on_cpu_runs_in_bf16_and_keeps_decisions(tiny_ckpt, predictor):
    p = Predictor.from_pretrained(tiny_ckpt, device="cpu", dtype="bfloat16")
    assert {q.dtype for q in p.backend.model.parameters()} == {torch.bfloat16}
    ids = torch.randint(5, 100, (2, 7)).numpy()
    out = p.backend(ids, ids * 0 + 1)
    assert out["token_logits"].dtype.name == "float32"  # decoding always gets fp32 on the host
    a, b = predictor.predict(TEXTS), p.predict(TEXTS)
    ents = lambda rs: {(i, e["start"], e["end"], e["label"]) for i, r in enumerate(rs) for e in r["entities"]}  # noqa: E731
    assert ents(a) and len(ents(a) & ents(b)) / len(ents(a) | ents(b)) >= 0.8


def test_device_and_dtype_resolution():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_dtype(torch.device("cpu"), None) == torch.float32
    assert resolve_dtype(torch.device("cuda"), "fp16") == torch.float16
    assert resolve_dtype(torch.device("mps"), "auto") == torch.float16
    with pytest.raises(DeviceError, match="unknown dtype"):
        resolve_dtype(torch.device("cpu"), "int4")
    with pytest.raises(DeviceError, match="unknown device"):
        resolve_device("tpu:0:x")
    with pytest.raises(DeviceError, match="not supported"):
        resolve_device("meta")
    if not torch.cuda.is_available():
        assert resolve_device("auto").type in ("cpu", "mps")
        with pytest.raises(DeviceError, match="no CUDA GPU"):
            resolve_device("cuda:1")


def test_onnx_execution_providers():
    cpu_only, with_cuda = ["CPUExecutionProvider"], ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert onnx_providers("auto", cpu_only) == ["CPUExecutionProvider"]
    assert onnx_providers("auto", with_cuda) == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert onnx_providers("cuda:1", with_cuda) == [("CUDAExecutionProvider", {"device_id": 1}), "CPUExecutionProvider"]
    assert onnx_providers("cpu", with_cuda) == ["CPUExecutionProvider"]
    with pytest.raises(DeviceError, match="onnxruntime-gpu"):
        onnx_providers("cuda", cpu_only)
    with pytest.raises(DeviceError, match="backend='torch'"):
        onnx_providers("mps", with_cuda)


def _run_cli(tiny_ckpt, tmp_path, name, *extra):
    from rasid.inference.batch import main

    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n" for i, t in enumerate(TEXTS)),
                   encoding="utf-8")
    out = tmp_path / f"{name}.jsonl"
    return main(["--model", str(tiny_ckpt), "--input", str(src), "--output", str(out), "--quiet", *extra]), out


def test_rasid_predict_device_cpu(tiny_ckpt, tmp_path, predictor, capsys):
    rc, out = _run_cli(tiny_ckpt, tmp_path, "cpu", "--device", "cpu", "--dtype", "float32")
    assert rc == 0
    recs = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [{k: r[k] for k in ("entities", "attack_types", "events")} for r in recs] == predictor.predict(TEXTS)
    if not torch.cuda.is_available():
        rc, _ = _run_cli(tiny_ckpt, tmp_path, "gpu", "--device", "cuda")
        assert rc == 2 and "no CUDA GPU" in capsys.readouterr().err


@no_gpu
def test_cuda_predictor_runs_on_the_gpu_in_half_precision(tiny_ckpt, predictor):
    p = Predictor.from_pretrained(tiny_ckpt, device="cuda")
    params = list(p.backend.model.parameters())
    assert {q.device.type for q in params} == {"cuda"} and params[0].dtype in (torch.bfloat16, torch.float16)
    assert p.batch_size == 128
    fp32 = Predictor.from_pretrained(tiny_ckpt, device="cuda", dtype="float32")
    ids = torch.randint(5, 100, (4, 11)).numpy()
    mask = ids * 0 + 1
    a, b = predictor.backend(ids, mask), fp32.backend(ids, mask)
    assert abs(a["token_logits"] - b["token_logits"]).max() < 1e-4
    res = p.predict(TEXTS)
    assert len(res) == len(TEXTS) and all(set(r) == {"entities", "attack_types", "events"} for r in res)
