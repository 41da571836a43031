"""rasid-predict: formats, bad records, resume after kills, exit codes."""

import csv
import json
import signal
import subprocess
import sys
import time

import pytest

from rasid.inference import batch

ARTICLES = [
    "قتل خمسة جنود في هجوم شنه مسلحون على حاجز للجيش.",
    "أعلنت وزارة الدفاع عن مناورات عسكرية واسعة.",
    "أصيب ٣ مدنيين بانفجار عبوة ناسفة في السوق.",
]


def write_jsonl(path, recs):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs), encoding="utf-8")
    return path


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_jsonl_roundtrip_with_bad_records(tiny_ckpt, tmp_path, capsys):
    lines = [json.dumps({"id": f"a{i}", "text": t, "source": "x"}, ensure_ascii=False) for i, t in enumerate(ARTICLES)]
    lines.insert(1, "{broken json")
    lines.insert(2, json.dumps({"id": "n", "text": 5}))
    lines.insert(3, json.dumps({"id": "e", "text": "   "}))
    lines.insert(4, json.dumps({"id": "m"}))
    lines.insert(5, json.dumps(["not", "an", "object"]))
    lines.insert(6, '{"id": "s", "text": "قتل \\ud800 جنود"}')
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    code = batch.main(["--model", str(tiny_ckpt), "--input", str(src), "--output", str(out), "--quiet"])
    assert code == 1  # some records failed
    recs = read_jsonl(out)
    assert [r["id"] for r in recs] == ["a0", "s", "a1", "a2"]
    assert recs[0]["source"] == "x" and "text" not in recs[0]
    assert {"entities", "attack_types", "events"} <= set(recs[0])
    errors = read_jsonl(tmp_path / "out.jsonl.errors.jsonl")
    assert [e["line"] for e in errors] == [2, 3, 4, 5, 6]
    assert "invalid JSON" in errors[0]["error"] and "not a string" in errors[1]["error"]
    assert "empty" in errors[2]["error"] and "missing field 'text'" in errors[3]["error"]
    assert "5 failed" in capsys.readouterr().err
    # --allow-errors: exit 0; an existing output needs --overwrite or --resume
    assert batch.main(["--model", str(tiny_ckpt), "--input", str(src), "--output", str(out), "--quiet"]) == 2
    assert batch.main(["--model", str(tiny_ckpt), "--input", str(src), "--output", str(out), "--quiet",
                       "--overwrite", "--allow-errors"]) == 0


def test_csv_and_parquet(tiny_ckpt, tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    src = tmp_path / "in.csv"
    with open(src, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["url", "body"])
        w.writerow(["u1", 'سطر أول\nسطر "ثان" مع, فاصلة'])
        w.writerow(["u2", ARTICLES[0]])
    out = tmp_path / "out.parquet"
    assert batch.main(["--model", str(tiny_ckpt), "--input", str(src), "--output", str(out), "--quiet",
                       "--text-field", "body", "--id-field", "url", "--keep-text"]) == 0
    table = pq.read_table(out).to_pylist()
    assert [r["id"] for r in table] == ["u1", "u2"]
    assert table[0]["body"].startswith("سطر أول\n")
    assert isinstance(json.loads(table[1]["entities"]), list)
    # Parquet in
    pq.write_table(pa.table({"id": ["p1", "p2"], "text": [ARTICLES[1], None]}), tmp_path / "in.parquet")
    out2 = tmp_path / "o.jsonl"
    assert batch.main(["--model", str(tiny_ckpt), "--input", str(tmp_path / "in.parquet"), "--output", str(out2),
                       "--quiet", "--allow-errors"]) == 0
    assert [r["id"] for r in read_jsonl(out2)] == ["p1"]
    # truncated Parquet: a clear error, exit 2
    data = (tmp_path / "in.parquet").read_bytes()
    (tmp_path / "cut.parquet").write_bytes(data[: len(data) // 2])
    assert batch.main(["--model", str(tiny_ckpt), "--input", str(tmp_path / "cut.parquet"),
                       "--output", str(tmp_path / "o2.jsonl"), "--quiet"]) == 2


def test_missing_input_and_unknown_format(tiny_ckpt, tmp_path, capsys):
    assert batch.main(["--model", str(tiny_ckpt), "--input", str(tmp_path / "no.jsonl"), "--output", str(tmp_path / "o.jsonl")]) == 2
    (tmp_path / "x.xml").write_text("<a/>")
    assert batch.main(["--model", str(tiny_ckpt), "--input", str(tmp_path / "x.xml"), "--output", str(tmp_path / "o.jsonl")]) == 2
    err = capsys.readouterr().err
    assert "no such file" in err and "unknown input format" in err


def test_stdin(tiny_ckpt, tmp_path):
    out = tmp_path / "o.jsonl"
    r = subprocess.run([sys.executable, "-m", "rasid.inference.batch", "--model", str(tiny_ckpt), "--input", "-",
                        "--output", str(out), "--quiet"],
                       input="\n".join(json.dumps({"id": i, "text": t}, ensure_ascii=False) for i, t in enumerate(ARTICLES)),
                       text=True, capture_output=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert [x["id"] for x in read_jsonl(out)] == [0, 1, 2]


def _kill_when(proc, state_file, done_at_least, timeout=300):
    """SIGKILL ``proc`` once the job has committed ``done_at_least`` records."""
    t0 = time.monotonic()
    while proc.poll() is None and time.monotonic() - t0 < timeout:
        try:
            done = json.loads(state_file.read_text())["done"]
        except (FileNotFoundError, json.JSONDecodeError, KeyError):
            done = -1
        if done >= done_at_least:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.02)
    proc.wait()
    return False


@pytest.mark.slow
def test_resume_after_kills_is_byte_identical(tiny_ckpt, tmp_path):
    recs = [{"id": f"r{i}", "text": ARTICLES[i % 3] + " " + "كلمة " * (i % 17)} for i in range(400)]
    recs[77] = {"id": "bad", "text": ""}
    src = write_jsonl(tmp_path / "in.jsonl", recs)
    base = [sys.executable, "-m", "rasid.inference.batch", "--model", str(tiny_ckpt), "--input", str(src),
            "--quiet", "--chunk-size", "8", "--batch-size", "4", "--allow-errors", "--threads", "1"]
    ref = tmp_path / "ref.jsonl"
    subprocess.run(base + ["--output", str(ref)], check=True, timeout=600)
    out, state = tmp_path / "out.jsonl", tmp_path / "out.jsonl.state.json"
    kills = 0
    # killed before the first commit, then at several points of the job
    for i, at in enumerate((0, 8, 72, 150, 240, 330)):
        p = subprocess.Popen(base + ["--output", str(out), "--overwrite" if i == 0 else "--resume"])
        kills += _kill_when(p, state, at)
    subprocess.run(base + ["--output", str(out), "--resume"], check=True, timeout=600)
    assert kills >= 5
    assert not state.exists()
    assert out.read_bytes() == ref.read_bytes()
    ids = [r["id"] for r in read_jsonl(out)]
    assert len(ids) == len(set(ids)) == 399
    assert read_jsonl(tmp_path / "out.jsonl.errors.jsonl") == read_jsonl(tmp_path / "ref.jsonl.errors.jsonl")


@pytest.mark.slow
@pytest.mark.xdist_group("ray")  # one local Ray instance at a time: make test runs --dist loadgroup
def test_ray_engine_local_two_cpus(tiny_ckpt, tmp_path):
    """--engine ray on a local Ray instance with 2 CPUs: same records, sharded output, bad records kept apart."""
    pytest.importorskip("ray")
    recs = [{"id": f"r{i}", "text": ARTICLES[i % 3], "src": "x"} for i in range(30)]
    lines = [json.dumps(r, ensure_ascii=False) for r in recs] + ["{broken", json.dumps({"id": "e", "text": ""})]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "ray_out"
    r = subprocess.run([sys.executable, "-m", "rasid.inference.batch", "--engine", "ray", "--ray-cpus", "2",
                        "--threads", "1", "--chunk-size", "8", "--model", str(tiny_ckpt), "--input", str(src),
                        "--output", str(out), "--quiet"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 1, r.stderr[-3000:]  # two bad records, no --allow-errors
    got = [json.loads(x) for f in sorted(out.glob("*.jsonl")) for x in f.read_text(encoding="utf-8").splitlines()]
    assert sorted(g["id"] for g in got) == sorted(x["id"] for x in recs)
    local = tmp_path / "local.jsonl"
    write_jsonl(tmp_path / "good.jsonl", recs)
    assert batch.main(["--model", str(tiny_ckpt), "--input", str(tmp_path / "good.jsonl"), "--output", str(local),
                       "--quiet"]) == 0
    assert sorted(got, key=lambda g: g["id"]) == sorted(read_jsonl(local), key=lambda g: g["id"])
    errors = [json.loads(x) for f in (out / "errors").glob("*.jsonl") for x in f.read_text(encoding="utf-8").splitlines()]
    assert sorted(e["error"].split(":")[0] for e in errors) == ["field 'text' is empty", "invalid JSON"]
