"""The training loss around a RasidModel: one forward pass, one weighted loss."""

from __future__ import annotations

import torch
from torch import nn

from .features import IGNORE


class JointObjective(nn.Module):
    """loss = tag_weight * token CE + type_weight * attack-type BCE.

    The HF Trainer trains and checkpoints this wrapper; the final checkpoint is
    the inner ``model`` alone.
    """

    def __init__(self, model: nn.Module, tag_weight: float = 1.0, type_weight: float = 1.0):
        super().__init__()
        self.model = model
        self.tag_weight = tag_weight
        self.type_weight = type_weight
        self.token_loss = nn.CrossEntropyLoss(ignore_index=IGNORE)
        self.type_loss = nn.BCEWithLogitsLoss()

    def forward(
        self,
        input_ids: torch.Tensor,  # (B, T)
        attention_mask: torch.Tensor,  # (B, T)
        labels: torch.Tensor | None = None,  # (B, T) tag ids, IGNORE where unlabelled
        type_labels: torch.Tensor | None = None,  # (B, C) multi-hot
    ) -> dict[str, torch.Tensor]:
        out = self.model(input_ids=input_ids, attention_mask=attention_mask)
        loss = input_ids.new_zeros((), dtype=torch.float)
        if labels is not None and "token_logits" in out:
            logits = out["token_logits"]  # (B, T, num_tags)
            loss = loss + self.tag_weight * self.token_loss(logits.reshape(-1, logits.size(-1)), labels.reshape(-1))
        if type_labels is not None and "type_logits" in out:
            loss = loss + self.type_weight * self.type_loss(out["type_logits"], type_labels)  # (B, C)
        return {"loss": loss, **out}
