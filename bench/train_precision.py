"""Training-step speed in fp32 and in bfloat16 autocast, interleaved in one process.

    python bench/train_precision.py                 # e5 shape, 6 rounds of 5 steps each way
    python bench/train_precision.py --shape tiny --rounds 3

Each step is what ``rasid-train`` does per batch: the joint model (encoder + token and type
heads) on a batch of corpus segments, loss, backward, AdamW, with the embedding table frozen as
the e5 preset freezes it. Rounds alternate fp32 and bf16 so that a neighbour on the machine slows
both alike; the figure to quote is the ratio of the medians. Weights are random: speed does not
depend on them. Prints whether this CPU computes bf16 natively (``trainer.args.bf16`` follows that
by default): without AVX512-BF16 or AMX, autocast emulates bf16 and is expected to be slower.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHAPES, Timer  # noqa: E402


def make_model(shape: str):
    from transformers import BertConfig

    from rasid.models.modeling import RasidConfig, RasidForEventExtraction

    enc = BertConfig(**SHAPES[shape], max_position_embeddings=512)
    types = ["BOMBING", "SUICIDE_BOMBING", "AIRSTRIKE", "SHELLING", "AMBUSH", "ARMED_ASSAULT", "ASSASSINATION", "KIDNAPPING"]
    cfg = RasidConfig(encoder=enc.to_dict(), task="joint", entity_labels=["ACTOR", "KILLED", "WOUNDED"],
                      attack_types=types, pooling="mean", pooled_norm=True)
    model = RasidForEventExtraction(cfg)
    model.get_input_embeddings().weight.requires_grad_(False)  # as model.freeze_embeddings=true
    return model


def batch(shape: str, size: int, length: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """``size`` windows of ``length`` tokens (the corpus's windows run 40-190 tokens; 96 is typical)."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, SHAPES[shape]["vocab_size"], (size, length), generator=g)  # (B, T)
    return {
        "input_ids": ids,
        "attention_mask": torch.ones_like(ids),
        "labels": torch.randint(0, 7, (size, length), generator=g),  # (B, T)
        "type_labels": (torch.rand(size, 8, generator=g) < 0.2).float(),  # (B, 8)
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", choices=sorted(SHAPES), default="e5")
    ap.add_argument("--rounds", type=int, default=6, help="rounds per precision, alternating")
    ap.add_argument("--steps", type=int, default=5, help="timed steps per round")
    ap.add_argument("--batch", type=int, default=32, help="windows per step (trainer.args.per_device_train_batch_size)")
    ap.add_argument("--length", type=int, default=96, help="tokens per window")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    from rasid.training.config import native_bf16

    torch.manual_seed(0)
    model = make_model(args.shape).train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    b = batch(args.shape, args.batch, args.length)

    def step(bf16: bool) -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model(**b).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    times: dict[str, list[float]] = {"fp32": [], "bf16": []}
    for name in times:  # one untimed step each: first-call allocation and kernel selection
        step(name == "bf16")
    for _ in range(args.rounds):
        for name in times:
            with Timer() as t:
                for _ in range(args.steps):
                    step(name == "bf16")
            times[name].append(t.wall / args.steps)
    print(f"shape {args.shape}, batch {args.batch} x {args.length} tokens, {torch.get_num_threads()} threads, "
          f"native bf16 on this machine: {native_bf16()}")
    for name, ts in times.items():
        print(f"  {name}: {statistics.median(ts):.3f} s/step median (min {min(ts):.3f}, max {max(ts):.3f}) "
              f"over {args.rounds} rounds of {args.steps}")
    ratio = statistics.median(times["fp32"]) / statistics.median(times["bf16"])
    print(f"  bf16 speed-up: {ratio:.2f}x (fp32 median / bf16 median)")


if __name__ == "__main__":
    main()
