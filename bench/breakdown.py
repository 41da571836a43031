"""Where the time of one prediction run goes: outside the model, and inside it by operator.

    python bench/breakdown.py [--shape base] [--segments 200] [--threads 2] [--output bench/breakdown.json]

For each variant of the shape (torch fp32, ONNX fp32 fused, ONNX int8 as rasid-export
writes it, ONNX int8 with every dense layer quantised), the same segments go through
``Predictor.predict`` twice:

1. timed as a whole, with the backend's calls timed apart: the rest is tokenisation,
   windowing, padding and decoding in Python;
2. with the runtime's profiler on (onnxruntime's per-node profile, torch.profiler for
   torch): time per operator type, and for the matrix products their FLOPs from the
   shapes the profiler records, so each one's GFLOP/s can be set against this machine's
   peak for its kernel family (bench/peaks.py: torch.mm for torch, onnxruntime's MatMul
   for ONNX fp32 nodes, its MatMulInteger for int8 nodes).

The two runs are separate because profiling slows the run it watches. The table answers
"which operation holds each target back": a target on % of peak is held back by the
operators that take time without doing matmul FLOPs, and by matmuls that run below
the peak; a speed-up target by the share each kind keeps.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import peaks  # bench/ is on sys.path when this file runs
from build import build
from common import REPO, SHAPES, segments

VARIANTS = {  # name -> (backend, ONNX directory under work/shape, file)
    "torch-fp32": ("torch", None, None),
    "onnx-fp32": ("onnx", "onnx", "model.onnx"),
    "onnx-int8": ("onnx", "onnx", "model.int8.onnx"),
    "onnx-int8-all": ("onnx", "onnx_int8_all", "model.int8.onnx"),
}
INT8_OPS = {"MatMulInteger", "DynamicQuantizeMatMul", "MatMulIntegerToFloat", "QAttention"}
ATTENTION_OPS = {"Attention", "QAttention"}  # fused: QKV projection + scores + mixing in one node
MATMUL_OPS = {"MatMul", "FusedMatMul", "Gemm", "aten::addmm", "aten::mm", "aten::bmm"} | INT8_OPS | ATTENTION_OPS


class TimedBackend:
    """Wraps a backend: seconds spent inside it, and the batches it saw (to replay under a profiler)."""

    def __init__(self, inner):
        self.inner, self.seconds, self.batches = inner, 0.0, []

    def __call__(self, ids, mask):
        t0 = time.perf_counter()
        out = self.inner(ids, mask)
        self.seconds += time.perf_counter() - t0
        self.batches.append((ids, mask))
        return out


def matmul_flop(op: str, inputs: list[list[int]], outputs: list[list[int]]) -> float:
    """FLOPs of a matrix-product node from the shapes the profiler recorded; 0 if they do not say.

    A (…, K) times a weight gives (…, N): 2*K*N per row of A. N comes from the output because
    onnxruntime pre-packs constant weights and then records them with no shape. A fused
    attention node, input (B, S, H): the QKV projection 2*B*S*H*3H plus scores and mixing 4*B*S*S*H."""
    if not inputs or len(inputs[0]) < 2 or not outputs or not outputs[0]:
        return 0.0
    a = inputs[0]
    if op in ATTENTION_OPS and len(a) == 3:
        bsz, seq, hid = a
        return 2.0 * bsz * seq * hid * 3 * hid + 4.0 * bsz * seq * seq * hid
    return 2.0 * float(np.prod(a[:-1])) * a[-1] * outputs[0][-1]


def onnx_profile(onnx_file: Path, batches, threads: int) -> dict[str, dict[str, float]]:
    """op type -> {"ms", "gflop"} summed over the graph's nodes for these batches."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.enable_profiling = True
    opts.profile_file_prefix = str(Path(tempfile.mkdtemp()) / "ort")
    sess = ort.InferenceSession(str(onnx_file), opts, providers=["CPUExecutionProvider"])
    for ids, mask in batches:
        sess.run(None, {"input_ids": ids, "attention_mask": mask})
    profile = Path(sess.end_profiling())
    events = json.loads(profile.read_text())
    shutil.rmtree(profile.parent)  # tens of MB for a base-shape run
    ops: dict[str, dict[str, float]] = defaultdict(lambda: {"ms": 0.0, "gflop": 0.0})
    for ev in events:
        args = ev.get("args", {})
        if ev.get("cat") != "Node" or "op_name" not in args or not ev["name"].endswith("_kernel_time"):
            continue
        op = args["op_name"]
        ops[op]["ms"] += ev["dur"] / 1000
        if op in MATMUL_OPS:
            ins = [list(d.values())[0] for d in args.get("input_type_shape", [])]
            outs = [list(d.values())[0] for d in args.get("output_type_shape", [])]
            ops[op]["gflop"] += matmul_flop(op, ins, outs) / 1e9
    return dict(ops)


def torch_profile(backend, batches) -> dict[str, dict[str, float]]:
    """op name -> {"ms", "gflop"}: self CPU time per aten operator, FLOPs as torch.profiler counts them."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], record_shapes=True, with_flops=True) as prof:
        for ids, mask in batches:
            backend(ids, mask)
    ops: dict[str, dict[str, float]] = defaultdict(lambda: {"ms": 0.0, "gflop": 0.0})
    for ev in prof.key_averages():
        if ev.key.startswith("aten::") and ev.self_cpu_time_total > 0:
            ops[ev.key]["ms"] += ev.self_cpu_time_total / 1000
            ops[ev.key]["gflop"] += (ev.flops or 0) / 1e9
    return dict(ops)


def run(shape: str, work: Path, n: int, threads: int, pk: dict) -> list[dict]:
    from rasid.inference.predictor import Predictor

    texts = segments(n)
    rows = []
    for name, (backend, sub, file_name) in VARIANTS.items():
        if backend == "torch":
            p = Predictor.from_pretrained(work / shape / "rasid", num_threads=threads)
        else:
            p = Predictor.from_pretrained(work / shape / sub, backend="onnx", num_threads=threads, onnx_file=file_name)
        p.predict(texts[:8])  # warm-up: first-call allocations and kernel choices
        timed = TimedBackend(p.backend)
        p.backend = timed
        t0 = time.perf_counter()
        p.predict(texts)
        total = time.perf_counter() - t0
        if backend == "torch":
            ops = torch_profile(timed.inner, timed.batches)
        else:
            ops = onnx_profile(work / shape / sub / file_name, timed.batches, threads)
        op_ms = sum(o["ms"] for o in ops.values()) or 1.0
        mm = {k: o for k, o in ops.items() if k in MATMUL_OPS and o["gflop"]}
        mm_ms, mm_gflop = sum(o["ms"] for o in mm.values()), sum(o["gflop"] for o in mm.values())
        # each product against the peak of its own kernel family: int8 nodes against the int8
        # peak, fp32 ones against the fp32 peak (the default int8 graph has both)
        fp32_peak = pk["fp32_gflops"] if backend == "torch" else pk["onnx_fp32_gflops"]
        ideal_ms = sum(1000 * o["gflop"] / (pk["int8_gops"] if k in INT8_OPS else fp32_peak) for k, o in mm.items())
        real = sum(int(mask.sum()) for _, mask in timed.batches)
        padded = sum(mask.size for _, mask in timed.batches)
        rows.append({
            "shape": shape, "variant": name, "segments": n, "total_s": round(total, 2),
            "outside_model_share": round(1 - timed.seconds / total, 3),
            "padding_share": round(1 - real / padded, 3),  # positions the model computes on that are padding
            "matmul_time_share": round(mm_ms / op_ms, 3),
            "matmul_gflops": round(mm_gflop / (mm_ms / 1000), 1) if mm_ms else None,
            "matmul_of_peak": round(ideal_ms / mm_ms, 3) if mm_ms else None,
            "model_of_peak": round(ideal_ms / op_ms, 3),
            "ops": {k: {"share": round(o["ms"] / op_ms, 3), "gflops": round(o["gflop"] / (o["ms"] / 1000), 1) if o["gflop"] else None}
                    for k, o in sorted(ops.items(), key=lambda kv: -kv[1]["ms"])[:8]},
        })
    return rows


def print_rows(rows: list[dict]) -> None:
    print("| shape | variant | wall s | outside the model | padding | matmul share of model time | "
          "matmul GFLOP/s (of peak) | model time at peak | top operators (share of model time) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        top = ", ".join(f"{k.replace('aten::', '')} {100 * o['share']:.0f}%" for k, o in list(r["ops"].items())[:5])
        of_peak = f"{r['matmul_gflops']} ({100 * r['matmul_of_peak']:.0f}%)" if r["matmul_of_peak"] is not None else "n/a"
        print(f"| {r['shape']} | {r['variant']} | {r['total_s']} | {100 * r['outside_model_share']:.0f}% | "
              f"{100 * r['padding_share']:.0f}% | "
              f"{100 * r['matmul_time_share']:.0f}% | {of_peak} | {100 * r['model_of_peak']:.0f}% | {top} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", default="base", choices=sorted(SHAPES))
    ap.add_argument("--segments", type=int, default=200)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--output", default=str(REPO / "bench" / "breakdown.json"))
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    pk = peaks.measure(args.threads)
    print(f"peaks: torch fp32 {pk['fp32_gflops']} GFLOP/s ({pk['fp32_kernel']}), ONNX fp32 {pk['onnx_fp32_gflops']} "
          f"GFLOP/s ({pk['onnx_fp32_kernel']}), int8 {pk['int8_gops']} GOP/s ({pk['int8_kernel']})")
    with tempfile.TemporaryDirectory() as tmp:
        build(args.shape, Path(tmp))
        rows = run(args.shape, Path(tmp), args.segments, args.threads, pk)
    print_rows(rows)
    from run import git_commit

    result = {"date": time.strftime("%Y-%m-%d"), "commit": git_commit(), "cpu": peaks.cpu_info(), "threads": args.threads,
              "peaks": pk, "rows": rows}
    Path(args.output).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
