"""The lean rasid-inference distribution installs and predicts alone, in a fresh venv."""

import json
import subprocess
import venv

import pytest

from conftest import REPO


@pytest.mark.slow
def test_inference_package_alone_in_fresh_venv(tiny_ckpt, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py, pip = env_dir / "bin" / "python", [str(env_dir / "bin" / "python"), "-m", "pip", "install", "-q"]
    constraints = ["-c", str(REPO / "requirements" / "constraints.txt")]
    subprocess.run(pip + ["torch==2.13.0", *constraints], check=True, timeout=900)  # the CPU build first
    subprocess.run(pip + [str(REPO / "inference"), *constraints], check=True, timeout=900)
    listed = subprocess.run([str(py), "-m", "pip", "list", "--format=json"], capture_output=True, text=True, check=True)
    names = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert "rasid-inference" in names and "rasid" not in names
    assert not names & {"hydra-core", "datasets", "seqeval", "scikit-learn", "omegaconf"}
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "a", "text": "قتل خمسة جنود في كمين نصبه مسلحون"}, ensure_ascii=False) + "\n",
                   encoding="utf-8")
    out = tmp_path / "out.jsonl"
    r = subprocess.run([str(env_dir / "bin" / "rasid-predict"), "--model", str(tiny_ckpt), "--input", str(src),
                        "--output", str(out), "--quiet"], capture_output=True, text=True, timeout=300,
                       cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"})
    assert r.returncode == 0, r.stderr
    rec = json.loads(out.read_text(encoding="utf-8"))
    assert rec["id"] == "a" and {"entities", "attack_types", "events"} <= set(rec)
    code = "import rasid.inference.predictor, rasid.models.modeling, sys; print(rasid.inference.predictor.__file__)"
    r = subprocess.run([str(py), "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True)
    assert str(env_dir) in r.stdout  # imported from the venv, not the source tree
