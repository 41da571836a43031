"""Self-contained HTML report of ``rasid-predict`` output.

    rasid-report predictions.jsonl --output report.html [--text-field text] [--title ...]

Standard library only: the lean ``rasid-inference`` distribution ships this
module, so it must not pull in matplotlib or a template engine. The page makes
no network request at all (inline CSS, local fonts, a few lines of inline JS
that are optional) so it can be opened offline or mailed as one file. Every
piece of data goes through ``html.escape``: predictions are untrusted text.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import os
import re
import sys
import tempfile
from pathlib import Path

# Fixed colours for the schema's labels (docs/SCHEMA.md). Labels are data: on
# a page, the other labels (sorted) take the free ones of eight light colours
# chosen to be told apart (CIE76 ΔE >= 27 between any two), the first three
# being the schema's; more than eight spread their hues evenly. The same label
# set always gets the same colours.
PALETTE = {"ACTOR": "#a8d1ff", "KILLED": "#ffa8a8", "WOUNDED": "#ffd98a"}
SLOTS = ("hsl(212,100%,83%)", "hsl(0,100%,83%)", "hsl(41,100%,77%)", "hsl(125,50%,72%)",
         "hsl(280,75%,83%)", "hsl(175,60%,65%)", "hsl(0,0%,78%)", "hsl(62,80%,68%)")
SCHEMA_SLOT = {"ACTOR": 0, "KILLED": 1, "WOUNDED": 2}
COUNT_LABELS = ("KILLED", "WOUNDED")
QUALIFIER_SIGN = {"exact": "", "more_than": ">", "about": "~", "at_least": "≥"}
COLLAPSE_AT = 1500  # characters shown before the rest of a long text folds away
# Keys drawn by the card itself; anything else is a passthrough field.
KNOWN_FIELDS = {"id", "entities", "attack_types", "events", "error"}

CSS = """
body{font-family:"Noto Naskh Arabic","Noto Sans Arabic","DejaVu Sans",Tahoma,Arial,sans-serif;
 margin:0 auto;max-width:1100px;padding:1em;background:#f6f7f9;color:#1d232b;line-height:1.6}
h1{font-size:1.5em;margin:.2em 0}
.summary,.legend{color:#505a66;font-size:.95em}
.legend mark{margin:0 .2em}
.card{background:#fff;border:1px solid #d8dde3;border-radius:8px;padding:.8em 1em;margin:.8em 0}
.card.error{border-color:#e06c6c;background:#fff5f5}
.card header{display:flex;flex-wrap:wrap;gap:.4em;align-items:center;margin-bottom:.4em}
.docid{font-weight:bold;font-family:"DejaVu Sans Mono",monospace;background:#eef1f4;padding:0 .4em;border-radius:4px}
.text{white-space:pre-wrap;font-size:1.1em;line-height:2}
mark{border-radius:3px;padding:.05em .15em;color:inherit}
.cnt{display:inline-block;font-size:.7em;line-height:1.3;background:#333;color:#fff;border-radius:8px;
 padding:0 .45em;margin:0 .15em;vertical-align:super}
.badge{display:inline-block;font-size:.8em;background:#e8ecf7;border:1px solid #b9c3dc;border-radius:10px;padding:0 .5em}
.badge .sc{color:#5b6475;margin-inline-start:.3em}
.warn{color:#8a5a00;background:#fff8e1;border-radius:4px;padding:.1em .5em;font-size:.9em}
.errmsg{color:#a11;font-family:"DejaVu Sans Mono",monospace;white-space:pre-wrap}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}
th,td{border:1px solid #d8dde3;padding:.2em .5em;vertical-align:top}
th{background:#eef1f4}
.codes{color:#5b6475;font-size:.85em}
details>summary{cursor:pointer;color:#2a5db0}
details.page>summary{font-weight:bold;font-size:1.1em;margin-top:.6em}
nav.pager a{margin:0 .25em}
dl.extra dt{font-weight:bold} dl.extra dd{margin:0 1em .3em;font-family:"DejaVu Sans Mono",monospace;white-space:pre-wrap}
"""

# Optional: opens the page a #page-N / #doc-N link points into. Everything
# stays usable without it because pages are plain <details> elements.
JS = """
function rasidShow(){var el=document.getElementById(location.hash.slice(1));if(!el)return;
var page=el.closest('details.page');if(!page)return;
document.querySelectorAll('details.page').forEach(function(d){d.open=(d===page);});el.scrollIntoView();}
window.addEventListener('hashchange',rasidShow);rasidShow();
"""


def esc(value) -> str:
    """Escaped text for element content and quoted attributes alike."""
    return html.escape("" if value is None else str(value), quote=True)


def _digest(label: str) -> str:
    return hashlib.sha1(label.encode("utf-8")).hexdigest()


def label_class(label) -> str:
    """A CSS class for any label: readable for known ones, hashed for the rest
    (a label may hold any character, a class name may not)."""
    label = str(label)
    if label in PALETTE:
        return "lab-" + label
    slug = re.sub(r"[^A-Za-z0-9_-]", "", label)[:24]
    return f"lab-{slug}-{_digest(label)[:8]}"


def label_colour(label) -> str:
    """A colour for one label on its own; a page uses ``label_colours`` so that
    its labels are told apart."""
    label = str(label)
    if label in PALETTE:
        return PALETTE[label]
    return f"hsl({int(_digest(label)[:8], 16) % 360},70%,82%)"


def label_colours(labels) -> dict[str, str]:
    """Distinct colours for a page's labels: the schema's keep theirs, the
    others (sorted) take the free slots; the same label set, the same colours."""
    labels = sorted({str(x) for x in labels})
    fixed = {x: PALETTE[x] for x in labels if x in PALETTE}
    free = [c for i, c in enumerate(SLOTS) if i not in {SCHEMA_SLOT[x] for x in fixed}]
    others = [x for x in labels if x not in PALETTE]
    if len(others) <= len(free):
        return fixed | dict(zip(others, free))
    return fixed | {x: f"hsl({round(360 * i / len(others)) % 360},70%,82%)" for i, x in enumerate(others)}


def label_css(labels) -> str:
    """One rule per label; colours are generated by us, never taken from data."""
    return "\n".join(f"mark.{label_class(x)}{{background:{c}}}" for x, c in sorted(label_colours(labels).items()))


def fmt_score(score) -> str:
    if isinstance(score, bool) or not isinstance(score, (int, float)):
        return ""
    return f"{score:.2f}"


def count_text(ent: dict) -> str:
    """`7`, `>20`, `~50`, `≥5`, or `?` for a vague quantity (count null)."""
    count = ent.get("count")
    if isinstance(count, bool) or not isinstance(count, (int, float)):
        return "?"
    q = ent.get("qualifier")
    return (QUALIFIER_SIGN.get(q, "") if isinstance(q, str) else "") + f"{count:g}"


def drawable_spans(text: str, entities) -> tuple[list[dict], dict[str, int]]:
    """The entities that can be drawn on ``text`` (sorted by offset) and counts
    of the ones that cannot: offsets out of range or not integers, or overlapping
    an earlier span. Bad model output must cost a warning, never the report."""
    skipped = {"out of range": 0, "overlapping": 0}
    if not isinstance(entities, list):
        entities = [] if entities is None else [entities]
    ok = []
    for e in entities:
        s, t = (e.get("start"), e.get("end")) if isinstance(e, dict) else (None, None)
        if type(s) is int and type(t) is int and 0 <= s < t <= len(text):
            ok.append(e)
        else:
            skipped["out of range"] += 1
    kept, last_end = [], 0
    for e in sorted(ok, key=lambda e: (e["start"], e["end"])):
        if e["start"] < last_end:
            skipped["overlapping"] += 1
            continue
        kept.append(e)
        last_end = e["end"]
    return kept, skipped


def warning_line(skipped: dict[str, int], what: str = "entities") -> str:
    parts = [f"{n} {why}" for why, n in skipped.items() if n]
    if not parts:
        return ""
    return f'<p class="warn">⚠ {sum(skipped.values())} {what} not shown: {esc(", ".join(parts))}</p>'


def mark_html(text: str, ent: dict, extra_class: str = "") -> str:
    """One span, cut out of ``text`` by its offsets (not its ``text`` field), with
    the count badge beside KILLED/WOUNDED spans (outside the <mark>)."""
    label = str(ent.get("label"))
    tip = label + (f" {fmt_score(ent.get('score'))}" if fmt_score(ent.get("score")) else "")
    cls = f"{label_class(label)} {extra_class}".strip()
    out = f'<mark class="{cls}" title="{esc(tip)}">{esc(text[ent["start"]:ent["end"]])}</mark>'
    if label in COUNT_LABELS or "count" in ent:
        out += f'<span class="cnt" title="count" dir="ltr">{esc(count_text(ent))}</span>'
    return out


def highlight(text: str, spans: list[dict], lo: int = 0, hi: int | None = None, extra=None) -> str:
    """Escaped ``text[lo:hi]`` with the (sorted, non-overlapping) spans inside it
    marked; ``extra(span)`` may add a CSS class (used by the evaluation report)."""
    hi = len(text) if hi is None else hi
    out, pos = [], lo
    for e in spans:
        if e["start"] < lo or e["end"] > hi:
            continue
        out.append(esc(text[pos:e["start"]]))
        out.append(mark_html(text, e, extra(e) if extra else ""))
        pos = e["end"]
    out.append(esc(text[pos:hi]))
    return "".join(out)


def cut_point(text: str, spans: list[dict], limit: int = COLLAPSE_AT) -> int:
    """Where a long text folds: near ``limit``, at a space, never inside a span."""
    if len(text) <= limit + 200:  # folding away a short tail helps nobody
        return len(text)
    space = max(text.rfind(" ", limit - 200, limit), text.rfind("\n", limit - 200, limit))
    cut = space if space > 0 else limit
    for e in spans:
        if e["start"] < cut < e["end"]:
            cut = e["end"]
    return cut


def text_block(text: str, spans: list[dict], extra=None) -> str:
    cut = cut_point(text, spans)
    body = highlight(text, spans, 0, cut, extra)
    if cut < len(text):
        body += (f"<details><summary>show {len(text) - cut} more characters</summary>"
                 f"{highlight(text, spans, cut, len(text), extra)}</details>")
    return f'<div class="text" dir="rtl">{body}</div>'


def type_badges(types) -> str:
    """Attack-type badges; accepts ``{"label", "score"}`` dicts or bare labels."""
    out = []
    for t in types if isinstance(types, list) else []:
        label, score = (t.get("label"), fmt_score(t.get("score"))) if isinstance(t, dict) else (t, "")
        sc = f'<span class="sc">{score}</span>' if score else ""
        out.append(f'<span class="badge"><bdi>{esc(label)}</bdi>{sc}</span>')
    return " ".join(out)


def _cell(value) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, list):
        return "<br>".join(f"<bdi>{esc(v)}</bdi>" for v in value)
    return f"<bdi>{esc(value)}</bdi>"


def events_table(events) -> str:
    rows = []
    for i, ev in enumerate(events if isinstance(events, list) else [], 1):
        if not isinstance(ev, dict):
            continue
        types = []
        for t in ev.get("attack_types") or []:
            if not isinstance(t, dict):
                types.append(type_badges([t]))
                continue
            codes = " · ".join(f"{name}: {esc(t[k])}" for name, k in (("ACLED", "acled_sub_event"), ("GTD", "gtd_attack_type"))
                               if t.get(k))
            types.append(type_badges([t]) + (f'<div class="codes" dir="ltr">{codes}</div>' if codes else ""))
        span = f'{esc(ev.get("start"))}–{esc(ev.get("end"))}' if "start" in ev else "—"
        rows.append(f'<tr><td>{i}</td><td dir="ltr">{span}</td><td>{"".join(types) or "—"}</td>'
                    f'<td>{_cell(ev.get("actors"))}</td><td>{_cell(ev.get("killed"))}</td><td>{_cell(ev.get("wounded"))}</td></tr>')
    if not rows:
        return ""
    head = "<tr><th>#</th><th>span</th><th>attack types (ACLED / GTD)</th><th>actors</th><th>killed</th><th>wounded</th></tr>"
    return f'<table class="events">{head}{"".join(rows)}</table>'


def extra_fields(rec: dict, text_field: str) -> str:
    """Passthrough fields (source, date, url...) as escaped text, folded."""
    items = [(k, v) for k, v in rec.items() if k not in KNOWN_FIELDS and k != text_field]
    if not items:
        return ""
    dl = "".join(f"<dt><bdi>{esc(k)}</bdi></dt><dd dir=\"auto\">{esc(json.dumps(v, ensure_ascii=False)[:500])}</dd>"
                 for k, v in items)
    return f'<details><summary>other fields ({len(items)})</summary><dl class="extra">{dl}</dl></details>'


def render_card(rec, n: int, text_field: str) -> str:
    """One document. ``n`` (its position) makes the anchor: record ids may
    repeat or hold anything."""
    if not isinstance(rec, dict):
        return (f'<article class="card error" id="doc-{n}"><header>#{n}</header>'
                f'<p class="errmsg">not a JSON object: {esc(json.dumps(rec, ensure_ascii=False)[:300])}</p></article>')
    head = f'<header><span class="docid" dir="auto">{esc(rec.get("id", f"#{n}"))}</span>'
    if "error" in rec:
        return (f'<article class="card error" id="doc-{n}">{head}</header>'
                f'<p class="errmsg" dir="auto">error: {esc(rec["error"])}</p></article>')
    head += f' {type_badges(rec.get("attack_types"))}</header>'
    text = rec.get(text_field)
    if isinstance(text, str):
        spans, skipped = drawable_spans(text, rec.get("entities"))
        body = warning_line(skipped) + text_block(text, spans)
    else:
        # Without the text there is nothing to highlight: list the spans instead.
        ents = rec.get("entities") if isinstance(rec.get("entities"), list) else []
        chips = " ".join(f'<mark class="{label_class(e.get("label"))}">{esc(e.get("text"))}</mark>'
                         for e in ents if isinstance(e, dict))
        body = f'<p class="warn">⚠ no "{esc(text_field)}" field: spans listed without their text</p><p dir="rtl">{chips}</p>'
    return f'<article class="card" id="doc-{n}">{head}{body}{events_table(rec.get("events"))}{extra_fields(rec, text_field)}</article>'


def _labels(records, labels=None) -> set[str]:
    """The labels of the page: the model's (when given) and any the records use."""
    found = {str(x) for x in labels or ()}
    for r in records:
        ents = r.get("entities") if isinstance(r, dict) else None
        for e in ents if isinstance(ents, list) else []:
            if isinstance(e, dict):
                found.add(str(e.get("label")))
    return found


def page_html(title: str, css: str, body: str, script: str = "", lang: str = "ar", direction: str = "rtl") -> str:
    """The document shell shared with the evaluation report."""
    js = f"<script>{script}</script>" if script else ""
    return (f'<!DOCTYPE html>\n<html lang="{lang}" dir="{direction}">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>{esc(title)}</title>\n'
            f"<style>{CSS}\n{css}</style>\n</head>\n<body>\n{body}\n{js}\n</body>\n</html>\n")


def render_predictions_html(records: list[dict], text_field: str = "text", title: str = "rasid predictions",
                            per_page: int = 50, labels=None) -> str:
    """A single self-contained HTML page with one card per prediction record.
    ``labels``: the model's entity labels, for the legend (default: the ones
    the records use)."""
    if per_page < 1:
        raise ValueError("per_page must be at least 1")
    labels = _labels(records, labels)
    n_err = sum(1 for r in records if not isinstance(r, dict) or "error" in r)
    n_ent = sum(len(r["entities"]) for r in records if isinstance(r, dict) and isinstance(r.get("entities"), list))
    legend = " ".join(f'<mark class="{label_class(x)}"><bdi>{esc(x)}</bdi></mark>' for x in sorted(labels)) or "<bdi>none</bdi>"
    has_counts = bool(labels & set(COUNT_LABELS)) or any(
        isinstance(e, dict) and "count" in e for r in records if isinstance(r, dict) and isinstance(r.get("entities"), list)
        for e in r["entities"])
    # English UI phrases sit in an RTL page: <bdi> keeps each one's word order.
    stats = " · ".join(f"<bdi>{n} {what}</bdi>" for n, what in ((len(records), "documents"), (n_ent, "entities"), (n_err, "errors")))
    badges = " ".join(f'<bdi><span class="cnt" dir="ltr">{esc(b)}</span> {what}</bdi>' for b, what in
                      (("7", "exact"), (">20", "more than"), ("~50", "about"), ("≥5", "at least"), ("?", "vague")))
    head = (f'<h1><bdi>{esc(title)}</bdi></h1>\n<p class="summary">{stats}</p>\n'
            f'<p class="legend"><bdi>labels:</bdi> {legend}' + (f' · <bdi>counts:</bdi> {badges}' if has_counts else "") + '</p>')
    cards = [render_card(r, i, text_field) for i, r in enumerate(records, 1)]
    if len(cards) <= per_page:
        return page_html(title, label_css(labels), head + "\n" + "\n".join(cards))
    # Pagination without JS: each page is a <details>, the first one open;
    # the nav anchors jump to a page (the inline script also opens it).
    pages = [cards[i:i + per_page] for i in range(0, len(cards), per_page)]
    nav = '<nav class="pager">pages: ' + " ".join(f'<a href="#page-{k}">{k}</a>' for k in range(1, len(pages) + 1)) + "</nav>"
    parts = []
    for k, page in enumerate(pages, 1):
        first = (k - 1) * per_page + 1
        parts.append(f'<details class="page" id="page-{k}"{" open" if k == 1 else ""}>'
                     f"<summary>page {k}: documents {first}–{first + len(page) - 1}</summary>\n" + "\n".join(page) + "\n</details>")
    return page_html(title, label_css(labels), head + "\n" + nav + "\n" + "\n".join(parts), JS)


class InputError(Exception):
    pass


def read_jsonl(path: Path) -> list:
    """Records of a JSONL file; blank lines skipped. Errors name file and line."""
    records = []
    try:
        with open(path, "rb") as fh:
            for lineno, raw in enumerate(fh, 1):
                try:
                    line = raw.decode("utf-8").lstrip("\ufeff") if lineno == 1 else raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise InputError(f"{path}:{lineno}: not valid UTF-8") from None
                if not line.strip():
                    continue
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise InputError(f"{path}:{lineno}: invalid JSON ({e.msg}, column {e.colno})") from None
    except FileNotFoundError:
        raise InputError(f"no such file: {path}") from None
    except OSError as e:  # a directory, no permission...
        raise InputError(f"cannot read {path}: {e.strerror or e}") from None
    return records


def write_atomic(path: Path, content: str) -> None:
    """Temp file in the target's folder, then os.replace: a reader never sees half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="rasid-report", description="Render rasid-predict JSONL output as one HTML page.")
    ap.add_argument("predictions", help="JSONL written by rasid-predict")
    ap.add_argument("--output", "-o", required=True, help="HTML file to write")
    ap.add_argument("--text-field", default="text", help="record field holding the article text (default: text)")
    ap.add_argument("--title", default=None, help="page title (default: from the file name)")
    ap.add_argument("--per-page", type=int, default=50, help="documents per page (default: 50)")
    args = ap.parse_args(argv)
    if args.per_page < 1:
        ap.error("--per-page must be at least 1")
    src = Path(args.predictions)
    try:
        records = read_jsonl(src)
    except InputError as e:
        ap.exit(2, f"rasid-report: error: {e}\n")  # a message, not a traceback
    page = render_predictions_html(records, text_field=args.text_field,
                                   title=args.title or f"rasid predictions: {src.name}", per_page=args.per_page)
    try:
        write_atomic(Path(args.output), page)
    except OSError as e:
        ap.exit(2, f"rasid-report: error: cannot write {args.output}: {e.strerror or e}\n")
    print(f"rasid-report: {len(records)} documents -> {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
