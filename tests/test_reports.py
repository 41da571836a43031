"""HTML reports: rasid.inference.report (predictions) and rasid.training.report (evaluation)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rasid.inference.report import label_class, main, render_predictions_html
from rasid.training.report import classify_errors, render_eval_html

HOSTILE = ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>']
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
URL_ATTRS = {"src", "href", "xlink:href", "action", "formaction", "poster", "data", "srcset"}


class Collector(HTMLParser):
    """Tags, attributes and entity <mark> texts of a page; records any
    unbalanced or stray end tag as an error (html.parser itself never fails)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.errors, self.marks, self.stack = [], [], [], []
        self._mark = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)
        if tag == "mark" and "title" in dict(attrs):  # entity marks carry a title, legend ones do not
            self._mark = []

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}>, open: {self.stack[-3:]}")
            return
        self.stack.pop()
        if tag == "mark" and self._mark is not None:
            self.marks.append("".join(self._mark))
            self._mark = None

    def handle_data(self, data):
        if self._mark is not None:
            self._mark.append(data)


def parse(page: str) -> Collector:
    c = Collector()
    c.feed(page)
    c.close()
    assert not c.errors, c.errors
    assert not c.stack, f"unclosed: {c.stack}"
    return c


def assert_offline(c: Collector, page: str):
    """No attribute may make the browser fetch anything."""
    for tag, attrs in c.tags:
        for name, value in attrs.items():
            if name in URL_ATTRS and value:
                v = value.strip().lower()
                assert not v.startswith(("http", "//")) and "://" not in v, (tag, name, value)
    assert not re.search(r"url\(\s*['\"]?(?!#)", page) and "@import" not in page  # url(#id) is a local SVG reference


TEXT = ("أعلنت مصادر أمنية مقتل سبعة أفراد من الجيش العراقي وإصابة أكثر من 20 آخرين "
        "بانفجار عبوة ناسفة استهدفت دوريتهم، وتبنى تنظيم داعش الهجوم.")


def ent(text, phrase, label, **kw):
    s = text.index(phrase)
    return {"start": s, "end": s + len(phrase), "label": label, "text": phrase, "score": 0.93, **kw}


def record(rid="a1", text=TEXT):
    ents = [ent(text, "سبعة أفراد", "KILLED", count=7, qualifier="exact"),
            ent(text, "الجيش العراقي", "ACTOR"),
            ent(text, "أكثر من 20 آخرين", "WOUNDED", count=20, qualifier="more_than"),
            ent(text, "تنظيم داعش", "ACTOR")]
    return {"id": rid, "text": text, "source": "وكالة", "entities": ents,
            "attack_types": [{"label": "BOMBING", "score": 0.91}],
            "events": [{"start": 0, "end": len(text), "actors": ["الجيش العراقي", "تنظيم داعش"], "killed": 7, "wounded": 20,
                        "attack_types": [{"label": "BOMBING", "score": 0.91, "acled_sub_event": "Remote explosive/landmine/IED",
                                          "gtd_attack_type": "3 Bombing/Explosion"}]}]}


# ---------------------------------------------------------------- predictions page
def test_prediction_page_parses_and_marks_every_entity():
    recs = [record("a1"), record("a2")]
    page = render_predictions_html(recs)
    c = parse(page)
    assert page.startswith("<!DOCTYPE html>") and '<html lang="ar" dir="rtl">' in page
    expected = [e["text"] for r in recs for e in sorted(r["entities"], key=lambda e: e["start"])]
    assert c.marks == expected
    classes = [a.get("class", "") for t, a in c.tags if t == "mark" and "title" in a]
    assert any("lab-KILLED" in k for k in classes) and any("lab-ACTOR" in k for k in classes)
    assert "Remote explosive/landmine/IED" in page and "3 Bombing/Explosion" in page and "BOMBING" in page
    assert "0.91" in page and "وكالة" in page  # type score, passthrough field
    assert_offline(c, page)


def test_counts_shown_beside_casualty_spans():
    text = "قتل سبعة وأصيب نحو خمسين وقتل خمسة على الأقل وأصيب آخرون"
    ents = [ent(text, "سبعة", "KILLED", count=7, qualifier="exact"), ent(text, "نحو خمسين", "WOUNDED", count=50, qualifier="about"),
            ent(text, "خمسة", "KILLED", count=5, qualifier="at_least"), ent(text, "آخرون", "WOUNDED", count=None)]
    page = render_predictions_html([{"id": "c", "text": text, "entities": ents}])
    parse(page)
    for shown in ('">7</span>', '">~50</span>', '">≥5</span>', '">?</span>'):
        assert shown in page
    page = render_predictions_html([record()])
    assert '">&gt;20</span>' in page


def test_hostile_text_ids_and_labels_are_escaped():
    text = f"نص {HOSTILE[0]} و {HOSTILE[1]} نهاية"
    recs = [{"id": h, "text": text, "note": h, "entities": [ent(text, HOSTILE[0], h, count=1)],
             "attack_types": [{"label": h, "score": 0.5}], "events": [{"actors": [h], "killed": h}]} for h in HOSTILE]
    recs.append({"id": HOSTILE[1], "error": HOSTILE[0]})
    page = render_predictions_html(recs, title=HOSTILE[1])
    c = parse(page)
    assert not any(t in ("script", "img") for t, _ in c.tags)  # no JS at all on a single page
    assert not any(k.startswith("on") for _, a in c.tags for k in a)
    for h in HOSTILE:
        assert h not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    assert c.marks == [HOSTILE[0], HOSTILE[0]]
    assert label_class(HOSTILE[1]).replace("-", "").isalnum()
    assert_offline(c, page)


def test_bad_offsets_are_skipped_with_a_warning():
    text = "قتل سبعة أفراد في هجوم"
    good = ent(text, "سبعة أفراد", "KILLED", count=7)
    bad = [{"start": -1, "end": 3, "label": "ACTOR"}, {"start": 5, "end": 500, "label": "ACTOR"},
           {"start": "4", "end": 8, "label": "ACTOR"}, {"start": 8, "end": 8, "label": "ACTOR"}, "junk",
           {"start": good["start"] + 2, "end": good["end"] + 3, "label": "WOUNDED"}]
    page = render_predictions_html([{"id": "b", "text": text, "entities": [good] + bad}])
    c = parse(page)
    assert c.marks == ["سبعة أفراد"]
    assert "6 entities not shown: 5 out of range, 1 overlapping" in page


def test_error_records_and_missing_text():
    recs = [{"id": "x1", "error": "text too long"}, [1, 2], {"id": "x2", "entities": [{"label": "ACTOR", "text": "داعش"}]},
            {"id": "x3", "body": TEXT, "entities": record()["entities"]}]
    page = render_predictions_html(recs)
    c = parse(page)
    assert page.count('class="card error"') == 2 and "text too long" in page
    assert 'no "text" field' in page and "داعش" in page
    assert c.marks == []  # x3 has its text under another field
    page = render_predictions_html(recs[3:], text_field="body")
    assert len(parse(page).marks) == 4


def test_long_text_collapses_without_cutting_a_span():
    text = ("كلام " * 400) + "قتل سبعة أفراد" + (" كلام" * 400)
    e = ent(text, "سبعة أفراد", "KILLED", count=7)
    e2 = {"start": 1490, "end": 1510, "label": "ACTOR", "text": text[1490:1510]}
    page = render_predictions_html([{"id": "long", "text": text, "entities": [e2, e]}])
    c = parse(page)
    assert c.marks == [e2["text"], "سبعة أفراد"]
    head, tail = page.split("<details><summary>show ", 1)
    assert e2["text"] in head and "سبعة أفراد" in tail  # span across the fold stays visible whole


def test_unknown_labels_get_a_stable_colour():
    text = "صاروخ غراد أطلق"
    recs = [{"id": "u", "text": text, "entities": [ent(text, "صاروخ غراد", "WEAPON")]}]
    a, b = render_predictions_html(recs), render_predictions_html(recs)
    rule = f"mark.{label_class('WEAPON')}{{background:hsl("
    assert rule in a and a == b and label_class("WEAPON") != label_class("WEAPONS")


def test_pagination_120_documents():
    page = render_predictions_html([record(f"d{i}") for i in range(120)], per_page=50)
    c = parse(page)
    pages = [a for t, a in c.tags if t == "details" and a.get("class") == "page"]
    assert [p["id"] for p in pages] == ["page-1", "page-2", "page-3"]
    assert "open" in pages[0] and "open" not in pages[1] and "open" not in pages[2]
    chunks = page.split('<details class="page"')[1:]
    assert [ch.count('<article class="card"') for ch in chunks] == [50, 50, 20]
    assert {a["href"] for t, a in c.tags if t == "a"} == {"#page-1", "#page-2", "#page-3"}
    assert len(c.marks) == 480
    assert_offline(c, page)
    assert "<details class=\"page\"" not in render_predictions_html([record()] * 50, per_page=50)


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="قتل سبعة <>&\"'\n", max_size=60),
       st.lists(st.tuples(st.integers(-5, 70), st.integers(-5, 70), st.sampled_from(["ACTOR", "KILLED", "X<y"])), max_size=8))
def test_any_spans_never_crash(text, spans):
    ents = [{"start": s, "end": e, "label": lab, "count": 3} for s, e, lab in spans]
    c = parse(render_predictions_html([{"id": "h", "text": text, "entities": ents}]))
    assert all(m in text for m in c.marks) and len(c.marks) <= len(ents)


# ---------------------------------------------------------------- CLI
def test_cli_writes_report(tmp_path, capsys):
    src = tmp_path / "pred.jsonl"
    src.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [record("a"), record("b")]) + "\n\n", encoding="utf-8")
    out = tmp_path / "out" / "report.html"
    assert main([str(src), "--output", str(out), "--title", "تقرير"]) == 0
    page = out.read_text(encoding="utf-8")
    assert "<title>تقرير</title>" in page and len(parse(page).marks) == 8
    assert sorted(p.name for p in out.parent.iterdir()) == ["report.html"]  # no temp file left behind


def test_cli_bad_json_line(tmp_path, capsys):
    src = tmp_path / "pred.jsonl"
    src.write_text(json.dumps(record()) + "\n\n{not json\n", encoding="utf-8")
    out = tmp_path / "r.html"
    with pytest.raises(SystemExit) as exc:
        main([str(src), "--output", str(out)])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and f"{src}:3:" in err and "invalid JSON" in err and "Traceback" not in err
    assert not out.exists()


def test_cli_missing_file(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main([str(tmp_path / "nope.jsonl"), "--output", str(tmp_path / "r.html")])
    assert exc.value.code == 2 and "no such file" in capsys.readouterr().err


# ---------------------------------------------------------------- evaluation page
def S(start, end, label="ACTOR"):
    return {"start": start, "end": end, "label": label}


@pytest.mark.parametrize("gold, pred, kinds", [
    ([S(0, 5)], [S(0, 5)], []),
    ([S(0, 5)], [], ["missed"]),
    ([], [S(0, 5)], ["spurious"]),
    ([S(0, 5)], [S(5, 9)], ["missed", "spurious"]),  # touching is not overlapping
    ([S(0, 5)], [S(0, 5, "KILLED")], ["wrong label"]),
    ([S(0, 5)], [S(0, 8)], ["wrong boundary"]),
    ([S(2, 8)], [S(0, 5, "WOUNDED")], ["wrong label+boundary"]),
    ([S(0, 5), S(6, 9)], [S(0, 9)], ["wrong boundary", "wrong boundary"]),  # one prediction over two gold spans
    ([S(0, 5), S(10, 14, "KILLED")], [S(0, 5), S(10, 12, "KILLED"), S(20, 25)], ["wrong boundary", "spurious"]),
    ([S(0, 5), {"start": "x", "end": 3}], [S(0, 5), None], []),  # malformed spans are ignored
])
def test_classify_errors(gold, pred, kinds):
    errors = classify_errors(gold, pred)
    assert [e["kind"] for e in errors] == kinds
    for e in errors:
        assert (e["gold"] is None) == (e["kind"] == "spurious") and (e["pred"] is None) == (e["kind"] == "missed")


def test_classify_errors_pairs_spans():
    g, p = S(0, 5), S(0, 5, "KILLED")
    assert classify_errors([g], [p]) == [{"kind": "wrong label", "gold": g, "pred": p}]


def metrics_full():
    prf = {"precision": 0.8, "recall": 0.7, "f1": 0.7467, "support": 12}
    return {"entities": {"micro": prf, "per_label": {"ACTOR": prf, "KILLED": dict(prf, f1=0.9), "WOUNDED": dict(prf, f1=0.5)}},
            "attack_types": {"micro": prf, "macro": prf, "per_label": {"BOMBING": prf, "AIRSTRIKE": dict(prf, f1=0.6)},
                             "thresholds": {"BOMBING": 0.45, "AIRSTRIKE": 0.5},
                             "confusion": {"labels": ["BOMBING", "AIRSTRIKE", "NONE"], "matrix": [[5, 1, 0], [0, 4, 1], [1, 0, 9]]}},
            "n_segments": 3, "split": "test", "model": "outputs/default/model"}


def examples():
    g = record()["entities"]
    return [
        {"id": "ok", "text": TEXT, "gold_entities": g, "pred_entities": g, "gold_types": ["BOMBING"],
         "pred_types": [{"label": "BOMBING", "score": 0.9}]},
        {"id": "ent-err", "text": TEXT, "gold_entities": g, "pred_entities": [g[0], dict(g[1], label="KILLED"), g[3]],
         "gold_types": ["BOMBING"], "pred_types": [{"label": "BOMBING", "score": 0.9}]},
        {"id": "type-err", "text": TEXT, "gold_entities": g, "pred_entities": g, "gold_types": ["BOMBING"],
         "pred_types": [{"label": "AIRSTRIKE", "score": 0.7}]},
        {"id": HOSTILE[0], "text": HOSTILE[1] + " " + TEXT, "gold_entities": [S(0, 5)], "pred_entities": [],
         "gold_types": [], "pred_types": []},
    ]


def test_eval_page():
    page = render_eval_html(metrics_full(), examples())
    c = parse(page)
    for needle in ('<table class="metrics"', '<table class="conf"', "<svg", "0.747", "0.45", "outputs/default/model",
                   "wrong label", "missed", "missed type", "spurious type", "Errors: 3 of 4 examples"):
        assert needle in page, needle
    assert page.count("<svg") == 2
    ids = page.split("<h2>Errors")[1]
    assert "ent-err" in ids and "type-err" in ids and "&lt;script&gt;" in ids and ">ok<" not in ids
    assert not any(t in ("script", "img") for t, _ in c.tags) and HOSTILE[1] not in page
    assert_offline(c, page)


def test_eval_page_partial_metrics():
    m = {"entities": metrics_full()["entities"], "n_segments": 4}
    page = render_eval_html(m, examples())
    parse(page)
    assert "Attack types" not in page and "missed type" not in page  # tagging-only: types not compared
    assert "Errors: 2 of 4 examples" in page
    page = render_eval_html({}, [])
    parse(page)
    assert "Errors: 0 of 0" in page


# ---------------------------------------------------------------- screenshot
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


def screenshot(html_file: Path, png: Path, profile: Path, size: str = "1200,900") -> None:
    """Headless Chromium, offline-minded flags, into ``png``."""
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", f"--screenshot={png}", f"--window-size={size}", html_file.resolve().as_uri()]
    subprocess.run(cmd, check=True, capture_output=True, timeout=180)


def changed_fraction(png: Path) -> float:
    """Share of pixels that differ from the most common (background) colour."""
    import numpy as np
    from matplotlib.image import imread

    img = (imread(png)[..., :3] * 255).astype(np.uint8).reshape(-1, 3)
    colours, counts = np.unique(img, axis=0, return_counts=True)
    background = colours[counts.argmax()]
    return float((img != background).any(axis=1).mean())


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (apt-get install -y chromium) - screenshot not taken")
def test_screenshot_is_not_blank(tmp_path):
    html_file = tmp_path / "report.html"
    html_file.write_text(render_predictions_html([record("a1"), record("a2"), {"id": "e", "error": "oops"}]), encoding="utf-8")
    png = tmp_path / "shot.png"
    screenshot(html_file, png, tmp_path / "profile")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert changed_fraction(png) > 0.02
