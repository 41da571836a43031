"""Screenshot the two HTML reports of a trained model into docs/img/ with headless
Chromium (needs `apt-get install chromium`): what `make run` writes for the example
articles, and what `rasid-eval` writes for the test split.

    .venv/bin/python docs/make_screenshots.py [--model outputs/default/model] [--keep-html]

Both pages are the tools' own output on real model predictions: `rasid-predict
--keep-text --html` over examples/articles.jsonl and `rasid-eval --html` over
data/corpus/test.jsonl.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from rasid.inference.batch import main as predict_main
from rasid.training.evaluate import main as eval_main

REPO = Path(__file__).resolve().parents[1]
IMG = REPO / "docs" / "img"


def shoot(html_file: Path, png: Path, work: Path, size: str) -> None:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                    f"--user-data-dir={work / 'profile'}", f"--screenshot={png}", f"--window-size={size}",
                    html_file.as_uri()], check=True, capture_output=True, timeout=180)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(REPO / "outputs" / "default" / "model"),
                    help="a trained checkpoint (default: the one `make run` writes)")
    ap.add_argument("--keep-html", action="store_true", help="also write the HTML pages next to the PNGs")
    args = ap.parse_args(argv)
    IMG.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pages = {"predictions_report": (work / "predictions.html", "1200,900"),
                 "eval_report": (work / "eval.html", "1200,2400")}
        rc = predict_main(["--model", args.model, "--input", str(REPO / "examples" / "articles.jsonl"),
                           "--output", str(work / "predictions.jsonl"), "--keep-text", "--quiet",
                           "--html", str(pages["predictions_report"][0])])
        if rc == 0:  # named as make run names it, wherever the checkpoint is
            (work / "outputs" / "default").mkdir(parents=True)
            (work / "outputs" / "default" / "model").symlink_to(Path(args.model).resolve())
            cwd = os.getcwd()
            os.chdir(work)
            try:
                rc = eval_main(["--model", "outputs/default/model", "--data", str(REPO / "data" / "corpus" / "test.jsonl"),
                                "--html", str(pages["eval_report"][0])])
            finally:
                os.chdir(cwd)
        if rc != 0:
            return rc
        for name, (html, size) in pages.items():
            shoot(html, IMG / f"{name}.png", work, size)
            if args.keep_html:
                shutil.copy(html, IMG / f"{name}.html")
            print(f"wrote {IMG / name}.png", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
