"""Canonical JSONL (docs/SCHEMA.md): reading and validation.

Every problem is reported as ``file:line: reason`` and all problems of a file
are collected, so one run of ``rasid-data validate`` lists everything to fix.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from rasid.inference.counts import trailing_qualifier
from rasid.inference.schema import ATTACK_TYPES, COUNT_LABELS, ENTITY_LABELS, QUALIFIERS


class DataError(ValueError):
    """Bad user data. ``str(err)`` is a readable list of file:line: reason."""

    def __init__(self, problems: list[str], limit: int = 50):
        self.problems = problems
        shown = problems[:limit]
        more = f"\n... and {len(problems) - limit} more" if len(problems) > limit else ""
        super().__init__("\n".join(shown) + more)


@dataclass(frozen=True)
class LabelSet:
    entity_labels: tuple[str, ...] = ENTITY_LABELS
    attack_types: tuple[str, ...] = ATTACK_TYPES
    count_labels: tuple[str, ...] = COUNT_LABELS


def validate_record(rec, labels: LabelSet = LabelSet()) -> list[str]:
    """Problems of one parsed record (empty list when valid)."""
    unknown: list[tuple[str, str, str]] = []
    problems = _check_record(rec, labels, unknown)
    return problems + [msg for _, _, msg in unknown]


def _check_record(rec, labels: LabelSet, unknown: list[tuple[str, str, str]]) -> list[str]:
    """Problems of one record, except labels outside the label set: those go
    to ``unknown`` as (kind, label, message) so a file can summarise them."""
    if not isinstance(rec, dict):
        return [f"expected a JSON object, got {type(rec).__name__}"]
    problems = []
    rid = rec.get("id")
    if not isinstance(rid, str) or not rid.strip():
        problems.append("missing or empty string 'id'")
    text = rec.get("text")
    if not isinstance(text, str):
        return problems + ["missing or non-string 'text'"]
    if not text.strip():
        problems.append("empty 'text'")
    ents = rec.get("entities", [])
    if not isinstance(ents, list):
        return problems + ["'entities' must be a list"]
    spans = []
    for i, e in enumerate(ents):
        where = f"entity {i}"
        if not isinstance(e, dict):
            problems.append(f"{where}: expected an object")
            continue
        s, t, lab = e.get("start"), e.get("end"), e.get("label")
        if type(s) is not int or type(t) is not int:
            problems.append(f"{where}: 'start' and 'end' must be integers")
            continue
        if not 0 <= s < t <= len(text):
            problems.append(f"{where}: offsets ({s}, {t}) out of range or empty (text has {len(text)} characters)")
            continue
        surface = text[s:t]
        if surface != surface.strip():
            problems.append(f"{where} ({surface!r}): whitespace at span edge")
        if lab not in labels.entity_labels:
            unknown.append(("entity", str(lab), f"{where} ({surface!r}): unknown label {lab!r} (known: {', '.join(labels.entity_labels)})"))
        if lab in labels.count_labels:
            if "count" not in e:
                problems.append(f"{where} ({surface!r}): {lab} needs 'count' (an integer, or null when vague)")
            elif e["count"] is not None and (type(e["count"]) is not int or e["count"] < 0):
                problems.append(f"{where} ({surface!r}): 'count' must be a non-negative integer or null")
            q = e.get("qualifier")
            if q is not None and q not in QUALIFIERS:
                problems.append(f"{where} ({surface!r}): unknown qualifier {q!r} (known: {', '.join(QUALIFIERS)})")
            elif e.get("count") is not None and q in (None, "exact") and (after := trailing_qualifier(text[t:])):
                problems.append(f"{where} ({surface!r}): followed by {text[t:t + 12].strip()!r}, "
                                f"so its qualifier is {after!r}, not {q!r} (R15)")
        spans.append((s, t, i))
    spans.sort()
    for (s1, t1, i1), (s2, t2, i2) in zip(spans, spans[1:]):
        if s2 < t1:
            problems.append(f"entities {i1} and {i2} overlap ({s1}-{t1} and {s2}-{t2})")
    types = rec.get("attack_types", [])
    if not isinstance(types, list):
        problems.append("'attack_types' must be a list")
    else:
        for a in types:
            if a not in labels.attack_types:
                unknown.append(("attack", str(a), f"unknown attack type {a!r} (known: {', '.join(labels.attack_types)})"))
        if len(set(map(str, types))) != len(types):
            problems.append("duplicate attack types")
    return problems


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, object | None, str | None]]:
    """Yield (line number, parsed object or None, JSON error or None); blank lines skipped."""
    with open(path, encoding="utf-8", errors="strict", newline="") as f:
        lineno = 0
        while True:
            try:
                line = f.readline()
            except UnicodeDecodeError as exc:
                yield lineno + 1, None, f"not UTF-8 ({exc.reason} at byte {exc.start})"
                return
            if not line:
                return
            lineno += 1
            if not line.strip():
                continue
            try:
                yield lineno, json.loads(line), None
            except (json.JSONDecodeError, RecursionError) as exc:
                yield lineno, None, f"invalid JSON: {exc}"


def validate_file(path: str | Path, labels: LabelSet = LabelSet()) -> tuple[list[dict], list[str]]:
    """All records and all problems (``file:line: reason``) of a JSONL file.

    Labels outside the label set are summarised once per file when they
    repeat (a corpus with its own labels would otherwise give a line per
    entity), and the first such message says how to declare the file's labels."""
    path = Path(path)
    if not path.is_file():
        return [], [f"{path}: no such file"]
    records, problems, seen = [], [], {}
    unknown: list[tuple[int, str, str, str]] = []  # (line, kind, label, message)
    found: dict[str, set] = {"entity": set(), "attack": set()}  # every label of the file, for the hint
    for lineno, rec, err in iter_jsonl(path):
        if err:
            problems.append((lineno, f"{path}:{lineno}: {err}"))
            continue
        bad_labels: list[tuple[str, str, str]] = []
        errs = _check_record(rec, labels, bad_labels)
        problems.extend((lineno, f"{path}:{lineno}: {e}") for e in errs)
        unknown.extend((lineno, *u) for u in bad_labels)
        if isinstance(rec, dict):
            found["entity"].update(str(e["label"]) for e in rec.get("entities") or [] if isinstance(e, dict) and "label" in e)
            if isinstance(rec.get("attack_types"), list):
                found["attack"].update(map(str, rec["attack_types"]))
            rid = rec.get("id")
            if isinstance(rid, str):
                if rid in seen:
                    problems.append((lineno, f"{path}:{lineno}: duplicate id {rid!r} (first on line {seen[rid]})"))
                else:
                    seen[rid] = lineno
            if not errs and not bad_labels:
                records.append(rec)
    for kind in ("entity", "attack"):
        problems.extend(_unknown_label_problems(path, [u for u in unknown if u[1] == kind], kind, labels,
                                                sorted(found[kind])))
    problems.sort(key=lambda p: p[0])
    return records, [p for _, p in problems]


SUMMARISE_AFTER = 3  # more unknown labels than this in one file: one summary line instead of one per entity


def _unknown_label_problems(path: Path, unknown: list, kind: str, labels: LabelSet, found: list[str]) -> list:
    if not unknown:
        return []
    if kind == "entity":
        known, flag, key, what = labels.entity_labels, "--entity-labels", "data.entity_labels", "entities"
    else:
        known, flag, key, what = labels.attack_types, "--attack-types", "data.attack_types", "attack types"
    auto = f" (or {key}=auto)" if kind == "entity" else ""
    hint = (f"if these are the file's own labels, declare them: rasid-data {flag} {','.join(found)} (or {flag} auto), "
            f"rasid-train {key}=[{','.join(found)}]{auto}")
    if len(unknown) <= SUMMARISE_AFTER:
        out = [(line, f"{path}:{line}: {msg}") for line, _, _, msg in unknown]
        out[0] = (out[0][0], f"{out[0][1]}; {hint}")
        return out
    per_label = Counter(lab for _, _, lab, _ in unknown)
    lines = sorted({line for line, _, _, _ in unknown})
    shown = ", ".join(map(str, lines[:5])) + (", ..." if len(lines) > 5 else "")
    counts = ", ".join(f"{lab!r} ×{n}" for lab, n in sorted(per_label.items(), key=lambda x: (-x[1], x[0])))
    return [(lines[0], f"{path}:{lines[0]}: {len(unknown)} {what} on {len(lines)} lines have labels outside the label set: "
                       f"{counts} (known: {', '.join(known)}); lines {shown}; {hint}")]


def infer_entity_labels(paths: Iterable[str | Path]) -> list[str]:
    """The entity labels used in JSONL files, sorted: the label set of ``auto``.
    Lines that do not parse are left to validation to report."""
    return sorted(_labels_in(paths)[0])


def infer_attack_types(paths: Iterable[str | Path]) -> list[str]:
    """The attack types used in JSONL files, sorted."""
    return sorted(_labels_in(paths)[1])


def _labels_in(paths: Iterable[str | Path]) -> tuple[set[str], set[str]]:
    ents, types = set(), set()
    for p in paths:
        if not Path(p).is_file():
            raise FileNotFoundError(f"{p}: no such file")
        for _, rec, err in iter_jsonl(p):
            if err or not isinstance(rec, dict):
                continue
            for e in rec.get("entities") or []:
                if isinstance(e, dict) and isinstance(e.get("label"), str):
                    ents.add(e["label"])
            if isinstance(rec.get("attack_types"), list):
                types.update(a for a in rec["attack_types"] if isinstance(a, str))
    return ents, types


def load_corpus(paths: Iterable[str | Path], labels: LabelSet = LabelSet()) -> list[dict]:
    """Load and validate; raise DataError listing every problem."""
    out, problems = [], []
    for p in paths:
        recs, probs = validate_file(p, labels)
        out.extend(recs)
        problems.extend(probs)
    if problems:
        raise DataError(problems)
    return out


def write_jsonl(records: Iterable[dict], path: str | Path) -> int:
    """Atomic write: a crash leaves the old file, never half a new one."""
    import os
    import tempfile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for r in records:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
                n += 1
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return n
