"""Model card (README.md) written next to every trained checkpoint."""

from __future__ import annotations

from pathlib import Path


def _fmt(m: dict, key: str) -> str:
    v = m.get(key, {}).get("micro")
    return f"{v['f1']:.3f}" if v else "n/a"


from rasid.inference.schema import ENTITY_LABELS as SCHEMA_LABELS  # noqa: E402
COUNT_LABELS = ("KILLED", "WOUNDED")


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


def write_model_card(path: Path, config, results: dict, s) -> None:
    rows = "\n".join(
        f"| {split} | {m['n_segments']} | {_fmt(m, 'entities')} | {_fmt(m, 'attack_types')} |"
        for split, m in results.items()
    )
    base = s.model.name_or_path or f"BERT trained from scratch ({s.model.encoder})"
    ents, types = list(config.entity_labels or []), list(config.attack_types or [])
    tags = ["token-classification"] * bool(ents) + ["text-classification"] * bool(types) + ["arabic"]
    tags += ["conflict-events"] * bool(set(ents) & set(SCHEMA_LABELS) or types)
    counts = [x for x in ents if x in COUNT_LABELS]
    conflict = bool(set(ents) & set(SCHEMA_LABELS) or types)
    use = "candidate events" if conflict else f"entity spans ({', '.join(ents)})"
    limits = (" Casualty counts are read from the text by rules and are null for vague quantities." if counts else "")
    path.write_text(f"""---
license: apache-2.0
language: ar
tags: [{', '.join(tags)}]
---
# rasid model: {s.model.preset}, task {config.task}

{describe(ents, types)}

- Encoder: {base}
- Entity labels: {', '.join(ents) or 'none'}
- Attack types: {', '.join(types) or 'none'}
- Max window: {config.max_length} tokens, stride {config.stride}; longer segments are windowed
- Normalisation: {config.normalization}
- Attack-type thresholds (tuned on dev): {config.thresholds or 'n/a'}
- Training data: {', '.join(s.data.train)}{' + augmented ' + ', '.join(s.data.augmented) if s.data.use_augmented and s.data.augmented else ''}
- Seed: {s.seed}

## Metrics
Entity F1 is seqeval strict IOB2 micro over words; attack-type F1 is micro over labels.

| split | segments | entity micro F1 | attack-type micro F1 |
|---|---|---|---|
{rows}

## Intended use and limits
Batch extraction of {use} from Modern Standard Arabic news for
analysts, who review the output. Not for decisions about individuals.
Dialect text, social media and names or topics absent from the training data
will score lower than the figures above.{limits}

## Licence
Apache-2.0, as the rasid code and corpus.
""", encoding="utf-8")
