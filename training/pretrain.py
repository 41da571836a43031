"""Optional masked-LM pre-training of the from-scratch encoder on corpus text.

A few epochs of MLM over the training windows give the tiny encoder word
representations before it sees any label. Enabled by ``model.mlm_epochs``.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import torch
from torch import nn

log = logging.getLogger("rasid.pretrain")


def mlm_pretrain(encoder: nn.Module, tokenizer, windows: list[list[int]], args, epochs: float, out: Path) -> None:
    """Train ``encoder`` in place with BERT's 80/10/10 masking of 15% of tokens, for ``epochs`` epochs at
    the fine-tuning run's rate, decay, batch size and seed (``args``: its TrainingArguments)."""
    from transformers import get_linear_schedule_with_warmup

    done_flag = out / "done"
    weights = out / "encoder.pt.safetensors"
    if done_flag.exists() and weights.exists():  # resumed run: reuse the finished pre-training
        from safetensors.torch import load_file

        encoder.load_state_dict(load_file(str(weights)))
        log.info("MLM pre-training already done; loaded %s", weights)
        return
    hidden = encoder.config.hidden_size
    vocab = encoder.config.vocab_size
    head = nn.Sequential(nn.Linear(hidden, hidden), nn.GELU(), nn.LayerNorm(hidden), nn.Linear(hidden, vocab))
    params = list(encoder.parameters()) + list(head.parameters())
    opt = torch.optim.AdamW(params, lr=args.learning_rate, weight_decay=args.weight_decay)
    bs = args.per_device_train_batch_size
    steps = max(1, int(math.ceil(len(windows) / bs) * epochs))
    sched = get_linear_schedule_with_warmup(opt, int(0.06 * steps), steps)
    gen = torch.Generator().manual_seed(args.seed)
    special = torch.tensor(sorted(set(tokenizer.all_special_ids)))
    mask_id, pad_id = tokenizer.mask_token_id, tokenizer.pad_token_id or 0
    encoder.train()
    head.train()
    step = 0
    while step < steps:
        order = torch.randperm(len(windows), generator=gen).tolist()
        for b in range(0, len(order), bs):
            batch = [windows[i] for i in order[b : b + bs]]
            T = max(len(w) for w in batch)
            ids = torch.full((len(batch), T), pad_id, dtype=torch.long)  # (B, T)
            for r, w in enumerate(batch):
                ids[r, : len(w)] = torch.tensor(w)
            attn = (ids != pad_id).long()
            labels = ids.clone()
            can_mask = attn.bool() & ~torch.isin(ids, special)
            chosen = (torch.rand(ids.shape, generator=gen) < 0.15) & can_mask
            labels[~chosen] = -100
            inputs = ids.clone()
            r = torch.rand(ids.shape, generator=gen)
            inputs[chosen & (r < 0.8)] = mask_id
            rand_tok = torch.randint(len(special), vocab, ids.shape, generator=gen)
            swap = chosen & (r >= 0.8) & (r < 0.9)
            inputs[swap] = rand_tok[swap]
            h = encoder(input_ids=inputs, attention_mask=attn).last_hidden_state  # (B, T, H)
            loss = nn.functional.cross_entropy(head(h).reshape(-1, vocab), labels.reshape(-1), ignore_index=-100)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            step += 1
            if step % max(1, int(args.logging_steps)) == 0:
                log.info("MLM step %d/%d loss %.3f", step, steps, loss.item())
            if step >= steps:
                break
    encoder.eval()
    out.mkdir(parents=True, exist_ok=True)
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in encoder.state_dict().items()}, str(weights))
    done_flag.write_text("ok")
