"""The article workload: whole multi-paragraph articles, end to end.

Articles are built from corpus segments, deterministically: paragraphs of 3-5
segments joined by spaces, paragraphs separated by blank lines, until the
article reaches its target length (about 300, 800 and 1,500 words). The first
paragraph of each 1,500-word article is one run-on sentence (six segments
joined by commas), longer than rasid's 256-token window, so overlapping
windows are exercised too; every 800- and 1,500-word article is longer than
512 tokens, which the baseline's text-classification pipeline truncates.

Variants, each in its own child process:
  baseline            pipeline("token-classification", stride=64, aggregation_strategy="first")
                      + pipeline("text-classification", truncation to 512 tokens), article by article
  rasid-*             Predictor.predict(articles) (torch fp32, ONNX fp32, ONNX int8)
  rasid-predict-*     the whole rasid-predict command on a JSONL file (startup and model load included)
"""

from __future__ import annotations

import json
import random
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from common import Timer, corpus_texts, useful_gflop, vm_hwm_mb

ARTICLE_WORDS = (300, 800, 1500)
RUN_ON_FROM = 1500  # articles this long open with a sentence longer than one window
BASELINE_STRIDE = 64
BASELINE_MAX_TOKENS = 512


def article_stream(seed: int = 0) -> Callable[[int], str]:
    """A function returning a new article of about ``size`` words on each call, deterministic for ``seed``."""
    texts = corpus_texts()
    rng = random.Random(seed)
    order = list(range(len(texts)))
    rng.shuffle(order)
    pos = 0

    def take() -> str:
        nonlocal pos
        pos += 1
        return texts[order[(pos - 1) % len(order)]]

    def article(size: int) -> str:
        paragraphs, words = [], 0
        if size >= RUN_ON_FROM:
            run_on = [take().rstrip(" .") for _ in range(6)]
            paragraphs.append("، ".join(run_on) + ".")
            words += sum(len(t.split()) for t in run_on)
        while words < size:
            para = []
            for _ in range(rng.randint(3, 5)):
                para.append(take())
                words += len(para[-1].split())
                if words >= size:
                    break
            paragraphs.append(" ".join(para))
        return "\n\n".join(paragraphs)

    return article


def build_articles(per_size: int, sizes: tuple[int, ...] = ARTICLE_WORDS, seed: int = 0) -> list[dict]:
    """``per_size`` articles of each target length: {"id", "text", "words", "target_words"}."""
    article = article_stream(seed)
    out = []
    for size in sizes:
        for i in range(per_size):
            text = article(size)
            out.append({"id": f"a{size}-{i}", "text": text, "words": len(text.split()), "target_words": size})
    return out


def run_command(cmd: list[str]) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak RSS MB) of one command. os.wait4 gives this child's own rusage,
    whatever other children the caller has run."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{Path(cmd[0]).name} failed:\n{proc.stderr.read().decode()[-2000:]}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024  # kB on Linux


def predict_command(model_dir: Path, backend: str, inp: Path, out: Path, threads: int) -> list[str]:
    exe = Path(sys.executable).with_name("rasid-predict")
    return [str(exe), "--model", str(model_dir), "--input", str(inp), "--output", str(out), "--backend", backend,
            "--device", "cpu", "--threads", str(threads), "--overwrite", "--quiet"]


def rasid_windows(model_dir: Path, texts: list[str]) -> list[int]:
    """Token count of every window rasid runs for ``texts``: the same segmentation and
    windowing as ``Predictor._forward``, without loading the weights."""
    from rasid.inference.encoding import encode, prepare
    from rasid.inference.predictor import Predictor, load_tokenizer
    from rasid.inference.segment import split_segments
    from rasid.models.configuration import load_config

    p = Predictor(model_dir, None, load_tokenizer(model_dir), load_config(model_dir))
    words = [prepare(t[s:e], p.norm_cfg, p.stems).input_strings() for t in texts for s, e in split_segments(t, p.max_segment_words)]
    words = [w for w in words if w]
    enc = encode(p.tokenizer, words, p.config.max_length, p.config.stride)
    return [len(ids) for ids in enc["input_ids"]]


def _time_baseline(d: Path, texts: list[str]) -> Timer:
    from transformers import pipeline

    # What a user writes with transformers alone: a sliding window for tags, and the
    # classifier truncated to the model's 512 tokens (it sees only each article's start).
    ner = pipeline("token-classification", model=str(d / "hf_tok"), tokenizer=str(d / "hf_tok"), device="cpu",
                   aggregation_strategy="first", stride=BASELINE_STRIDE)
    cls = pipeline("text-classification", model=str(d / "hf_cls"), tokenizer=str(d / "hf_cls"), device="cpu")
    ner(texts[0][:500]), cls(texts[0][:500])  # warm-up
    with Timer() as tm:
        for t in texts:
            ner(t)
            cls(t, truncation=True, max_length=BASELINE_MAX_TOKENS)
    return tm


def _time_command(model_dir: Path, backend: str, articles: list[dict], threads: int) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak RSS MB) of one whole rasid-predict run over ``articles``."""
    with tempfile.TemporaryDirectory() as tmp:
        inp, out = Path(tmp) / "articles.jsonl", Path(tmp) / "predictions.jsonl"
        inp.write_text("".join(json.dumps({"id": a["id"], "text": a["text"]}, ensure_ascii=False) + "\n" for a in articles),
                       encoding="utf-8")
        elapsed, cpu, rss = run_command(predict_command(model_dir, backend, inp, out, threads))
        if sum(1 for _ in out.open(encoding="utf-8")) != len(articles):
            raise RuntimeError("rasid-predict wrote fewer predictions than articles")
    return elapsed, cpu, rss


def run_article_variant(variant: str, shape: str, work: Path, per_size: int, threads: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    d = work / shape
    articles = build_articles(per_size)
    texts = [a["text"] for a in articles]
    rss = None
    if variant == "baseline":
        tm = _time_baseline(d, texts)
        elapsed, cpu = tm.wall, tm.cpu
    elif variant.startswith("rasid-predict-"):
        backend = "torch" if variant.endswith("torch") else "onnx"  # the ONNX directory's default graph is int8
        elapsed, cpu, rss = _time_command(d / ("rasid" if backend == "torch" else "onnx"), backend, articles, threads)
    else:
        from rasid.inference.predictor import Predictor

        if variant == "rasid-torch-fp32":
            p = Predictor.from_pretrained(d / "rasid", num_threads=threads, device="cpu")
        else:
            graphs = d / ("onnx_int8_all" if variant.endswith("-all") else "onnx")
            p = Predictor.from_pretrained(graphs, backend="onnx", num_threads=threads, device="cpu",
                                          onnx_file="model.int8.onnx" if "int8" in variant else "model.onnx")
        p.predict(texts[:1])  # warm-up
        with Timer() as tm:
            p.predict(texts, batch_size=32)
        elapsed, cpu = tm.wall, tm.cpu
    windows = rasid_windows(d / "rasid", texts)
    words = sum(a["words"] for a in articles)
    return {"name": variant, "model_shape": shape, "workload": "articles", "articles": len(articles), "words": words,
            "rasid_windows": len(windows), "seconds": round(elapsed, 3), "cpu_seconds": round(cpu, 3),
            "docs_per_s": round(len(articles) / elapsed, 3),
            "words_per_s": round(words / elapsed, 1), "useful_gflops": round(useful_gflop(shape, windows) / elapsed, 2),
            "peak_rss_mb": round(rss if rss is not None else vm_hwm_mb(), 1)}


def longer_than(model_dir: Path, per_size: int, limit: int = BASELINE_MAX_TOKENS) -> int:
    """How many bench articles are longer than ``limit`` tokens (what the classifier pipeline truncates)."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(model_dir))
    return sum(len(ids) > limit for ids in tok([a["text"] for a in build_articles(per_size)])["input_ids"])
