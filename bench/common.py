"""What every bench module shares: model shapes, corpus texts, memory and FLOP accounting."""

from __future__ import annotations

import json
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Encoder shapes under test. Weights are random: speed does not depend on them.
SHAPES: dict[str, dict[str, int]] = {
    # AraBERT-v02: BERT-base with a 64k WordPiece vocabulary
    "base": dict(vocab_size=64000, hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072),
    # the default encoder (multilingual-e5-small, vocabulary pruned to the pieces Arabic news uses; models/e5.py)
    "e5": dict(vocab_size=33221, hidden_size=384, num_hidden_layers=12, num_attention_heads=12, intermediate_size=1536),
    "tiny": dict(vocab_size=8000, hidden_size=256, num_hidden_layers=4, num_attention_heads=4, intermediate_size=1024),
}


def vm_hwm_mb() -> float:
    """Peak resident memory of this process (ru_maxrss can report the parent's in a child)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def corpus_texts() -> list[str]:
    """Every shipped corpus segment (test, dev, train), in file order: the same list on every run."""
    texts = []
    for split in ("test", "dev", "train"):
        for line in (REPO / "data" / "corpus" / f"{split}.jsonl").read_text(encoding="utf-8").splitlines():
            texts.append(json.loads(line)["text"])
    return texts


def segments(n: int) -> list[str]:
    """``n`` bench segments: pairs of corpus segments (about 65 WordPiece tokens each), repeated as needed."""
    texts = corpus_texts()
    pairs = [texts[i] + " " + texts[i + 1] for i in range(0, len(texts) - 1, 2)]
    return (pairs * (n // len(pairs) + 1))[:n]


def useful_gflop(shape: str, token_counts: list[int]) -> float:
    """Forward GFLOP on real tokens: 2*params per token in the dense layers + attention scores and mixing.

    Each count is one forward sequence (a segment or a window): attention is quadratic within it."""
    s = SHAPES[shape]
    h, L, inter = s["hidden_size"], s["num_hidden_layers"], s["intermediate_size"]
    dense = L * (4 * h * h + 2 * h * inter)  # QKV + output projection + FFN weights
    return sum(2 * dense * t + L * 4 * t * t * h for t in token_counts) / 1e9


class Timer:
    """Wall and CPU seconds of a ``with`` block. CPU seconds (every thread of this process) move far
    less than wall time when other jobs share the machine, so on a busy host their ratios are steadier."""

    def __enter__(self) -> "Timer":
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu
