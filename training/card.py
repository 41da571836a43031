"""Model card (README.md) written next to every trained checkpoint."""

from __future__ import annotations

from pathlib import Path


def _fmt(m: dict, key: str) -> str:
    v = m.get(key, {}).get("micro")
    return f"{v['f1']:.3f}" if v else "n/a"


def write_model_card(path: Path, config, results: dict, s) -> None:
    rows = "\n".join(
        f"| {split} | {m['n_segments']} | {_fmt(m, 'entities')} | {_fmt(m, 'attack_types')} |"
        for split, m in results.items()
    )
    base = s.model.name_or_path or f"BERT trained from scratch ({s.model.encoder})"
    path.write_text(f"""---
license: apache-2.0
language: ar
tags: [token-classification, text-classification, arabic, conflict-events]
---
# rasid model: {s.model.preset}, task {config.task}

Reads Arabic conflict news: tags armed ACTORs and casualty counts (KILLED,
WOUNDED) and classifies attack types ({', '.join(config.attack_types) or 'none'}).

- Encoder: {base}
- Entity labels: {', '.join(config.entity_labels) or 'none'}
- Max window: {config.max_length} tokens, stride {config.stride}; longer segments are windowed
- Normalisation: {config.normalization}
- Attack-type thresholds (tuned on dev): {config.thresholds or 'n/a'}
- Training data: {', '.join(s.data.train)}{' + augmented ' + ', '.join(s.data.augmented) if s.data.use_augmented and s.data.augmented else ''}
- Seed: {s.seed}

## Metrics
Entity F1 is seqeval strict IOB2 micro over words; attack types micro F1 over labels.

| split | segments | entity micro F1 | attack-type micro F1 |
|---|---|---|---|
{rows}

## Intended use and limits
Batch extraction of candidate events from Modern Standard Arabic news for
analysts, who review the output. Not for decisions about individuals. The
shipped corpus is written for rasid in news style; dialect text, social media
and theatres or actors absent from the training data will score lower than
the figures above. Casualty counts are read from the text by rules and are
null for vague quantities.

## Licence
Apache-2.0, as the rasid code and corpus.
""", encoding="utf-8")
