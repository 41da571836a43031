"""Build the shipped corpus: markup sources -> train/dev/test JSONL.

    python -m rasid.data.build            # rewrites data/corpus/{train,dev,test}.jsonl

Splits are fixed by a stable hash of each segment's id (about 70/15/15), and
near-duplicate segments (shingled Jaccard >= 0.5) are kept in the same split,
so no test segment has a near-copy in training. Every segment's ``theatre``
must be a key of ``corpus/theatres.tsv``.
"""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path

from .markup import compile_file
from .schema import DataError, validate_record, write_jsonl

CORPUS = Path(__file__).parent / "corpus"
SPLITS = (("train", 70), ("dev", 85), ("test", 100))  # cumulative percent
CLUSTER_JACCARD = 0.5
THEATRES = CORPUS / "theatres.tsv"


def load_theatres(path: Path = THEATRES) -> dict[str, str]:
    """The registry of theatre keys: ``key<TAB>what it covers`` a line, ``#`` lines are comments."""
    out = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        key, sep, name = line.partition("\t")
        if not sep or not key or not name.strip() or key in out:
            raise ValueError(f"{path}:{n}: expected a new `key<TAB>name` line, got {line!r}")
        out[key] = name.strip()
    return out


def theatre_problem(rec: dict, theatres: dict[str, str]) -> str | None:
    t = rec.get("theatre")
    if t in theatres:
        return None
    return f"theatre {t!r} is not a key of {THEATRES.name} (add it there with what it covers, or use one of its keys)"


def shingles(text: str, n: int = 3) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text)
    return {tuple(words[i : i + n]) for i in range(max(1, len(words) - n + 1))}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def near_duplicate_pairs(texts: list[str], threshold: float) -> list[tuple[int, int, float]]:
    """All pairs with shingled Jaccard >= threshold (inverted index keeps it fast)."""
    sh = [shingles(t) for t in texts]
    index: dict[tuple, list[int]] = {}
    for i, s in enumerate(sh):
        for g in s:
            index.setdefault(g, []).append(i)
    pairs = []
    for i, s in enumerate(sh):
        cands = {j for g in s for j in index[g] if j > i}
        for j in cands:
            sim = jaccard(s, sh[j])
            if sim >= threshold:
                pairs.append((i, j, sim))
    return pairs


def assign_splits(records: list[dict]) -> dict[str, list[dict]]:
    parent = list(range(len(records)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j, _ in near_duplicate_pairs([r["text"] for r in records], CLUSTER_JACCARD):
        parent[find(i)] = find(j)
    out = {name: [] for name, _ in SPLITS}
    for i, r in enumerate(records):
        root_id = records[find(i)]["id"]
        bucket = int(hashlib.sha256(root_id.encode()).hexdigest(), 16) % 100
        name = next(n for n, upper in SPLITS if bucket < upper)
        out[name].append(r)
    return out


def main(argv: list[str] | None = None) -> int:
    src = sorted((CORPUS / "src").glob("*.markup.jsonl"))
    theatres = load_theatres(CORPUS / THEATRES.name)
    records, problems = [], []
    for f in src:
        recs, errs = compile_file(f)
        problems += errs
        for r in recs:
            r.setdefault("source", "handwritten")
            problems += [f"{f}: {r['id']}: {p}" for p in validate_record(r)]
            if (p := theatre_problem(r, theatres)) is not None:
                problems.append(f"{f}: {r['id']}: {p}")
        records += recs
    if problems:
        print(DataError(problems), file=sys.stderr)
        return 1
    for name, recs in assign_splits(records).items():
        n = write_jsonl(sorted(recs, key=lambda r: r["id"]), CORPUS / f"{name}.jsonl")
        print(f"{name}: {n} segments")
    return 0


if __name__ == "__main__":
    sys.exit(main())
