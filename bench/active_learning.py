"""Simulated annotation: does uncertainty selection reach a dev F1 with fewer labelled segments than random?

    python bench/active_learning.py                       # uncertainty vs random, seeds 0 1
    python bench/active_learning.py --seeds 0 1 --rounds 4 --step 50 --strategies uncertainty random diverse

The pool is the shipped hand-written training split; its gold annotations play
the annotator. For each seed, both strategies start from the same random
``--init`` segments; each round trains a ``model=tiny`` checkpoint from scratch
(shrunk; as many epochs whatever the set size; no augmented or styled data, so
the labelled set is all it learns from), evaluates it on the dev split, then asks ``rasid-data
select``'s code for the next ``--step`` segments of the rest of the pool and
"labels" them from gold. Printed: dev entity micro F1 and attack-type micro F1
per number of labelled segments, mean and spread over seeds, per strategy.
Runs in minutes on 2 CPU cores with the defaults; run it with ``nice``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "data" / "corpus"


def load_jsonl(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def write_jsonl(records: list[dict], path: Path) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def overrides_for(labelled_path: Path, dev: Path, out: Path, seed: int, steps: int, args) -> list[str]:
    """Hydra overrides of one round: a shrunk tiny model, the labelled set only, one final dev evaluation."""
    return [
        "model=tiny", f"data.train={labelled_path}", f"data.dev={dev}", "data.test=null",
        "data.use_augmented=false", "data.style_copies=0", f"seed={seed}", f"output_dir={out}", "resume=never",
        "trainer.early_stopping_patience=0", "trainer.html_reports=false", "trainer.progress_bar=false",
        "trainer.type_threshold=null",  # thresholds tuned on dev: a small model's type scores rarely reach 0.5
        f"trainer.args.max_steps={steps}", f"trainer.args.per_device_train_batch_size={args.batch_size}",
        "trainer.args.eval_strategy=no", "trainer.args.save_strategy=no", "trainer.args.load_best_model_at_end=false",
        "trainer.args.report_to=[]", "trainer.args.logging_steps=100000",
        f"model.encoder.hidden_size={args.hidden}", f"model.encoder.num_hidden_layers={args.layers}",
        f"model.encoder.intermediate_size={4 * args.hidden}", f"model.encoder.num_attention_heads={max(1, args.hidden // 32)}",
        f"model.max_length={args.max_length}", "model.stride=16",
    ]


def train_once(labelled: list[dict], dev: Path, out: Path, seed: int, args) -> tuple[dict, Path]:
    """Train a tiny model on ``labelled``; its dev metrics and model directory."""
    from hydra import compose, initialize_config_dir

    from rasid.training.config import register, to_settings
    from rasid.training.train import train

    out.mkdir(parents=True, exist_ok=True)
    write_jsonl(labelled, out / "train.jsonl")
    # as many passes over a small set as over a large one (a fixed step count would over-train the small
    # sets and under-train the large ones), with a floor so the smallest still converges
    steps = max(args.min_steps, -(-args.epochs * len(labelled) // args.batch_size))
    overrides = overrides_for(labelled_path=out / "train.jsonl", dev=dev, out=out, seed=seed, steps=steps, args=args)
    register()
    with initialize_config_dir(config_dir=str(REPO / "configs"), version_base="1.3"):
        cfg = compose(config_name="train", overrides=overrides)
    metrics = train(to_settings(cfg))["dev"]
    return metrics, out / "model"


def next_batch(strategy: str, model_dir: Path, pool: list[dict], k: int, seed: int) -> list[int]:
    """Indices into ``pool`` of the next ``k`` segments to label."""
    from rasid.data.select import pick, score_pool
    from rasid.inference.predictor import Predictor

    if strategy == "random":
        return pick("random", len(pool), k, seed)[0]
    predictor = Predictor.from_pretrained(model_dir)
    scored = score_pool(predictor, [r["text"] for r in pool], embeddings=strategy == "diverse", progress=False)
    scores = np.array([s.score for s in scored])
    embs = np.stack([s.embedding for s in scored]) if strategy == "diverse" else None
    return pick(strategy, len(pool), k, seed, scores, embs)[0]


def run_curve(strategy: str, seed: int, pool_all: list[dict], dev: Path, work: Path, args) -> list[dict]:
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(pool_all))
    labelled = [pool_all[i] for i in order[: args.init]]  # the same start for every strategy of a seed
    pool = [pool_all[i] for i in order[args.init:]]
    points = []
    for rnd in range(args.rounds + 1):
        t0 = time.monotonic()
        m, model_dir = train_once(labelled, dev, work / f"{strategy}-s{seed}-r{rnd}", seed, args)
        point = {"strategy": strategy, "seed": seed, "labelled": len(labelled),
                 "entity_f1": m["entities"]["micro"]["f1"], "attack_f1": m["attack_types"]["micro"]["f1"]}
        if rnd < args.rounds:
            picked = next_batch(strategy, model_dir, pool, args.step, seed * 1000 + rnd)
            chosen = set(picked)
            labelled += [pool[i] for i in picked]  # the simulated annotator: gold from the corpus
            pool = [r for i, r in enumerate(pool) if i not in chosen]
        point["seconds"] = round(time.monotonic() - t0, 1)
        points.append(point)
        print(f"  {strategy:<12} seed {seed} labelled {point['labelled']:>4}: entity F1 {point['entity_f1']:.3f}, "
              f"attack F1 {point['attack_f1']:.3f} ({point['seconds']} s)", file=sys.stderr, flush=True)
    return points


def table(points: list[dict], strategies: list[str], metric: str) -> str:
    sizes = sorted({p["labelled"] for p in points})
    head = f"{'labelled':>8} | " + " | ".join(f"{s:^15}" for s in strategies)
    lines = [head, "-" * len(head)]
    for n in sizes:
        cells = []
        for s in strategies:
            v = [p[metric] for p in points if p["strategy"] == s and p["labelled"] == n]
            cells.append(f"{np.mean(v):.3f} ± {np.std(v):.3f}" if v else " " * 15)
        lines.append(f"{n:>8} | " + " | ".join(cells))
    return "\n".join(lines)


def chart(points: list[dict], strategies: list[str], metric: str, width: int = 50) -> str:
    """A text chart: one bar per (size, strategy), length = mean F1."""
    marks = {s: m for s, m in zip(strategies, "#=*+")}
    lines = []
    for n in sorted({p["labelled"] for p in points}):
        for s in strategies:
            v = [p[metric] for p in points if p["strategy"] == s and p["labelled"] == n]
            if v:
                lines.append(f"{n:>5} {s:<12} {marks[s] * round(width * float(np.mean(v)))} {np.mean(v):.3f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--strategies", nargs="+", default=["uncertainty", "random"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    ap.add_argument("--init", type=int, default=50, help="randomly labelled segments to start from")
    ap.add_argument("--step", type=int, default=50, help="segments labelled per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=15, help="passes over the labelled set per model")
    ap.add_argument("--min-steps", type=int, default=80, help="training steps of the smallest sets at least")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--hidden", type=int, default=128, help="encoder width (the tiny preset's is 256)")
    ap.add_argument("--layers", type=int, default=2, help="encoder depth (the tiny preset's is 4)")
    ap.add_argument("--max-length", type=int, default=96, help="tokens per window (the tiny preset's is 128)")
    ap.add_argument("--pool-size", type=int, help="use only the first N train segments as the pool (default: all)")
    ap.add_argument("--output", help="also write every point as JSON here")
    ap.add_argument("--workdir", help="keep the models here (default: a temporary directory)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import transformers

    transformers.logging.set_verbosity_error()
    pool = load_jsonl(CORPUS / "train.jsonl")[: args.pool_size]
    dev = CORPUS / "dev.jsonl"
    t0 = time.monotonic()
    points: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.workdir or tmp)
        for seed in args.seeds:
            for strategy in args.strategies:
                points += run_curve(strategy, seed, pool, dev, work, args)
    minutes = (time.monotonic() - t0) / 60
    print(f"\nLearning curves: model=tiny (hidden {args.hidden}, {args.layers} layers, max length {args.max_length}, "
          f"{args.epochs} epochs of batches of {args.batch_size}, at least {args.min_steps} steps), pool = {len(pool)} hand-written train segments with gold as the annotator, "
          f"dev = {dev.name} ({len(load_jsonl(dev))} segments); mean ± sd over seeds {' '.join(map(str, args.seeds))}; "
          f"{minutes:.1f} min")
    for metric, title in (("entity_f1", "dev entity micro F1 (strict)"), ("attack_f1", "dev attack-type micro F1")):
        print(f"\n{title}\n{table(points, args.strategies, metric)}\n\n{chart(points, args.strategies, metric)}")
    if args.output:
        Path(args.output).write_text(json.dumps(points, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
