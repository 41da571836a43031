"""Annotation consistency: the same string annotated in one place and not another.

For every surface string annotated somewhere, list the places where the same
string (on word boundaries) is left unannotated or carries another label. A
disagreement is explained when the string is in the allow-list (a TSV of
``string<TAB>reason``) or the segment's ``note`` mentions it.

Casualty phrases depend on context by design (``ثلاثة`` counts victims after
``مقتل`` and rockets elsewhere), so an unannotated KILLED/WOUNDED string is
listed only where a killing or wounding word stands right before it, the
place where the schema says to tag it. ACTOR strings are checked everywhere.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from rasid.inference.words import split_words

_CASUALTY_CUES = ("مقتل", "قتل", "قُتل", "مصرع", "إصابة", "اصابة", "أصيب", "اصيب", "جرح", "جُرح", "استشهاد", "سقوط")


def load_allowlist(path: str | Path) -> dict[str, str]:
    out = {}
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        string, sep, reason = line.partition("\t")
        if not sep or not reason.strip():
            raise ValueError(f"{path}:{lineno}: expected 'string<TAB>reason'")
        out[string.strip()] = reason.strip()
    return out


def find_disagreements(records: list[dict], allow: dict[str, str] | None = None) -> list[dict]:
    allow = allow or {}
    annotated: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))  # string -> label -> ids
    for r in records:
        for e in r.get("entities", []):
            annotated[r["text"][e["start"] : e["end"]]][e["label"]].append(r["id"])
    rows = []
    for string, by_label in sorted(annotated.items()):
        if string in allow:
            continue
        # KILLED vs WOUNDED is context (the same phrase counts either), not a disagreement
        if len(by_label) > 1 and "ACTOR" in by_label:
            rows.append({"string": string, "kind": "several labels",
                         "labels": {lab: ids[:5] for lab, ids in by_label.items()}})
    strings = {s for s in annotated if s not in allow}
    by_first: dict[str, list[str]] = defaultdict(list)
    for s in strings:
        by_first[s.split()[0] if s.split() else s].append(s)
    for r in records:
        text, note = r["text"], r.get("note", "")
        words = split_words(text)
        starts = {s: i for i, (s, _) in enumerate(words)}
        ends = {e for _, e in words}
        spans = {(e["start"], e["end"]) for e in r.get("entities", [])}
        covered = [(e["start"], e["end"]) for e in r.get("entities", [])]
        for ws, we in words:
            for s in by_first.get(text[ws:we], ()):
                end = ws + len(s)
                if text[ws:end] != s or end not in ends or ws not in starts or (ws, end) in spans:
                    continue
                if any(cs <= ws and end <= ce for cs, ce in covered):  # inside a longer span: fine
                    continue
                if s in note:
                    continue
                if "ACTOR" not in annotated[s] and not any(c in text[max(0, ws - 12) : ws] for c in _CASUALTY_CUES):
                    continue
                overlapping = any(cs < end and ws < ce for cs, ce in covered)
                rows.append({"string": s, "kind": "boundary differs" if overlapping else "unannotated",
                             "labels": {lab: ids[:3] for lab, ids in annotated[s].items()},
                             "at": f"{r['id']}:{ws}"})
    return rows
