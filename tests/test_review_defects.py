"""Defects from a code review: each test failed before its fix."""

import json
import re
import subprocess
import sys
import tomllib

import pytest

from conftest import REPO
from rasid.inference import batch, readers
from rasid.inference.predictor import Predictor

ARTICLES = [
    "قتل خمسة جنود في هجوم شنه مسلحون على حاجز للجيش.",
    "أعلنت وزارة الدفاع عن مناورات عسكرية واسعة.",
    "أصيب ٣ مدنيين بانفجار عبوة ناسفة في السوق.",
]


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def job_lines(n=20):
    """JSONL lines, some without an id (the line number is the id), a bad record and a blank line."""
    lines = [json.dumps({"id": f"r{i}", "text": ARTICLES[i % 3] + " كلمة" * i} if i % 4 else {"text": ARTICLES[i % 3]},
                        ensure_ascii=False) for i in range(n)]
    lines[2] = "{broken json"
    lines.insert(5, "")
    return lines


# -- 1. --html after --resume covers the whole job; --quiet does not count the input ---------------------------

@pytest.mark.parametrize("limit", [5, 500])
def test_html_after_resume_covers_the_whole_job(tiny_ckpt, tmp_path, monkeypatch, limit):
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(job_lines()) + "\n", encoding="utf-8")
    common = ["--model", str(tiny_ckpt), "--input", str(src), "--quiet", "--chunk-size", "4", "--allow-errors",
              "--html-limit", str(limit)]
    assert batch.main(common + ["--output", str(tmp_path / "ref.jsonl"), "--html", str(tmp_path / "ref.html")]) == 0

    predict, calls = Predictor.predict, []

    def crash_on_third_chunk(self, *a, **kw):  # the job dies after committing two chunks
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return predict(self, *a, **kw)

    out, html = tmp_path / "out.jsonl", tmp_path / "out.html"
    monkeypatch.setattr(Predictor, "predict", crash_on_third_chunk)
    assert batch.main(common + ["--output", str(out), "--html", str(html)]) == 130
    assert json.loads((tmp_path / "out.jsonl.state.json").read_text())["done"] == 8
    monkeypatch.setattr(Predictor, "predict", predict)
    assert batch.main(common + ["--output", str(out), "--html", str(html), "--resume"]) == 0
    assert out.read_bytes() == (tmp_path / "ref.jsonl").read_bytes()
    assert html.read_text(encoding="utf-8") == (tmp_path / "ref.html").read_text(encoding="utf-8")
    assert f"{min(limit, 19)} documents" in html.read_text(encoding="utf-8")


def test_quiet_does_not_count_the_input(tiny_ckpt, tmp_path, monkeypatch):
    counted = []
    monkeypatch.setattr(batch, "_count_lines", lambda path: counted.append(path) or 0)
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(job_lines(6)) + "\n", encoding="utf-8")
    args = ["--model", str(tiny_ckpt), "--input", str(src), "--allow-errors"]
    assert batch.main(args + ["--output", str(tmp_path / "a.jsonl"), "--quiet"]) == 0
    assert batch.main(args + ["--output", str(tmp_path / "b.jsonl")]) == 0  # stderr is not a terminal: no bar either
    assert counted == []


# -- 2. --resume on a finished job: exit 0, output unchanged -----------------------------------------------------

@pytest.mark.parametrize("output", ["out.jsonl", "out.parquet"])
def test_resume_on_a_finished_job_is_a_no_op(tiny_ckpt, tmp_path, capsys, output):
    if output.endswith(".parquet"):
        pytest.importorskip("pyarrow")
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(job_lines(6)) + "\n", encoding="utf-8")
    out = tmp_path / output
    args = ["--model", str(tiny_ckpt), "--input", str(src), "--output", str(out), "--quiet"]
    assert batch.main(args) == 1  # one bad record
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    capsys.readouterr()
    assert batch.main(args + ["--resume"]) == 0
    err = capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    assert err.count("\n") == 1 and "already complete" in err


# -- 3. CSV is decoded strictly: a line that is not UTF-8 is an error record -------------------------------------

def test_csv_invalid_utf8_is_a_per_record_error(tiny_ckpt, tmp_path):
    src = tmp_path / "in.csv"
    src.write_bytes(
        "url,body\n".encode() + f"u1,{ARTICLES[0]}\n".encode()
        + b"u2,\xd9\x82\xff\xfe broken\n"                                     # line 3: not UTF-8
        + f'u3,"{ARTICLES[1]}\n'.encode() + b'second \xe9 line"\n'           # lines 4-5, the bad byte on line 5
        + f"u4,{ARTICLES[2]}\n".encode())
    out = tmp_path / "out.jsonl"
    assert batch.main(["--model", str(tiny_ckpt), "--input", str(src), "--output", str(out), "--quiet",
                       "--text-field", "body", "--id-field", "url", "--keep-text"]) == 1
    recs = read_jsonl(out)
    assert [r["id"] for r in recs] == ["u1", "u4"]
    assert [r["body"] for r in recs] == [ARTICLES[0], ARTICLES[2]]
    errors = read_jsonl(tmp_path / "out.jsonl.errors.jsonl")
    assert [e["line"] for e in errors] == [3, 5]
    assert all(e["error"].startswith("not UTF-8 (invalid ") for e in errors), errors


def test_csv_header_not_utf8_and_line_endings(tiny_ckpt, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"url,b\xffody\nu1,x\n")
    assert batch.main(["--model", str(tiny_ckpt), "--input", str(bad), "--output", str(tmp_path / "o.jsonl"),
                       "--quiet"]) == 2
    assert "header line is not UTF-8" in capsys.readouterr().err
    # \n, \r\n and lone \r line endings read alike, as in text mode
    rows = ['id,text', '1,"a\nb"', '2,c']
    got = {}
    for name, nl in (("lf", "\n"), ("crlf", "\r\n"), ("cr", "\r")):
        p = tmp_path / f"{name}.csv"
        p.write_bytes(nl.join(rows).replace("a\nb", f"a{nl}b").encode() + nl.encode())
        got[name] = list(readers.read_csv(str(p)))
    assert got["lf"] == [(3, {"id": "1", "text": "a\nb"}, None), (4, {"id": "2", "text": "c"}, None)]
    assert [r for _, r, _ in got["crlf"]] == [{"id": "1", "text": "a\r\nb"}, {"id": "2", "text": "c"}]
    assert [r for _, r, _ in got["cr"]] == [{"id": "1", "text": "a\rb"}, {"id": "2", "text": "c"}]


# -- 4. Ray engine: the local engine's ids, and no .materialize() -------------------------------------------------

@pytest.mark.slow
@pytest.mark.xdist_group("ray")
def test_ray_ids_match_local_engine_and_output_streams(tiny_ckpt, tmp_path, monkeypatch):
    ray = pytest.importorskip("ray")
    pa = pytest.importorskip("pyarrow")
    import csv

    import pyarrow.parquet as pq
    import ray.data

    def no_materialize(self, *a, **kw):
        raise AssertionError("the Ray engine must stream its output, not materialize it")

    monkeypatch.setattr(ray.data.Dataset, "materialize", no_materialize)
    lines = job_lines(30)
    inputs = {"jsonl": tmp_path / "in.jsonl", "csv": tmp_path / "in.csv", "parquet": tmp_path / "in.parquet"}
    inputs["jsonl"].write_text("\n".join(lines) + "\n", encoding="utf-8")
    good = [json.loads(x) for x in lines if x.strip() and not x.startswith("{broken")]
    with open(inputs["csv"], "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text"])  # no id column: the id is the position, as in the local engine
        w.writerows([r["text"]] for r in good)
    pq.write_table(pa.table({"text": [r["text"] for r in good] + [None]}), inputs["parquet"])
    try:
        for fmt, src in inputs.items():
            args = ["--model", str(tiny_ckpt), "--input", str(src), "--quiet", "--chunk-size", "8", "--allow-errors",
                    "--threads", "1"]
            local = tmp_path / f"local-{fmt}.jsonl"
            assert batch.main(args + ["--output", str(local)]) == 0
            out = tmp_path / f"ray-{fmt}"
            assert batch.main(args + ["--output", str(out), "--engine", "ray", "--ray-cpus", "2"]) == 0
            got = [json.loads(x) for p in sorted(out.glob("part-*.jsonl")) for x in p.read_text(encoding="utf-8").splitlines()]
            want = read_jsonl(local)
            assert [g["id"] for g in got] == [w["id"] for w in want], fmt
            assert got == want, fmt
            errors = [json.loads(x) for p in sorted((out / "errors").glob("part-*.jsonl"))
                      for x in p.read_text(encoding="utf-8").splitlines()]
            local_errors = tmp_path / f"local-{fmt}.jsonl.errors.jsonl"
            assert errors == (read_jsonl(local_errors) if local_errors.exists() else []), fmt
    finally:
        ray.shutdown()


# -- 5. rasid-train: only user errors get the one-line form ------------------------------------------------------

def run_train(tmp_path, overrides, patch=""):
    code = ("import sys\nimport rasid.training.train as t\n" + patch
            + "t.main(sys.argv[1:])\n")
    return subprocess.run([sys.executable, "-c", code, f"output_dir={tmp_path / 'o'}", *overrides],
                          capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("failure", ["raise ValueError('internal bug 42')",
                                     "open('/nonexistent/rasid/internal/file')",
                                     "raise OSError('internal bug 42')"])
def test_train_internal_failure_shows_traceback(tmp_path, failure):
    patch = f"def boom(settings):\n    {failure}\nt.train = boom\n"
    r = run_train(tmp_path, [], patch)
    assert r.returncode != 0
    assert "Traceback" in r.stderr and ("internal bug 42" in r.stderr or "/nonexistent/rasid" in r.stderr), r.stderr
    assert "rasid-train: error:" not in r.stderr


def test_train_user_errors_stay_one_line(tmp_path):
    r = run_train(tmp_path, ["+model.bogus=1"])  # "+" gets past composition; the schema still names the key
    assert r.returncode == 2 and "rasid-train: error: Key 'bogus' not in 'ModelConfig'" in r.stderr, r.stderr
    assert "full_key: model.bogus" in r.stderr
    assert "Traceback" not in r.stderr
    no_labels = tmp_path / "plain.jsonl"
    no_labels.write_text(json.dumps({"id": "a", "text": "نص", "entities": []}) + "\n", encoding="utf-8")
    r = run_train(tmp_path, [f"data.train={no_labels}", "data.entity_labels=auto"])
    assert r.returncode == 2 and "data.entity_labels=auto: no entity labels" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    r = run_train(tmp_path, [f"data.train={tmp_path / 'missing.jsonl'}"])
    assert r.returncode == 2 and "not found" in r.stderr and "Traceback" not in r.stderr, r.stderr


# -- 7. make test and pytest's warning filters ---------------------------------------------------------------------

def test_xdist_distribution_and_warning_filters():
    make_test = next(line for line in (REPO / "Makefile").read_text().splitlines() if "-m pytest" in line
                     and "not slow" not in line)
    if "loadgroup" in make_test:  # grouping only means something with xdist_group marks
        mark = re.compile(r"^\s*@pytest\.mark\.xdist_group\(", re.M)
        marks = [p for p in (REPO / "tests").glob("test_*.py") if mark.search(p.read_text(encoding="utf-8"))]
        assert marks, "make test uses --dist loadgroup but no test has an xdist_group mark"
    filters = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"].get(
        "filterwarnings", [])
    for f in filters:  # action:message:category:module:lineno
        action, _, category, module = (f.split(":") + ["", "", "", ""])[:4]
        if action == "ignore" and ("Deprecation" in category or category in ("", "Warning")):
            assert module and not re.match(r"rasid\b", module), f"{f!r} hides deprecations beyond one third-party module"
