"""What a run does with an output directory that already holds one (``resume=auto|never|PATH``).

OUTPUT_DIR/train_config.yaml is the resolved config the checkpoints, tokenizer and
model in OUTPUT_DIR were trained with. ``auto`` resumes only when the new config
equals it, keys that cannot change the model aside (logging, progress bars,
reports, threads); otherwise it stops and names the differing keys. ``never``
moves the previous run's files to OUTPUT_DIR/replaced/<time>/ (nothing is
deleted) and starts clean. A path resumes from that checkpoint, whatever its
config (the differences are logged).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import yaml

from .config import ConfigError, TrainConfig

log = logging.getLogger("rasid.train")

SAVED = "train_config.yaml"
# files of a run in OUTPUT_DIR; runs/ (Hydra's record of each run) stays where it is
RUN_FILES = ("checkpoints", "tokenizer", "mlm", "model", "model.tmp", SAVED)
# keys whose value cannot change the trained model (prefixes of dotted keys)
IGNORED = ("resume", "output_dir", "paths.", "trainer.progress_bar", "trainer.html_reports", "trainer.num_threads",
           "trainer.args.logging_", "trainer.args.report_to", "trainer.args.disable_tqdm",
           "trainer.args.dataloader_num_workers", "trainer.args.save_total_limit", "trainer.args.run_name")


def snapshot(s: TrainConfig) -> dict:
    """The resolved config as plain YAML values (enums as their names)."""
    from omegaconf import OmegaConf

    return yaml.safe_load(OmegaConf.to_yaml(OmegaConf.structured(s)))


def _flatten(d, prefix: str = "") -> dict:
    if isinstance(d, dict):
        return {k: v for key, sub in d.items() for k, v in _flatten(sub, f"{prefix}{key}.").items()}
    return {prefix[:-1]: d}


def differences(old: dict, new: dict) -> list[str]:
    """``key: old -> new`` for every result-changing key that differs."""
    a, b = _flatten(old), _flatten(new)
    keys = sorted(k for k in set(a) | set(b) if a.get(k, "(unset)") != b.get(k, "(unset)")
                  and not any(k == p or k.startswith(p) for p in IGNORED))
    return [f"{k}: {a.get(k, '(unset)')!r} -> {b.get(k, '(unset)')!r}" for k in keys]


def _rank0() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def prepare_output_dir(s: TrainConfig, out: Path) -> str | None:
    """Apply ``s.resume`` to ``out`` before any data is read; return the checkpoint to resume from."""
    from transformers.trainer_utils import get_last_checkpoint

    saved, new = out / SAVED, snapshot(s)
    if s.resume == "never":
        old = [out / f for f in RUN_FILES if (out / f).exists()]
        if old and _rank0():
            dest = out / "replaced" / time.strftime("%Y-%m-%d_%H-%M-%S")
            dest.mkdir(parents=True, exist_ok=True)
            for p in old:
                p.rename(dest / p.name)
            log.info("resume=never: moved the previous run's files to %s", dest)
        last = None
    elif s.resume == "auto":
        ckpts = out / "checkpoints"
        last = get_last_checkpoint(str(ckpts)) if ckpts.is_dir() else None
        if last or (out / "model").is_dir():  # something a new run would resume or overwrite
            diff = differences(yaml.safe_load(saved.read_text(encoding="utf-8")), new) if saved.is_file() else [
                f"(no {SAVED}: the settings of the run there are unknown)"]
            if diff:
                raise ConfigError(
                    f"output_dir {out} holds a run trained with other settings:\n  " + "\n  ".join(diff)
                    + f"\nEither start afresh there with resume=never (the old run's files move to {out}/replaced/), "
                    "or give this run its own output_dir=...")
    else:
        ckpt = Path(s.resume)
        if not (ckpt / "trainer_state.json").is_file():
            raise ConfigError(f"resume={s.resume!r}: not auto, never or a checkpoint directory "
                              "(OUTPUT_DIR/checkpoints/checkpoint-N, holding trainer_state.json)")
        theirs = ckpt.parent.parent / SAVED
        if theirs.is_file():
            for line in differences(yaml.safe_load(theirs.read_text(encoding="utf-8")), new):
                log.warning("resume=%s with a setting changed: %s", ckpt, line)
        last = str(ckpt)
    if _rank0():
        out.mkdir(parents=True, exist_ok=True)
        saved.write_text(yaml.safe_dump(new, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return last
