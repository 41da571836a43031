"""Training: config composition, smoke runs per task, local HF encoders, resume, eval CLI."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from conftest import CORPUS, REPO, load_jsonl
from rasid.training.settings import from_config
from rasid.training.train import register_resolvers, train

PRESETS = ["tiny", "e5_small", "arabert_v02", "camelbert_msa", "camelbert_mix", "marbert_v2", "conflibert_arabic"]
# A run small enough for a test: 1-layer 32-wide encoder, a few steps, small data.
SHRINK = [
    "model=tiny",
    "trainer=smoke", "model.encoder.hidden_size=32", "model.encoder.num_hidden_layers=1",
    "model.encoder.num_attention_heads=2", "model.encoder.intermediate_size=64", "model.vocab_size=400",
    "model.max_length=48", "model.stride=8", "data.use_augmented=false", "data.style_copies=0",
]


def compose_cfg(overrides, hydra_cfg=False):
    register_resolvers()
    with initialize_config_dir(config_dir=str(REPO / "configs"), version_base="1.3"):
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
    s = from_config(cfg)
    assert s.model.preset == preset
    assert (s.model.name_or_path is None) == (preset == "tiny")  # e5_small names its cache directory, fetched on first use
    assert s.task.name == "joint" and s.data.entity_labels == ["ACTOR", "KILLED", "WOUNDED"]
    assert Path(s.data.train[0]).is_file()


@pytest.mark.parametrize("exp", ["no_augmentation", "arabert_joint"])
def test_experiments_compose(exp):
    s = from_config(compose_cfg([f"experiment={exp}"]))
    assert s.data.use_augmented is False


def test_optuna_sweep_config_composes():
    cfg = compose_cfg(["hparams_search=optuna"], hydra_cfg=True)
    assert cfg.hydra.sweeper.params["model.learning_rate"].startswith("interval")


def test_local_preset_requires_path():
    with pytest.raises(ValueError, match="model.name_or_path is required"):
        from_config(compose_cfg(["model=local"]))


def test_unknown_keys_are_named():
    cfg = compose_cfg(["+model.colour=blue"])
    with pytest.raises(ValueError, match="model.colour"):
        from_config(cfg)


@pytest.mark.slow
@pytest.mark.parametrize("task", ["joint", "tagging", "classification"])
def test_smoke_train_each_task(task, small_data, tmp_path):
    out = tmp_path / task
    s = from_config(compose_cfg(SHRINK + data_overrides(small_data) + [f"task={task}", f"output_dir={out}"]))
    metrics = train(s)
    model = out / "model"
    for f in ("model.safetensors", "config.json", "tokenizer.json", "metrics.json", "README.md", "eval_test.html"):
        assert (model / f).is_file(), f
    cfg = json.loads((model / "config.json").read_text())
    assert cfg["task"] == task and cfg["max_length"] == 48 and cfg["normalization"]["strip_diacritics"]
    assert ("entities" in metrics["test"]) == (task != "classification")
    assert ("attack_types" in metrics["test"]) == (task != "tagging")
    if task != "tagging":
        assert set(cfg["thresholds"]) == set(cfg["attack_types"])
    from rasid.inference.predictor import Predictor

    res = Predictor.from_pretrained(model).predict("قتل ثلاثة جنود في هجوم")
    assert set(res) == {"entities", "attack_types", "events"}


@pytest.mark.slow
def test_local_hf_encoder_fine_tunes(small_data, tmp_path):
    """model=local with a BERT directory made on the fly (as a user's local AraBERT copy)."""
    from transformers import BertConfig, BertModel

    from rasid.inference.encoding import prepare
    from rasid.inference.normalize import NormalizationConfig
    from rasid.training.tokenizer import build_wordpiece

    texts = [r["text"] for r in load_jsonl(small_data / "train.jsonl")]
    tok = build_wordpiece((prepare(t, NormalizationConfig()).word_strings() for t in texts), 300, 1)
    hf = tmp_path / "my-bert"
    BertModel(BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=64)).save_pretrained(hf)
    tok.save_pretrained(str(hf))
    out = tmp_path / "run"
    s = from_config(compose_cfg(["model=local", f"model.name_or_path={hf}", "trainer=smoke", "data.use_augmented=false", "data.style_copies=0",
                                 "model.max_length=48", "model.stride=8", f"output_dir={out}"] + data_overrides(small_data)))
    train(s)
    cfg = json.loads((out / "model" / "config.json").read_text())
    assert cfg["encoder"]["hidden_size"] == 32 and cfg["pooling"] == "cls"


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


@pytest.mark.slow
def test_killed_training_resumes_to_same_model(small_data, tmp_path):
    """SIGKILL mid-run, restart with the same output_dir: same predictions as an uninterrupted run."""
    common = SHRINK + data_overrides(small_data) + ["trainer.max_steps=40", "trainer.save_steps=10",
                                                    "trainer.save_total_limit=5", "trainer.html_reports=false"]
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
    train(from_config(compose_cfg(SHRINK + data_overrides(small_data) + [f"output_dir={out}"])))
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
                 "data.test=null", "trainer.html_reports=false", "trainer.max_steps=3",
                 f"paths.output_root={tmp_path}"], cwd=tmp_path)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    best = list(tmp_path.glob("multirun/*/optimization_results.yaml"))
    assert best and "best_params" in best[0].read_text()
    assert len(list(tmp_path.glob("multirun/*/[0-9]*/model/model.safetensors"))) == 2


@pytest.mark.slow
def test_two_optuna_sweeps_never_share_trial_directories(small_data, tmp_path):
    """Each sweep writes under its own time-stamped directory, so the second one resumes nothing of the first."""
    common = ["-m", "hparams_search=optuna", "hydra.sweeper.n_trials=1", *SHRINK[1:], *data_overrides(small_data),
              "trainer.max_steps=2", "trainer.html_reports=false", f"paths.output_root={tmp_path}"]
    for _ in range(2):
        r = run_cli(common)
        assert r.returncode == 0, r.stderr[-2000:]
        time.sleep(1.1)  # sweep directories are stamped to the second
    models = sorted(tmp_path.glob("multirun/*/0/model/config.json"))
    assert len(models) == 2 and models[0].parent.parent.parent != models[1].parent.parent.parent
