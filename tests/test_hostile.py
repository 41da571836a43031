"""Hostile input: never a crash, a result or a clear per-record error, offsets always valid."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rasid.data import cli as data_cli
from rasid.data.schema import validate_record
from rasid.inference import batch

HOSTILE = {
    "empty": "",
    "whitespace": " \n\t\u00a0 ",
    "latin": "Five soldiers were killed in an ambush near Kidal on Tuesday.",
    "emoji": "قتل 😀 خمسة 🔥 جنود 💣",
    "bidi": "\u202bقتل\u202c \u200fخمسة\u200e جنود \u2066داعش\u2069",
    "zwj": "ق\u200dت\u200dل خمسة\u200c جنود",
    "tatweel": "قــــــــــــــتل الـــــــــــجيش " * 5,
    "diacritics": "قُتِلَ خَمْسَةُ جُنُودٍ وَأُصِيبَ ثَلَاثَةٌ آخَرُونَ فِي هُجُومٍ مُسَلَّحٍ",
    "nul": "قتل\x00 خمسة\x00\x00 جنود",
    "control": "قتل\x07\x1b[31m خمسة جنود\x7f",
    "long_line": "كلمة " * 40000,  # 200k characters, no newline, no full stop
    "one_mb": ("انفجرت عبوة ناسفة في سوق المدينة وقتل ثلاثة أشخاص.\n" * 21000)[:1_000_000],
    "lone_surrogate": "قتل \ud83d خمسة جنود",
    "combining_only": "\u064e\u064f\u0650\u0651" * 50,
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_predict_hostile(predictor, name):
    text = HOSTILE[name]
    res = predictor.predict(text, batch_size=64)
    assert {"entities", "attack_types", "events"} <= set(res)
    for e in res["entities"]:
        assert 0 <= e["start"] < e["end"] <= len(text)
        assert text[e["start"]:e["end"]] == e["text"]
    if not text.strip() or name == "combining_only":  # nothing left once blanks and marks are removed
        assert res["entities"] == [] and res["attack_types"] == [] and res["events"] == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(max_size=120), min_size=1, max_size=6))
def test_predict_lists_of_random_text(predictor, texts):
    res = predictor.predict(texts, batch_size=3)
    assert len(res) == len(texts)
    for t, r in zip(texts, res):
        for e in r["entities"]:
            assert t[e["start"]:e["end"]] == e["text"]


def test_batch_hostile_records(tiny_ckpt, tmp_path):
    lines = [json.dumps({"id": k, "text": v}) for k, v in HOSTILE.items() if k != "one_mb"]
    lines += [
        json.dumps({"id": "int", "text": 12}), json.dumps({"id": "list", "text": ["a"]}),
        json.dumps({"id": "null", "text": None}), json.dumps({"id": {"nested": 1}, "text": "قتل جندي"}),
        "\x00\x01\x02", "", "   ", '{"id": "trunc", "text": "قتل', "[]", "null", '"just a string"',
        '{"id": "deep", "x": ' + "[" * 5000 + "]" * 5000 + ', "text": "ok"}',
    ]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with open(src, "ab") as f:
        f.write(b'{"id": "latin1", "text": "\xe9\xe8"}\n')  # not UTF-8
    out = tmp_path / "out.jsonl"
    assert batch.main(["--model", str(tiny_ckpt), "--input", str(src), "--output", str(out), "--quiet"]) == 1
    done = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    errors = [json.loads(x) for x in (tmp_path / "out.jsonl.errors.jsonl").read_text(encoding="utf-8").splitlines()]
    # every non-blank input line is in exactly one of the two files
    assert len(done) + len(errors) == sum(1 for x in lines if x.strip()) + 1
    assert {d["id"] for d in done if isinstance(d["id"], str)} >= {"latin", "emoji", "bidi", "nul", "long_line", "lone_surrogate"}
    for e in errors:
        assert e["line"] >= 1 and e["error"]


def test_validate_hostile_files(tmp_path, capsys):
    p = tmp_path / "bad.jsonl"
    p.write_bytes(b"\x00\xff\xfe garbage\n" + json.dumps({"id": "a", "text": "x\ud800"}).encode() + b"\n"
                  + b'{"id": 5, "text": [], "entities": "no"}\n' + b"[" * 100000 + b"\n")
    assert data_cli.main(["validate", str(p)]) == 1
    out = capsys.readouterr().out
    assert f"{p}:1:" in out


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.sampled_from(
                        ["id", "text", "entities", "attack_types", "start", "end", "label", "count"]), c, max_size=5),
                    max_leaves=20))
def test_validate_record_never_raises(obj):
    problems = validate_record(obj)
    assert isinstance(problems, list)
