"""Model card (README.md) written next to every trained checkpoint.

A Hugging Face model card: YAML metadata (language, license, tags,
pipeline_tag, base_model, and a model-index with the dev/test metrics; built
by ``rasid.inference.hub.card_metadata``), then the text. Nothing in it names a
path on the training machine: data files appear as names with sizes and
SHA-256, a local encoder by its directory name.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from rasid.inference.hub import card_metadata
from rasid.inference.schema import ENTITY_LABELS as SCHEMA_LABELS

COUNT_LABELS = ("KILLED", "WOUNDED")


def _fmt(m: dict, key: str) -> str:
    v = m.get(key, {}).get("micro")
    return f"{v['f1']:.3f}" if v else "n/a"


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def describe(entity_labels, attack_types) -> str:
    """What the model does, from the labels it has (never from the schema's defaults)."""
    ents, does = list(entity_labels or []), []
    if "ACTOR" in ents:
        does.append("armed ACTORs")
    counts = [x for x in ents if x in COUNT_LABELS]
    if counts:
        does.append(f"casualty counts ({', '.join(counts)})")
    other = [x for x in ents if x not in SCHEMA_LABELS]
    if other:
        does.append(f"{'other ' if len(other) < len(ents) else ''}entity spans ({', '.join(other)})")
    parts = [f"tags {_join(does)}"] if does else []
    if attack_types:
        parts.append(f"classifies attack types ({', '.join(attack_types)})")
    what = "conflict news" if set(ents) & set(SCHEMA_LABELS) or attack_types else "news"
    return f"Reads Arabic {what}: {' and '.join(parts) or 'no labels'}."


def data_files(s) -> list[dict]:
    """The data files of a run as role, file name, size and SHA-256: what was trained and
    evaluated on, checkable anywhere, without the training machine's paths."""
    roles = [("train", p) for p in s.data.train]
    if s.data.use_augmented and s.data.augmented:
        roles += [("augmented", p) for p in s.data.augmented]
    roles += [(role, getattr(s.data, role, None)) for role in ("dev", "test")]
    out = []
    for role, p in roles:
        if not p or not Path(p).is_file():
            continue
        h = hashlib.sha256()
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        out.append({"role": role, "name": Path(p).name, "bytes": Path(p).stat().st_size, "sha256": h.hexdigest()})
    return out


def encoder_source(s, config) -> tuple[str, str | None]:
    """(how the card names the encoder, the hub id for ``base_model`` or None)."""
    name = s.model.name_or_path
    if not name:
        return f"BERT trained from scratch ({s.model.encoder})", None
    enc = getattr(config, "encoder", None)
    source = getattr(enc, "rasid_source", None) or {}
    if source.get("original_model"):  # converted from a package (the default e5): credit the original model
        return f"{source['original_model']} (from {source.get('package', 'a local conversion')})", source["original_model"]
    if Path(name).exists():  # a local copy: its directory name only
        return f"local encoder '{Path(name).name}'", None
    return name, name  # a hub id


def write_model_card(path: Path, config, results: dict, s) -> None:
    rows = "\n".join(
        f"| {split} | {m['n_segments']} | {_fmt(m, 'entities')} | {_fmt(m, 'attack_types')} |"
        for split, m in results.items()
    )
    base, base_model = encoder_source(s, config)
    ents, types = list(config.entity_labels or []), list(config.attack_types or [])
    counts = [x for x in ents if x in COUNT_LABELS]
    conflict = bool(set(ents) & set(SCHEMA_LABELS) or types)
    use = "candidate events" if conflict else f"entity spans ({', '.join(ents)})"
    limits = (" Casualty counts are read from the text by rules and are null for vague quantities." if counts else "")
    files = getattr(config, "training_data", None) or []
    data = "\n".join(f"  - {f['role']}: `{f['name']}`, {f['bytes']:,} bytes, sha256 `{f['sha256']}`" for f in files)
    if s.data.use_augmented and s.data.augmented and getattr(s.data, "augmented_limit", None):
        data += f"\n  - (the first {s.data.augmented_limit} augmented segments were used)"
    meta = card_metadata(config, results, f"rasid-{s.model.preset}-{config.task}", base_model).to_yaml()
    path.write_text(f"""---
{meta}
---
# rasid model: {s.model.preset}, task {config.task}

{describe(ents, types)}

- Encoder: {base}
- Entity labels: {', '.join(ents) or 'none'}
- Attack types: {', '.join(types) or 'none'}
- Max window: {config.max_length} tokens, stride {config.stride}; longer segments are windowed
- Normalisation: {config.normalization}
- Attack-type thresholds ({'one for all types' if len(set((config.thresholds or {}).values())) == 1 else 'per type'}): {config.thresholds or 'n/a'}
- Data files:
{data or '  - (not recorded)'}
- Seed: {s.seed}
- Training precision: {'bf16 autocast, fp32 weights' if s.trainer.args.get('bf16') else 'fp16 autocast, fp32 weights' if s.trainer.args.get('fp16') else 'fp32'}

## Metrics
Entity F1 is seqeval strict IOB2 micro over words; attack-type F1 is micro over labels.

| split | segments | entity micro F1 | attack-type micro F1 |
|---|---|---|---|
{rows}

## How to use
```python
from rasid.inference import Predictor          # pip install rasid-inference

p = Predictor.from_pretrained("THIS_DIRECTORY_OR_HUB_SNAPSHOT", device="auto")
p.predict("...")                                # entities with offsets, counts, events
```
The checkpoint is also a transformers model once rasid is imported (no `trust_remote_code`):
```python
import rasid.models
from transformers import AutoModel, AutoTokenizer

model = AutoModel.from_pretrained("THIS_DIRECTORY")   # RasidForEventExtraction
tokenizer = AutoTokenizer.from_pretrained("THIS_DIRECTORY")
out = model(**tokenizer("...", return_tensors="pt"))  # out.token_logits, out.type_logits
```

## Intended use and limits
Batch extraction of {use} from Modern Standard Arabic news for
analysts, who review the output. Not for decisions about individuals.
Dialect text, social media and names or topics absent from the training data
will score lower than the figures above.{limits}

## Licence
Apache-2.0, as the rasid code and corpus.
""", encoding="utf-8")
