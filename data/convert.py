"""Converters between canonical JSONL and other annotation formats.

- CoNLL/BIO, one token a line, blank line between segments. The word is the
  first column and the tag the LAST (``word TAG``, CoNLL-2003's
  ``word POS chunk TAG``, Label Studio's ``word -X- _ TAG``); tabs, when a
  line has any, separate columns, else runs of spaces do. ``-DOCSTART-``
  lines end a segment and are dropped. Tags may be IOB2, IOB1, BIOES or
  BILOU. A ``# id = ...`` line names the segment and ``# text = ...`` keeps
  its exact text (CoNLL-U style); without it the words are joined with
  single spaces.
- Label Studio exports -> JSONL: the JSON export (a list of tasks, or one
  task object as cloud storage writes it) and JSON-MIN (flat rows, one per
  annotation). NER ``labels`` regions become entities, ``choices`` attack
  types, a ``number`` result sharing a region's id (``<Number perRegion>``,
  as ``rasid.inference.labelstudio`` exports) that region's count; the record
  id is ``data.rasid_id`` when the task has one, else the task id.

Nothing is dropped silently: ``read_conll`` and ``read_labelstudio`` return
the records, every problem (``file:line: reason`` / ``file: task ID:
reason``; the segment or task it names is left out) and notes on what was
skipped, converted or guessed. Counts of KILLED/WOUNDED spans are read from
the span text when the source format cannot carry them.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from rasid.inference.counts import parse_count
from rasid.inference.schema import COUNT_LABELS
from rasid.inference.words import spans_to_iob, split_words

from rasid.inference.labelstudio import ID_KEY

from .schema import DataError, iter_jsonl

SEGMENT_WARN_WORDS = 500  # a segment this long usually means the blank lines between sentences are missing
ANNOTATION_POLICIES = ("most-recent", "first", "last", "fail")
UNANNOTATED_POLICIES = ("skip", "keep", "predictions")


@dataclass
class Converted:
    """What a reader got out of a file."""

    records: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # each names a segment or task that was left out
    notes: list[str] = field(default_factory=list)  # warnings: skipped, converted or guessed on the way

    def checked(self, notes: list[str] | None = None) -> list[dict]:
        """The records; DataError listing every problem if there is any."""
        if notes is not None:
            notes.extend(self.notes)
        if self.problems:
            raise DataError(self.problems)
        return self.records


def _lines(numbers: list[int], limit: int = 10) -> str:
    shown = ", ".join(map(str, numbers[:limit]))
    return f"line{'s' if len(numbers) > 1 else ''} {shown}{', ...' if len(numbers) > limit else ''}"
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
_META = re.compile(r"#\s*([\w.-]+)\s*=\s?(.*)$")
_TAG = re.compile(r"O|[BIESLU]-\S+")
TAG_HELP = "O, or B-, I-, E-, S-, L-, U- and a label"


def conll_to_jsonl(path: str | Path, notes: list[str] | None = None, **kw) -> list[dict]:
    """Records of a CoNLL file; DataError listing every bad line (see ``read_conll``)."""
    return read_conll(path, **kw).checked(notes)


def _fields(line: str) -> list[str]:
    if "\t" in line:
        return [f.strip() for f in line.split("\t")]
    return line.split()


def read_conll(path: str | Path, word_column: int = 0, tag_column: int = -1,
               warn_words: int = SEGMENT_WARN_WORDS) -> Converted:
    """Read a CoNLL/BIO file in one pass, collecting every bad line.

    Columns: ``word_column`` holds the word, ``tag_column`` (default the last)
    the tag; the number of columns is the one most lines of the file have.
    A token that is only whitespace (a space, a no-break space) cannot be a
    word: it is skipped and counted in the notes."""
    path = Path(path)
    conv = Converted()
    with open(path, encoding="utf-8-sig", newline="") as f:
        raw = [line.rstrip("\r\n") for line in f]
    # Pass 1: what each line is; segments are runs between blank or -DOCSTART- lines.
    kinds: list[tuple] = []
    widths: Counter = Counter()
    for lineno, line in enumerate(raw, 1):
        if not line.strip():
            kinds.append(("break", lineno))
            continue
        m = _META.match(line) if line.startswith("#") else None
        fields = _fields(line.rstrip())
        if m:
            kinds.append(("meta", lineno, m.group(1), m.group(2)))
        elif fields and fields[0] == "-DOCSTART-":
            kinds.append(("break", lineno))
        else:
            kinds.append(("token", lineno, fields, line))
            if fields and fields[0] and not line.startswith("#"):
                widths[len(fields)] += 1
    ncols = max(widths, key=lambda n: (widths[n], n)) if widths else 2
    if not (-ncols <= word_column < ncols and -ncols <= tag_column < ncols) or word_column % ncols == tag_column % ncols:
        conv.problems.append(f"{path}: most lines have {ncols} columns: word column {word_column} and tag column "
                             f"{tag_column} must be two different ones of them")
        return conv
    spaces: list[int] = []

    def token(lineno: int, fields: list[str], line: str):
        """(word, tag), None for a whitespace-only word, or a problem string."""
        tabbed = "\t" in line
        if (tabbed and len(fields) == ncols and not fields[word_column]) or (
                not tabbed and len(fields) == ncols - 1 and line[:1].isspace() and word_column == 0):
            spaces.append(lineno)
            return None
        if line.startswith("#") and not (len(fields) == ncols and _TAG.fullmatch(fields[tag_column])):
            return None  # a comment such as "# sent_id 3" or "# newdoc"
        if len(fields) < 2:
            return f"{path}:{lineno}: expected a word and a tag, got {line!r}"
        if len(fields) != ncols:
            return f"{path}:{lineno}: {len(fields)} columns, the rest of the file has {ncols}"
        tag = fields[tag_column]
        if not _TAG.fullmatch(tag):
            return f"{path}:{lineno}: tag {tag!r} is not IOB2/IOB1/BIOES/BILOU ({TAG_HELP})"
        return fields[word_column], tag

    segment: list[tuple] = []
    n_segments = 0

    def flush():
        nonlocal n_segments
        meta, tokens, bad = {}, [], []
        for kind in segment:
            if kind[0] == "meta":
                meta[kind[2]] = kind[3]
                continue
            got = token(*kind[1:])
            if isinstance(got, str):
                bad.append(got)
            elif got is not None:
                tokens.append((kind[1], *got))
        segment.clear()
        if not tokens and not bad:
            return
        n_segments += 1
        if len(tokens) > warn_words:
            first, last = tokens[0][0], tokens[-1][0]
            conv.notes.append(f"{path}:{first}: segment of {len(tokens)} words with no blank line (lines {first}-{last}); "
                              "blank lines separate segments: is the file missing them?")
        if not bad:
            rec = _conll_record(meta, tokens, path, n_segments, bad)
        conv.problems.extend(bad)
        if not bad:
            conv.records.append(rec)

    for kind in kinds:
        if kind[0] == "break":
            flush()
        else:
            segment.append(kind)
    flush()
    if spaces:
        conv.notes.append(f"{path}: skipped {len(spaces)} whitespace-only token(s) ({_lines(spaces)}): a word cannot be a space")
    return conv


def _conll_record(meta: dict, tokens: list[tuple[int, str, str]], path: Path, index: int, bad: list[str]) -> dict:
    text = meta.get("text") or " ".join(w for _, w, _ in tokens)
    # Locate each token in the text, in order.
    pos, located = 0, []
    for lineno, word, tag in tokens:
        at = text.find(word, pos)
        if at < 0:
            bad.append(f"{path}:{lineno}: word {word!r} not found in the '# text' line after offset {pos}")
            continue
        located.append((at, at + len(word), tag))
        pos = at + len(word)
    # One decoder for IOB2, IOB1, BIOES and BILOU: B/S/U open a span, I/E/L
    # continue an open span of their label (or open one, as seqeval's lenient
    # default), E/L/S/U close it.
    entities, cur = [], None
    for s, e, tag in located:
        if tag == "O":
            cur = None
            continue
        prefix, label = tag[0], tag[2:]
        if prefix in "BSU" or cur is None or cur["label"] != label:
            cur = {"start": s, "end": e, "label": label}
            entities.append(cur)
        else:
            cur["end"] = e
        if prefix in "ESLU":
            cur = None
    entities = [_with_count(ent, text) for ent in entities]
    types = [t for t in meta.get("attack_types", "").split(",") if t.strip()]
    return {"id": meta.get("id") or f"{path.stem}-{index}", "text": text, "entities": entities,
            "attack_types": [t.strip() for t in types]}


# -- Label Studio -> JSONL ---------------------------------------------------
# JSON-MIN row keys that are not data fields or annotation results.
_MIN_META = {"id", "annotator", "annotation_id", "created_at", "updated_at", "lead_time", "agreement", "draft_created_at"}
_LABEL_NAME = re.compile(r"[A-Z][A-Z0-9_]*")


def labelstudio_to_jsonl(path: str | Path, text_key: str = "text", choices_from: str | None = None,
                         notes: list[str] | None = None, **kw) -> list[dict]:
    """Records of a Label Studio export; DataError listing every bad task (see ``read_labelstudio``)."""
    return read_labelstudio(path, text_key, choices_from, **kw).checked(notes)


@dataclass
class _Annotation:
    result: list  # Label Studio result items ({"type": "labels"/"choices"/"relation", "value": {...}})
    annotator: str
    when: datetime | None
    index: int


def _when(value) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def _annotator(value) -> str:
    if isinstance(value, dict):
        value = value.get("email") or value.get("id")
    return "?" if value is None else str(value)


def _min_result(row: dict, text_key: str, choices_from: str | None, used: Counter, unused: Counter) -> list:
    """A JSON-MIN row's annotation as Label Studio result items."""
    result = []
    for key, val in row.items():
        if key in _MIN_META or key == text_key:
            continue
        if isinstance(val, dict) and "start" in val and "end" in val:
            val = [val]
        if isinstance(val, list) and val and all(isinstance(x, dict) and "start" in x and "end" in x for x in val):
            result += [{"type": "labels", "id": f"{key}[{j}]", "from_name": key, "value": x} for j, x in enumerate(val)]
        elif choices_from not in (None, key):
            unused[key] += 1
        elif isinstance(val, dict) and isinstance(val.get("choices"), list):
            result.append({"type": "choices", "from_name": key, "value": val})
            used[key] += 1
        elif isinstance(val, str) and (choices_from == key or _LABEL_NAME.fullmatch(val)):
            result.append({"type": "choices", "from_name": key, "value": {"choices": [val]}})
            used[key] += 1
        else:
            unused[key] += 1
    return result


def _utf16_to_index(text: str, units: int) -> int | None:
    """The code-point index at ``units`` UTF-16 code units (how JavaScript, and so Label Studio, counts)."""
    n = 0
    for i, ch in enumerate(text):
        if n == units:
            return i
        n += 2 if ord(ch) > 0xFFFF else 1
    return len(text) if n == units else None


def read_labelstudio(path: str | Path, text_key: str = "text", choices_from: str | None = None,
                     annotation: str = "most-recent", unannotated: str = "skip") -> Converted:
    """Convert a Label Studio JSON or JSON-MIN export (a list, or one task object).

    ``annotation``: which of several annotations of a task counts: ``most-recent``
    (latest ``updated_at``), ``first`` / ``last`` in the export, or ``fail``
    (a problem when they disagree). ``unannotated``: tasks with no usable
    annotation (none, predictions only, only cancelled ones) are skipped or
    kept as segments with no entities, or (``predictions``) converted from
    their most recent prediction when they have predictions and no annotation
    at all (the rest, such as a task a person skipped, stay out); counted
    either way."""
    if annotation not in ANNOTATION_POLICIES:
        raise ValueError(f"annotation must be one of {', '.join(ANNOTATION_POLICIES)}, not {annotation!r}")
    if unannotated not in UNANNOTATED_POLICIES:
        raise ValueError(f"unannotated must be one of {', '.join(UNANNOTATED_POLICIES)}, not {unannotated!r}")
    path = Path(path)
    conv = Converted()
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        conv.problems.append(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}")
        return conv
    if isinstance(data, dict):
        data = [data]  # one task, as cloud storage and the API write it
    if not isinstance(data, list):
        conv.problems.append(f"{path}: expected a JSON list of tasks (Label Studio JSON or JSON-MIN export) or one task object")
        return conv

    # Normalise both export shapes to (where, task id, text, annotations, why-unannotated).
    tasks: dict = {}  # key -> dict(...); JSON-MIN rows of one task (one per annotation) are grouped by id
    stats_from_predictions: list[str] = []  # tasks read from a prediction (--unannotated predictions)
    used_keys, unused_keys = Counter(), Counter()
    for i, item in enumerate(data):
        tid = item.get("id") if isinstance(item, dict) else None
        where = f"{path}: task {tid}" if tid is not None else f"{path}: task #{i} (no id)"
        if not isinstance(item, dict):
            conv.problems.append(f"{path}: item {i}: expected a task object, got {type(item).__name__}")
            continue
        if any(k in item for k in ("data", "annotations", "completions", "predictions")):  # JSON export
            d = item.get("data")
            anns, cancelled = [], 0
            for j, a in enumerate(item.get("annotations", item.get("completions")) or []):
                if not isinstance(a, dict):
                    continue
                if a.get("was_cancelled") or a.get("skipped"):
                    cancelled += 1
                    continue
                anns.append(_Annotation(a.get("result") or [], _annotator(a.get("completed_by")),
                                        _when(a.get("updated_at")) or _when(a.get("created_at")), j))
            why = "only cancelled" if cancelled else "predictions only" if item.get("predictions") else "none"
            preds = [_Annotation(p.get("result") or [], f"model {p.get('model_version')}",
                                 _when(p.get("updated_at")) or _when(p.get("created_at")), j)
                     for j, p in enumerate(item.get("predictions") or []) if isinstance(p, dict)]
            if not anns and why == "predictions only" and unannotated == "predictions" and preds:
                floor = datetime.min.replace(tzinfo=timezone.utc)
                anns = [max(preds, key=lambda a: (a.when or floor, a.index))]  # the latest, else the last listed
                stats_from_predictions.append(where)
            text = d.get(text_key) if isinstance(d, dict) else None
            rid = d.get(ID_KEY) if isinstance(d, dict) and d.get(ID_KEY) is not None else tid
            tasks[("task", i)] = {"where": where, "id": rid if rid is not None else i, "text": text, "anns": anns,
                                  "why": why, "missing": f"no data.{text_key}" + (
                                      f" (data keys: {', '.join(map(str, d))})" if isinstance(d, dict) else "")}
        elif text_key in item:  # JSON-MIN: one flat row per annotation
            key = ("min", str(tid)) if tid is not None else ("row", i)
            task = tasks.setdefault(key, {"where": where, "id": tid if tid is not None else i, "text": item[text_key],
                                          "anns": [], "why": "none", "missing": f"no {text_key}"})
            task["anns"].append(_Annotation(_min_result(item, text_key, choices_from, used_keys, unused_keys),
                                            _annotator(item.get("annotator")),
                                            _when(item.get("updated_at")) or _when(item.get("created_at")), len(task["anns"])))
        else:
            keys = ", ".join(map(str, list(item)[:8]))
            conv.problems.append(f"{where}: no data.{text_key} (a JSON task has 'data', a JSON-MIN row '{text_key}'; keys: {keys})")

    stats = Counter()
    unannotated_why, relations_in = Counter(), set()
    for task in tasks.values():
        where, text = task["where"], task["text"]
        if not isinstance(text, str):
            conv.problems.append(f"{where}: {task['missing']}" if text is None else f"{where}: data.{text_key} is not a string")
            continue
        anns = task["anns"]
        rid = str(task["id"])
        if not anns:
            unannotated_why[task["why"]] += 1
            if unannotated == "keep":  # with "predictions", cancelled tasks and empty ones stay out
                conv.records.append({"id": rid, "text": text, "entities": [], "attack_types": []})
            continue
        if len(anns) > 1:
            stats["several"] += 1
        if annotation == "fail" and len(anns) > 1:
            converted = [_ls_result(a.result, text, where, choices_from, Counter()) for a in anns]
            if any(c != converted[0] for c in converted[1:]):
                who = ", ".join(a.annotator for a in anns)
                conv.problems.append(f"{where}: {len(anns)} annotations (annotators {who}) disagree; "
                                     "--annotation fail refuses to pick one")
                continue
            chosen = anns[-1]
        elif annotation == "first":
            chosen = anns[0]
        elif annotation == "last":
            chosen = anns[-1]
        else:  # most-recent; an annotation without a date counts as the oldest, ties go to the later one
            floor = datetime.min.replace(tzinfo=timezone.utc)
            chosen = max(anns, key=lambda a: (a.when or floor, a.index))
        got = _ls_result(chosen.result, text, where, choices_from, stats)
        if isinstance(got, str):
            conv.problems.append(got)
            continue
        entities, types, n_rel = got
        if n_rel:
            stats["relations"] += n_rel
            relations_in.add(rid)
        conv.records.append({"id": rid, "text": text, "entities": entities, "attack_types": types})

    # -- notes: everything skipped, converted or guessed on the way ----------------
    if stats_from_predictions:
        conv.notes.append(f"{path}: {len(stats_from_predictions)} task(s) with predictions and no annotation "
                          "converted from their most recent prediction (--unannotated predictions)")
    if unannotated_why:
        n = sum(unannotated_why.values())
        parts = ", ".join(f"{unannotated_why[k]} with {k}" for k in ("predictions only", "only cancelled", "none")
                          if unannotated_why[k]).replace("only cancelled", "only cancelled annotations")
        if unannotated == "keep":
            conv.notes.append(f"{path}: kept {n} task(s) without a usable annotation as segments with no entities ({parts})")
        else:
            conv.notes.append(f"{path}: skipped {n} task(s) without a usable annotation ({parts}); "
                              "--unannotated keep keeps them as segments with no entities, --unannotated predictions "
                              "converts prediction-only tasks from their prediction")
    if stats["several"]:
        kept = "agreeing annotations kept" if annotation == "fail" else f"kept the {annotation} one"
        conv.notes.append(f"{path}: {stats['several']} task(s) with several annotations: {kept} "
                          f"(--annotation {'|'.join(ANNOTATION_POLICIES)})")
    if stats["relations"]:
        conv.notes.append(f"{path}: dropped {stats['relations']} relation(s) in {len(relations_in)} task(s): "
                          "canonical JSONL has no relations")
    if stats["utf16"]:
        conv.notes.append(f"{path}: {stats['utf16']} region(s) had UTF-16 offsets (characters beyond U+FFFF, "
                          "e.g. emoji, earlier in the text); converted to character offsets")
    if stats["count_ignored"]:
        conv.notes.append(f"{path}: ignored {stats['count_ignored']} count(s) not attached to a "
                          f"{'/'.join(COUNT_LABELS)} region (a number result shares its region's id)")
    if stats["per_region_choices"]:
        conv.notes.append(f"{path}: ignored {stats['per_region_choices']} per-region choice(s): attack types are "
                          "choices about the whole text")
    if stats["multilabel"]:
        conv.notes.append(f"{path}: {stats['multilabel']} region(s) carry several labels; kept the first of each")
    for kind, n in sorted((k[6:], n) for k, n in stats.items() if k.startswith("other:")):
        conv.notes.append(f"{path}: ignored {n} result(s) of type {kind!r}")
    if used_keys or unused_keys:
        conv.notes.append(f"{path}: JSON-MIN attack types read from {', '.join(map(repr, sorted(used_keys))) or 'no key'}"
                          + (f"; ignored key(s) {', '.join(map(repr, sorted(unused_keys)))}" if unused_keys else "")
                          + " (--choices-from KEY picks the key)")
    return conv


def _ls_result(result, text: str, where: str, choices_from: str | None, stats: Counter):
    """(entities, attack types, relation count) of one annotation, or a problem string."""
    entities, types, n_rel, bad = [], [], 0, []
    items = [r for r in (result if isinstance(result, list) else []) if isinstance(r, dict)]
    # Per-region attributes share their region's id: <Number perRegion> gives the count.
    region_ids = {r["id"] for r in items if r.get("type") == "labels" and r.get("id") is not None}
    numbers = {}
    for r in items:
        v = r.get("value") if isinstance(r.get("value"), dict) else {}
        if r.get("type") == "number":
            n = v.get("number")
            if r.get("id") in region_ids and isinstance(n, (int, float)) and not isinstance(n, bool) and n == int(n) and n >= 0:
                numbers[r.get("id")] = int(n)
            elif r.get("id") in region_ids and n is not None:
                bad.append(f"region {r.get('id')}: count {n!r} is not a whole number >= 0")
            else:
                stats["count_ignored"] += 1
    for r in items:
        v = r.get("value") if isinstance(r.get("value"), dict) else {}
        kind = r.get("type")
        if kind == "number":
            continue
        if kind == "relation":
            n_rel += 1
        elif kind == "labels":
            s, e, labels = v.get("start"), v.get("end"), v.get("labels")
            region = f"region {r.get('id')} ({s}, {e})"
            if type(s) is not int or type(e) is not int or not labels or not isinstance(labels, list):
                bad.append(f"{region}: offsets are not integers or it has no label")
                continue
            exported = v.get("text")
            found = text[s:e] if 0 <= s < e <= len(text) else None
            if isinstance(exported, str) and found is not None and found != exported and found.strip() != exported.strip() \
                    or found is None:
                s16, e16 = _utf16_to_index(text, s), _utf16_to_index(text, e)
                if s16 is not None and e16 is not None and s16 < e16 and (
                        not isinstance(exported, str) or text[s16:e16].strip() == exported.strip()):
                    s, e, found = s16, e16, text[s16:e16]
                    stats["utf16"] += 1
                elif found is None:
                    bad.append(f"{region}: offsets out of range (text has {len(text)} characters)")
                    continue
                else:
                    bad.append(f"{region}: the export says {exported!r}, the text has {found!r} there")
                    continue
            if len(labels) > 1:
                stats["multilabel"] += 1
            while s < e and text[s].isspace():  # annotators often select a trailing space
                s += 1
            while e > s and text[e - 1].isspace():
                e -= 1
            if s < e:
                ent = {"start": s, "end": e, "label": labels[0]}
                if r.get("id") in numbers:
                    if labels[0] in COUNT_LABELS:  # a person's (or the model's) number; the qualifier is read from the text
                        ent["count"] = numbers[r.get("id")]
                        _, qualifier = parse_count(text[s:e], text[e:e + 20])
                        if qualifier:
                            ent["qualifier"] = qualifier
                    else:
                        stats["count_ignored"] += 1
                entities.append(_with_count(ent, text))
        elif kind == "choices":
            if "start" in v or r.get("id") in region_ids:  # a per-region choice describes a span, not the text
                stats["per_region_choices"] += 1
            elif choices_from is None or r.get("from_name") == choices_from:
                types.extend(c for c in v.get("choices", []) if c not in types)
        else:
            stats[f"other:{kind}"] += 1
    if bad:
        return f"{where}: " + "; ".join(bad)
    entities.sort(key=lambda x: x["start"])
    return entities, types, n_rel

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
