"""Annotated records -> model inputs (token windows with labels).

Gold spans become IOB2 tags on words (see rasid.inference.words); the first
sub-word of a word carries the tag and the other sub-words get -100, unless
``label_all_subwords``. A segment longer than ``max_length`` becomes several
overlapping windows, each a training example: nothing is truncated away.
"""

from __future__ import annotations

import bisect
import logging
from dataclasses import dataclass

import torch

from rasid.inference.encoding import encode, prepare
from rasid.inference.normalize import NormalizationConfig
from rasid.inference.words import DEFAULT_STEMS

log = logging.getLogger(__name__)
IGNORE = -100


@dataclass
class AlignmentReport:
    spans: int = 0
    misaligned: int = 0  # gold span edges that fall inside a word
    examples: list[str] | None = None


def word_tags(rec: dict, prep, report: AlignmentReport) -> list[str]:
    """IOB2 tag per word of ``prep`` for the gold spans of ``rec`` (original offsets)."""
    tags = ["O"] * len(prep.words)
    for ent in sorted(rec.get("entities", []), key=lambda e: e["start"]):
        report.spans += 1
        # original offset -> first normalised char at or after it (src is sorted)
        s = bisect.bisect_left(prep.src, ent["start"])
        e = bisect.bisect_left(prep.src, ent["end"])
        inside = [w for w, (ws, we) in enumerate(prep.words) if ws < e and we > s]
        if not inside:
            report.misaligned += 1
            continue
        if prep.words[inside[0]][0] != s or prep.words[inside[-1]][1] != e:
            report.misaligned += 1
            if report.examples is not None and len(report.examples) < 20:
                report.examples.append(f"{rec['id']}: {rec['text'][ent['start']:ent['end']]!r}")
        for j, w in enumerate(inside):
            if tags[w] == "O":
                tags[w] = ("B-" if j == 0 else "I-") + ent["label"]
    return tags


def build_features(
    records: list[dict],
    tokenizer,
    tags: list[str],
    attack_types: list[str],
    max_length: int,
    stride: int,
    norm_cfg: NormalizationConfig,
    stems: frozenset[str] = DEFAULT_STEMS,
    label_all_subwords: bool = False,
    with_tags: bool = True,
    with_types: bool = True,
) -> tuple[list[dict], AlignmentReport]:
    tag_id = {t: i for i, t in enumerate(tags)}
    type_id = {t: i for i, t in enumerate(attack_types)}
    report = AlignmentReport(examples=[])
    preps = [prepare(r["text"], norm_cfg, stems) for r in records]
    keep = [i for i, p in enumerate(preps) if p.words]
    features: list[dict] = []
    for c in range(0, len(keep), 512):
        chunk = keep[c : c + 512]
        enc = encode(tokenizer, [preps[i].input_strings() for i in chunk], max_length, stride)
        word_labels = {i: word_tags(records[i], preps[i], report) for i in chunk} if with_tags else {}
        for w, sample in enumerate(enc["overflow_to_sample_mapping"]):
            i = chunk[sample]
            feat = {"input_ids": enc["input_ids"][w]}
            if with_tags:
                labels, prev = [], None
                for wid in enc.word_ids(w):
                    if wid is None:
                        labels.append(IGNORE)
                    elif wid != prev:  # the label of the word this input speaks for (word_input="whole": its stem)
                        labels.append(tag_id[word_labels[i][preps[i].owner(wid)]])
                    else:  # later sub-word of the same word
                        t = word_labels[i][preps[i].owner(wid)]
                        labels.append(tag_id["I-" + t[2:] if t != "O" else "O"] if label_all_subwords else IGNORE)
                    prev = wid
                feat["labels"] = labels
            if with_types:
                multi_hot = [0.0] * len(attack_types)
                for a in records[i].get("attack_types", []):
                    multi_hot[type_id[a]] = 1.0
                feat["type_labels"] = multi_hot
            features.append(feat)
    if report.misaligned:
        log.warning(
            "%d of %d gold spans do not start or end on a word boundary (e.g. %s); "
            "they are tagged on the words they touch",
            report.misaligned, report.spans, "; ".join(report.examples[:3]),
        )
    return features, report


class Collator:
    """Dynamic padding to the longest window in the batch."""

    def __init__(self, pad_id: int):
        self.pad_id = pad_id

    def __call__(self, feats: list[dict]) -> dict[str, torch.Tensor]:
        T = max(len(f["input_ids"]) for f in feats)
        B = len(feats)
        ids = torch.full((B, T), self.pad_id, dtype=torch.long)  # (B, T)
        mask = torch.zeros((B, T), dtype=torch.long)  # (B, T)
        labels = torch.full((B, T), IGNORE, dtype=torch.long) if "labels" in feats[0] else None
        for r, f in enumerate(feats):
            n = len(f["input_ids"])
            ids[r, :n] = torch.tensor(f["input_ids"])
            mask[r, :n] = 1
            if labels is not None:
                labels[r, :n] = torch.tensor(f["labels"])
        batch = {"input_ids": ids, "attention_mask": mask}
        if labels is not None:
            batch["labels"] = labels
        if "type_labels" in feats[0]:
            batch["type_labels"] = torch.tensor([f["type_labels"] for f in feats], dtype=torch.float)  # (B, C)
        return batch
