"""Style channel: outlet surface forms on hand-written segments (training only).

    rasid-train data.style_copies=1          # what training does with the train files (the default)
    python -m rasid.data.style --in data/corpus/train.jsonl --out styled.jsonl --copies 1   # to look at them

The hand-written corpus is written in one clean voice; published news is not.
Each styled copy of a training segment keeps its events and labels and changes
only the surface, the way outlets differ from one another:

- a dateline or agency attribution before the text (``بغداد - (رويترز) -``);
- quote marks or guillemets around the name inside an ACTOR (``جماعة «أنصار الإسلام»``,
  closing mark inside the span, R10) or around a whole one-word mention (``«داعش»``,
  marks outside the span);
- brackets around a casualty number (``(15) جريحًا``, inside the span, R11);
- hamza-less and regional spelling (``أ إ آ`` -> ``ا``, final ``ى`` -> ``ي``, final
  ``ة`` -> ``ه``), Arabic-Indic digits, a Latin comma for ``،``.

Everything is done on inline markup (``rasid.data.markup``), so offsets stay
right by construction and every copy passes ``validate_record``.
"""

from __future__ import annotations

import argparse
import random
import re
import sys

from .markup import parse_markup, to_markup
from .schema import load_corpus, validate_record, write_jsonl

_TAG = re.compile(r"\[\[([A-Z_]+(?: [^|\]]+)?)\|(.*?)\]\]")
CITIES = {
    "syria": ("دمشق", "إدلب", "حلب", "دير الزور", "درعا"), "iraq": ("بغداد", "الموصل", "كركوك", "أربيل", "الأنبار"),
    "yemen": ("صنعاء", "عدن", "مأرب", "تعز"), "libya": ("طرابلس", "بنغازي", "سرت"), "sudan": ("الخرطوم", "الفاشر", "بورتسودان"),
    "somalia": ("مقديشو", "بيدوا", "كيسمايو"), "sahel": ("باماكو", "نيامي", "واغادوغو"), "afghanistan": ("كابول", "قندهار"),
    "pakistan": ("إسلام آباد", "بيشاور", "كويتا"), "lebanon": ("بيروت", "صور", "النبطية"), "palestine": ("غزة", "رام الله", "جنين"),
    "egypt": ("القاهرة", "العريش"), "turkey": ("أنقرة", "ديار بكر"),
}
AGENCIES = ("رويترز", "أ ف ب", "الأناضول", "د ب أ", "شينخوا", "سبوتنيك", "وكالات", "الأناضول", "أ.ف.ب", "بي بي سي")
NAME_HEADS = ("جماعة", "حركة", "تنظيم", "كتائب", "لواء", "ميليشيا", "جبهة", "هيئة", "سرايا", "فصيل", "ميليشيات", "عصائب")
QUOTES = (("«", "»"), ('"', '"'), ("“", "”"))
_HAMZA = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا"})
_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def _dateline(rng: random.Random, theatre: str) -> str:
    city = rng.choice(CITIES.get(theatre, ("",)))
    agency = rng.choice(AGENCIES)
    forms = [f"{city} - ({agency}) - ", f"{city}/ {agency}: ", f"({agency}) - ", f"{city} – ", f"{city} ({agency}) - "]
    return rng.choice([f for f in forms if city or not f.startswith(" ")]).lstrip(" -–/")


def _quote_actor(rng: random.Random, label: str, span: str) -> str:
    """``[[ACTOR|جماعة أنصار الإسلام]]`` -> ``[[ACTOR|جماعة «أنصار الإسلام»]]``; one-word names are quoted outside."""
    o, c = rng.choice(QUOTES)
    words = span.split()
    if len(words) >= 2 and words[0] in NAME_HEADS:
        return f"[[{label}|{words[0]} {o}{' '.join(words[1:])}{c}]]"
    if len(words) == 1 and not span.startswith("ال") and len(span) >= 3:
        return f"{o}[[{label}|{span}]]{c}"
    return f"[[{label}|{span}]]"


def _bracket_count(label: str, span: str) -> str:
    m = re.match(r"(\d+)(\s)", span)
    return f"[[{label}|({m.group(1)}){span[m.end(1):]}]]" if m else f"[[{label}|{span}]]"


def _respell(rng: random.Random, text: str, hamza: bool, final_ya: bool, final_ta: bool) -> str:
    def word(m):
        w = m.group(0)
        if hamza:
            w = w.translate(_HAMZA)
        if final_ya and w.endswith("ى"):
            w = w[:-1] + "ي"
        if final_ta and w.endswith("ة") and rng.random() < 0.5:
            w = w[:-1] + "ه"
        return w

    return re.sub(r"[\u0621-\u064a]+", word, text)


def style_markup(rng: random.Random, markup: str, theatre: str = "") -> str:
    """One styled variant of a segment's markup (each change applied with its own probability)."""
    quote, brackets = rng.random() < 0.5, rng.random() < 0.5

    def span(m):
        label, body = m.group(1), m.group(2)
        if label == "ACTOR" and quote and rng.random() < 0.6:
            return _quote_actor(rng, label, body)
        if label.split()[0] in ("KILLED", "WOUNDED") and brackets:
            return _bracket_count(label, body)
        return m.group(0)

    out = _TAG.sub(span, markup)
    # spelling applies to spans and plain text alike (labels and counts live in the brackets' heads)
    hamza, ya, ta = rng.random() < 0.5, rng.random() < 0.3, rng.random() < 0.15
    if hamza or ya or ta:
        parts = re.split(r"(\[\[[A-Z_]+(?: [^|\]]+)?\|)", out)  # keep the heads untouched
        out = "".join(p if p.startswith("[[") else _respell(rng, p, hamza, ya, ta) for p in parts)
    if rng.random() < 0.15:
        parts = re.split(r"(\[\[[A-Z_]+(?: [^|\]]+)?\|)", out)
        out = "".join(p if p.startswith("[[") else p.translate(_INDIC) for p in parts)
    if rng.random() < 0.15:
        out = out.replace("،", ",")
    if rng.random() < 0.5:
        out = _dateline(rng, theatre) + out
    return out


def styled_copies(records: list[dict], copies: int = 1, seed: int = 0) -> list[dict]:
    """``copies`` styled variants of each record (ids ``ID~s1``...), validated; training only."""
    rng = random.Random(seed)
    out = []
    for rec in records:
        markup = to_markup(rec["text"], rec.get("entities", []))
        for k in range(1, copies + 1):
            text, ents = parse_markup(style_markup(rng, markup, rec.get("theatre", "")))
            new = {"id": f"{rec['id']}~s{k}", "text": text, "entities": ents,
                   "attack_types": list(rec.get("attack_types", [])), "theatre": rec.get("theatre", ""), "source": "styled"}
            problems = validate_record(new)
            if problems:
                raise ValueError(f"styled copy of {rec['id']} is invalid: {problems}")
            out.append(new)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m rasid.data.style", description=__doc__.split("\n")[0])
    ap.add_argument("--in", dest="inp", required=True, help="canonical JSONL (the training split)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--copies", type=int, default=1, help="styled variants per segment")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    recs = styled_copies(load_corpus([a.inp]), a.copies, a.seed)
    write_jsonl(recs, a.out)
    print(f"{len(recs)} styled segments -> {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
