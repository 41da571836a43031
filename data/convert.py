"""Converters between canonical JSONL and other annotation formats.

- CoNLL/BIO, one ``word TAG`` a line, blank line between segments. A
  ``# id = ...`` line names the segment and ``# text = ...`` keeps its exact
  text (CoNLL-U style); without it the words are joined with single spaces.
- Label Studio JSON export (NER ``labels`` regions + ``choices`` for attack
  types) -> JSONL.

Counts of KILLED/WOUNDED spans are read from the span text when the source
format cannot carry them.
"""

from __future__ import annotations

import json
from pathlib import Path

from rasid.inference.counts import parse_count
from rasid.inference.schema import COUNT_LABELS
from rasid.inference.words import spans_to_iob, split_words

from .schema import DataError, iter_jsonl


def _with_count(ent: dict, text: str) -> dict:
    if ent["label"] in COUNT_LABELS and "count" not in ent:
        count, qualifier = parse_count(text[ent["start"] : ent["end"]], text[ent["end"] : ent["end"] + 20])
        ent["count"] = count
        if qualifier:
            ent["qualifier"] = qualifier
    return ent


# -- JSONL -> CoNLL ----------------------------------------------------------
def jsonl_to_conll(records: list[dict]) -> str:
    blocks = []
    for rec in records:
        text = rec["text"]
        words = split_words(text)
        tags = spans_to_iob(words, rec.get("entities", []))
        attack = ",".join(rec.get("attack_types", []))
        lines = [f"# id = {rec['id']}", f"# text = {text}"]
        if attack:
            lines.append(f"# attack_types = {attack}")
        lines += [f"{text[s:e]}\t{t}" for (s, e), t in zip(words, tags)]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


# -- CoNLL -> JSONL ----------------------------------------------------------
def conll_to_jsonl(path: str | Path) -> list[dict]:
    path = Path(path)
    records, problems = [], []
    block: list[tuple[int, str]] = []

    def flush():
        if not block:
            return
        try:
            records.append(_conll_block(block, path, len(records)))
        except ValueError as exc:
            problems.append(str(exc))
        block.clear()

    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if line.strip():
                block.append((lineno, line))
            else:
                flush()
    flush()
    if problems:
        raise DataError(problems)
    return records


def _conll_block(block: list[tuple[int, str]], path: Path, index: int) -> dict:
    meta, tokens = {}, []
    for lineno, line in block:
        if line.startswith("#"):
            key, _, val = line[1:].partition("=")
            meta[key.strip()] = val.strip() if key.strip() != "text" else val[1:] if val.startswith(" ") else val
            continue
        parts = line.split()
        if len(parts) < 2:
            raise ValueError(f"{path}:{lineno}: expected 'word TAG', got {line!r}")
        tag = parts[-1]
        if tag != "O" and not (tag[:2] in ("B-", "I-") and len(tag) > 2):
            raise ValueError(f"{path}:{lineno}: tag {tag!r} is not IOB2 (O, B-LABEL, I-LABEL)")
        tokens.append((lineno, " ".join(parts[:-1]), tag))
    text = meta.get("text") or " ".join(w for _, w, _ in tokens)
    # Locate each token in the text, in order.
    pos, located = 0, []
    for lineno, word, tag in tokens:
        at = text.find(word, pos)
        if at < 0:
            raise ValueError(f"{path}:{lineno}: word {word!r} not found in the '# text' line after offset {pos}")
        located.append((at, at + len(word), tag, lineno))
        pos = at + len(word)
    entities, cur = [], None
    for s, e, tag, lineno in located:
        if tag == "O":
            cur = None
            continue
        bio, label = tag.split("-", 1)
        if bio == "I" and cur is not None and cur["label"] == label:
            cur["end"] = e
        else:  # B-, or an I- that starts an entity (lenient, as seqeval's default)
            cur = {"start": s, "end": e, "label": label}
            entities.append(cur)
    entities = [_with_count(ent, text) for ent in entities]
    types = [t for t in meta.get("attack_types", "").split(",") if t]
    return {"id": meta.get("id") or f"{path.stem}-{index + 1}", "text": text, "entities": entities, "attack_types": types}


# -- Label Studio -> JSONL ---------------------------------------------------
def labelstudio_to_jsonl(path: str | Path, text_key: str = "text", choices_from: str | None = None) -> list[dict]:
    """Convert a Label Studio JSON export; the latest non-cancelled annotation wins."""
    path = Path(path)
    try:
        tasks = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError([f"{path}:{exc.lineno}: invalid JSON: {exc.msg}"]) from None
    if not isinstance(tasks, list):
        raise DataError([f"{path}: expected a JSON list of tasks (Label Studio 'JSON' export)"])
    records, problems = [], []
    for i, task in enumerate(tasks):
        where = f"{path}: task {i} (id {task.get('id') if isinstance(task, dict) else '?'})"
        try:
            text = task["data"][text_key]
            anns = [a for a in task.get("annotations", []) if not a.get("was_cancelled")]
        except (KeyError, TypeError, AttributeError):
            problems.append(f"{where}: no data.{text_key}")
            continue
        if not isinstance(text, str):
            problems.append(f"{where}: data.{text_key} is not a string")
            continue
        result = anns[-1].get("result", []) if anns else []
        entities, types = [], []
        for r in result:
            v = r.get("value", {})
            if r.get("type") == "labels":
                s, e = v.get("start"), v.get("end")
                if not (isinstance(s, int) and isinstance(e, int) and 0 <= s < e <= len(text)) or not v.get("labels"):
                    problems.append(f"{where}: region {r.get('id')} has bad offsets or no label")
                    continue
                while s < e and text[s].isspace():  # annotators often select a trailing space
                    s += 1
                while e > s and text[e - 1].isspace():
                    e -= 1
                if s < e:
                    entities.append(_with_count({"start": s, "end": e, "label": v["labels"][0]}, text))
            elif r.get("type") == "choices" and (choices_from is None or r.get("from_name") == choices_from):
                types.extend(c for c in v.get("choices", []) if c not in types)
        entities.sort(key=lambda x: x["start"])
        records.append({"id": str(task.get("id", i)), "text": text, "entities": entities, "attack_types": types})
    if problems:
        raise DataError(problems)
    return records


def read_jsonl(path: str | Path) -> list[dict]:
    records, problems = [], []
    for lineno, rec, err in iter_jsonl(path):
        if err:
            problems.append(f"{path}:{lineno}: {err}")
        else:
            records.append(rec)
    if problems:
        raise DataError(problems)
    return records
