"""CPU inference and training benchmark: rasid vs two Hugging Face pipelines.

    python bench/run.py [--quick] [--segments 500] [--articles 8] [--shapes base,e5,tiny] [--output bench/results.json]

Two workloads per shape: segments (below) and whole articles (bench/articles.py:
300, 800 and 1,500 words, end to end through ``Predictor.predict`` and the
``rasid-predict`` command), plus training throughput.

Every variant runs in its own child process over the same segments (pairs of
corpus segments, about 100 tokens each), so peak RSS (VmHWM) is its own. All
figures come from one run, and ratios are taken against the baseline of that
run: ``pipeline("token-classification")`` + ``pipeline("text-classification")``
with default settings on the same model shape. Weights are random: speed does
not depend on them. Shapes (bench/common.py): ``base`` (AraBERT-v02: 64k
vocabulary, 12 layers, hidden 768), ``e5`` (the default encoder: 12 layers,
hidden 384, 33,221 pieces) and ``tiny``.

"% of peak" divides useful forward FLOP/s by this machine's matmul peak for
the variant's kernel family (bench/peaks.py: ``torch.mm`` for torch fp32,
onnxruntime's MatMul for ONNX fp32, its MatMulInteger for int8; each the best of
a few sizes); a peak that fails a sanity check gets no percentage. The CPU
model and flags go into the results with the figures.
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
from articles import ARTICLE_WORDS, longer_than, run_article_variant
from build import build
from common import REPO, SHAPES, Timer, segments, useful_gflop, vm_hwm_mb

from rasid.inference.schema import ATTACK_TYPES, ENTITY_LABELS  # noqa: E402  (one source for the label set)


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
        with Timer() as tm:
            for t in texts:
                ner(t)
                cls(t)
    else:
        from rasid.inference.predictor import Predictor

        if variant == "rasid-torch-fp32":
            p = Predictor.from_pretrained(d / "rasid", num_threads=threads)
        else:
            graphs = d / ("onnx_unfused" if "unfused" in variant else "onnx_int8_all" if variant.endswith("-all") else "onnx")
            p = Predictor.from_pretrained(graphs, backend="onnx", num_threads=threads,
                                          onnx_file="model.int8.onnx" if "int8" in variant else "model.onnx")
        p.predict(texts[:8])  # warm-up
        with Timer() as tm:
            p.predict(texts, batch_size=32)
    elapsed = tm.wall
    return {"name": variant, "model_shape": shape, "segments": n, "seconds": round(elapsed, 3), "cpu_seconds": round(tm.cpu, 3),
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


def child(args: argparse.Namespace) -> None:
    if args.variant == "peaks":
        res = peaks.measure(args.threads)
    elif args.variant == "train-step":
        res = train_throughput(args.shape, args.threads, steps=2 if args.quick else 6)
    elif args.workload == "articles":
        res = run_article_variant(args.variant, args.shape, Path(args.work), args.articles, args.threads)
    else:
        res = run_variant(args.variant, args.shape, Path(args.work), args.segments, args.threads)
    print("RESULT " + json.dumps(res))


def spawn(argv: list[str]) -> dict:
    r = subprocess.run([sys.executable, __file__, *argv], capture_output=True, text=True)
    line = next((x for x in r.stdout.splitlines() if x.startswith("RESULT ")), None)
    if r.returncode != 0 or line is None:
        raise RuntimeError(f"bench child {argv} failed:\n{r.stderr[-3000:]}")
    return json.loads(line[7:])


def with_ratio_and_peak(res: dict, base: dict, rate: str, pk: dict, int8_problem: str | None) -> dict:
    """Ratio against this run's baseline, and the fraction of the peak of the variant's kernel family."""
    res["ratio_vs_baseline"] = round(res[rate] / base[rate], 2)
    res["cpu_ratio_vs_baseline"] = round(base["cpu_seconds"] / res["cpu_seconds"], 2)  # same work: less CPU is faster
    is_int8 = "int8" in res["name"]
    if res["name"].startswith("rasid-predict-"):  # the whole command: load time included, no kernel fraction
        res["fraction_of_peak"], res["of_peak"] = None, "n/a (whole command)"
    else:
        fp32 = pk["onnx_fp32_gflops"] if res["name"].startswith("rasid-onnx") else pk["fp32_gflops"]
        res["fraction_of_peak"], res["of_peak"] = peaks.fraction_of_peak(
            res["useful_gflops"], pk["int8_gops"] if is_int8 else fp32, int8_problem if is_int8 else None)
    return res


def peak_text(res: dict) -> str:
    return f"{res['of_peak']} of peak" if res["fraction_of_peak"] is not None else res["of_peak"]


def print_tables(result: dict) -> None:
    print("\nSegments\n| shape | variant | seg/s | tok/s | peak RSS MB | x baseline | x baseline (CPU s) | % of matmul peak |\n|---|---|---|---|---|---|---|---|")
    for v in result["variants"]:
        print(f"| {v['model_shape']} | {v['name']} | {v['segments_per_s']} | {v['tokens_per_s']:.0f} | {v['peak_rss_mb']:.0f} | "
              f"{v['ratio_vs_baseline']} | {v['cpu_ratio_vs_baseline']} | {v['of_peak']} |")
    print(f"\nArticles ({result['articles_per_size']} per size of {', '.join(map(str, ARTICLE_WORDS))} words; "
          f"baseline text-classification truncated at 512 tokens)")
    print("| shape | variant | docs/s | words/s | peak RSS MB | x baseline | x baseline (CPU s) | % of matmul peak |\n|---|---|---|---|---|---|---|---|")
    for v in result["articles"]:
        print(f"| {v['model_shape']} | {v['name']} | {v['docs_per_s']} | {v['words_per_s']:.0f} | {v['peak_rss_mb']:.0f} | "
              f"{v['ratio_vs_baseline']} | {v['cpu_ratio_vs_baseline']} | {v['of_peak']} |")
    print("\nTraining (forward + backward + AdamW, batch 16 x 100 tokens)\n| shape | tokens/s | peak RSS MB |\n|---|---|---|")
    for t in result["training"]:
        print(f"| {t['model_shape']} | {t['tokens_per_s']:.0f} | {t['peak_rss_mb']:.0f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--segments", type=int, default=500)
    ap.add_argument("--articles", type=int, default=8, help="articles per target length (300, 800, 1500 words)")
    ap.add_argument("--quick", action="store_true", help="small sizes: 60 segments, 1 article per length, 2 train steps")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--shapes", default="base,e5,tiny")
    ap.add_argument("--output", default=str(REPO / "bench" / "results.json"))
    ap.add_argument("--variant")  # internal: run one variant in this (child) process
    ap.add_argument("--workload", default="segments")
    ap.add_argument("--shape")
    ap.add_argument("--work")
    args = ap.parse_args()
    if args.quick:
        args.segments, args.articles = min(args.segments, 60), 1
    if args.variant:
        return child(args)
    common = ["--threads", str(args.threads), "--segments", str(args.segments), "--articles", str(args.articles)]
    common += ["--quick"] if args.quick else []
    cpu = peaks.cpu_info()
    pk = spawn(["--variant", "peaks", *common])
    int8_problem = peaks.int8_peak_problem(max(pk["fp32_gflops"], pk["onnx_fp32_gflops"]), pk["int8_gops"])
    flags = ", ".join(f for f, on in cpu["flags"].items() if on) or "none of " + ", ".join(cpu["flags"])
    print(f"CPU: {cpu['model']} ({cpu['logical_cpus']} logical CPUs; {flags}); {args.threads} threads")
    print(f"matmul peaks (median after warm-up): fp32 {pk['fp32_gflops']} GFLOP/s ({pk['fp32_kernel']}), "
          f"ONNX fp32 {pk['onnx_fp32_gflops']} GFLOP/s ({pk['onnx_fp32_kernel']}), "
          f"int8 {pk['int8_gops']} GOP/s ({pk['int8_kernel']})" + (f"; int8 % of peak: {int8_problem}" if int8_problem else ""))
    variants, arts, training, tokenizers = [], [], [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for shape in args.shapes.split(","):
            print(f"building {shape} models ...", flush=True)
            tokenizers[shape] = build(shape, Path(tmp))
            base = None
            for v in ("baseline", "rasid-torch-fp32", "rasid-onnx-fp32", "rasid-onnx-int8",
                      "rasid-onnx-fp32-unfused", "rasid-onnx-int8-unfused", "rasid-onnx-int8-all"):
                res = spawn(["--variant", v, "--shape", shape, "--work", tmp, *common])
                base = base or res
                variants.append(with_ratio_and_peak(res, base, "segments_per_s", pk, int8_problem))
                print(f"  {shape:<5} segments {v:<24} {res['segments_per_s']:>8.1f} seg/s {res['tokens_per_s']:>9.0f} tok/s "
                      f"{res['peak_rss_mb']:>7.0f} MB  x{res['ratio_vs_baseline']:<6} "
                      f"(CPU x{res['cpu_ratio_vs_baseline']}) {peak_text(res)}", flush=True)
            long_ = longer_than(Path(tmp) / shape / "rasid", args.articles)
            print(f"  {shape:<5} articles: {long_} of {3 * args.articles} longer than 512 tokens "
                  "(the baseline's text-classification pipeline sees only their first 512)", flush=True)
            base = None
            for v in ("baseline", "rasid-torch-fp32", "rasid-onnx-fp32", "rasid-onnx-int8", "rasid-onnx-int8-all",
                      "rasid-predict-torch", "rasid-predict-onnx-int8"):
                res = spawn(["--variant", v, "--workload", "articles", "--shape", shape, "--work", tmp, *common])
                base = base or res
                res["articles_over_512_tokens"] = long_
                arts.append(with_ratio_and_peak(res, base, "docs_per_s", pk, int8_problem))
                print(f"  {shape:<5} articles {v:<24} {res['docs_per_s']:>8.2f} doc/s {res['words_per_s']:>9.0f} words/s "
                      f"{res['peak_rss_mb']:>7.0f} MB  x{res['ratio_vs_baseline']:<6} "
                      f"(CPU x{res['cpu_ratio_vs_baseline']}) {peak_text(res)}", flush=True)
            training.append(spawn(["--variant", "train-step", "--shape", shape, *common]))
            print(f"  {shape:<5} train step {training[-1]['tokens_per_s']:>9.0f} tok/s", flush=True)
    result = {"date": time.strftime("%Y-%m-%d"), "commit": git_commit(), "quick": args.quick, "cpu": cpu,
              "peaks": {**pk, "int8_problem": int8_problem}, "threads": args.threads,
              "shapes": {s: {**SHAPES[s], "tokenizer": tokenizers[s]} for s in tokenizers}, "segments": args.segments,
              "articles_per_size": args.articles, "variants": variants, "articles": arts, "training": training}
    Path(args.output).write_text(json.dumps(result, indent=2) + "\n")
    print_tables(result)
    print(f"wrote {args.output}")


def git_commit() -> str:
    r = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return r.stdout.strip() or "unknown"


if __name__ == "__main__":
    main()
