"""Peak RSS of rasid-predict as the job grows: it should stay flat.

    python bench/memory.py                 # 1,000 and 10,000 articles
    python bench/memory.py --full          # and 100,000
    python bench/memory.py --sizes 200,2000 --words 150

Articles (``--words`` words each, built from corpus segments as in
bench/articles.py) are generated on the fly into a temporary JSONL file, never
shipped; each size is one whole ``rasid-predict`` run on the ``tiny`` shape
(random weights: memory does not depend on them), and its peak RSS comes from
the kernel's rusage for that process.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

from articles import article_stream, predict_command, run_command
from build import build


def write_articles(path: Path, n: int, words: int) -> int:
    """Stream ``n`` articles into ``path`` (one at a time: the generator holds none of them); returns total words."""
    article = article_stream(seed=n)
    total = 0
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            text = article(words)
            total += len(text.split())
            f.write(json.dumps({"id": f"m{i}", "text": text}, ensure_ascii=False) + "\n")
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000", help="article counts, comma-separated")
    ap.add_argument("--full", action="store_true", help="add a 100,000-article run (hours on 2 cores)")
    ap.add_argument("--words", type=int, default=300, help="words per article")
    ap.add_argument("--backend", default="torch", choices=["torch", "onnx"])
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")] + ([100_000] if args.full else [])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        build("tiny", work)
        model = work / "tiny" / ("rasid" if args.backend == "torch" else "onnx")
        for n in sizes:
            inp, out = work / f"articles-{n}.jsonl", work / f"predictions-{n}.jsonl"
            words = write_articles(inp, n, args.words)
            seconds, _, rss = run_command(predict_command(model, args.backend, inp, out, args.threads))
            rows.append({"articles": n, "words": words, "seconds": round(seconds, 1), "peak_rss_mb": round(rss, 1)})
            print(f"{n:>7} articles  {words:>10} words  {seconds:>8.1f} s  peak RSS {rss:>7.0f} MB", flush=True)
            inp.unlink()
            out.unlink()
    if len(rows) > 1:
        growth = rows[-1]["peak_rss_mb"] / rows[-2]["peak_rss_mb"] - 1
        print(f"peak RSS change from {rows[-2]['articles']} to {rows[-1]['articles']} articles: {100 * growth:+.1f}%")


if __name__ == "__main__":
    main()
