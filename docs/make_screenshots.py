"""Render the two HTML reports on hand-written Arabic samples and screenshot
them with headless Chromium into docs/img/ (needs `apt-get install chromium`).

    .venv/bin/python docs/make_screenshots.py [--keep-html]

The samples are invented sentences in the style of the corpus, not real news.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from rasid.inference.report import render_predictions_html
from rasid.training.report import render_eval_html

IMG = Path(__file__).resolve().parent / "img"
CODES = {"BOMBING": ("Remote explosive/landmine/IED", "3 Bombing/Explosion"), "AIRSTRIKE": ("Air/drone strike", None),
         "ARMED_ASSAULT": ("Armed clash / Attack", "2 Armed Assault"), "SHELLING": ("Shelling/artillery/missile attack", None)}


def span(text: str, phrase: str, label: str, score: float, count=..., qualifier=None) -> dict:
    start = text.index(phrase)
    e = {"start": start, "end": start + len(phrase), "label": label, "text": phrase, "score": score}
    if count is not ...:
        e["count"] = count
        if qualifier:
            e["qualifier"] = qualifier
    return e


def doc(rid: str, text: str, ents: list[dict], types: list[tuple[str, float]]) -> dict:
    acts = [e["text"] for e in ents if e["label"] == "ACTOR"]
    counts = {lab: next((e.get("count") for e in ents if e["label"] == lab), None) for lab in ("KILLED", "WOUNDED")}
    ev_types = [{"label": t, "score": s, "acled_sub_event": CODES[t][0], "gtd_attack_type": CODES[t][1]} for t, s in types]
    return {"id": rid, "text": text, "source": "عينة توضيحية", "entities": ents,
            "attack_types": [{"label": t, "score": s} for t, s in types],
            "events": [{"start": 0, "end": len(text), "attack_types": ev_types, "actors": acts,
                        "killed": counts["KILLED"], "wounded": counts["WOUNDED"]}] if types else []}


def prediction_samples() -> list[dict]:
    t1 = ("قُتل سبعة أفراد من الجيش العراقي وأصيب أكثر من 20 آخرين بانفجار عبوة ناسفة استهدفت دوريتهم "
          "قرب مدينة تكريت، وتبنى تنظيم داعش الهجوم في بيان نشره على معرفاته.")
    t2 = ("شن الطيران الحربي الروسي غارات جوية على ريف إدلب الجنوبي أسفرت عن مقتل نحو خمسين شخصًا "
          "وإصابة العشرات، فيما ردت فصائل المعارضة بقصف مواقع قوات النظام.")
    t3 = ("هاجم مسلحون مجهولون دورية الشرطة العراقية في ديالى، ما أدى إلى مقتل ضابط وإصابة جنديين، "
          "واندلعت اشتباكات استمرت ساعتين.")
    t4 = "قالت وزارة الدفاع إن المناورات العسكرية المشتركة ستستمر أسبوعًا في المنطقة الحدودية."
    return [
        doc("iq-2024-0117", t1, [span(t1, "سبعة أفراد", "KILLED", 0.98, 7, "exact"), span(t1, "الجيش العراقي", "ACTOR", 0.96),
                                 span(t1, "أكثر من 20 آخرين", "WOUNDED", 0.93, 20, "more_than"),
                                 span(t1, "تنظيم داعش", "ACTOR", 0.97)], [("BOMBING", 0.94)]),
        doc("sy-2019-0542", t2, [span(t2, "الطيران الحربي الروسي", "ACTOR", 0.95), span(t2, "نحو خمسين شخصًا", "KILLED", 0.9, 50, "about"),
                                 span(t2, "العشرات", "WOUNDED", 0.81, None), span(t2, "فصائل المعارضة", "ACTOR", 0.92),
                                 span(t2, "قوات النظام", "ACTOR", 0.94)], [("AIRSTRIKE", 0.97), ("SHELLING", 0.62)]),
        doc("iq-2023-0833", t3, [span(t3, "مسلحون مجهولون", "ACTOR", 0.91), span(t3, "الشرطة العراقية", "ACTOR", 0.88),
                                 span(t3, "ضابط", "KILLED", 0.86, 1, "exact"), span(t3, "جنديين", "WOUNDED", 0.89, 2, "exact")],
            [("ARMED_ASSAULT", 0.92)]),
        doc("xx-0001", t4, [], []),
        {"id": "broken-17", "error": "empty text"},
    ]


def eval_samples() -> tuple[dict, list[dict]]:
    def prf(p, r, n):
        return {"precision": p, "recall": r, "f1": round(2 * p * r / (p + r), 4), "support": n}

    metrics = {
        "entities": {"micro": prf(0.86, 0.82, 412), "per_label": {"ACTOR": prf(0.84, 0.8, 251), "KILLED": prf(0.91, 0.88, 96),
                                                                  "WOUNDED": prf(0.87, 0.83, 65)}},
        "attack_types": {"micro": prf(0.88, 0.85, 180), "macro": prf(0.81, 0.77, 180),
                         "per_label": {"BOMBING": prf(0.9, 0.88, 52), "AIRSTRIKE": prf(0.93, 0.9, 41),
                                       "SHELLING": prf(0.8, 0.74, 35), "ARMED_ASSAULT": prf(0.78, 0.8, 38),
                                       "AMBUSH": prf(0.7, 0.58, 14)},
                         "thresholds": {"BOMBING": 0.45, "AIRSTRIKE": 0.5, "SHELLING": 0.4, "ARMED_ASSAULT": 0.55, "AMBUSH": 0.35},
                         "confusion": {"labels": ["BOMBING", "AIRSTRIKE", "SHELLING", "ARMED_ASSAULT", "AMBUSH", "NONE"],
                                       "matrix": [[46, 1, 2, 1, 0, 3], [0, 37, 3, 0, 0, 1], [2, 4, 26, 1, 0, 4],
                                                  [1, 0, 1, 30, 3, 4], [0, 0, 0, 5, 8, 1], [2, 1, 3, 2, 0, 96]]}},
        "n_segments": 230, "split": "test", "model": "outputs/default/model"}
    p = prediction_samples()
    g1, g2, g3 = (d["entities"] for d in p[:3])
    examples = [
        {"id": p[0]["id"], "text": p[0]["text"], "gold_entities": g1, "pred_entities": [g1[0], g1[1], dict(g1[2], start=g1[2]["start"] + 8), g1[3]],
         "gold_types": ["BOMBING"], "pred_types": [{"label": "BOMBING", "score": 0.94}]},
        {"id": p[1]["id"], "text": p[1]["text"], "gold_entities": g2, "pred_entities": [g2[0], g2[1], g2[3]],
         "gold_types": ["AIRSTRIKE", "SHELLING"], "pred_types": [{"label": "AIRSTRIKE", "score": 0.97}]},
        {"id": p[2]["id"], "text": p[2]["text"], "gold_entities": g3,
         "pred_entities": [g3[0], g3[1], dict(g3[2], label="WOUNDED"), g3[3], span(p[2]["text"], "ساعتين", "KILLED", 0.41, 2)],
         "gold_types": ["ARMED_ASSAULT"], "pred_types": [{"label": "ARMED_ASSAULT", "score": 0.92}, {"label": "AMBUSH", "score": 0.38}]},
    ]
    return metrics, examples


def shoot(page: str, png: Path, work: Path, size: str) -> None:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    html_file = work / (png.stem + ".html")
    html_file.write_text(page, encoding="utf-8")
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                    f"--user-data-dir={work / 'profile'}", f"--screenshot={png}", f"--window-size={size}",
                    html_file.as_uri()], check=True, capture_output=True, timeout=180)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep-html", action="store_true", help="also write the HTML pages next to the PNGs")
    args = ap.parse_args(argv)
    IMG.mkdir(parents=True, exist_ok=True)
    pages = {"predictions_report": (render_predictions_html(prediction_samples(), title="rasid predictions: عينة"), "1200,900"),
             "eval_report": (render_eval_html(*eval_samples(), title="rasid evaluation: test"), "1200,2400")}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (page, size) in pages.items():
            shoot(page, IMG / f"{name}.png", Path(tmp), size)
            if args.keep_html:
                (IMG / f"{name}.html").write_text(page, encoding="utf-8")
            print(f"wrote {IMG / name}.png", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
