"""rasid's model: one transformer encoder, a token head and an attack-type head.

A checkpoint directory is self-describing::

    config.json        RasidConfig: task, label maps, thresholds, max length,
                       normalisation, the encoder's HF config
    model.safetensors  weights (encoder.*, token_head.*, type_head.*)
    tokenizer.json ... the fast tokenizer

Loading never reads a Hydra config, never unpickles, never runs remote code.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
FORMAT_VERSION = 1
TASKS = ("joint", "tagging", "classification")


class CheckpointError(ValueError):
    """A checkpoint directory that cannot be loaded safely; the message names the fix."""


@dataclass
class RasidConfig:
    task: str  # joint | tagging | classification
    encoder: dict  # the HF config of the encoder (to_dict()), rebuilt offline
    entity_labels: list[str] = field(default_factory=list)  # e.g. ["ACTOR", "KILLED", "WOUNDED"]
    attack_types: list[str] = field(default_factory=list)
    thresholds: dict[str, float] = field(default_factory=dict)  # per attack type, tuned on dev
    max_length: int = 256  # tokens per window, [CLS]/[SEP] included
    stride: int = 64  # tokens of overlap between consecutive windows
    pooling: str = "mean"  # mean | cls: sequence representation for the type head
    pooled_norm: bool = False  # batch-normalise the pooled vector before the type head (pretrained encoders)
    label_all_subwords: bool = False
    classifier_dropout: float = 0.1
    normalization: dict = field(default_factory=dict)  # NormalizationConfig.to_dict()
    clitic_stems: list[str] = field(default_factory=list)  # extra words.py stems
    format_version: int = FORMAT_VERSION

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
        d = asdict(self)
        d["model_type"] = "rasid"
        d["id2label"] = dict(enumerate(self.tags)) if self.has_tagging else {}
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "RasidConfig":
        d = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        cfg = cls(**d)
        cfg.validate()
        return cfg

    def validate(self) -> None:
        if self.task not in TASKS:
            raise CheckpointError(f"unknown task {self.task!r}; expected one of {TASKS}")
        if self.format_version > FORMAT_VERSION:
            raise CheckpointError(
                f"checkpoint format {self.format_version} is newer than this rasid "
                f"({FORMAT_VERSION}); upgrade rasid"
            )
        if self.has_tagging and not self.entity_labels:
            raise CheckpointError(f"task {self.task!r} needs entity_labels")
        if self.has_classification and not self.attack_types:
            raise CheckpointError(f"task {self.task!r} needs attack_types")
        for lab in list(self.entity_labels) + list(self.attack_types):
            if not isinstance(lab, str) or not lab or any(c in lab for c in "/\\\0") or ".." in lab:
                raise CheckpointError(f"invalid label name {lab!r} in checkpoint config")
        if not isinstance(self.encoder, dict) or "model_type" not in self.encoder:
            raise CheckpointError("config.json has no encoder config with a model_type")


def build_encoder(encoder_config: dict) -> nn.Module:
    """An HF encoder with random weights from a config dict (no download)."""
    from transformers import AutoConfig, AutoModel

    d = dict(encoder_config)
    model_type = d.pop("model_type")
    hf_cfg = AutoConfig.for_model(model_type, **d)
    return AutoModel.from_config(hf_cfg)


class RasidModel(nn.Module):
    def __init__(self, config: RasidConfig, encoder: nn.Module | None = None):
        super().__init__()
        config.validate()
        self.config = config
        self.encoder = encoder if encoder is not None else build_encoder(config.encoder)
        if getattr(self.encoder, "pooler", None) is not None:
            self.encoder.pooler = None  # rasid pools itself; an unused pooler only breaks DDP and wastes weights
        hidden = self.encoder.config.hidden_size
        self.dropout = nn.Dropout(config.classifier_dropout)
        self.token_head = nn.Linear(hidden, len(config.tags)) if config.has_tagging else None
        self.type_head = nn.Linear(hidden, len(config.attack_types)) if config.has_classification else None
        # A pretrained encoder's mean-pooled vectors all lean the same way (e5's cosine between unrelated
        # sentences is ~0.8): per-vector LayerNorm keeps that shared direction, and the type head then sees
        # nearly one input and learns only the label base rates. BatchNorm subtracts the mean over segments,
        # so what reaches the head is what tells segments apart.
        self.type_norm = nn.BatchNorm1d(hidden) if config.has_classification and config.pooled_norm else None
        for head in (self.token_head, self.type_head):
            if head is not None:  # BERT-style init: small weights, zero bias
                nn.init.normal_(head.weight, std=0.02)
                nn.init.zeros_(head.bias)

    def forward(
        self,
        input_ids: torch.Tensor,  # (B, T)
        attention_mask: torch.Tensor,  # (B, T)
        token_type_ids: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:
            kwargs["token_type_ids"] = token_type_ids
        h = self.encoder(**kwargs).last_hidden_state  # (B, T, H)
        h = self.dropout(h)
        out: dict[str, torch.Tensor] = {}
        if self.token_head is not None:
            out["token_logits"] = self.token_head(h)  # (B, T, num_tags)
        if self.type_head is not None:
            if self.config.pooling == "cls":
                pooled = h[:, 0]  # (B, H)
            else:  # mean over real tokens: steadier than [CLS] for a small encoder trained from scratch
                m = attention_mask.unsqueeze(-1).to(h.dtype)  # (B, T, 1)
                pooled = (h * m).sum(1) / m.sum(1).clamp(min=1.0)  # (B, H)
            if self.type_norm is not None:
                n = self.type_norm
                if self.training and pooled.size(0) > 1:
                    pooled = n(pooled)  # (B, H): batch statistics, running averages updated
                else:  # inference, or a batch of one (no batch statistics): the running averages
                    pooled = nn.functional.batch_norm(pooled, n.running_mean, n.running_var, n.weight, n.bias, False, 0.0, n.eps)
            out["type_logits"] = self.type_head(pooled)  # (B, num_types)
        return out

    def head_parameters(self) -> list[nn.Parameter]:
        """Parameters initialised here (not by the encoder): they may train at their own rate."""
        mods = (self.token_head, self.type_head, self.type_norm)
        return [p for m in mods if m is not None for p in m.parameters()]

    # -- persistence -------------------------------------------------------
    def save_pretrained(self, path: str | os.PathLike) -> None:
        from safetensors.torch import save_file

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().contiguous().cpu() for k, v in self.state_dict().items()}
        save_file(state, str(path / WEIGHTS_NAME), metadata={"format": "pt", "rasid": str(FORMAT_VERSION)})
        (path / CONFIG_NAME).write_text(json.dumps(self.config.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike, map_location: str = "cpu") -> "RasidModel":
        config = load_config(path)
        weights = Path(path) / WEIGHTS_NAME
        check_weights_file(path)
        from safetensors.torch import load_file

        model = cls(config)
        state = load_file(str(weights), device=map_location)
        missing, unexpected = model.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise CheckpointError(
                f"{weights} does not match config.json (task {config.task!r}): "
                f"missing {sorted(missing)[:5]}, unexpected {sorted(unexpected)[:5]}. "
                "Was it saved by another task or model?"
            )
        model.eval()
        return model


def check_weights_file(path: str | os.PathLike) -> None:
    """Refuse pickle checkpoints: they can run arbitrary code when loaded."""
    path = Path(path)
    if (path / WEIGHTS_NAME).is_file():
        return
    pickles = [p.name for p in path.glob("*") if p.suffix in (".bin", ".pt", ".pth", ".ckpt", ".pkl")]
    if pickles:
        raise CheckpointError(
            f"{path} holds only pickle weights ({', '.join(sorted(pickles))}); rasid loads "
            "safetensors only, since unpickling can run code. Convert them with "
            "safetensors.torch.save_file in an environment you trust."
        )
    raise CheckpointError(f"{path} has no {WEIGHTS_NAME}; is this a rasid checkpoint directory?")


def load_config(path: str | os.PathLike) -> RasidConfig:
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
    if d.get("model_type") != "rasid":
        raise CheckpointError(
            f"{cfg_file} is not a rasid config (model_type={d.get('model_type')!r}); "
            "to fine-tune a plain HF encoder use rasid-train model.name_or_path=DIR"
        )
    if d.get("auto_map") or d.get("trust_remote_code"):
        raise CheckpointError(f"{cfg_file} asks for remote code; rasid never runs code from a checkpoint")
    for key in ("tokenizer_file", "vocab_file"):
        if key in d:
            raise CheckpointError(f"{cfg_file} names a file ({key}); rasid reads files only from the checkpoint directory")
    return RasidConfig.from_dict(d)
