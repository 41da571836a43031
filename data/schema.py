"""Canonical JSONL (docs/SCHEMA.md): reading and validation.

Every problem is reported as ``file:line: reason`` and all problems of a file
are collected, so one run of ``rasid-data validate`` lists everything to fix.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

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
            problems.append(f"{where} ({surface!r}): unknown label {lab!r} (known: {', '.join(labels.entity_labels)})")
        if lab in labels.count_labels:
            if "count" not in e:
                problems.append(f"{where} ({surface!r}): {lab} needs 'count' (an integer, or null when vague)")
            elif e["count"] is not None and (type(e["count"]) is not int or e["count"] < 0):
                problems.append(f"{where} ({surface!r}): 'count' must be a non-negative integer or null")
            q = e.get("qualifier")
            if q is not None and q not in QUALIFIERS:
                problems.append(f"{where} ({surface!r}): unknown qualifier {q!r} (known: {', '.join(QUALIFIERS)})")
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
                problems.append(f"unknown attack type {a!r} (known: {', '.join(labels.attack_types)})")
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
    """All records and all problems (``file:line: reason``) of a JSONL file."""
    path = Path(path)
    if not path.is_file():
        return [], [f"{path}: no such file"]
    records, problems, seen = [], [], {}
    for lineno, rec, err in iter_jsonl(path):
        if err:
            problems.append(f"{path}:{lineno}: {err}")
            continue
        errs = validate_record(rec, labels)
        problems.extend(f"{path}:{lineno}: {e}" for e in errs)
        if isinstance(rec, dict):
            rid = rec.get("id")
            if isinstance(rid, str):
                if rid in seen:
                    problems.append(f"{path}:{lineno}: duplicate id {rid!r} (first on line {seen[rid]})")
                else:
                    seen[rid] = lineno
            if not errs:
                records.append(rec)
    return records, problems


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
