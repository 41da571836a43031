"""CPU inference and training benchmark: rasid vs two Hugging Face pipelines.

    python bench/run.py [--segments 500] [--output bench/results.json]

Every variant runs in its own child process over the same segments (pairs of
corpus segments, about 100 tokens each), so peak RSS (VmHWM) is its own. All
figures come from one run, and ratios are taken against the baseline of that
run: ``pipeline("token-classification")`` + ``pipeline("text-classification")``
with default settings on the same model shape. Weights are random: speed does
not depend on them. Shapes: ``base`` (AraBERT-v02: 64k vocabulary, 12 layers,
hidden 768) and ``tiny`` (the embedded default).

"% of peak" divides useful forward FLOP/s by this machine's matmul peak for
the variant's kernel family (bench/peaks.py: ``torch.mm`` for fp32,
onnxruntime's MatMulInteger for int8); a peak that fails a sanity check gets
no percentage. The CPU model and flags go into the results with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import peaks  # bench/ is on sys.path when this file runs
from common import REPO, SHAPES, segments, useful_gflop, vm_hwm_mb

from rasid.inference.schema import ATTACK_TYPES, ENTITY_LABELS  # noqa: E402  (one source for the label set)


# -- building the models (in the parent, once per shape) ----------------------
def build(shape: str, work: Path) -> None:
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertForTokenClassification

    from rasid.inference.encoding import prepare
    from rasid.inference.export import export_onnx
    from rasid.inference.normalize import NormalizationConfig
    from rasid.models.modeling import RasidConfig, RasidForEventExtraction
    from rasid.training.tokenizer import build_wordpiece

    torch.manual_seed(0)
    d = work / shape
    norm = NormalizationConfig()
    words = [prepare(t, norm).word_strings() for t in segments(2000)]
    tok = build_wordpiece(words, SHAPES[shape]["vocab_size"], 1)
    enc = {"model_type": "bert", **SHAPES[shape], "max_position_embeddings": 512}
    cfg = RasidConfig(task="joint", encoder=enc, entity_labels=list(ENTITY_LABELS), attack_types=list(ATTACK_TYPES),
                      thresholds={t: 0.5 for t in ATTACK_TYPES}, max_length=256, stride=64, normalization=norm.to_dict())
    model = RasidForEventExtraction(cfg)
    model.save_pretrained(d / "rasid")
    tok.save_pretrained(str(d / "rasid"))
    export_onnx(d / "rasid", d / "onnx", quantize="int8")
    hf_cfg = BertConfig(**SHAPES[shape], num_labels=len(cfg.tags))
    BertForTokenClassification(hf_cfg).save_pretrained(d / "hf_tok")
    BertForSequenceClassification(BertConfig(**SHAPES[shape], num_labels=len(ATTACK_TYPES))).save_pretrained(d / "hf_cls")
    for sub in ("hf_tok", "hf_cls"):
        tok.save_pretrained(str(d / sub))


# -- one variant, in a child process -------------------------------------------
def run_variant(variant: str, shape: str, work: Path, n: int, threads: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    texts = segments(n)
    d = work / shape
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(d / "rasid"))
    token_counts = [len(x) for x in tok(texts)["input_ids"]]
    if variant == "baseline":
        from transformers import pipeline

        ner = pipeline("token-classification", model=str(d / "hf_tok"), tokenizer=str(d / "hf_tok"), device="cpu")
        cls = pipeline("text-classification", model=str(d / "hf_cls"), tokenizer=str(d / "hf_cls"), device="cpu")
        ner(texts[:2]), cls(texts[:2])  # warm-up
        t0 = time.perf_counter()
        for t in texts:
            ner(t)
            cls(t)
        elapsed = time.perf_counter() - t0
    else:
        from rasid.inference.predictor import Predictor

        if variant == "rasid-torch-fp32":
            p = Predictor.from_pretrained(d / "rasid", num_threads=threads)
        else:
            p = Predictor.from_pretrained(d / "onnx", backend="onnx", num_threads=threads,
                                          onnx_file="model.int8.onnx" if variant.endswith("int8") else "model.onnx")
        p.predict(texts[:8])  # warm-up
        t0 = time.perf_counter()
        p.predict(texts, batch_size=32)
        elapsed = time.perf_counter() - t0
    return {"name": variant, "model_shape": shape, "segments": n, "seconds": round(elapsed, 3),
            "segments_per_s": round(n / elapsed, 2), "tokens_per_s": round(sum(token_counts) / elapsed, 1),
            "useful_gflops": round(useful_gflop(shape, token_counts) / elapsed, 2), "peak_rss_mb": round(vm_hwm_mb(), 1)}


def train_throughput(shape: str, threads: int, steps: int = 6, batch: int = 16, seq: int = 100) -> dict:
    """Tokens/s of a full train step (forward, backward, AdamW) at this shape."""
    import torch

    from rasid.models.modeling import RasidConfig, RasidForEventExtraction

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    cfg = RasidConfig(task="joint", encoder={"model_type": "bert", **SHAPES[shape]}, entity_labels=list(ENTITY_LABELS),
                      attack_types=ATTACK_TYPES)
    model = RasidForEventExtraction(cfg).train()  # forward returns the joint loss when given labels
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    ids = torch.randint(5, SHAPES[shape]["vocab_size"], (batch, seq))
    mask = torch.ones_like(ids)
    labels = torch.randint(0, len(cfg.tags), (batch, seq))
    types = torch.randint(0, 2, (batch, len(ATTACK_TYPES))).float()

    def step():
        loss = model(input_ids=ids, attention_mask=mask, labels=labels, type_labels=types).loss
        loss.backward()
        opt.step()
        opt.zero_grad()

    step()  # warm-up
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    el = time.perf_counter() - t0
    return {"name": "train-step", "model_shape": shape, "tokens_per_s": round(steps * batch * seq / el, 1),
            "peak_rss_mb": round(vm_hwm_mb(), 1)}


def child(args) -> None:
    if args.variant == "peaks":
        res = peaks.measure(args.threads)
    elif args.variant == "train-step":
        res = train_throughput(args.shape, args.threads)
    else:
        res = run_variant(args.variant, args.shape, Path(args.work), args.segments, args.threads)
    print("RESULT " + json.dumps(res))


def spawn(argv: list[str]) -> dict:
    r = subprocess.run([sys.executable, __file__, *argv], capture_output=True, text=True)
    line = next((x for x in r.stdout.splitlines() if x.startswith("RESULT ")), None)
    if r.returncode != 0 or line is None:
        raise RuntimeError(f"bench child {argv} failed:\n{r.stderr[-3000:]}")
    return json.loads(line[7:])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--segments", type=int, default=500)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--shapes", default="base,tiny")
    ap.add_argument("--output", default=str(REPO / "bench" / "results.json"))
    ap.add_argument("--variant")  # internal: run one variant in this (child) process
    ap.add_argument("--shape")
    ap.add_argument("--work")
    args = ap.parse_args()
    if args.variant:
        return child(args)
    common = ["--threads", str(args.threads), "--segments", str(args.segments)]
    cpu = peaks.cpu_info()
    pk = spawn(["--variant", "peaks", *common])
    int8_problem = peaks.int8_peak_problem(pk["fp32_gflops"], pk["int8_gops"])
    flags = ", ".join(f for f, on in cpu["flags"].items() if on) or "none of " + ", ".join(cpu["flags"])
    print(f"CPU: {cpu['model']} ({cpu['logical_cpus']} logical CPUs; {flags}); {args.threads} threads")
    print(f"matmul peaks (median after warm-up): fp32 {pk['fp32_gflops']} GFLOP/s ({pk['fp32_kernel']}), "
          f"int8 {pk['int8_gops']} GOP/s ({pk['int8_kernel']})" + (f"; int8 % of peak: {int8_problem}" if int8_problem else ""))
    variants, training = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for shape in args.shapes.split(","):
            print(f"building {shape} models ...", flush=True)
            build(shape, Path(tmp))
            base = None
            for v in ("baseline", "rasid-torch-fp32", "rasid-onnx-fp32", "rasid-onnx-int8"):
                res = spawn(["--variant", v, "--shape", shape, "--work", tmp, *common])
                base = base or res["segments_per_s"]
                res["ratio_vs_baseline"] = round(res["segments_per_s"] / base, 2)
                is_int8 = v.endswith("int8")
                res["fraction_of_peak"], res["of_peak"] = peaks.fraction_of_peak(
                    res["useful_gflops"], pk["int8_gops"] if is_int8 else pk["fp32_gflops"], int8_problem if is_int8 else None)
                variants.append(res)
                print(f"  {shape:<5} {v:<17} {res['segments_per_s']:>8.1f} seg/s {res['tokens_per_s']:>9.0f} tok/s "
                      f"{res['peak_rss_mb']:>7.0f} MB  x{res['ratio_vs_baseline']:<6} {res['of_peak']} of peak",
                      flush=True)
            training.append(spawn(["--variant", "train-step", "--shape", shape, *common]))
            print(f"  {shape:<5} train step        {training[-1]['tokens_per_s']:>9.0f} tok/s", flush=True)
    result = {"cpu": cpu, "peaks": {**pk, "int8_problem": int8_problem}, "threads": args.threads,
              "segments": args.segments, "variants": variants, "training": training}
    Path(args.output).write_text(json.dumps(result, indent=2) + "\n")
    print("\n| shape | variant | seg/s | tok/s | peak RSS MB | x baseline | % of matmul peak |\n|---|---|---|---|---|---|---|")
    for v in variants:
        print(f"| {v['model_shape']} | {v['name']} | {v['segments_per_s']} | {v['tokens_per_s']:.0f} | {v['peak_rss_mb']:.0f} | "
              f"{v['ratio_vs_baseline']} | {v['of_peak']} |")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
