"""Typed training settings. Hydra stays at the edge: ``from_config`` turns the
composed DictConfig into these dataclasses once, and everything below takes
plain typed values."""

from __future__ import annotations

from dataclasses import dataclass, field, fields


@dataclass
class DataSettings:
    train: list[str]
    dev: str | None
    test: str | None
    augmented: list[str] = field(default_factory=list)
    use_augmented: bool = True
    augmented_limit: int | None = None
    style_copies: int = 0
    proclitics: str = "without"
    entity_labels: list[str] | str = field(default_factory=list)  # or "auto": resolve_entity_labels reads them off data.train
    attack_types: list[str] = field(default_factory=list)


def resolve_entity_labels(data: DataSettings) -> list[str]:
    """``data.entity_labels``, with ``auto`` read off the training file(s): the
    sorted labels they use (stable across runs)."""
    if data.entity_labels != "auto":
        return list(data.entity_labels)
    from rasid.data.schema import infer_entity_labels

    labels = infer_entity_labels(data.train)
    if not labels:
        raise ValueError(f"data.entity_labels=auto: no entity labels in data.train ({', '.join(data.train)})")
    if data.use_augmented and data.augmented:
        extra = sorted(set(infer_entity_labels(data.augmented)) - set(labels))
        if extra:
            raise ValueError(f"data.entity_labels=auto read {','.join(labels)} from data.train, but the augmented set "
                             f"({', '.join(data.augmented)}) also uses {','.join(extra)}: for your own labels set "
                             "data.use_augmented=false")
    return labels


@dataclass
class ModelSettings:
    preset: str
    name_or_path: str | None = None  # HF id or local dir; None = build the tiny encoder from scratch
    encoder: dict = field(default_factory=dict)  # BertConfig fields for a from-scratch encoder
    vocab_size: int = 8000
    min_frequency: int = 2
    max_length: int = 128
    stride: int = 32
    pooling: str = "mean"
    pooled_norm: bool = False
    classifier_dropout: float = 0.1
    learning_rate: float = 5e-4
    head_learning_rate: float | None = None  # None = learning_rate
    epochs: float = 20
    warmup_ratio: float = 0.06
    weight_decay: float = 0.01
    normalization: dict = field(default_factory=dict)
    mlm_epochs: float = 0  # masked-LM pre-training epochs on corpus text before fine-tuning (tiny only)


@dataclass
class TaskSettings:
    name: str
    tag_weight: float = 1.0
    type_weight: float = 1.0
    label_all_subwords: bool = False


@dataclass
class TrainerSettings:
    batch_size: int = 32
    eval_batch_size: int = 64
    gradient_accumulation_steps: int = 1
    group_by_length: bool = True
    max_steps: int = -1
    early_stopping_patience: int = 5
    save_total_limit: int = 2
    save_steps: int | None = None
    logging_steps: int = 50
    report_to: list[str] = field(default_factory=lambda: ["tensorboard"])
    num_threads: int | None = None
    dataloader_num_workers: int = 0
    resume: bool = True
    html_reports: bool = True
    progress_bar: bool = True


@dataclass
class Settings:
    output_dir: str
    seed: int
    data: DataSettings
    model: ModelSettings
    task: TaskSettings
    trainer: TrainerSettings


def _build(cls, d: dict, where: str):
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(d) - known)
    if unknown:
        raise ValueError(f"unknown setting(s) {', '.join(where + '.' + u for u in unknown)}")
    return cls(**d)


def from_config(cfg) -> Settings:
    """DictConfig (or plain dict) -> Settings, with clear errors for bad keys."""
    from omegaconf import DictConfig, OmegaConf

    from omegaconf.errors import MissingMandatoryValue

    if isinstance(cfg, DictConfig):
        try:
            d = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
        except MissingMandatoryValue as exc:
            raise ValueError(f"{exc.full_key} is required: set it on the command line, "
                             f"e.g. {exc.full_key}=...") from None
    else:
        d = dict(cfg)
    d = {k: v for k, v in d.items() if k not in ("paths", "hydra", "hparams_search")}
    data = dict(d.pop("data"))
    data.pop("name", None)
    if isinstance(data.get("train"), str):
        data["train"] = [data["train"]]
    if isinstance(data.get("augmented"), str):
        data["augmented"] = [data["augmented"]]
    if isinstance(data.get("entity_labels"), str) and data["entity_labels"] != "auto":
        raise ValueError(f"data.entity_labels must be a list of labels or auto, not {data['entity_labels']!r}")
    return Settings(
        output_dir=str(d.pop("output_dir")),
        seed=int(d.pop("seed")),
        data=_build(DataSettings, data, "data"),
        model=_build(ModelSettings, d.pop("model"), "model"),
        task=_build(TaskSettings, d.pop("task"), "task"),
        trainer=_build(TrainerSettings, d.pop("trainer"), "trainer"),
    )
