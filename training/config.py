"""The schema of rasid-train's config: one dataclass per Hydra group, registered in
Hydra's ConfigStore as ``base_<group>``.

Every YAML file under ``configs/`` extends its group's schema
(``defaults: [base_model, _self_]``), so Hydra checks keys and types while it
composes: ``rasid-train model.max_length=abc`` or ``model.colour=blue`` fails with
Hydra's message (key, expected type, file) before anything is read.
``trainer.args`` is an open mapping for transformers.TrainingArguments; ``to_settings``
checks its names and types against TrainingArguments' own fields right after.
The values live in the YAML only; fields here are ``MISSING`` unless a default
is part of the contract. ``OmegaConf.to_object`` turns the composed config into
these dataclasses, which is all the training code ever sees.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Optional

from omegaconf import MISSING


class Pooling(StrEnum):
    mean = "mean"
    cls = "cls"


class TaskName(StrEnum):
    joint = "joint"
    tagging = "tagging"
    classification = "classification"


@dataclass
class PathsConfig:
    output_root: str = MISSING
    corpus_dir: str = MISSING


@dataclass
class DataConfig:
    name: str = MISSING
    train: Any = MISSING  # a path or a list of paths; a list after to_object
    dev: Optional[str] = MISSING
    test: Optional[str] = MISSING
    augmented: Any = None  # a path or a list of paths; a list after to_object
    use_augmented: bool = MISSING
    augmented_limit: Optional[int] = MISSING
    proclitics: str = MISSING  # with | without: checked by rasid.inference.normalize
    style_copies: int = MISSING
    entity_labels: Any = MISSING  # a list of labels, or "auto": see resolve_entity_labels
    attack_types: list[str] = MISSING

    def __post_init__(self) -> None:
        # OmegaConf cannot type "a path or a list of paths"; to_object runs this, so the code sees lists
        for key in ("train", "augmented"):
            value = getattr(self, key)
            if isinstance(value, str):
                setattr(self, key, [value])
            elif value is None and key == "augmented":
                setattr(self, key, [])
            elif not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                raise ValueError(f"data.{key} must be a path or a list of paths, not {value!r}")
        labels = self.entity_labels
        if labels != "auto" and not (isinstance(labels, list) and all(isinstance(x, str) for x in labels)):
            raise ValueError(f"data.entity_labels must be a list of labels or auto, not {labels!r}")


@dataclass
class NormalizationSettings:
    strip_diacritics: bool = MISSING
    strip_tatweel: bool = MISSING
    strip_invisible: bool = MISSING
    normalize_alef: bool = MISSING
    normalize_alef_maqsura: bool = MISSING
    normalize_teh_marbuta: bool = MISSING
    normalize_digits: bool = MISSING
    nfkc_presentation_forms: bool = MISSING
    word_input: str = MISSING  # split | whole: checked by rasid.inference.normalize


@dataclass
class ModelConfig:
    preset: str = MISSING
    name_or_path: Optional[str] = MISSING  # HF id or local directory; None = build the encoder from scratch
    encoder: dict[str, Any] = field(default_factory=dict)  # BertConfig fields of a from-scratch encoder
    vocab_size: int = MISSING
    min_frequency: int = MISSING
    max_length: int = MISSING
    stride: int = MISSING
    pooling: Pooling = MISSING
    pooled_norm: bool = MISSING
    type_attention: bool = MISSING
    classifier_dropout: float = MISSING
    normalization: NormalizationSettings = MISSING
    mlm_epochs: float = MISSING  # masked-LM epochs on corpus text before fine-tuning (from-scratch only)
    freeze_embeddings: bool = MISSING  # keep the pretrained embedding table as it is (pretrained encoders)
    freeze_layers: int = MISSING  # keep the lowest N transformer layers as they are


@dataclass
class TaskConfig:
    name: TaskName = MISSING
    tag_weight: float = MISSING
    type_weight: float = MISSING
    label_all_subwords: bool = MISSING


@dataclass
class TrainerConfig:
    head_learning_rate: Optional[float] = MISSING  # the heads' rate; None = args.learning_rate
    early_stopping_patience: int = MISSING
    num_threads: Optional[int] = MISSING
    html_reports: bool = MISSING
    progress_bar: bool = MISSING
    type_threshold: Optional[float] = MISSING  # one attack-type threshold for all types; None = tune each on dev
    # transformers.TrainingArguments, handed over as is (TrainingArguments checks names and values)
    args: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainConfig:
    paths: PathsConfig = MISSING
    data: DataConfig = MISSING
    model: ModelConfig = MISSING
    task: TaskConfig = MISSING
    trainer: TrainerConfig = MISSING
    output_dir: str = MISSING
    seed: int = MISSING
    resume: str = "auto"  # auto | never | PATH of a checkpoint (see rasid.training.resume)


def register() -> None:
    """Put the schemas in Hydra's ConfigStore and register rasid's resolvers; idempotent."""
    from hydra.core.config_store import ConfigStore
    from omegaconf import OmegaConf

    cs = ConfigStore.instance()
    cs.store(name="base_train", node=TrainConfig)
    for group, node in (("paths", PathsConfig), ("data", DataConfig), ("model", ModelConfig),
                        ("task", TaskConfig), ("trainer", TrainerConfig)):
        cs.store(group=group, name=f"base_{group}", node=node)
    if not OmegaConf.has_resolver("rasid_corpus"):
        # ``${rasid_corpus:}``: the corpus directory shipped inside the package
        import rasid.data

        OmegaConf.register_new_resolver("rasid_corpus", lambda: str(Path(rasid.data.__file__).parent / "corpus"))
    if not OmegaConf.has_resolver("rasid_e5"):
        # ``${rasid_e5:}``: where the converted multilingual-e5-small lives; train() converts it on first use
        from rasid.models.e5 import default_dir

        OmegaConf.register_new_resolver("rasid_e5", lambda: str(default_dir()))
    if not OmegaConf.has_resolver("rasid_native_bf16"):
        # ``${rasid_native_bf16:}``: whether this machine computes bfloat16 natively (trainer.args.bf16)
        OmegaConf.register_new_resolver("rasid_native_bf16", native_bf16)


def native_bf16() -> bool:
    """True where bfloat16 runs natively: a CUDA GPU that supports it, or a CPU with AVX512-BF16 or
    AMX. Elsewhere autocast emulates bf16 and steps get slower than fp32, so the default stays fp32."""
    import torch

    if torch.cuda.is_available():
        return bool(torch.cuda.is_bf16_supported())
    cpu = torch.cpu  # the two checks are private in torch 2.x: absent means unknown, so fp32
    return any(bool(getattr(cpu, name, lambda: False)()) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"))


class ConfigError(ValueError):
    """A setting rasid-train cannot use: reported in one line, like bad data."""


def to_settings(cfg) -> TrainConfig:
    """The composed DictConfig as typed dataclasses. OmegaConf raises, naming the key, for what
    composition lets through: a key added with ``+`` that the schema does not have, a ``???``
    left unset (MissingMandatoryValue); ConfigError for a misspelt or mistyped ``trainer.args``."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    data = OmegaConf.to_container(cfg, resolve=False)
    data.pop("hydra", None)
    typed = OmegaConf.merge(OmegaConf.structured(TrainConfig), data)
    try:
        OmegaConf.merge(_training_args_schema(), typed.trainer.args)
    except OmegaConfBaseException as exc:
        msg = str(exc.msg).splitlines()[0]
        raise ConfigError(f"trainer.args.{exc.full_key}: {msg} (trainer.args are transformers.TrainingArguments)") from None
    return OmegaConf.to_object(typed)


def _training_args_schema():
    """transformers.TrainingArguments as an OmegaConf schema: its field names, with the types
    OmegaConf can check (others Any), all unset. Merging trainer.args into it rejects a misspelt
    name or a value of the wrong type before any data is read."""
    import dataclasses
    import enum
    import types
    import typing

    from omegaconf import OmegaConf
    from transformers import TrainingArguments

    def checkable(t):
        members = set(typing.get_args(t)) if typing.get_origin(t) in (typing.Union, types.UnionType) else {t}
        optional = type(None) in members
        members.discard(type(None))
        if str in members and all(m is str or (isinstance(m, type) and issubclass(m, enum.Enum)) for m in members):
            members = {str}  # IntervalStrategy | str and the like: the value's name
        if len(members) == 1 and (m := next(iter(members))) in (bool, int, float, str):
            return Optional[m] if optional else m
        return Any

    hints = typing.get_type_hints(TrainingArguments)
    fields = [(f.name, checkable(hints[f.name]), dataclasses.field(default=MISSING))
              for f in dataclasses.fields(TrainingArguments) if f.init]
    return OmegaConf.structured(dataclasses.make_dataclass("TrainingArguments", fields))


def resolve_entity_labels(data: DataConfig) -> list[str]:
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
