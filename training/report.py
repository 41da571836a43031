"""Self-contained HTML evaluation report (``rasid-eval --html``).

Metric tables, the attack-type confusion matrix, per-label F1 bar charts and
a list of every example where the model disagrees with the gold annotation,
each disagreement classified (see ``classify_errors``).

Charts are drawn with matplotlib and embedded as inline SVG, so the page is
one file with no network request. The span drawing, colours and page shell
come from ``rasid.inference.report`` so both reports look alike. All data is
escaped: examples are corpus text, which we do not control.
"""

from __future__ import annotations

import io
import re
from collections import Counter

from rasid.inference.report import (
    drawable_spans, esc, label_class, label_css, page_html, text_block, type_badges, warning_line,
)

ERROR_KINDS = ("missed", "spurious", "wrong label", "wrong boundary", "wrong label+boundary")
TYPE_KINDS = ("missed type", "spurious type")

EVAL_CSS = """
body{max-width:1300px}
h2{margin-top:1.4em;border-bottom:1px solid #d8dde3}
table.metrics td,table.conf td{text-align:right;font-variant-numeric:tabular-nums}
table.metrics tr.avg td{background:#f3f5f8;font-weight:bold}
table.conf th.gold{text-align:left}
.chart svg{max-width:100%;height:auto}
.sides{display:grid;grid-template-columns:1fr 1fr;gap:1em}
.sides h4{margin:.2em 0;color:#505a66}
mark.err{outline:2px dashed #c0392b;outline-offset:1px}
.kind{display:inline-block;border-radius:4px;padding:0 .4em;font-size:.85em;color:#fff;white-space:nowrap}
.k-missed,.k-missed-type{background:#c0392b}.k-spurious,.k-spurious-type{background:#8e44ad}
.k-wrong-label{background:#d35400}.k-wrong-boundary{background:#2471a3}.k-wrong-label-boundary{background:#7d6608}
"""


# ---------------------------------------------------------------- error classes
def _spans(entities) -> list[dict]:
    """Spans that can be compared: dicts with integer offsets, start < end."""
    return [e for e in entities or [] if isinstance(e, dict) and type(e.get("start")) is int
            and type(e.get("end")) is int and e["start"] < e["end"]]


def _overlap(a: dict, b: dict) -> int:
    return max(0, min(a["end"], b["end"]) - max(a["start"], b["start"]))


def _kind(g: dict, p: dict) -> str | None:
    """How an overlapping gold/predicted pair differs; None when identical."""
    same_bounds = (g["start"], g["end"]) == (p["start"], p["end"])
    same_label = str(g.get("label")) == str(p.get("label"))
    if same_bounds:
        return None if same_label else "wrong label"
    return "wrong boundary" if same_label else "wrong label+boundary"


def classify_errors(gold_entities: list[dict], pred_entities: list[dict]) -> list[dict]:
    """Every disagreement between gold and predicted spans, as
    ``{"kind": ..., "gold": span | None, "pred": span | None}`` in text order.

    Exact matches are removed first. The remaining overlapping pairs are then
    matched one to one, best pair first (same boundaries, then same label, then
    larger overlap), so one near-miss is one error rather than several. A span
    left over after that still overlaps something (one long prediction over two
    gold spans) is compared with its best overlapping partner; only a span that
    overlaps nothing is ``missed`` (gold) or ``spurious`` (predicted).
    """
    gold, pred = _spans(gold_entities), _spans(pred_entities)
    done_g, done_p = set(), set()
    for i, g in enumerate(gold):
        for j, p in enumerate(pred):
            if j not in done_p and _overlap(g, p) and _kind(g, p) is None:
                done_g.add(i)
                done_p.add(j)
                break

    def rank(g, p):
        same_bounds = (g["start"], g["end"]) == (p["start"], p["end"])
        same_label = str(g.get("label")) == str(p.get("label"))
        return (0 if same_bounds else 1 if same_label else 2, -_overlap(g, p))

    pairs = sorted((rank(gold[i], pred[j]), i, j) for i in range(len(gold)) if i not in done_g
                   for j in range(len(pred)) if j not in done_p and _overlap(gold[i], pred[j]))
    errors, paired_g, paired_p = [], set(), set()
    for _, i, j in pairs:
        if i not in paired_g and j not in paired_p:
            paired_g.add(i)
            paired_p.add(j)
            errors.append({"kind": _kind(gold[i], pred[j]), "gold": gold[i], "pred": pred[j]})
    for i, g in enumerate(gold):
        if i in done_g or i in paired_g:
            continue
        partners = [p for p in pred if _overlap(g, p)]
        best = min(partners, key=lambda p: rank(g, p)) if partners else None
        kind = _kind(g, best) if best is not None else None
        errors.append({"kind": kind or "missed", "gold": g, "pred": best if kind else None})
    for j, p in enumerate(pred):
        if j in done_p or j in paired_p:
            continue
        partners = [g for g in gold if _overlap(g, p)]
        best = min(partners, key=lambda g: rank(g, p)) if partners else None
        kind = _kind(best, p) if best is not None else None  # identical duplicate: spurious
        errors.append({"kind": kind or "spurious", "gold": best if kind else None, "pred": p})
    return sorted(errors, key=lambda e: min(s["start"] for s in (e["gold"], e["pred"]) if s))


def _type_labels(types) -> list[str]:
    """Attack types as labels: gold ones are strings, predicted ones dicts."""
    out = []
    for t in types or []:
        label = t.get("label") if isinstance(t, dict) else t
        if label is not None and str(label) not in out:
            out.append(str(label))
    return out


def type_errors(gold_types, pred_types) -> list[dict]:
    """``[{"kind": "missed type" | "spurious type", "label": ...}]``."""
    gold, pred = _type_labels(gold_types), _type_labels(pred_types)
    return ([{"kind": "missed type", "label": t} for t in gold if t not in pred]
            + [{"kind": "spurious type", "label": t} for t in pred if t not in gold])


# ---------------------------------------------------------------- tables and charts
def _num(v, digits: int = 3) -> str:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return "—" if v is None else esc(v)
    return str(v) if isinstance(v, int) else f"{v:.{digits}f}"


def metrics_table(block: dict, thresholds: dict | None = None) -> str:
    """Averages (micro, macro) first, then one row per label."""
    cols = ["precision", "recall", "f1", "support"]
    head = "<tr><th>label</th>" + "".join(f"<th>{c}</th>" for c in cols) + ("<th>threshold</th>" if thresholds else "") + "</tr>"
    rows = []

    def row(name, m, cls=""):
        m = m if isinstance(m, dict) else {}
        th = f"<td>{_num(thresholds.get(name), 2)}</td>" if thresholds else ""
        rows.append(f'<tr class="{cls}"><th>{esc(name)}</th>' + "".join(f"<td>{_num(m.get(c))}</td>" for c in cols) + th + "</tr>")

    for avg in ("micro", "macro"):
        if avg in block:
            row(avg, block[avg], "avg")
    per = block.get("per_label")
    for name, m in (per.items() if isinstance(per, dict) else []):
        row(name, m)
    return f'<table class="metrics" dir="ltr">{head}{"".join(rows)}</table>'


def confusion_table(conf: dict) -> str:
    """Rows gold, columns predicted; a segment with several labels counts in
    every (gold, predicted) cell it belongs to, NONE meaning no attack type."""
    labels, matrix = conf.get("labels") or [], conf.get("matrix") or []
    cells = [[v if isinstance(v, (int, float)) and not isinstance(v, bool) else 0 for v in (r if isinstance(r, list) else [])]
             for r in matrix]
    top = max((v for r in cells for v in r), default=0) or 1
    head = '<tr><th>gold \\ predicted</th>' + "".join(f"<th>{esc(x)}</th>" for x in labels) + "</tr>"
    rows = []
    for i, name in enumerate(labels):
        r = cells[i] if i < len(cells) else []
        tds = []
        for j in range(len(labels)):
            v = r[j] if j < len(r) else 0
            a = 0.08 + 0.8 * v / top if v else 0  # heat: share of the largest cell
            fg = "#fff" if a > 0.55 else "inherit"
            tds.append(f'<td style="background:rgba(200,55,45,{a:.2f});color:{fg}">{_num(v)}</td>')
        rows.append(f'<tr><th class="gold">{esc(name)}</th>{"".join(tds)}</tr>')
    return f'<table class="conf" dir="ltr">{head}{"".join(rows)}</table>'


def f1_chart_svg(per_label: dict, title: str) -> str:
    """Horizontal F1 bars as inline SVG; "" when there is nothing to draw. A
    chart is a nice-to-have: a failure here never costs the report."""
    names = [str(k) for k in per_label]
    f1 = [float(m.get("f1") or 0) if isinstance(m, dict) else 0.0 for m in per_label.values()]
    if not names:
        return ""
    try:
        import matplotlib
        from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend

        # Text as <text> (no glyph defs whose ids clash between two charts),
        # a fixed hash salt so the same metrics give the same bytes.
        with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "rasid"}):
            fig = Figure(figsize=(6.5, 0.9 + 0.35 * len(names)))
            ax = fig.add_subplot()
            y = range(len(names))
            ax.barh(y, f1, color="#4c78a8")
            ax.set_yticks(list(y), [n.replace("$", r"\$") for n in names])  # "$" would start mathtext
            ax.invert_yaxis()
            ax.set_xlim(0, 1.08)
            ax.set_xlabel("F1")
            ax.set_title(title.replace("$", r"\$"))
            for k, v in enumerate(f1):
                ax.text(v + 0.01, k, f"{v:.2f}", va="center", fontsize=8)
            fig.tight_layout()
            buf = io.StringIO()
            fig.savefig(buf, format="svg")
    except Exception as e:  # noqa: BLE001 - see docstring
        return f'<p class="warn">chart not drawn: {esc(e)}</p>'
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]  # drop the XML prolog and DOCTYPE
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)  # RDF with http:// namespaces
    svg = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", svg)  # the HTML parser supplies the namespaces
    return f'<div class="chart">{svg}</div>'


# ---------------------------------------------------------------- examples
def _span_cell(text: str, s: dict | None) -> str:
    if s is None:
        return "—"
    inside = 0 <= s["start"] < s["end"] <= len(text)
    shown = text[s["start"]:s["end"]] if inside else s.get("text", "")
    return (f'<mark class="{label_class(s.get("label"))}" dir="rtl">{esc(shown)}</mark> '
            f'<bdi>{esc(s.get("label"))}</bdi> <span dir="ltr">{s["start"]}–{s["end"]}</span>')


def _kind_badge(kind: str) -> str:
    return f'<span class="kind k-{re.sub(r"[^a-z]+", "-", kind)}">{esc(kind)}</span>'


def example_card(ex: dict, n: int, errors: list[dict], terrors: list[dict]) -> str:
    text = ex.get("text") if isinstance(ex.get("text"), str) else ""
    wrong = {id(s) for e in errors for s in (e["gold"], e["pred"]) if s is not None}
    mark_err = lambda s: "err" if id(s) in wrong else ""  # noqa: E731 - outline the spans in error
    sides = []
    for name, key in (("gold", "gold_entities"), ("predicted", "pred_entities")):
        spans, skipped = drawable_spans(text, ex.get(key))
        sides.append(f"<div><h4>{name}</h4>{warning_line(skipped)}{text_block(text, spans, mark_err)}</div>")
    types = (f'gold types: {type_badges(_type_labels(ex.get("gold_types"))) or "—"} · '
             f'predicted: {type_badges(ex.get("pred_types") or []) or "—"}')
    rows = "".join(f"<tr><td>{_kind_badge(e['kind'])}</td><td>{_span_cell(text, e['gold'])}</td>"
                   f"<td>{_span_cell(text, e['pred'])}</td></tr>" for e in errors)
    rows += "".join(f'<tr><td>{_kind_badge(t["kind"])}</td><td colspan="2"><bdi>{esc(t["label"])}</bdi></td></tr>'
                    for t in terrors)
    table = f'<table dir="ltr"><tr><th>kind</th><th>gold</th><th>predicted</th></tr>{rows}</table>'
    return (f'<article class="card" id="ex-{n}"><header><span class="docid" dir="auto">{esc(ex.get("id", f"#{n}"))}</span>'
            f' {types}</header><div class="sides">{"".join(sides)}</div>{table}</article>')


def render_eval_html(metrics: dict, examples: list[dict], title: str = "rasid evaluation") -> str:
    """The whole evaluation page; any part of ``metrics`` may be missing."""
    metrics = metrics if isinstance(metrics, dict) else {}
    ent, at = metrics.get("entities"), metrics.get("attack_types")
    info = " · ".join(f"{k}: <bdi>{esc(metrics[k])}</bdi>" for k in ("model", "split", "n_segments") if k in metrics)
    body = [f"<h1>{esc(title)}</h1>", f'<p class="summary">{info}</p>' if info else ""]
    if isinstance(ent, dict):
        body += ["<h2>Entities</h2>", metrics_table(ent), f1_chart_svg(ent.get("per_label") or {}, "entity F1 per label")]
    if isinstance(at, dict):
        body += ["<h2>Attack types</h2>", metrics_table(at, at.get("thresholds") or None),
                 f1_chart_svg(at.get("per_label") or {}, "attack-type F1 per label")]
        if isinstance(at.get("confusion"), dict):
            body += ["<h3>Confusion (rows gold, columns predicted; multi-label co-occurrence counts)</h3>",
                     confusion_table(at["confusion"])]
    # A tagging-only model predicts no types (and a classifier no spans): only
    # compare what the metrics say the model does; without metrics, both.
    check_ent = isinstance(ent, dict) or not isinstance(at, dict)
    check_types = isinstance(at, dict) or not isinstance(ent, dict)
    cards, kinds, labels = [], Counter(), set()
    for n, ex in enumerate(examples or [], 1):
        if not isinstance(ex, dict):
            continue
        errors = classify_errors(ex.get("gold_entities"), ex.get("pred_entities")) if check_ent else []
        terrors = type_errors(ex.get("gold_types"), ex.get("pred_types")) if check_types else []
        for key in ("gold_entities", "pred_entities"):
            labels.update(str(s.get("label")) for s in _spans(ex.get(key)))
        if errors or terrors:
            kinds.update(e["kind"] for e in errors + terrors)
            cards.append(example_card(ex, n, errors, terrors))
    summary = " · ".join(f"{_kind_badge(k)} {kinds[k]}" for k in ERROR_KINDS + TYPE_KINDS if kinds[k])
    body += [f"<h2>Errors: {len(cards)} of {len(examples or [])} examples</h2>",
             f'<p class="summary">{summary or "no disagreement"} · spans in error are outlined</p>', *cards]
    return page_html(title, EVAL_CSS + label_css(labels), "\n".join(b for b in body if b), lang="en", direction="ltr")
