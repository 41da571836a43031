"""rasid-eval --compare OLD_MODEL NEW_MODEL --data FILE: accept or reject a retrain with evidence.

Both models are evaluated on the same gold file exactly as ``rasid-eval`` does
(each with its own tuned thresholds). The result holds per-label P/R/F1 of
both and the deltas (entity labels, attack types, micro and macro averages,
partial F1 and count accuracy), and every segment whose prediction changed,
each marked ``better`` (fewer disagreements with gold), ``worse`` (more) or
``different`` (as many, not the same ones). ``format_comparison`` prints it;
``render_compare_html`` draws it with the evaluation report's pieces.
"""

from __future__ import annotations

from collections import Counter

from .evaluate import evaluate
from .report import EVAL_CSS, _type_labels, classify_errors, type_errors

METRICS = ("precision", "recall", "f1")


def _block_deltas(old: dict, new: dict) -> dict:
    """{row: {"old": {...}, "new": {...}, "delta": {...}, "support": n}} over averages and labels."""
    rows = {}
    names = ["micro", "macro"] + list(dict.fromkeys(list(old.get("per_label", {})) + list(new.get("per_label", {}))))
    for name in names:
        o = old.get(name) if name in ("micro", "macro") else old.get("per_label", {}).get(name)
        n = new.get(name) if name in ("micro", "macro") else new.get("per_label", {}).get(name)
        o, n = o or {}, n or {}
        rows[name] = {"old": {k: o.get(k) for k in METRICS}, "new": {k: n.get(k) for k in METRICS},
                      "delta": {k: round(n[k] - o[k], 4) if k in n and k in o else None for k in METRICS},
                      "support": n.get("support", o.get("support"))}
    return rows


def _entity_key(ents) -> list[tuple]:
    return sorted((e["start"], e["end"], e["label"], e.get("count")) for e in ents or [])


def _errors(ex: dict, ent_key: str, type_key: str) -> int:
    return len(classify_errors(ex["gold_entities"], ex[ent_key])) + len(type_errors(ex["gold_types"], ex[type_key]))


def changed_segments(old_examples: list[dict], new_examples: list[dict]) -> list[dict]:
    """The segments whose predicted spans, counts or attack types differ between the models."""
    out = []
    for o, n in zip(old_examples, new_examples):
        if _entity_key(o["pred_entities"]) == _entity_key(n["pred_entities"]) and \
                _type_labels(o["pred_types"]) == _type_labels(n["pred_types"]):
            continue
        e_old = _errors(o, "pred_entities", "pred_types")
        e_new = _errors(n, "pred_entities", "pred_types")
        verdict = "better" if e_new < e_old else "worse" if e_new > e_old else "different"
        out.append({"id": o["id"], "text": o["text"], "verdict": verdict, "errors_old": e_old, "errors_new": e_new,
                    "gold_entities": o["gold_entities"], "old_entities": o["pred_entities"],
                    "new_entities": n["pred_entities"], "gold_types": o["gold_types"],
                    "old_types": o["pred_types"], "new_types": n["pred_types"]})
    return out


def compare(old, new, records: list[dict], batch_size: int = 32) -> dict:
    """Evaluate predictors ``old`` and ``new`` on ``records`` and set them side by side."""
    m_old, ex_old = evaluate(old, records, batch_size)
    m_new, ex_new = evaluate(new, records, batch_size)
    result: dict = {"n_segments": len(records), "old": m_old, "new": m_new, "deltas": {}}
    for key in ("entities", "attack_types"):
        if key in m_old and key in m_new:
            result["deltas"][key] = _block_deltas(m_old[key], m_new[key])
    if "partial" in m_old.get("entities", {}) and "partial" in m_new.get("entities", {}):
        result["deltas"]["partial"] = _block_deltas({"micro": m_old["entities"]["partial"]},
                                                    {"micro": m_new["entities"]["partial"]})
        co, cn = m_old["counts"]["accuracy"], m_new["counts"]["accuracy"]
        result["deltas"]["count_accuracy"] = {"old": co, "new": cn, "delta": round(cn - co, 4)}
    result["changed"] = changed_segments(ex_old, ex_new)
    result["verdicts"] = dict(Counter(c["verdict"] for c in result["changed"]))
    return result


def _sign(v) -> str:
    return "    —" if v is None else f"{v:+.3f}"


def format_comparison(res: dict) -> str:
    """The printed table: old and new F1 per label, their difference, P/R deltas."""
    lines = [f"segments: {res['n_segments']}"]
    for key, title in (("entities", "entities (seqeval strict IOB2)"), ("attack_types", "attack types"),
                       ("partial", "entities (partial match)")):
        rows = res["deltas"].get(key)
        if not rows:
            continue
        lines.append(f"\n{title}\n{'label':<18}{'F1 old':>8}{'F1 new':>8}{'ΔF1':>8}{'ΔP':>8}{'ΔR':>8}{'support':>9}")
        for name, r in rows.items():
            f_old, f_new = r["old"]["f1"], r["new"]["f1"]
            lines.append(f"{name:<18}{'—' if f_old is None else f'{f_old:.3f}':>8}{'—' if f_new is None else f'{f_new:.3f}':>8}"
                         f"{_sign(r['delta']['f1']):>8}{_sign(r['delta']['precision']):>8}{_sign(r['delta']['recall']):>8}"
                         f"{r['support'] if r['support'] is not None else '—':>9}")
    if "count_accuracy" in res["deltas"]:
        c = res["deltas"]["count_accuracy"]
        lines.append(f"\ncount accuracy: {c['old']:.3f} -> {c['new']:.3f} ({_sign(c['delta']).strip()})")
    v = res["verdicts"]
    lines.append(f"\n{len(res['changed'])} segment(s) changed: {v.get('better', 0)} better, {v.get('worse', 0)} worse, "
                 f"{v.get('different', 0)} different (fewer / more / as many disagreements with gold)")
    return "\n".join(lines)


# ---------------------------------------------------------------- HTML
COMPARE_CSS = EVAL_CSS + """
td.up{color:#1e7d32;font-weight:bold} td.down{color:#b3261e;font-weight:bold}
.three{display:grid;grid-template-columns:1fr 1fr 1fr;gap:1em}
.three h4{margin:.2em 0;color:#505a66}
.v-better{background:#1e7d32}.v-worse{background:#b3261e}.v-different{background:#7d6608}
"""


def _delta_table(rows: dict) -> str:
    from rasid.inference.report import esc

    def cell(v, delta=False):
        if v is None:
            return "<td>—</td>"
        cls = ' class="up"' if delta and v > 0 else ' class="down"' if delta and v < 0 else ""
        return f"<td{cls}>{v:+.3f}</td>" if delta else f"<td>{v:.3f}</td>"

    head = ("<tr><th>label</th>" + "".join(f"<th>{m} old</th><th>{m} new</th><th>Δ{m}</th>" for m in METRICS)
            + "<th>support</th></tr>")
    body = "".join(
        f'<tr{" class=avg" if name in ("micro", "macro") else ""}><th>{esc(name)}</th>'
        + "".join(cell(r["old"][m]) + cell(r["new"][m]) + cell(r["delta"][m], True) for m in METRICS)
        + f"<td>{esc(r['support']) if r['support'] is not None else '—'}</td></tr>" for name, r in rows.items())
    return f'<table class="metrics" dir="ltr">{head}{body}</table>'


def _segment_card(c: dict, n: int) -> str:
    from rasid.inference.report import drawable_spans, esc, text_block, type_badges, warning_line

    sides = []
    for name, ents, types in (("gold", c["gold_entities"], c["gold_types"]), ("old model", c["old_entities"], c["old_types"]),
                              ("new model", c["new_entities"], c["new_types"])):
        spans, skipped = drawable_spans(c["text"], ents)
        sides.append(f"<div><h4>{name}</h4>{warning_line(skipped)}{text_block(c['text'], spans)}"
                     f"<p>{type_badges(types) or '—'}</p></div>")
    badge = f'<span class="kind v-{c["verdict"]}">{esc(c["verdict"])}</span>'
    return (f'<article class="card" id="chg-{n}"><header><span class="docid" dir="auto">{esc(c["id"])}</span> {badge} '
            f'disagreements with gold: {c["errors_old"]} → {c["errors_new"]}</header>'
            f'<div class="three">{"".join(sides)}</div></article>')


def render_compare_html(res: dict, old_name: str, new_name: str, data_name: str) -> str:
    from rasid.inference.report import esc, label_css, page_html

    title = "rasid model comparison"
    body = [f"<h1>{title}</h1>", f'<p class="summary">old: <bdi>{esc(old_name)}</bdi> · new: <bdi>{esc(new_name)}</bdi>'
                                 f" · data: <bdi>{esc(data_name)}</bdi> · {res['n_segments']} segments</p>"]
    for key, name in (("entities", "Entities (strict)"), ("partial", "Entities (partial match)"), ("attack_types", "Attack types")):
        if res["deltas"].get(key):
            body += [f"<h2>{name}</h2>", _delta_table(res["deltas"][key])]
    if "count_accuracy" in res["deltas"]:
        c = res["deltas"]["count_accuracy"]
        body.append(f"<p>count accuracy: {c['old']:.3f} → {c['new']:.3f} ({c['delta']:+.3f})</p>")
    v = res["verdicts"]
    summary = " · ".join(f'<span class="kind v-{k}">{k}</span> {v.get(k, 0)}' for k in ("better", "worse", "different"))
    body += [f"<h2>Changed predictions: {len(res['changed'])} of {res['n_segments']} segments</h2>",
             f'<p class="summary">{summary} (fewer / more / as many disagreements with gold)</p>']
    order = {"worse": 0, "different": 1, "better": 2}  # regressions first: they decide a rejection
    changed = sorted(res["changed"], key=lambda c: order[c["verdict"]])
    body += [_segment_card(c, i) for i, c in enumerate(changed, 1)]
    labels = {str(e.get("label")) for c in res["changed"] for k in ("gold_entities", "old_entities", "new_entities")
              for e in c[k] or []}
    return page_html(title, COMPARE_CSS + label_css(labels), "\n".join(body), lang="en", direction="ltr")


def run_compare(old_dir: str, new_dir: str, data: str, batch_size: int, backend: str, html_path: str | None,
                json_path: str | None) -> dict:
    """Load both models and the gold file, compare, write the reports; returns the result."""
    import json
    from pathlib import Path

    from rasid.data.schema import LabelSet, load_corpus
    from rasid.inference.predictor import Predictor

    old = Predictor.from_pretrained(old_dir, backend=backend)
    new = Predictor.from_pretrained(new_dir, backend=backend)
    if not Path(data).is_file():
        raise FileNotFoundError(f"{data}: no such file")
    ents = tuple(dict.fromkeys(list(old.config.entity_labels) + list(new.config.entity_labels)))
    types = tuple(dict.fromkeys(list(old.config.attack_types) + list(new.config.attack_types)))
    records = load_corpus([data], LabelSet(ents or LabelSet().entity_labels, types or LabelSet().attack_types))
    res = compare(old, new, records, batch_size)
    res["old_model"], res["new_model"], res["data"] = str(old_dir), str(new_dir), str(data)
    if json_path:
        Path(json_path).write_text(json.dumps(res, ensure_ascii=False, indent=1), encoding="utf-8")
    if html_path:
        Path(html_path).write_text(render_compare_html(res, str(old_dir), str(new_dir), Path(data).name), encoding="utf-8")
    return res

