"""This machine's matmul peaks, measured with the kernel family each variant runs on.

fp32 variants (torch and ONNX fp32) spend their time in sgemm: the fp32 peak is
``torch.mm`` on large square matrices. The ONNX int8 graph (dynamic
quantisation) runs onnxruntime's MatMulInteger (uint8 activations x int8
weights, MLAS QGEMM): the int8 peak is one MatMulInteger node run by
onnxruntime. ``torch._int_mm`` is not used: on CPUs without VNNI it falls back
to a slow path that measured 1.3 GOP/s, far below what onnxruntime reaches on
the same machine, and made "% of peak" meaningless.

Each peak is the median of repeats after warm-up. A peak that fails a sanity
check is refused rather than printed next to a percentage.
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


def fp32_peak_gflops(threads: int, n: int = 2048) -> float:
    import torch

    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    return 2 * n**3 / median_seconds(lambda: torch.mm(a, b)) / 1e9


def matmul_integer_model(m: int, k: int, n: int):
    """One MatMulInteger node: A (M, K) uint8 input with a zero point x B (K, N) int8 constant.

    The layout of a dynamically quantised Linear: activations uint8, weights int8 initialisers
    (which onnxruntime pre-packs once, as it does for the model's weights)."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    b = numpy_helper.from_array(rng.integers(-128, 128, (k, n), dtype=np.int8), "B")
    a_zp = numpy_helper.from_array(np.array(128, dtype=np.uint8), "a_zero_point")
    node = helper.make_node("MatMulInteger", ["A", "B", "a_zero_point"], ["Y"])
    graph = helper.make_graph([node], "matmul_integer", [helper.make_tensor_value_info("A", TensorProto.UINT8, [m, k])],
                              [helper.make_tensor_value_info("Y", TensorProto.INT32, [m, n])], initializer=[b, a_zp])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # readable by every onnxruntime the project supports
    onnx.checker.check_model(model)
    return model


def int8_peak_gops(threads: int, n: int = 1024) -> float:
    import numpy as np
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    sess = ort.InferenceSession(matmul_integer_model(n, n, n).SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])
    a = np.random.default_rng(1).integers(0, 256, (n, n), dtype=np.uint8)
    return 2 * n**3 / median_seconds(lambda: sess.run(None, {"A": a})) / 1e9


def measure(threads: int) -> dict:
    return {"fp32_gflops": round(fp32_peak_gflops(threads), 1), "int8_gops": round(int8_peak_gops(threads), 1),
            "fp32_kernel": "torch.mm 2048x2048", "int8_kernel": "onnxruntime MatMulInteger 1024x1024 (u8 x s8)"}


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
