"""Training: config composition and its errors, smoke runs per task, local HF encoders, resume, eval CLI."""

import functools
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException
from omegaconf.errors import ConfigKeyError, MissingMandatoryValue

from conftest import CORPUS, REPO, load_jsonl
from rasid.training.config import ConfigError, register, to_settings
from rasid.training.train import train

PRESETS = ["tiny", "e5_small", "arabert_v02", "camelbert_msa", "camelbert_mix", "marbert_v2", "conflibert_arabic"]
# A run small enough for a test: 1-layer 32-wide encoder, a few steps, small data.
SHRINK = [
    "model=tiny",
    "trainer=smoke", "model.encoder.hidden_size=32", "model.encoder.num_hidden_layers=1",
    "model.encoder.num_attention_heads=2", "model.encoder.intermediate_size=64", "model.vocab_size=400",
    "model.max_length=48", "model.stride=8", "data.use_augmented=false", "data.style_copies=0",
]


def compose_cfg(overrides, hydra_cfg=False, config_dir=REPO / "configs"):
    register()
    with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
        return compose(config_name="train", overrides=overrides, return_hydra_config=hydra_cfg)


@pytest.fixture(scope="module")
def small_data(tmp_path_factory):
    d = tmp_path_factory.mktemp("data")
    recs = load_jsonl(CORPUS / "train.jsonl")
    for name, part in (("train", recs[:120]), ("dev", recs[120:150]), ("test", recs[150:180])):
        (d / f"{name}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in part), encoding="utf-8")
    return d


def data_overrides(d):
    return [f"data.train={d}/train.jsonl", f"data.dev={d}/dev.jsonl", f"data.test={d}/test.jsonl"]


@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_composes(preset):
    cfg = compose_cfg([f"model={preset}"])
    s = to_settings(cfg)
    assert s.model.preset == preset
    assert (s.model.name_or_path is None) == (preset == "tiny")  # e5_small names its cache directory, fetched on first use
    assert s.task.name == "joint" and s.data.entity_labels == ["ACTOR", "KILLED", "WOUNDED"]
    assert Path(s.data.train[0]).is_file()
    # each preset brings the rates its encoder needs (the trainer defaults are e5_small's)
    rates = {"tiny": (5e-4, None, 10), "e5_small": (1e-4, 2e-3, 3)}.get(preset, (3e-5, 1e-3, 6))
    assert (s.trainer.args["learning_rate"], s.trainer.head_learning_rate, s.trainer.args["num_train_epochs"]) == rates


def test_default_run_hyperparameters():
    """make run's values, as the trainer receives them (before the config moved they sat in model/e5_small.yaml)."""
    s = to_settings(compose_cfg([]))
    assert s.model.preset == "e5_small" and s.model.max_length == 192 and s.model.pooling == "mean"
    a = s.trainer.args
    assert (a["learning_rate"], s.trainer.head_learning_rate, a["num_train_epochs"], a["warmup_steps"],
            a["weight_decay"]) == (1e-4, 2e-3, 3, 0.1, 0.01)
    assert (a["per_device_train_batch_size"], a["per_device_eval_batch_size"], a["lr_scheduler_type"],
            s.trainer.early_stopping_patience, s.seed) == (32, 64, "linear", 6, 13)
    assert (s.data.augmented_limit, s.data.style_copies, s.model.freeze_embeddings, s.model.freeze_layers) == (2700, 1, True, 0)
    from rasid.training.config import native_bf16

    assert a["bf16"] is native_bf16() and to_settings(compose_cfg(SHRINK)).trainer.args["bf16"] is False


@pytest.mark.parametrize("cuda, cuda_bf16, avx512_bf16, amx, expected", [
    (False, False, True, False, True), (False, False, False, True, True), (False, False, False, False, False),
    (False, False, None, None, False),  # a torch without the private checks: unknown, so fp32
    (True, True, False, False, True), (True, False, True, True, False),
])
def test_native_bf16_follows_the_hardware(monkeypatch, cuda, cuda_bf16, avx512_bf16, amx, expected):
    import torch

    from rasid.training.config import native_bf16

    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: cuda_bf16)
    for name, value in (("_is_avx512_bf16_supported", avx512_bf16), ("_is_amx_tile_supported", amx)):
        if value is None:
            monkeypatch.delattr(torch.cpu, name, raising=False)
        else:
            monkeypatch.setattr(torch.cpu, name, lambda v=value: v, raising=False)
    assert native_bf16() is expected


def test_final_fit_override_from_the_readme_trains_on_train_and_dev():
    """The README's one-line final fit: both files as training data, no dev set (so no early stopping)."""
    s = to_settings(compose_cfg(["data.train=[${paths.corpus_dir}/train.jsonl,${paths.corpus_dir}/dev.jsonl]",
                                 "data.dev=null"]))
    assert [Path(p).name for p in s.data.train] == ["train.jsonl", "dev.jsonl"] and s.data.dev is None
    assert all(Path(p).is_file() for p in s.data.train)


def test_bert_base_presets_differ_only_in_name_and_checkpoint():
    base = {p: (REPO / "configs" / "model" / f"{p}.yaml").read_text() for p in PRESETS[2:]}
    for preset, text in base.items():
        keys = [line.split("#")[0].split(":")[0].strip() for line in text.splitlines() if line.startswith("  ")]
        assert keys == ["- bert_base", "- _self_", "preset", "name_or_path"], (preset, keys)


@pytest.mark.parametrize("exp", ["no_augmentation", "arabert_joint"])
def test_experiments_compose(exp):
    s = to_settings(compose_cfg([f"experiment={exp}"]))
    assert s.data.use_augmented is False


def test_optuna_sweep_config_composes():
    cfg = compose_cfg(["hparams_search=optuna"], hydra_cfg=True)
    assert cfg.hydra.sweeper.params["trainer.args.learning_rate"].startswith("interval")
    s = to_settings(compose_cfg(["hparams_search=optuna", "trainer.args.learning_rate=2e-4",
                                 "model.encoder.num_hidden_layers=2", "output_dir=trial"]))  # as a trial's overrides
    assert s.model.preset == "tiny" and s.trainer.args["learning_rate"] == 2e-4


# -- bad overrides fail while composing (Hydra's message) or converting (OmegaConf's), before any data is read --

@pytest.mark.parametrize("override, message", [
    ("model.max_length=abc", "Value 'abc' of type 'str' could not be converted to Integer"),
    ("trainer.early_stopping_patience=1.5", "could not be converted to Integer"),
    ("model.pooled_norm=perhaps", "Value 'perhaps' is not a valid bool"),
    ("model.pooling=max", "Invalid value 'max', expected one of [mean, cls]"),
    ("task.name=ner", "expected one of [joint, tagging, classification]"),
    ("model.epochs=3", "Could not override 'model.epochs'"),  # moved to trainer.args.num_train_epochs
    ("model.colour=blue", "Key 'colour' not in 'ModelConfig'"),
    ("model=nonexistent", "Could not find 'model/nonexistent'"),
])
def test_bad_override_fails_at_compose(override, message):
    with pytest.raises(ConfigCompositionException) as err:
        compose_cfg([override])
    text = f"{err.value} {err.value.__cause__}"
    assert message in text, text
    assert override.split("=")[0] in text or override.startswith("model=")


def test_bad_value_in_a_config_file_names_the_file(tmp_path):
    import shutil

    shutil.copytree(REPO / "configs", tmp_path / "configs")
    tiny = tmp_path / "configs" / "model" / "tiny.yaml"
    tiny.write_text(tiny.read_text().replace("  max_length: 128", "  max_length: long"))
    with pytest.raises(ConfigCompositionException) as err:
        compose_cfg(["model=tiny"], config_dir=tmp_path / "configs")
    text = f"{err.value} {err.value.__cause__}"
    assert "model/tiny" in text and "full_key: model.max_length" in text, text


def test_local_preset_requires_path():
    with pytest.raises(MissingMandatoryValue, match="full_key: model.name_or_path"):
        to_settings(compose_cfg(["model=local"]))


def test_keys_added_with_plus_are_checked_against_the_schema():
    with pytest.raises(ConfigKeyError, match="full_key: model.colour"):
        to_settings(compose_cfg(["+model.colour=blue"]))


@pytest.mark.parametrize("override, message", [
    ("trainer.args.num_train_epochs=abc", "trainer.args.num_train_epochs: Value 'abc' of type 'str' could not be converted to Float"),
    ("+trainer.args.bogus=1", "trainer.args.bogus: Key 'bogus' not in 'TrainingArguments'"),
    ("+trainer.args.max_grad_norm=[1]", "trainer.args.max_grad_norm"),
])
def test_trainer_args_are_checked_against_training_arguments(override, message):
    with pytest.raises(ConfigError) as err:
        to_settings(compose_cfg([override]))
    assert message in str(err.value), str(err.value)


def test_trainer_args_reach_training_arguments_as_given():
    from rasid.training.train import training_args

    s = to_settings(compose_cfg(SHRINK + ["+trainer.args.max_grad_norm=0.5", "trainer.args.lr_scheduler_type=cosine",
                                          "trainer.args.gradient_accumulation_steps=4", "output_dir=/nonexistent/out"]))
    args = training_args(s, True, True, True)
    assert (args.max_grad_norm, args.lr_scheduler_type, args.gradient_accumulation_steps) == (0.5, "cosine", 4)
    assert args.output_dir == "/nonexistent/out/checkpoints" and args.label_names == ["labels", "type_labels"]
    assert training_args(s, False, True, False).eval_strategy == "no"
    with pytest.raises(ConfigError, match="trainer.args: .*bogus"):  # TrainingArguments' own check of the value
        training_args(to_settings(compose_cfg(SHRINK + ["trainer.args.lr_scheduler_type=bogus"])), True, True, True)
    with pytest.raises(ConfigError, match="trainer.args.seed: set seed instead"):
        training_args(to_settings(compose_cfg(SHRINK + ["+trainer.args.seed=1"])), True, True, True)


@pytest.mark.slow
@pytest.mark.parametrize("task", ["joint", "tagging", "classification"])
def test_smoke_train_each_task(task, small_data, tmp_path):
    out = tmp_path / task
    s = to_settings(compose_cfg(SHRINK + data_overrides(small_data) + [f"task={task}", f"output_dir={out}"]))
    metrics = train(s)
    model = out / "model"
    for f in ("model.safetensors", "config.json", "tokenizer.json", "metrics.json", "README.md", "eval_test.html"):
        assert (model / f).is_file(), f
    cfg = json.loads((model / "config.json").read_text())
    assert cfg["task"] == task and cfg["max_length"] == 48 and cfg["normalization"]["strip_diacritics"]
    assert ("entities" in metrics["test"]) == (task != "classification")
    assert ("attack_types" in metrics["test"]) == (task != "tagging")
    if task != "tagging":  # the default: one threshold for every type, saved with the weights and used on test
        assert cfg["thresholds"] == {t: 0.5 for t in cfg["attack_types"]} == metrics["test"]["attack_types"]["thresholds"]
    from rasid.inference.predictor import Predictor

    res = Predictor.from_pretrained(model).predict("قتل ثلاثة جنود في هجوم")
    assert set(res) == {"entities", "attack_types", "events"}


@pytest.mark.slow
def test_bf16_training_saves_fp32_weights(small_data, tmp_path, monkeypatch):
    """trainer.args.bf16=true: the training steps run under bf16 autocast, the checkpoint stays fp32 and loads as usual."""
    import torch
    from safetensors import safe_open

    from rasid.inference.predictor import Predictor
    from rasid.models.modeling import RasidForEventExtraction

    seen = []
    forward = RasidForEventExtraction.forward

    @functools.wraps(forward)  # the Trainer reads forward's signature to choose batch columns
    def spy(self, *args, **kwargs):
        if self.training:
            seen.append((torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu")))
        return forward(self, *args, **kwargs)

    monkeypatch.setattr(RasidForEventExtraction, "forward", spy)
    out = tmp_path / "bf16"
    train(to_settings(compose_cfg(SHRINK + data_overrides(small_data) + [
        f"output_dir={out}", "trainer.args.bf16=true", "trainer.html_reports=false"])))
    assert seen and set(seen) == {(True, torch.bfloat16)}
    assert "- Training precision: bf16 autocast, fp32 weights" in (out / "model" / "README.md").read_text(encoding="utf-8")
    with safe_open(out / "model" / "model.safetensors", "pt") as f:
        assert {f.get_tensor(k).dtype for k in f.keys()} == {torch.float32}
    monkeypatch.undo()
    res = Predictor.from_pretrained(out / "model").predict(["قتل ثلاثة جنود في هجوم", "انفجرت سيارة مفخخة"])
    assert len(res) == 2 and all(set(r) == {"entities", "attack_types", "events"} for r in res)


@pytest.mark.slow
@pytest.mark.parametrize("value", ["0.3", "null"])
def test_type_threshold_is_fixed_or_tuned_on_dev(value, small_data, tmp_path, monkeypatch):
    import rasid.training.evaluate as ev

    tuned = []
    monkeypatch.setattr(ev, "tune_thresholds",
                        lambda gold, scores, types: tuned.append(len(gold)) or {t: 0.1 + i / 100 for i, t in enumerate(types)})
    out = tmp_path / "run"
    s = to_settings(compose_cfg(SHRINK + data_overrides(small_data) + ["task=classification", f"output_dir={out}",
                                                                     f"trainer.type_threshold={value}"]))
    metrics = train(s)
    cfg = json.loads((out / "model" / "config.json").read_text())
    want = {t: 0.3 if value == "0.3" else 0.1 + i / 100 for i, t in enumerate(cfg["attack_types"])}
    assert cfg["thresholds"] == want == metrics["test"]["attack_types"]["thresholds"]
    assert tuned == ([] if value == "0.3" else [30])  # tuned once, on the 30 dev segments
    card = (out / "model" / "README.md").read_text(encoding="utf-8")
    assert ("one for all types" in card) == (value == "0.3")
    assert "- Training precision: fp32\n" in card  # trainer=smoke pins fp32


@pytest.mark.slow
def test_local_hf_encoder_fine_tunes(small_data, tmp_path):
    """model=local with a BERT directory made on the fly (as a user's local AraBERT copy),
    its embeddings and lowest layer frozen: those weights come out as they went in."""
    from safetensors.torch import load_file
    from transformers import BertConfig, BertModel

    from rasid.inference.encoding import prepare
    from rasid.inference.normalize import NormalizationConfig
    from rasid.training.tokenizer import build_wordpiece

    texts = [r["text"] for r in load_jsonl(small_data / "train.jsonl")]
    tok = build_wordpiece((prepare(t, NormalizationConfig()).word_strings() for t in texts), 300, 1)
    hf = tmp_path / "my-bert"
    BertModel(BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64)).save_pretrained(hf)
    tok.save_pretrained(str(hf))
    out = tmp_path / "run"
    s = to_settings(compose_cfg(["model=local", f"model.name_or_path={hf}", "trainer=smoke", "data.use_augmented=false", "data.style_copies=0",
                                 "model.max_length=48", "model.stride=8", f"output_dir={out}", "model.freeze_embeddings=true",
                                 "model.freeze_layers=1"] + data_overrides(small_data)))
    train(s)
    cfg = json.loads((out / "model" / "config.json").read_text())
    assert cfg["encoder"]["hidden_size"] == 32 and cfg["pooling"] == "cls"
    before, after = load_file(hf / "model.safetensors"), load_file(out / "model" / "model.safetensors")
    after = {k.removeprefix("encoder."): v for k, v in after.items() if k.startswith("encoder.")}
    kept = [k for k in before if k.startswith(("embeddings.", "encoder.layer.0."))]
    trained = [k for k in before if k.startswith("encoder.layer.1.") and k.endswith("weight")]
    assert kept and trained
    assert all(before[k].equal(after[k]) for k in kept)
    assert not any(before[k].equal(after[k]) for k in trained)


def test_freeze_checks_the_layer_count():
    from transformers import BertConfig, BertModel

    from rasid.training.train import freeze

    enc = BertModel(BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32))
    assert freeze(enc, False, 0) == [] and all(p.requires_grad for p in enc.parameters())
    with pytest.raises(ConfigError, match="only 2 layers"):
        freeze(enc, True, 3)
    with pytest.raises(ConfigError, match="0 or more"):
        freeze(enc, False, -1)
    assert freeze(enc, True, 2) == ["embeddings", "layers 0-1"]
    assert all(not p.requires_grad for n, p in enc.named_parameters() if not n.startswith("pooler."))


def run_cli(args, **kw):
    return subprocess.run([sys.executable, "-m", "rasid.training.train", *args], capture_output=True, text=True,
                          timeout=600, **kw)


def test_bad_data_gives_clean_error(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "text": "abc", "entities": [{"start": 0, "end": 2, "label": "PERSON"}]}\n', encoding="utf-8")
    r = run_cli(SHRINK + [f"data.train={bad}", f"output_dir={tmp_path / 'o'}"])
    assert r.returncode == 2
    assert f"{bad}:1: entity 0" in r.stderr and "unknown label 'PERSON'" in r.stderr
    assert "Traceback" not in r.stderr
    r = run_cli(SHRINK + [f"data.train={tmp_path / 'missing.jsonl'}", f"output_dir={tmp_path / 'o'}"])
    assert r.returncode == 2 and "not found" in r.stderr and "Traceback" not in r.stderr
    r = run_cli(["model=nonexistent"])
    assert r.returncode != 0 and "nonexistent" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("override, code, message", [
    ("model.max_length=abc", 1, "Value 'abc' of type 'str' could not be converted to Integer"),  # Hydra's own
    ("model.epochs=3", 1, "Could not override 'model.epochs'"),
    ("trainer.args.num_train_epochs=abc", 2, "trainer.args.num_train_epochs: Value 'abc'"),
    ("trainer.args.lr_scheduler_type=bogus", 2, "trainer.args: "),  # TrainingArguments' own message
    ("model=local", 2, "model.name_or_path is required"),
    ("resume=/nonexistent/checkpoint-3", 2, "not auto, never or a checkpoint directory"),
])
def test_cli_config_errors_come_before_any_data_is_read(tmp_path, override, code, message):
    """The train file does not exist: reading data would fail with "not found", so these fail earlier."""
    r = run_cli([f"data.train={tmp_path / 'missing.jsonl'}", f"output_dir={tmp_path / 'o'}", override])
    assert r.returncode == code and message in r.stderr, r.stderr[-2000:]
    assert "not found" not in r.stderr and "Traceback" not in r.stderr, r.stderr[-2000:]


@pytest.mark.slow
def test_killed_training_resumes_to_same_model(small_data, tmp_path):
    """SIGKILL mid-run, restart with the same output_dir: same predictions as an uninterrupted run."""
    common = SHRINK + data_overrides(small_data) + [
        "trainer.args.max_steps=40", "trainer.args.save_strategy=steps", "trainer.args.save_steps=10",
        "trainer.args.eval_strategy=steps", "trainer.args.eval_steps=10", "trainer.args.save_total_limit=5",
        "trainer.html_reports=false"]
    ref = tmp_path / "ref"
    r = run_cli(common + [f"output_dir={ref}"])
    assert r.returncode == 0, r.stderr[-2000:]
    out = tmp_path / "killed"
    p = subprocess.Popen([sys.executable, "-m", "rasid.training.train", *common, f"output_dir={out}"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpts = out / "checkpoints"
    t0 = time.monotonic()
    while p.poll() is None and time.monotonic() - t0 < 300:  # kill once the step-20 checkpoint is complete
        if (ckpts / "checkpoint-20" / "trainer_state.json").is_file():
            p.send_signal(signal.SIGKILL)
            break
        time.sleep(0.02)
    p.wait()
    assert not (out / "model").exists(), "the run finished before it could be killed"
    r = run_cli(common + [f"output_dir={out}"])
    assert r.returncode == 0, r.stderr[-2000:]
    assert "resuming from" in r.stdout + r.stderr
    from rasid.inference.predictor import Predictor

    dev = [x["text"] for x in load_jsonl(small_data / "dev.jsonl")]
    a = Predictor.from_pretrained(ref / "model").predict(dev)
    b = Predictor.from_pretrained(out / "model").predict(dev)
    assert a == b


@pytest.mark.slow
def test_eval_cli(tmp_path, small_data, capsys):
    from rasid.training.evaluate import main as eval_main

    out = tmp_path / "run"
    train(to_settings(compose_cfg(SHRINK + data_overrides(small_data) + [f"output_dir={out}"])))
    metrics, html = tmp_path / "m.json", tmp_path / "e.html"
    assert eval_main(["--model", str(out / "model"), "--data", str(small_data / "test.jsonl"),
                      "--output", str(metrics), "--html", str(html)]) == 0
    m = json.loads(metrics.read_text())
    assert 0.0 <= m["entities"]["micro"]["f1"] <= 1.0 and "per_label" in m["attack_types"]
    assert "<svg" in html.read_text()
    assert "entities (seqeval strict IOB2)" in capsys.readouterr().out
    assert eval_main(["--model", str(tmp_path / "none"), "--data", str(small_data / "test.jsonl")]) == 2


@pytest.mark.slow
def test_ddp_two_processes_on_cpu(small_data, tmp_path):
    """torchrun with two CPU processes (gloo) trains a few steps; the checkpoint loads."""
    out = tmp_path / "ddp"
    torchrun = Path(sys.executable).with_name("torchrun")
    r = subprocess.run([str(torchrun), "--nproc_per_node=2", "-m", "rasid.training.train", *SHRINK,
                        *data_overrides(small_data), "data.test=null", "trainer.html_reports=false", f"output_dir={out}"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "world size 2, backend gloo" in r.stdout + r.stderr
    from rasid.inference.predictor import Predictor

    res = Predictor.from_pretrained(out / "model").predict("قتل جنديان في هجوم مسلح")
    assert set(res) == {"entities", "attack_types", "events"}


@pytest.mark.slow
def test_optuna_multirun_sweep(small_data, tmp_path):
    """rasid-train -m hparams_search=optuna runs trials and writes the study's best parameters."""
    r = run_cli(["-m", "hparams_search=optuna", "hydra.sweeper.n_trials=2", *SHRINK, *data_overrides(small_data),
                 "data.test=null", "trainer.html_reports=false", "trainer.args.max_steps=3",
                 f"paths.output_root={tmp_path}"], cwd=tmp_path)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    best = list(tmp_path.glob("multirun/*/optimization_results.yaml"))
    assert best and "best_params" in best[0].read_text()
    assert len(list(tmp_path.glob("multirun/*/[0-9]*/model/model.safetensors"))) == 2


@pytest.mark.slow
def test_two_optuna_sweeps_never_share_trial_directories(small_data, tmp_path):
    """Each sweep writes under its own time-stamped directory, so the second one resumes nothing of the first."""
    common = ["-m", "hparams_search=optuna", "hydra.sweeper.n_trials=1", *SHRINK[1:], *data_overrides(small_data),
              "trainer.args.max_steps=2", "trainer.html_reports=false", f"paths.output_root={tmp_path}"]
    for _ in range(2):
        r = run_cli(common)
        assert r.returncode == 0, r.stderr[-2000:]
        time.sleep(1.1)  # sweep directories are stamped to the second
    models = sorted(tmp_path.glob("multirun/*/0/model/config.json"))
    assert len(models) == 2 and models[0].parent.parent.parent != models[1].parent.parent.parent


# -- resume=auto|never|PATH ------------------------------------------------------------------------------------

@pytest.mark.slow
def test_resume_auto_refuses_changed_settings_and_never_starts_clean(small_data, tmp_path):
    out = tmp_path / "run"
    common = SHRINK + data_overrides(small_data) + ["data.test=null", "trainer.html_reports=false",
                                                    "trainer.args.max_steps=4", f"output_dir={out}"]

    def max_length(model_dir):
        return json.loads((model_dir / "config.json").read_text())["max_length"]

    r = run_cli(common)
    assert r.returncode == 0, r.stderr[-2000:]
    first = (out / "model" / "model.safetensors").read_bytes()

    # a changed setting with resume=auto (the default): refused, naming the key and both ways out
    r = run_cli(common + ["model.max_length=64"])
    assert r.returncode == 2, r.stderr[-2000:]
    assert "model.max_length: 48 -> 64" in r.stderr and "resume=never" in r.stderr and "output_dir=" in r.stderr
    assert "trainer.args.logging_steps" not in r.stderr and "Traceback" not in r.stderr
    assert (out / "model" / "model.safetensors").read_bytes() == first and max_length(out / "model") == 48

    # a key that cannot change the model does not block resuming
    r = run_cli(common + ["trainer.args.logging_steps=1", "trainer.progress_bar=true"])
    assert r.returncode == 0 and "resuming from" in r.stdout + r.stderr, r.stderr[-2000:]

    # resume=never: a clean run; the old one is moved aside, not deleted
    r = run_cli(common + ["model.max_length=64", "resume=never"])
    assert r.returncode == 0 and "resuming from" not in r.stdout + r.stderr, r.stderr[-2000:]
    assert max_length(out / "model") == 64
    (old,) = (out / "replaced").iterdir()
    assert max_length(old / "model") == 48 and (old / "checkpoints").is_dir() and (old / "train_config.yaml").is_file()
    assert "max_length: 64" in (out / "train_config.yaml").read_text()

    # every run keeps its own record of config and overrides, the refused one included
    runs = sorted((out / "runs").iterdir())
    overrides = [(d / ".hydra" / "overrides.yaml").read_text() for d in runs]
    assert len(runs) == 4 and all((d / ".hydra" / "config.yaml").is_file() for d in runs)
    assert "max_length=64" not in overrides[0] and "model.max_length=64" in overrides[1] and "resume=never" in overrides[3]


@pytest.mark.slow
def test_resume_from_a_given_checkpoint(small_data, tmp_path, monkeypatch):
    common = SHRINK + data_overrides(small_data) + ["data.test=null", "trainer.html_reports=false",
                                                    "trainer.args.max_steps=4"]
    first = tmp_path / "first"
    train(to_settings(compose_cfg(common + [f"output_dir={first}"])))
    (ckpt,) = (first / "checkpoints").glob("checkpoint-*")
    # other training data: a vocabulary built from it would not fit the checkpoint's embeddings
    s = to_settings(compose_cfg(common + ["trainer.args.max_steps=6", f"data.train={small_data}/test.jsonl",
                                          f"resume={ckpt}", f"output_dir={tmp_path / 'second'}"]))
    from transformers import Trainer

    seen, real = [], Trainer.train
    monkeypatch.setattr(Trainer, "train", lambda self, resume_from_checkpoint=None, **kw: seen.append(
        resume_from_checkpoint) or real(self, resume_from_checkpoint=resume_from_checkpoint, **kw))
    train(s)
    assert seen == [str(ckpt)]
    state = json.loads((tmp_path / "second" / "checkpoints" / "checkpoint-6" / "trainer_state.json").read_text())
    assert state["global_step"] == 6

    def vocab(d):
        return json.loads((d / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"]

    assert vocab(tmp_path / "second" / "model") == vocab(first / "tokenizer")  # the checkpoint's run's own
