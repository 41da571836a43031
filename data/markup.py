"""Inline bracket markup <-> canonical JSONL.

Writing character offsets by hand is error-prone, so the shipped corpus is
authored as inline markup and compiled to the canonical JSONL of
docs/SCHEMA.md. The same converter serves users who prefer to annotate in a
text editor.

Markup, inside the ``markup`` field of a JSON line::

    [[ACTOR|قوات النظام]]                    an ACTOR span
    [[KILLED 7|سبعة أفراد]]                  KILLED, count 7, qualifier exact
    [[WOUNDED 20 more_than|أكثر من 20 شخصًا]] count 20, qualifier more_than
    [[KILLED ?|العشرات]]                     vague quantity: count null

Other keys of the line (``id``, ``attack_types``, ``theatre``...) pass through.
This module has no third-party imports so it runs as a plain script:
``python data/markup.py FILE.markup.jsonl [OUT.jsonl]``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

QUALIFIERS = ("exact", "more_than", "about", "at_least")
_TAG = re.compile(r"\[\[([A-Z_]+)(?: +(\d+|\?))?(?: +([a-z_]+))?\|(.*?)\]\]", re.S)


class MarkupError(ValueError):
    pass


def parse_markup(markup: str) -> tuple[str, list[dict]]:
    """Return (plain text, entity dicts with offsets into the plain text)."""
    text_parts: list[str] = []
    entities: list[dict] = []
    pos = 0  # position in markup
    out_len = 0  # length of plain text so far
    for m in _TAG.finditer(markup):
        before = markup[pos : m.start()]
        if "[[" in before or "]]" in before:
            raise MarkupError(f"unbalanced brackets near: {before[-40:]!r}")
        text_parts.append(before)
        out_len += len(before)
        label, count, qualifier, surface = m.groups()
        if not surface or surface != surface.strip():
            raise MarkupError(f"span {surface!r} is empty or has whitespace at its edges")
        if "[[" in surface or "|" in surface:
            raise MarkupError(f"nested or malformed span: {m.group(0)!r}")
        ent: dict = {"start": out_len, "end": out_len + len(surface), "label": label}
        if label in ("KILLED", "WOUNDED"):
            if count is None:
                raise MarkupError(f"{label} span {surface!r} needs a count (a number or ?)")
            if count == "?":
                if qualifier:
                    raise MarkupError(f"vague {label} span {surface!r} takes no qualifier")
                ent["count"] = None
            else:
                ent["count"] = int(count)
                ent["qualifier"] = qualifier or "exact"
                if ent["qualifier"] not in QUALIFIERS:
                    raise MarkupError(f"unknown qualifier {qualifier!r} (use one of {QUALIFIERS})")
        elif count is not None or qualifier is not None:
            raise MarkupError(f"{label} span {surface!r} takes no count or qualifier")
        entities.append(ent)
        text_parts.append(surface)
        out_len += len(surface)
        pos = m.end()
    rest = markup[pos:]
    if "[[" in rest or "]]" in rest:
        raise MarkupError(f"unbalanced brackets near: {rest[:40]!r}")
    text_parts.append(rest)
    return "".join(text_parts), entities


def to_markup(text: str, entities: list[dict]) -> str:
    """Inverse of :func:`parse_markup` for non-overlapping spans."""
    out, pos = [], 0
    for e in sorted(entities, key=lambda e: e["start"]):
        out.append(text[pos : e["start"]])
        head = e["label"]
        if e["label"] in ("KILLED", "WOUNDED"):
            c = e.get("count")
            head += " ?" if c is None else f" {c}"
            q = e.get("qualifier")
            if c is not None and q and q != "exact":
                head += f" {q}"
        out.append(f"[[{head}|{text[e['start']:e['end']]}]]")
        pos = e["end"]
    out.append(text[pos:])
    return "".join(out)


def compile_record(rec: dict) -> dict:
    text, entities = parse_markup(rec["markup"])
    out = {"id": rec["id"], "text": text, "entities": entities,
           "attack_types": list(rec.get("attack_types", []))}
    for k, v in rec.items():
        if k not in ("markup", "id", "text", "entities", "attack_types"):
            out[k] = v
    return out


def compile_file(path: str | Path) -> tuple[list[dict], list[str]]:
    """Compile a markup JSONL file; return (records, errors as 'file:line: reason')."""
    records, errors = [], []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                records.append(compile_record(rec))
            except (json.JSONDecodeError, MarkupError, KeyError) as exc:
                errors.append(f"{path}:{lineno}: {type(exc).__name__}: {exc}")
    return records, errors


# A copy of rasid.inference.schema's label set: this module runs as a plain script with no imports
# from the package; tests/test_style.py checks that the two agree.
ENTITY_LABELS = ("ACTOR", "KILLED", "WOUNDED")
ATTACK_TYPES = ("BOMBING", "SUICIDE_BOMBING", "AIRSTRIKE", "SHELLING", "AMBUSH",
                "ARMED_ASSAULT", "ASSASSINATION", "KIDNAPPING")


def _check_labels(records: list[dict], path: str) -> list[str]:
    """Schema labels, duplicate ids; a quick check while authoring."""
    errors, seen = [], set()
    for r in records:
        if r["id"] in seen:
            errors.append(f"{path}: duplicate id {r['id']}")
        seen.add(r["id"])
        for e in r["entities"]:
            if e["label"] not in ENTITY_LABELS:
                errors.append(f"{path}: {r['id']}: unknown entity label {e['label']}")
        for a in r["attack_types"]:
            if a not in ATTACK_TYPES:
                errors.append(f"{path}: {r['id']}: unknown attack type {a}")
    return errors


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    if not Path(argv[0]).is_file():
        print(f"{argv[0]}: no such file", file=sys.stderr)
        return 2
    records, errors = compile_file(argv[0])
    errors += _check_labels(records, argv[0])
    from collections import Counter
    by_type = Counter(a for r in records for a in r["attack_types"])
    by_label = Counter(e["label"] for r in records for e in r["entities"])
    print("attack types:", dict(by_type), "| no attack:",
          sum(1 for r in records if not r["attack_types"]), file=sys.stderr)
    print("entities:", dict(by_label), file=sys.stderr)
    for e in errors:
        print(e, file=sys.stderr)
    if len(argv) > 1 and not errors:
        with open(argv[1], "w", encoding="utf-8") as f:
            for r in records:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"{len(records)} records, {len(errors)} errors", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
