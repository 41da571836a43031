"""A rasid checkpoint on the Hugging Face Hub: card metadata, the upload folder, the push.

    rasid-export --model outputs/default/model --push-to-hub my-org/rasid-e5-small
    rasid-export --model OLD_DIR --convert-to NEW_DIR      # a format-1 checkpoint, re-saved for the Hub

The upload holds exactly the files a user needs (``UPLOAD_FILES`` that
exist: weights, config, tokenizer, card, metrics, ONNX graphs) and is refused
when the card lacks Hub metadata or the card or config.json names a path on
this machine. ``push_to_hub`` stages the folder, then calls
``HfApi.create_repo`` and ``HfApi.upload_folder``; nothing else reaches the network.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path

from rasid.models.configuration import CONFIG_NAME, CheckpointError, load_config

REQUIRED_FILES = (CONFIG_NAME, "model.safetensors", "tokenizer.json", "README.md")
UPLOAD_FILES = REQUIRED_FILES + ("tokenizer_config.json", "special_tokens_map.json", "metrics.json",
                                 "model.onnx", "model.int8.onnx")
CARD_KEYS = ("language", "license", "pipeline_tag", "tags")
# An absolute path of two or more parts (/root/.cache/x, ~/data/x, C:\\data): where something sat on a machine.
_MACHINE_PATH = re.compile(r"(?<![\w.:/~-])(?:~|[A-Za-z]:)?(?:[/\\][\w.+@-]+){2,}")


def machine_paths(text: str) -> list[str]:
    """Absolute paths in ``text`` (URLs are not paths)."""
    return [m.group(0) for m in _MACHINE_PATH.finditer(text) if m.group(0)[0] in "/~" or m.group(0)[1] == ":"]


def card_metadata(config, results: dict, model_name: str, base_model: str | None = None):
    """``huggingface_hub.ModelCardData`` of a checkpoint: language, license, tags, pipeline_tag,
    base_model and a model-index with the entity and attack-type F1 of each evaluated split."""
    from huggingface_hub import EvalResult, ModelCardData

    from .schema import ENTITY_LABELS

    ents, types = list(config.entity_labels or []), list(config.attack_types or [])
    tags = ["rasid"] + ["token-classification"] * bool(ents) + ["text-classification"] * bool(types) + ["arabic"]
    tags += ["conflict-events"] * bool(set(ents) & set(ENTITY_LABELS) or types)
    evals = []
    for split, m in results.items():
        ds = {"dataset_type": "json", "dataset_name": f"rasid {split} split", "dataset_split": split}
        if "entities" in m:
            kw = {"task_type": "token-classification", "task_name": "Entity spans", **ds}
            evals.append(EvalResult(metric_type="f1", metric_name="entity F1 (strict IOB2, micro)",
                                    metric_value=m["entities"]["micro"]["f1"], **kw))
            if "partial" in m["entities"]:
                evals.append(EvalResult(metric_type="f1", metric_name="entity F1 (partial, micro)",
                                        metric_value=m["entities"]["partial"]["f1"], **kw))
        if "attack_types" in m:
            kw = {"task_type": "text-classification", "task_name": "Attack types (multi-label)", **ds}
            for avg in ("micro", "macro"):
                evals.append(EvalResult(metric_type="f1", metric_name=f"attack-type F1 ({avg})",
                                        metric_value=m["attack_types"][avg]["f1"], **kw))
    return ModelCardData(
        language=["ar"], license="apache-2.0", library_name="transformers", tags=tags, base_model=base_model,
        pipeline_tag="token-classification" if ents else "text-classification",
        model_name=model_name, eval_results=evals or None,
    )


def stage_upload(model_dir: str | Path, folder: str | Path) -> list[str]:
    """Copy what a Hub repo of ``model_dir`` should hold into ``folder``; return the file names.

    Refuses a directory that is no loadable rasid checkpoint, lacks a required file,
    has a card without Hub metadata, or names machine paths in its card or config.
    """
    from huggingface_hub import ModelCard

    model_dir, folder = Path(model_dir), Path(folder)
    load_config(model_dir)
    missing = [f for f in REQUIRED_FILES if not (model_dir / f).is_file()]
    if missing:
        raise CheckpointError(f"{model_dir} lacks {', '.join(missing)}: not a complete checkpoint to publish")
    card = ModelCard.load(model_dir / "README.md").data.to_dict()
    absent = [k for k in CARD_KEYS if not card.get(k)]
    metrics = model_dir / "metrics.json"
    if metrics.is_file() and json.loads(metrics.read_text(encoding="utf-8")) and "model-index" not in card:
        absent.append("model-index")  # evaluated, so the card must carry the results
    if absent:
        raise CheckpointError(
            f"{model_dir / 'README.md'} has no Hub metadata ({', '.join(absent)}); "
            f"re-save the checkpoint first: rasid-export --model {model_dir} --convert-to NEW_DIR"
        )
    for name in ("README.md", CONFIG_NAME):
        found = machine_paths((model_dir / name).read_text(encoding="utf-8"))
        if found:
            raise CheckpointError(
                f"{model_dir / name} names paths on this machine ({', '.join(sorted(set(found))[:3])}); "
                f"re-save the checkpoint first: rasid-export --model {model_dir} --convert-to NEW_DIR"
            )
    folder.mkdir(parents=True, exist_ok=True)
    names = [f for f in UPLOAD_FILES if (model_dir / f).is_file()]
    for f in names:
        shutil.copy2(model_dir / f, folder / f)
    return names


def push_to_hub(model_dir: str | Path, repo_id: str, private: bool = False, token: str | None = None,
                commit_message: str = "Upload rasid checkpoint", api=None) -> str:
    """Create (or reuse) the model repo ``repo_id`` and upload the staged checkpoint; return the repo URL."""
    from huggingface_hub import HfApi

    api = api if api is not None else HfApi(token=token)
    with tempfile.TemporaryDirectory(prefix="rasid-upload-") as tmp:
        stage_upload(model_dir, tmp)
        url = api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        api.upload_folder(folder_path=tmp, repo_id=repo_id, repo_type="model", commit_message=commit_message)
    return str(url)


def convert_checkpoint(src: str | Path, dst: str | Path) -> list[Path]:
    """Re-save a checkpoint (format 1 or 2) in format 2: transformers' save_pretrained layout,
    no machine paths in config.json, and a card with Hub metadata. Weights are unchanged."""
    from huggingface_hub import ModelCard

    from rasid.models.modeling import RasidForEventExtraction, quiet_loading

    src, dst = Path(src), Path(dst)
    if dst.exists() and any(dst.iterdir()):
        raise CheckpointError(f"{dst} exists and is not empty; choose a new directory")
    with quiet_loading():
        model = RasidForEventExtraction.from_pretrained(src)
        model.save_pretrained(dst)
    for f in src.iterdir():  # tokenizer, metrics and reports travel unchanged
        if f.is_file() and f.name not in (CONFIG_NAME, "model.safetensors", "README.md"):
            shutil.copy2(f, dst / f.name)
    results = json.loads((src / "metrics.json").read_text(encoding="utf-8")) if (src / "metrics.json").is_file() else {}
    body = ModelCard.load(src / "README.md").text if (src / "README.md").is_file() else "# rasid model\n"
    for p in machine_paths(body):  # a path becomes the name it ends in
        body = body.replace(p, Path(p.replace("\\", "/")).name)
    source = getattr(model.config.encoder, "rasid_source", None) or {}
    meta = card_metadata(model.config, {k: v for k, v in results.items() if isinstance(v, dict)},
                         f"rasid-{model.config.task}", source.get("original_model"))
    (dst / "README.md").write_text(f"---\n{meta.to_yaml()}\n---\n{body.lstrip()}", encoding="utf-8")
    return sorted(dst.iterdir())
