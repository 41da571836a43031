"""Logic of the speed bench (bench/): peak sanity checks, CPU facts, article building. Nothing here is timed."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import peaks  # noqa: E402

CPUINFO = """processor\t: 0
model name\t: AMD EPYC
cpu cores\t: 2
flags\t\t: fpu sse2 avx2 fma
processor\t: 1
model name\t: AMD EPYC
flags\t\t: fpu sse2 avx2 fma
"""


def test_cpu_info_reads_model_flags_and_cores():
    info = peaks.cpu_info(CPUINFO)
    assert info["model"] == "AMD EPYC" and info["cores_per_socket"] == 2
    assert info["flags"]["avx2"] and not info["flags"]["avx512f"] and not info["flags"]["avx512_vnni"]
    assert not info["flags"]["amx_tile"]
    assert peaks.cpu_info("")["model"] == "unknown"


def test_int8_peak_below_fp32_is_refused():
    assert peaks.int8_peak_problem(fp32=114.0, int8=1.3) == peaks.INT8_BELOW_FP32
    assert peaks.int8_peak_problem(fp32=114.0, int8=0.0).startswith("n/a")
    assert peaks.int8_peak_problem(fp32=114.0, int8=300.0) is None


def test_fraction_of_peak_flags_impossible_figures():
    assert peaks.fraction_of_peak(50.0, 100.0) == (0.5, "50%")
    frac, text = peaks.fraction_of_peak(170.0, 1.3)  # the "13064% of peak" case
    assert frac is None and text.startswith("FLAGGED")
    frac, text = peaks.fraction_of_peak(50.0, 100.0, peaks.INT8_BELOW_FP32)
    assert frac is None and text == peaks.INT8_BELOW_FP32
    assert peaks.fraction_of_peak(50.0, 0.0)[0] is None


def test_matmul_integer_graph_is_valid_onnx():
    model = peaks.matmul_integer_model(4, 8, 3)
    assert [n.op_type for n in model.graph.node] == ["MatMulInteger"]
    assert {i.name for i in model.graph.initializer} == {"B", "a_zero_point"}


def test_articles_reach_their_length_in_paragraphs_and_are_repeatable():
    import articles

    arts = articles.build_articles(2)
    assert [a["target_words"] for a in arts] == [300, 300, 800, 800, 1500, 1500]
    for a in arts:
        assert a["target_words"] <= a["words"] < a["target_words"] + 120  # stops within the segment that crosses it
        assert a["text"].count("\n\n") >= 1  # several paragraphs
    long_ = arts[-1]["text"].split("\n\n")[0]
    assert long_.count("، ") >= 5 and len(long_.split()) > 150  # the run-on sentence opening a 1,500-word article
    assert articles.build_articles(2) == arts and articles.build_articles(2, seed=1) != arts


@pytest.mark.slow
def test_active_learning_runs_a_round_and_both_strategies_share_their_start(tmp_path):
    import json

    import active_learning

    out = tmp_path / "points.json"
    rc = active_learning.main([
        "--seeds", "0", "--rounds", "1", "--init", "16", "--step", "8", "--epochs", "1", "--min-steps", "3",
        "--batch-size", "8", "--hidden", "32", "--layers", "1", "--max-length", "48", "--pool-size", "100", "--output", str(out),
    ])
    assert rc == 0
    points = json.loads(out.read_text(encoding="utf-8"))
    assert [(p["strategy"], p["labelled"]) for p in points] == [
        ("uncertainty", 16), ("uncertainty", 24), ("random", 16), ("random", 24)]
    assert all(0.0 <= p["entity_f1"] <= 1.0 and 0.0 <= p["attack_f1"] <= 1.0 for p in points)
    # same seed, same initial set, same training: the strategies differ only from the second round on
    assert (points[0]["entity_f1"], points[0]["attack_f1"]) == (points[2]["entity_f1"], points[2]["attack_f1"])


def test_agreement_counts_span_type_and_count_differences():
    import agreement

    def res(ents, types):
        return {"entities": [{"start": s, "end": e, "label": lab, "count": c} for s, e, lab, c in ents],
                "attack_types": [{"label": t, "score": 0.9} for t in types]}

    ref = [res([(0, 5, "ACTOR", None), (6, 9, "KILLED", 3)], ["BOMBING"]), res([(0, 4, "WOUNDED", 2)], [])]
    other = [res([(0, 5, "ACTOR", None), (6, 9, "KILLED", 4)], ["BOMBING", "AMBUSH"]), res([(0, 3, "WOUNDED", 2)], [])]
    r = agreement.compare(ref, other, 8, [{"BOMBING": 0.9}, {}], [{"BOMBING": 0.7, "AMBUSH": 0.6}, {}])
    assert r["span_agreement"] == round(2 / 4, 4)  # 2 shared of 4 distinct spans
    assert r["type_agreement"] == round(1 - 1 / 16, 4)  # one of 2 x 8 decisions differs
    assert r["count_agreement"] == 0.0  # the one span in both has 3 against 4
    assert r["max_type_score_gap"] == 0.6 and r["spans"] == [3, 3]


def test_agreement_speed_rounds_interleave_every_predictor(capsys):
    import agreement

    calls = []

    class Recorder:
        def __init__(self, name):
            self.name = name

        def predict(self, texts, batch_size):
            calls.append((self.name, len(texts), batch_size))
            return []

    preds = {"torch-fp32": Recorder("t"), "onnx-int8-fused": Recorder("o")}
    out = agreement.time_predictors(preds, ["a", "b", "c"], repeats=3)
    assert calls == [("t", 3, 32), ("o", 3, 32)] * 3  # one round = every predictor once, in order
    assert out["torch-fp32"]["x_torch_fp32"] == 1.0 and set(out) == set(preds)
    assert all(r["min_s"] <= r["max_s"] and r["segments_per_s"] > 0 for r in out.values())
    assert "segments/s" in capsys.readouterr().out


@pytest.mark.parametrize("file,keep", [("model.onnx", "ffn"), ("model.int8.onnx", "ffn"), ("model.int8.onnx", "none")])
def test_breakdown_counts_the_matmul_flops_of_the_exported_graph(tiny_ckpt, tmp_path_factory, file, keep):
    """The operator profile's FLOPs, read from recorded shapes, match the model's own count:
    dense layers 2 * params * tokens, attention 4 * T^2 * H per layer, within the small heads."""
    pytest.importorskip("onnxruntime")
    import numpy as np

    import breakdown
    from rasid.inference.export import export_onnx
    from rasid.models.modeling import RasidConfig

    out = tmp_path_factory.getbasetemp() / f"breakdown_onnx_{keep}"
    if not (out / file).is_file():  # one export writes both graphs: reused across parameters
        export_onnx(tiny_ckpt, out, quantize="int8", int8_keep=keep)
    enc = RasidConfig.from_pretrained(tiny_ckpt).encoder
    h, L, inter = enc.hidden_size, enc.num_hidden_layers, enc.intermediate_size
    batches = [(np.ones((b, t), dtype=np.int64), np.ones((b, t), dtype=np.int64)) for b, t in [(4, 20), (2, 31)]]
    expected = sum(L * (2 * b * t * (4 * h * h + 2 * h * inter) + 4 * b * t * t * h) for (ids, _) in batches
                   for b, t in [ids.shape]) / 1e9
    ops = breakdown.onnx_profile(out / file, batches, 1)
    measured = sum(o["gflop"] for k, o in ops.items() if k in breakdown.MATMUL_OPS)
    assert expected <= measured <= expected * 1.15  # + the token and type heads (7 and 8 outputs of H)
    if file == "model.int8.onnx" and keep == "none":
        assert any(k in breakdown.INT8_OPS and o["gflop"] for k, o in ops.items())  # int8 products are counted too
    assert 0 < sum(o["ms"] for o in ops.values())


def test_matmul_flop_from_recorded_shapes():
    import breakdown

    assert breakdown.matmul_flop("MatMul", [[2, 5, 8], []], [[2, 5, 3]]) == 2 * 10 * 8 * 3  # weight pre-packed: no shape
    assert breakdown.matmul_flop("Attention", [[2, 5, 8], [8, 24]], [[2, 5, 8]]) == 2 * 10 * 8 * 24 + 4 * 2 * 25 * 8
    assert breakdown.matmul_flop("MatMul", [[7]], [[7]]) == 0.0


@pytest.mark.parametrize("integer", [False, True])
def test_peak_graphs_are_one_product_with_a_constant_weight(integer):
    pytest.importorskip("onnxruntime")
    import numpy as np
    import onnxruntime as ort

    model = peaks.matmul_model(4, 8, 3, integer=integer)
    assert [n.op_type for n in model.graph.node] == ["MatMulInteger" if integer else "MatMul"]
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    a = np.ones((4, 8), dtype=np.uint8 if integer else np.float32)
    assert sess.run(None, {"A": a})[0].shape == (4, 3)
