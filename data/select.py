"""Which unlabelled segments are worth a person's time: uncertainty, diversity, random.

    rasid-data select --model DIR --input POOL.jsonl --k 200 --strategy uncertainty --output PICKED.jsonl

Scores come from ``Predictor.analyze`` (the same pipeline ``predict`` runs):

- tag uncertainty: for each word, one minus the margin between the probability
  of the tag on the decoded (constrained Viterbi) path and the best other tag;
  a segment takes its most doubtful word, so one unsure span is enough to be
  picked (a mean would drown it among the sure ``O`` words of a long segment).
  ``entropy`` instead takes the word's tag entropy over log(number of tags).
- type uncertainty: for each attack type, how close its probability is to the
  type's threshold (1 on it, 0 at 0 or 1); a segment takes its closest type.
- score: the mean of the two (only one when the model has only one head);
  a record of several segments takes its highest.

Strategies: ``uncertainty`` ranks by score; ``diverse`` clusters the records'
pooled encoder vectors with k-means (cosine) and takes the most uncertain
record of each cluster, clusters in order of their best score, round robin, so
the batch is not k versions of one story; ``random`` is the baseline. Ties and
k-means initialisation follow ``seed``: same seed, same picks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

STRATEGIES = ("uncertainty", "diverse", "random")
TAG_MEASURES = ("margin", "entropy")


@dataclass
class Scored:
    """One pool record's uncertainty (and embedding, for ``diverse``)."""

    score: float
    tag: float | None = None
    type: float | None = None
    embedding: np.ndarray | None = field(default=None, repr=False)


def tag_uncertainty(word_probs: np.ndarray, path: np.ndarray, measure: str = "margin") -> float:
    """Uncertainty of the decoded tags of one segment: its most doubtful word, in [0, 1]."""
    if len(word_probs) == 0:
        return 0.0
    if measure == "entropy":
        p = np.clip(word_probs, 1e-12, 1.0)
        ent = -(p * np.log(p)).sum(1) / np.log(word_probs.shape[1])
        return float(np.clip(ent.max(), 0.0, 1.0))
    rows = np.arange(len(path))
    on_path = word_probs[rows, path]
    others = word_probs.copy()
    others[rows, path] = -np.inf
    margin = on_path - others.max(1)  # < 0 where the constraint chose a tag below the best one
    return float(np.clip(1.0 - margin, 0.0, 1.0).max())


def type_uncertainty(type_probs: np.ndarray, thresholds: np.ndarray) -> float:
    """How close the nearest attack type sits to its threshold: 1 on it, 0 at 0 or 1."""
    if type_probs is None or len(type_probs) == 0:
        return 0.0
    t = np.clip(thresholds, 1e-6, 1 - 1e-6)
    span = np.where(type_probs < t, t, 1.0 - t)  # distance to the far end on that side
    return float(np.clip(1.0 - np.abs(type_probs - t) / span, 0.0, 1.0).max())


def score_analysis(item: dict, thresholds: np.ndarray, measure: str = "margin") -> Scored:
    """Score one ``Predictor.analyze`` item (a record: one or more segments)."""
    tags, types, embs = [], [], []
    for seg in item["segments"]:
        if seg["word_probs"] is not None and len(seg["word_probs"]):
            tags.append(tag_uncertainty(seg["word_probs"], seg["path"], measure))
        if seg["type_probs"] is not None:
            types.append(type_uncertainty(seg["type_probs"], thresholds))
        if seg.get("embedding") is not None:
            embs.append(seg["embedding"])
    tag = max(tags) if tags else None
    typ = max(types) if types else None
    parts = [x for x in (tag, typ) if x is not None]
    emb = np.mean(embs, axis=0) if embs else None
    return Scored(float(np.mean(parts)) if parts else 0.0, tag, typ, emb)


def score_pool(predictor, texts: list[str], batch_size: int = 32, measure: str = "margin",
               embeddings: bool = False, chunk: int = 64, progress: bool = True) -> list[Scored]:
    """Scores of ``texts`` under ``predictor``, in order, with a progress bar on a terminal."""
    import sys

    from tqdm import tqdm

    cfg = predictor.config
    th = np.array([predictor.thresholds[t] for t in cfg.attack_types], dtype=float)
    out: list[Scored] = []
    with tqdm(total=len(texts), unit="seg", desc="scoring", disable=not (progress and sys.stderr.isatty())) as bar:
        for i in range(0, len(texts), chunk):
            part = texts[i:i + chunk]
            out += [score_analysis(a, th, measure) for a in predictor.analyze(part, batch_size, embeddings=embeddings)]
            bar.update(len(part))
    return out


def kmeans(x: np.ndarray, k: int, seed: int, iters: int = 50) -> np.ndarray:
    """Cluster ids of the rows of ``x`` (k-means++ start, Lloyd steps, squared
    Euclidean distance). Deterministic for a seed. Numpy only: this is the one
    clustering step rasid needs, and it keeps scikit-learn out of the toolkit."""
    n = len(x)
    k = max(1, min(k, n))
    rng = np.random.default_rng(seed)
    centres = [x[rng.integers(n)]]
    d2 = ((x - centres[0]) ** 2).sum(1)
    for _ in range(1, k):
        total = d2.sum()
        # a point is chosen with probability proportional to its squared distance to the nearest centre
        j = int(rng.choice(n, p=d2 / total)) if total > 0 else int(rng.integers(n))
        centres.append(x[j])
        d2 = np.minimum(d2, ((x - x[j]) ** 2).sum(1))
    c = np.stack(centres)
    labels = np.full(n, -1)
    for _ in range(iters):
        dist = (x ** 2).sum(1)[:, None] - 2 * x @ c.T + (c ** 2).sum(1)[None, :]  # (n, k)
        new = dist.argmin(1)
        if np.array_equal(new, labels):
            break
        labels = new
        for j in range(k):
            members = x[labels == j]
            if len(members):
                c[j] = members.mean(0)
    return labels


def _order(scores: np.ndarray, seed: int) -> np.ndarray:
    """Indices by score, highest first; ties in a seeded random order (not input order,
    which would favour whatever the pool file put first)."""
    tie = np.random.default_rng(seed).permutation(len(scores))
    return np.lexsort((tie, -scores))


def pick(strategy: str, n: int, k: int, seed: int, scores: np.ndarray | None = None,
         embeddings: np.ndarray | None = None, clusters: int | None = None) -> tuple[list[int], np.ndarray | None]:
    """Indices of the ``k`` of ``n`` records to label, in pick order, and the
    cluster of every record (``diverse`` only)."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, not {strategy!r}")
    if strategy == "random":
        return [int(i) for i in np.random.default_rng(seed).permutation(n)[:k]], None
    if scores is None or len(scores) != n:
        raise ValueError(f"strategy {strategy!r} needs one uncertainty score per record (a model)")
    ranked = _order(np.asarray(scores, dtype=float), seed)
    if strategy == "uncertainty":
        return [int(i) for i in ranked[:k]], None
    if embeddings is None or len(embeddings) != n:
        raise ValueError("strategy 'diverse' needs one encoder embedding per record")
    x = np.asarray(embeddings, dtype=float)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)  # cosine geometry
    labels = kmeans(x, clusters or k, seed)
    queues: dict[int, list[int]] = {}
    for i in ranked:  # each cluster's members, most uncertain first; dicts keep the order clusters first appear,
        queues.setdefault(int(labels[i]), []).append(int(i))  # i.e. clusters by their best member
    picked: list[int] = []
    while len(picked) < min(k, n):  # round robin: one from each cluster, then a second from each, ...
        for members in queues.values():
            if members and len(picked) < k:
                picked.append(members.pop(0))
    return picked, labels
