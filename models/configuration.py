"""RasidConfig: everything a rasid checkpoint needs besides its weights.

A transformers ``PreTrainedConfig`` with the encoder's own config as a
sub-config, so ``AutoConfig.from_pretrained(dir)`` reads it once rasid is
imported (``rasid.models`` registers ``model_type: "rasid"``). It carries the
task, the label maps, the attack-type thresholds, the windowing,
the text normalisation and the word-splitting stems: the predictor needs
nothing else.

``config.json`` holds no machine paths: the encoder's ``_name_or_path`` is
dropped on save, and training data are recorded as file names with sizes and
SHA-256 (``training_data``).
"""

from __future__ import annotations

import json
import os
from dataclasses import field
from pathlib import Path

from transformers import AutoConfig, PreTrainedConfig
from transformers.configuration_utils import SubConfigSpec

CONFIG_NAME = "config.json"
# 1: rasid's own save format (config.json written by a dataclass, same weight names);
# 2: written by transformers' save_pretrained. Both load with the same code.
FORMAT_VERSION = 2
TASKS = ("joint", "tagging", "classification")


class CheckpointError(ValueError):
    """A checkpoint directory that cannot be loaded safely; the message names the fix."""


class RasidConfig(PreTrainedConfig):
    model_type = "rasid"
    # The encoder's HF config (BertConfig for the shipped presets), rebuilt offline from its model_type.
    sub_configs_defaults = {"encoder": SubConfigSpec(config_class=AutoConfig, model_type="bert")}

    encoder: dict | PreTrainedConfig | None = None
    task: str = "joint"  # joint | tagging | classification
    entity_labels: list = field(default_factory=list)  # e.g. ["ACTOR", "KILLED", "WOUNDED"]
    attack_types: list = field(default_factory=list)
    thresholds: dict = field(default_factory=dict)  # per attack type (trainer.type_threshold, or tuned on dev)
    max_length: int = 256  # tokens per window, [CLS]/[SEP] included
    stride: int = 64  # tokens of overlap between consecutive windows
    pooling: str = "mean"  # mean | cls: sequence representation for the type head
    pooled_norm: bool = False  # batch-normalise the pooled vector before the type head (pretrained encoders)
    type_attention: bool = False  # add per-type attention over tokens to the pooled type logits
    label_all_subwords: bool = False
    classifier_dropout: float = 0.1
    tag_weight: float = 1.0  # joint loss = tag_weight * token CE + type_weight * attack-type BCE
    type_weight: float = 1.0
    normalization: dict = field(default_factory=dict)  # NormalizationConfig.to_dict()
    clitic_stems: list = field(default_factory=list)  # extra words.py stems
    training_data: list = field(default_factory=list)  # [{"name", "bytes", "sha256"}] of the files trained on
    format_version: int = FORMAT_VERSION

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        # The token head's classes are the IOB2 tags; a classification-only model names its attack types.
        labels = self.tags if self.has_tagging else list(self.attack_types)
        self.id2label = dict(enumerate(labels))
        self.label2id = {lab: i for i, lab in self.id2label.items()}

    @property
    def tags(self) -> list[str]:
        """IOB2 tag set, index = class id of the token head."""
        return ["O"] + [f"{p}-{lab}" for lab in self.entity_labels for p in ("B", "I")]

    @property
    def has_tagging(self) -> bool:
        return self.task in ("joint", "tagging")

    @property
    def has_classification(self) -> bool:
        return self.task in ("joint", "classification")

    def to_dict(self) -> dict:
        d = super().to_dict()
        if isinstance(d.get("encoder"), dict):
            d["encoder"].pop("_name_or_path", None)  # where the encoder was read from: a machine path
        return d

    def to_diff_dict(self) -> dict:
        d = super().to_diff_dict()
        if isinstance(d.get("encoder"), dict):
            d["encoder"].pop("_name_or_path", None)
        d["format_version"] = FORMAT_VERSION  # always written, so a reader knows the format without defaults
        return d

    def validate(self) -> None:
        if self.task not in TASKS:
            raise CheckpointError(f"unknown task {self.task!r}; expected one of {TASKS}")
        if self.format_version > FORMAT_VERSION:
            raise CheckpointError(
                f"checkpoint format {self.format_version} is newer than this rasid ({FORMAT_VERSION}); upgrade rasid"
            )
        if self.has_tagging and not self.entity_labels:
            raise CheckpointError(f"task {self.task!r} needs entity_labels")
        if self.has_classification and not self.attack_types:
            raise CheckpointError(f"task {self.task!r} needs attack_types")
        for lab in list(self.entity_labels) + list(self.attack_types):
            if not isinstance(lab, str) or not lab or any(c in lab for c in "/\\\0") or ".." in lab:
                raise CheckpointError(f"invalid label name {lab!r} in checkpoint config")
        if not isinstance(self.encoder, PreTrainedConfig):
            raise CheckpointError("config.json has no encoder config with a model_type")


def read_config_dict(path: str | os.PathLike) -> dict:
    """config.json of a rasid checkpoint directory, checked before anything is built from it."""
    path = Path(path)
    if not path.is_dir():
        raise CheckpointError(f"checkpoint directory {path} does not exist")
    cfg_file = path / CONFIG_NAME
    if not cfg_file.is_file():
        raise CheckpointError(f"{path} has no {CONFIG_NAME}; is this a rasid checkpoint directory?")
    try:
        d = json.loads(cfg_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{cfg_file} is not valid JSON: {exc}") from None
    if not isinstance(d, dict) or d.get("model_type") != "rasid":
        found = d.get("model_type") if isinstance(d, dict) else None
        raise CheckpointError(
            f"{cfg_file} is not a rasid config (model_type={found!r}); "
            "to fine-tune a plain HF encoder use rasid-train model.name_or_path=DIR"
        )
    if d.get("auto_map") or d.get("trust_remote_code"):
        raise CheckpointError(f"{cfg_file} asks for remote code; rasid never runs code from a checkpoint")
    for key in ("tokenizer_file", "vocab_file"):
        if key in d:
            raise CheckpointError(f"{cfg_file} names a file ({key}); rasid reads files only from the checkpoint directory")
    enc = d.get("encoder")
    if not isinstance(enc, dict) or not enc.get("model_type"):
        raise CheckpointError(f"{cfg_file} has no encoder config with a model_type")
    return d


def load_config(path: str | os.PathLike) -> RasidConfig:
    """The checked and validated RasidConfig of a checkpoint directory (format 1 or 2)."""
    d = read_config_dict(path)
    try:
        cfg = RasidConfig.from_dict(d)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, CheckpointError):
            raise
        raise CheckpointError(f"{Path(path) / CONFIG_NAME}: {exc}") from None
    cfg.validate()
    return cfg


AutoConfig.register(RasidConfig.model_type, RasidConfig, exist_ok=True)
