"""rasid's model: one transformer encoder, a token head and an attack-type head.

``RasidForEventExtraction`` is a transformers ``PreTrainedModel``; importing
``rasid.models`` registers it (and ``RasidConfig``) with ``AutoConfig`` and
``AutoModel``, so a checkpoint directory loads the transformers way::

    import rasid.models
    from transformers import AutoModel
    model = AutoModel.from_pretrained("outputs/default/model")

A checkpoint directory is self-describing::

    config.json        RasidConfig: task, label maps, thresholds, windowing,
                       normalisation, the encoder's HF config
    model.safetensors  weights (encoder.*, token_head.*, type_head.*, type_norm.*,
                       type_query.* and type_value.* with type_attention)
    tokenizer.json ... the fast tokenizer (AutoTokenizer reads it)

The HF Trainer trains this class directly (``forward`` returns the weighted
joint loss when labels are given), so Trainer checkpoints, the final model and
checkpoints written by rasid's first format (``format_version: 1``) share one
weight layout. Loading never unpickles and never runs code from the directory.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from transformers import AutoModel, AutoTokenizer, PreTrainedModel, TokenizersBackend
from transformers.utils import ModelOutput

from .configuration import (  # noqa: F401  (re-exported: the names rasid code imports from here)
    CONFIG_NAME,
    FORMAT_VERSION,
    TASKS,
    CheckpointError,
    RasidConfig,
    load_config,
    read_config_dict,
)

WEIGHTS_NAME = "model.safetensors"
IGNORE = -100  # label id of tokens that carry no tag (padding, special tokens, non-first sub-words)
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")


@dataclass
class RasidOutput(ModelOutput):
    """What ``RasidForEventExtraction.forward`` returns; a head the task lacks stays None."""

    loss: torch.FloatTensor | None = None  # () weighted joint loss, when labels are given
    token_logits: torch.FloatTensor | None = None  # (B, T, num_tags)
    type_logits: torch.FloatTensor | None = None  # (B, num_types)


class RasidForEventExtraction(PreTrainedModel):
    config_class = RasidConfig
    base_model_prefix = "rasid"  # no weight carries this prefix: transformers never strips or adds one
    main_input_name = "input_ids"
    supports_gradient_checkpointing = True
    _supports_sdpa = True

    def __init__(self, config: RasidConfig, encoder: nn.Module | None = None):
        super().__init__(config)
        config.validate()
        # ``encoder``: a pretrained HF encoder to fine-tune (its weights are kept); None builds one from config.
        self.encoder = encoder if encoder is not None else AutoModel.from_config(config.encoder)
        if getattr(self.encoder, "pooler", None) is not None:
            self.encoder.pooler = None  # rasid pools itself; an unused pooler only breaks DDP and wastes weights
        hidden = config.encoder.hidden_size
        self.dropout = nn.Dropout(config.classifier_dropout)
        self.token_head = nn.Linear(hidden, len(config.tags)) if config.has_tagging else None
        self.type_head = nn.Linear(hidden, len(config.attack_types)) if config.has_classification else None
        # A pretrained encoder's mean-pooled vectors all lean the same way (e5's cosine between unrelated
        # sentences is ~0.8): per-vector LayerNorm keeps that shared direction, and the type head then sees
        # nearly one input and learns only the label base rates. BatchNorm subtracts the mean over segments,
        # so what reaches the head is what tells segments apart.
        self.type_norm = nn.BatchNorm1d(hidden) if config.has_classification and config.pooled_norm else None
        # Label-wise attention: each attack type scores every token (query) and reads its own evidence
        # there (value). A pooled vector spreads one trigger word over the whole segment; this lets a type
        # fire on the few tokens that carry it ("fired on worshippers") whatever the rest of the story says.
        with_att = config.has_classification and config.type_attention
        self.type_query = nn.Linear(hidden, len(config.attack_types), bias=False) if with_att else None
        self.type_value = nn.Linear(hidden, len(config.attack_types)) if with_att else None
        self.post_init()  # initialises the heads only: the encoder's modules are initialised already

    def _init_weights(self, module: nn.Module) -> None:
        """BERT-style heads: small normal weights, zero bias; BatchNorm at identity."""
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm1d):
            module.reset_parameters()

    def get_input_embeddings(self) -> nn.Module:
        return self.encoder.get_input_embeddings()

    def forward(
        self,
        input_ids: torch.Tensor,  # (B, T)
        attention_mask: torch.Tensor | None = None,  # (B, T), 1 = real token
        token_type_ids: torch.Tensor | None = None,  # (B, T)
        labels: torch.Tensor | None = None,  # (B, T) tag ids, IGNORE where unlabelled
        type_labels: torch.Tensor | None = None,  # (B, num_types) multi-hot
        return_dict: bool | None = None,
    ) -> RasidOutput | tuple:
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:
            kwargs["token_type_ids"] = token_type_ids
        h = self.encoder(**kwargs).last_hidden_state  # (B, T, H)
        h = self.dropout(h)
        token_logits = self.token_head(h) if self.token_head is not None else None  # (B, T, num_tags)
        type_logits = None
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
            type_logits = self.type_head(pooled)  # (B, num_types)
            if self.type_query is not None:
                scores = self.type_query(h)  # (B, T, C): how much each token speaks for each type
                pad = attention_mask.unsqueeze(-1) == 0  # (B, T, 1)
                scores = scores.float().masked_fill(pad, torch.finfo(torch.float32).min)
                alpha = scores.softmax(dim=1).to(h.dtype)  # (B, T, C): over the tokens of each segment
                type_logits = type_logits + (alpha * self.type_value(h)).sum(1)  # (B, C)
        loss = self._loss(token_logits, type_logits, labels, type_labels)
        out = RasidOutput(loss=loss, token_logits=token_logits, type_logits=type_logits)
        return out if return_dict is not False else out.to_tuple()

    def _loss(self, token_logits, type_logits, labels, type_labels) -> torch.Tensor | None:
        """tag_weight * token cross-entropy + type_weight * attack-type BCE, in fp32 whatever the compute dtype."""
        if labels is None and type_labels is None:
            return None
        loss = None
        if labels is not None and token_logits is not None:
            ce = nn.functional.cross_entropy(
                token_logits.float().reshape(-1, token_logits.size(-1)), labels.reshape(-1), ignore_index=IGNORE
            )  # mean over labelled tokens of (B, T)
            loss = self.config.tag_weight * ce
        if type_labels is not None and type_logits is not None:
            bce = nn.functional.binary_cross_entropy_with_logits(type_logits.float(), type_labels.float())  # over (B, C)
            loss = self.config.type_weight * bce if loss is None else loss + self.config.type_weight * bce
        if loss is None:  # labels for a head this task does not have
            loss = (token_logits if token_logits is not None else type_logits).sum() * 0.0
        return loss

    def head_parameters(self) -> list[nn.Parameter]:
        """Parameters initialised here (not by the encoder): they may train at their own rate."""
        mods = (self.token_head, self.type_head, self.type_norm, self.type_query, self.type_value)
        return [p for m in mods if m is not None for p in m.parameters()]

    # -- loading -----------------------------------------------------------
    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, *model_args, **kwargs):
        """transformers' loader, made strict: safetensors only, no remote code, and every
        weight of the checkpoint must fit the model its config describes."""
        path = Path(pretrained_model_name_or_path)
        if path.is_dir():  # local checkpoint: check config.json and refuse pickles before anything is built
            if kwargs.get("config") is None:
                load_config(path)
            else:
                read_config_dict(path)
            check_weights_file(path)
        kwargs["use_safetensors"] = True
        want_info = kwargs.pop("output_loading_info", False)
        model, info = super().from_pretrained(pretrained_model_name_or_path, *model_args, output_loading_info=True, **kwargs)
        bad = {k: sorted(info.get(k) or [])[:5] for k in ("missing_keys", "unexpected_keys", "mismatched_keys")}
        if any(bad.values()):
            raise CheckpointError(
                f"{Path(pretrained_model_name_or_path) / WEIGHTS_NAME} does not match config.json (task "
                f"{model.config.task!r}): missing {bad['missing_keys']}, unexpected {bad['unexpected_keys']}, "
                f"mismatched {bad['mismatched_keys']}. Was it saved by another task or model?"
            )
        return (model, info) if want_info else model


def check_weights_file(path: str | os.PathLike) -> None:
    """Refuse pickle checkpoints: they can run arbitrary code when loaded."""
    path = Path(path)
    if (path / WEIGHTS_NAME).is_file():
        return
    pickles = sorted(p.name for p in path.glob("*") if p.suffix in PICKLE_SUFFIXES)
    if pickles:
        src = path / pickles[0]
        raise CheckpointError(
            f"{path} holds only pickle weights ({', '.join(pickles)}); rasid loads safetensors only, since "
            "unpickling can run code. If you trust the file, convert it once, in an environment you can throw away:\n"
            f"  python -c \"import torch; from safetensors.torch import save_file; "
            f"save_file(torch.load('{src}', weights_only=True), '{path / WEIGHTS_NAME}')\""
        )
    raise CheckpointError(f"{path} has no {WEIGHTS_NAME}; is this a rasid checkpoint directory?")


@contextmanager
def quiet_loading() -> Iterator[None]:
    """No transformers progress bars while rasid loads or saves a model (batch jobs log their own progress)."""
    from transformers.utils import logging as hf_logging

    was_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_on:
            hf_logging.enable_progress_bar()


RasidModel = RasidForEventExtraction  # the name of format 1; kept for code that imports it

AutoModel.register(RasidConfig, RasidForEventExtraction, exist_ok=True)
# AutoTokenizer reads config.json first: with this it knows a rasid checkpoint holds a fast tokenizer.json
AutoTokenizer.register(RasidConfig, tokenizer_class=TokenizersBackend, exist_ok=True)
