"""This machine's matmul peaks, measured with the kernel family each variant runs on.

Each family's peak is the best, over square sizes and BERT-base's own dense
shapes, of the median of repeats after warm-up: one square size alone sat below
what the same kernels do in the model (on a 2-core EPYC, ``torch.mm`` at
2048x2048 measured 82 GFLOP/s while BERT-base's layers ran at 112 through
onnxruntime), which made every fp32 variant "above its peak".

- torch fp32 (rasid-torch, the pipelines): ``torch.mm``.
- ONNX fp32: one onnxruntime ``MatMul`` node with a constant weight (MLAS sgemm,
  pre-packed as in the model).
- ONNX int8 (dynamic quantisation): onnxruntime's ``MatMulInteger`` (uint8
  activations x int8 weights, MLAS QGEMM). ``torch._int_mm`` is not used: on
  CPUs without VNNI it falls back to a slow path that measured 1.3 GOP/s, far
  below what onnxruntime reaches on the same machine.

A peak that fails a sanity check is refused rather than printed next to a percentage.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

CPU_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_tile", "amx_int8")
INT8_BELOW_FP32 = "n/a (int8 peak below fp32 peak: no int8 acceleration on this CPU)"


def cpu_info(cpuinfo: str | None = None) -> dict:
    """CPU model, the SIMD flags that decide matmul speed, and core counts (from /proc/cpuinfo)."""
    if cpuinfo is None:
        p = Path("/proc/cpuinfo")
        cpuinfo = p.read_text() if p.is_file() else ""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())  # the first processor's entry
    flags = set(fields.get("flags", "").split())
    return {"model": fields.get("model name", "unknown"), "flags": {f: f in flags for f in CPU_FLAGS},
            "logical_cpus": os.cpu_count(), "cores_per_socket": int(fields["cpu cores"]) if "cpu cores" in fields else None}


def median_seconds(fn: Callable[[], object], warmup: int = 2, repeats: int = 7) -> float:
    """Median wall time of ``fn`` after ``warmup`` calls (the median: a busy machine gives outliers both ways)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


# (M, K, N) products each peak is the best of: squares, and the dense layers of BERT-base over a
# batch of 2,048 tokens (768 -> 3072 and back), the shapes the model itself runs
SHAPES = ((1024, 1024, 1024), (2048, 2048, 2048), (3072, 3072, 3072), (2048, 768, 3072), (2048, 3072, 768))


def fp32_peak_gflops(threads: int, shapes: tuple[tuple[int, int, int], ...] = SHAPES) -> float:
    import torch

    torch.set_num_threads(threads)
    best = 0.0
    for m, k, n in shapes:
        a, b = torch.randn(m, k), torch.randn(k, n)
        best = max(best, 2 * m * k * n / median_seconds(lambda: torch.mm(a, b)) / 1e9)
    return best


def matmul_model(m: int, k: int, n: int, integer: bool = False):
    """One matrix product with a constant weight, as a dense layer runs in onnxruntime: fp32 ``MatMul``
    (A float (M, K) x B float (K, N)), or ``MatMulInteger`` (A uint8 with a zero point x B int8)."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    if integer:
        b = numpy_helper.from_array(rng.integers(-128, 128, (k, n), dtype=np.int8), "B")
        inits = [b, numpy_helper.from_array(np.array(128, dtype=np.uint8), "a_zero_point")]
        node = helper.make_node("MatMulInteger", ["A", "B", "a_zero_point"], ["Y"])
        a_type, y_type = TensorProto.UINT8, TensorProto.INT32
    else:
        inits = [numpy_helper.from_array(rng.standard_normal((k, n)).astype(np.float32), "B")]
        node = helper.make_node("MatMul", ["A", "B"], ["Y"])
        a_type, y_type = TensorProto.FLOAT, TensorProto.FLOAT
    graph = helper.make_graph([node], "matmul", [helper.make_tensor_value_info("A", a_type, [m, k])],
                              [helper.make_tensor_value_info("Y", y_type, [m, n])], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # readable by every onnxruntime the project supports
    onnx.checker.check_model(model)
    return model


def matmul_integer_model(m: int, k: int, n: int):
    """One MatMulInteger node: the layout of a dynamically quantised Linear."""
    return matmul_model(m, k, n, integer=True)


def onnx_peak(threads: int, integer: bool, shapes: tuple[tuple[int, int, int], ...] = SHAPES) -> float:
    import numpy as np
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    best = 0.0
    for m, k, n in shapes:
        sess = ort.InferenceSession(matmul_model(m, k, n, integer).SerializeToString(), opts,
                                    providers=["CPUExecutionProvider"])
        rng = np.random.default_rng(1)
        a = rng.integers(0, 256, (m, k), dtype=np.uint8) if integer else rng.standard_normal((m, k)).astype(np.float32)
        best = max(best, 2 * m * k * n / median_seconds(lambda: sess.run(None, {"A": a})) / 1e9)
    return best


def int8_peak_gops(threads: int, shapes: tuple[tuple[int, int, int], ...] = SHAPES) -> float:
    return onnx_peak(threads, integer=True, shapes=shapes)


def measure(threads: int) -> dict:
    which = "best of 1024, 2048, 3072 squares and BERT-base's 2048x768x3072, 2048x3072x768"
    return {"fp32_gflops": round(fp32_peak_gflops(threads), 1), "onnx_fp32_gflops": round(onnx_peak(threads, False), 1),
            "int8_gops": round(int8_peak_gops(threads), 1), "fp32_kernel": f"torch.mm, {which}",
            "onnx_fp32_kernel": f"onnxruntime MatMul, {which}",
            "int8_kernel": f"onnxruntime MatMulInteger (u8 x s8), {which}"}


# -- sanity checks ---------------------------------------------------------------
def int8_peak_problem(fp32: float, int8: float) -> str | None:
    """Why the int8 peak cannot be used, or None. An int8 kernel slower than fp32 sgemm
    means the CPU has no int8 path worth the name: a fraction of it says nothing."""
    if not int8 > 0:
        return "n/a (int8 peak not measured)"
    if int8 < fp32:
        return INT8_BELOW_FP32
    return None


def fraction_of_peak(useful_gflops: float, peak: float, problem: str | None = None) -> tuple[float | None, str]:
    """(fraction or None, text for the table). Above 100% is impossible for a true peak:
    the peak (or the FLOP count) is wrong, so the figure is flagged and no percentage given."""
    if problem:
        return None, problem
    if not peak > 0:
        return None, "n/a (no peak)"
    frac = useful_gflops / peak
    if frac > 1.0:
        return None, "FLAGGED: above the measured peak (peak or FLOP count wrong)"
    return round(frac, 3), f"{100 * frac:.0f}%"
