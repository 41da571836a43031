"""Predictions as Label Studio tasks with pre-annotations, and the labelling config for them.

    rasid-predict --model DIR --input articles.jsonl --format labelstudio --output tasks.json
    rasid-data export-labelstudio predictions.jsonl tasks.json [--model DIR]

Each task is ``{"data": {"text": ..., "rasid_id": ...}, "predictions": [{"model_version",
"score", "result": [...]}]}``. Its result holds, by Label Studio's JSON task format:

- one ``labels`` item per entity: ``value.start/end/text/labels`` and ``value.score``;
- for a KILLED/WOUNDED entity with a count, a ``number`` item with the SAME ``id``
  (a per-region attribute: the ``<Number perRegion="true">`` control), ``value.number``;
- one ``choices`` item with the attack types (``<Choices choice="multiple">``).

Offsets are UTF-16 code units, as Label Studio (JavaScript) counts them; they
equal character offsets unless the text has characters beyond U+FFFF (emoji).
``rasid-data convert --from labelstudio`` reads all of this back: annotated
tasks from their annotation, prediction-only tasks with ``--unannotated
predictions``. Standard library only, like the rest of the lean package.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from xml.sax.saxutils import quoteattr

from .schema import ATTACK_TYPES, COUNT_LABELS, ENTITY_LABELS

# Control names of the labelling config; the importer reads results by type, so
# a project that renamed them still converts (attack types: --choices-from).
TEXT_NAME, LABELS_NAME, COUNT_NAME, TYPES_NAME = "text", "label", "count", "attack_type"
ID_KEY = "rasid_id"  # data field carrying the record id: Label Studio gives tasks ids of its own


def utf16_offset(text: str, index: int) -> int:
    """UTF-16 code units before code point ``index`` of ``text``."""
    return index + sum(1 for ch in text[:index] if ord(ch) > 0xFFFF)


def _types(attack_types) -> list[tuple[str, float | None]]:
    """(label, score) pairs from predicted ``[{"label", "score"}]`` or gold ``["LABEL"]``."""
    out = []
    for t in attack_types or []:
        if isinstance(t, dict):
            out.append((str(t["label"]), t.get("score")))
        else:
            out.append((str(t), None))
    return out


def result_items(text: str, entities: list[dict], attack_types, prefix: str = "r") -> list[dict]:
    """Label Studio result items for one text: regions, per-region counts, attack-type choices.

    Works for predictions (entities carry ``score``) and for gold records alike,
    so the same shape serves pre-annotations and simulated annotations."""
    items: list[dict] = []
    for n, ent in enumerate(sorted(entities or [], key=lambda e: (e["start"], e["end"]))):
        rid = f"{prefix}{n}"
        s, e = utf16_offset(text, ent["start"]), utf16_offset(text, ent["end"])
        region = {"start": s, "end": e, "text": text[ent["start"]:ent["end"]]}
        value = {**region, "labels": [ent["label"]]}
        if ent.get("score") is not None:
            value["score"] = ent["score"]
        items.append({"id": rid, "from_name": LABELS_NAME, "to_name": TEXT_NAME, "type": "labels", "value": value})
        if ent["label"] in COUNT_LABELS and ent.get("count") is not None:
            # Same id as the region: Label Studio shows it as that region's attribute.
            items.append({"id": rid, "from_name": COUNT_NAME, "to_name": TEXT_NAME, "type": "number",
                          "value": {**region, "number": ent["count"]}})
    types = _types(attack_types)
    if types:
        item = {"id": f"{prefix}types", "from_name": TYPES_NAME, "to_name": TEXT_NAME, "type": "choices",
                "value": {"choices": [t for t, _ in types]}}
        scores = [s for _, s in types if s is not None]
        if scores:
            item["score"] = min(scores)
        items.append(item)
    return items


def task_score(entities: list[dict], attack_types) -> float:
    """The prediction's confidence for Label Studio's task list: its least sure
    span or type, so sorting by score ascending shows the doubtful tasks first."""
    scores = [e["score"] for e in entities or [] if e.get("score") is not None]
    scores += [s for _, s in _types(attack_types) if s is not None]
    return round(min(scores), 4) if scores else 1.0


def prediction_task(rec: dict, text: str, model_version: str, index: int, data_fields: dict | None = None) -> dict:
    """One Label Studio task from one ``rasid-predict`` output record and its text."""
    data = {TEXT_NAME: text, ID_KEY: rec.get("id", index)}
    for k, v in (data_fields or {}).items():  # other scalar fields stay visible in Label Studio's data manager
        if k not in data and isinstance(v, (str, int, float, bool)):
            data[k] = v
    ents, types = rec.get("entities") or [], rec.get("attack_types") or []
    return {"data": data, "predictions": [{"model_version": model_version, "score": task_score(ents, types),
                                           "result": result_items(text, ents, types, prefix=f"t{index}r")}]}


def labeling_config(entity_labels=ENTITY_LABELS, attack_types=ATTACK_TYPES) -> str:
    """The labelling interface XML matching the tasks: paste it into the project's
    Settings > Labeling Interface > Code before importing the tasks."""
    from .report import label_colours

    colours = label_colours(entity_labels)
    labels = "\n".join(f'    <Label value={quoteattr(x)} background={quoteattr(colours[x])}/>' for x in entity_labels)
    choices = "\n".join(f"    <Choice value={quoteattr(x)}/>" for x in attack_types)
    counted = ", ".join(x for x in entity_labels if x in COUNT_LABELS)
    count = (f'  <Header value="Count of the selected {counted or "casualty"} region (empty: vague, e.g. dozens)"/>\n'
             f'  <Number name="{COUNT_NAME}" toName="{TEXT_NAME}" perRegion="true" min="0"/>\n') if counted else ""
    types = (f'  <Header value="Attack types"/>\n  <Choices name="{TYPES_NAME}" toName="{TEXT_NAME}" choice="multiple" '
             f'showInline="true">\n{choices}\n  </Choices>\n') if attack_types else ""
    return (f'<View>\n  <Labels name="{LABELS_NAME}" toName="{TEXT_NAME}">\n{labels}\n  </Labels>\n'
            f'  <View style="direction: rtl; text-align: right">\n    <Text name="{TEXT_NAME}" value="${TEXT_NAME}"/>\n'
            f"  </View>\n{count}{types}</View>\n")


def model_version(model_dir: str | os.PathLike) -> str:
    """``NAME@HASH``: the directory name and the first 12 hex digits of the
    weights' SHA-256, so two retrains of one directory are told apart."""
    path = Path(model_dir)
    weights = next((p for p in (path / "model.safetensors", path / "model.onnx") if p.is_file()), None)
    if weights is None:
        return path.resolve().name
    h = hashlib.sha256()
    with open(weights, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return f"{path.resolve().name}@{h.hexdigest()[:12]}"


def config_path_for(tasks_path: str | os.PathLike) -> Path:
    """Where the labelling config goes by default: ``tasks.json`` -> ``tasks.labelstudio.xml``."""
    p = Path(tasks_path)
    return p.with_name(p.stem + ".labelstudio.xml")


def write_tasks(records, tasks_path: str | os.PathLike, version: str, text_field: str = "text",
                entity_labels=None, attack_types=None, config_xml: str | os.PathLike | None = None) -> tuple[int, Path]:
    """Write ``records`` (prediction records holding their text) as a Label Studio
    task list, atomically, and the labelling config next to it. ``entity_labels``
    / ``attack_types``: the model's label set (default: the schema's plus any
    label the records use). Returns (tasks written, config path)."""
    tasks, seen_ents, seen_types = [], [], []
    for i, rec in enumerate(records):
        text = rec.get(text_field)
        if not isinstance(text, str):
            raise ValueError(f"record {i} (id {rec.get('id')!r}) has no {text_field!r} text: Label Studio tasks need "
                             "it (rasid-predict --keep-text, or --text-field NAME)")
        extra = {k: v for k, v in rec.items() if k not in (text_field, "id", "entities", "attack_types", "events")}
        tasks.append(prediction_task(rec, text, version, i, extra))
        seen_ents += [e["label"] for e in rec.get("entities") or [] if e["label"] not in seen_ents]
        seen_types += [t for t, _ in _types(rec.get("attack_types")) if t not in seen_types]
    ents = list(entity_labels) if entity_labels else list(ENTITY_LABELS) + [x for x in seen_ents if x not in ENTITY_LABELS]
    types = list(attack_types) if attack_types is not None else list(ATTACK_TYPES) + [x for x in seen_types if x not in ATTACK_TYPES]
    tasks_path = Path(tasks_path)
    tmp = tasks_path.with_name(tasks_path.name + ".tmp")
    tmp.write_text(json.dumps(tasks, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, tasks_path)
    xml = Path(config_xml) if config_xml else config_path_for(tasks_path)
    xml.write_text(labeling_config(ents, types), encoding="utf-8")
    return len(tasks), xml
