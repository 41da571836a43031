"""Where the forward pass runs: torch on cpu / cuda / mps, or ONNX Runtime on cpu / cuda.

A backend takes one padded batch as numpy arrays and returns the logits as
float32 numpy arrays::

    backend(ids, mask) -> {"token_logits": (B, T, num_tags), "type_logits": (B, num_types)}

Inputs go to the device once per batch and the logits come back once per
batch: everything between stays on the device. Decoding (softmax, Viterbi,
span rules) runs on the host, in float32, whatever the compute dtype.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rasid.models.configuration import CheckpointError

# Segments per forward pass when the caller does not say: a GPU wants wide batches to be
# busy, a CPU gains nothing past a few dozen (and length-sorted batches pad little either way).
DEFAULT_BATCH_SIZE = {"cpu": 32, "cuda": 128, "mps": 64}
_DTYPES = {"float32": "float32", "fp32": "float32", "float16": "float16", "fp16": "float16", "half": "float16",
           "bfloat16": "bfloat16", "bf16": "bfloat16"}


class DeviceError(ValueError):
    """A device or dtype this machine cannot give; the message says what it has."""


def resolve_device(device: str | None = "auto"):
    """``auto`` -> cuda if torch sees a GPU, else mps, else cpu; anything else is checked, never silently changed."""
    import torch

    if device in (None, "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise DeviceError(f"unknown device {device!r}; use auto, cpu, cuda, cuda:N or mps") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"device {device!r}: torch sees no CUDA GPU here (torch {torch.__version__}); use cpu or auto")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise DeviceError(f"device {device!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    elif dev.type == "mps":
        if not torch.backends.mps.is_available():
            raise DeviceError(f"device {device!r}: no Apple GPU (MPS) available here; use cpu or auto")
    elif dev.type != "cpu":
        raise DeviceError(f"device {device!r} is not supported; use auto, cpu, cuda, cuda:N or mps")
    return dev


def resolve_dtype(device, dtype: str | None = None):
    """Compute dtype: ``None``/``auto`` -> bf16 on GPUs that have it (else fp16), fp16 on mps, fp32 on cpu.

    Half precision halves memory and roughly doubles matmul speed on a GPU. On a CPU ``auto``
    keeps fp32, so predictions do not depend on the CPU's instruction set; ``bfloat16`` is
    faster where the CPU computes it natively (AVX512-BF16, AMX) and slower where it is emulated.
    """
    import torch

    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype in (None, "auto"):
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float16 if device.type == "mps" else torch.float32
    name = _DTYPES.get(str(dtype).lower())
    if name is None:
        raise DeviceError(f"unknown dtype {dtype!r}; use auto, float32, float16 or bfloat16")
    return getattr(torch, name)


class TorchBackend:
    def __init__(self, path: Path, num_threads: int | None = None, device: str | None = "auto", dtype: str | None = None):
        import torch

        from rasid.models.modeling import RasidForEventExtraction, quiet_loading

        if num_threads:
            torch.set_num_threads(num_threads)
        self.torch = torch
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(self.device, dtype)
        with quiet_loading():
            model = RasidForEventExtraction.from_pretrained(path, dtype=torch.float32)
        self.model = model.to(device=self.device, dtype=self.dtype).eval()

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
        t = self.torch
        with t.inference_mode():
            ids_t = t.from_numpy(ids).to(self.device, non_blocking=True)  # (B, T)
            mask_t = t.from_numpy(mask).to(self.device, non_blocking=True)  # (B, T)
            out = self.model(input_ids=ids_t, attention_mask=mask_t)
            # one copy back per batch, as float32: decoding needs the logits on the host
            return {k: v.float().cpu().numpy() for k, v in out.items() if v is not None}


def onnx_providers(device: str | None, available: list[str]) -> list:
    """ONNX Runtime execution providers for ``device``: CUDA when asked (or on auto when present), else CPU."""
    if device in (None, "auto"):
        return (["CUDAExecutionProvider"] if "CUDAExecutionProvider" in available else []) + ["CPUExecutionProvider"]
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if device == "cuda" or str(device).startswith("cuda:"):
        if "CUDAExecutionProvider" not in available:
            raise DeviceError(
                f"device {device!r} with backend='onnx' needs onnxruntime's CUDA execution provider; this "
                f"onnxruntime has {', '.join(available)}. Install onnxruntime-gpu, or use device='cpu'."
            )
        index = int(str(device).split(":", 1)[1]) if ":" in str(device) else 0
        return [("CUDAExecutionProvider", {"device_id": index}), "CPUExecutionProvider"]
    raise DeviceError(f"backend='onnx' runs on cpu or cuda, not {device!r}; for an Apple GPU use backend='torch'")


class OnnxBackend:
    def __init__(self, path: Path, num_threads: int | None = None, file_name: str | None = None,
                 device: str | None = "auto"):
        try:
            import onnxruntime as ort
        except ImportError:
            raise CheckpointError("backend='onnx' needs onnxruntime: pip install 'rasid-inference[onnx]'") from None
        candidates = [file_name] if file_name else ["model.int8.onnx", "model.onnx"]
        onnx_file = next((path / c for c in candidates if (path / c).is_file()), None)
        if onnx_file is None:
            raise CheckpointError(f"{path} has no {' or '.join(candidates)}; run rasid-export --model DIR --output {path}")
        providers = onnx_providers(device, ort.get_available_providers())
        opts = ort.SessionOptions()
        if num_threads:
            opts.intra_op_num_threads = num_threads
        self.session = ort.InferenceSession(str(onnx_file), opts, providers=providers)
        self.device = "cuda" if "CUDAExecutionProvider" in self.session.get_providers() else "cpu"
        self.outputs = [o.name for o in self.session.get_outputs()]

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
        res = self.session.run(None, {"input_ids": ids, "attention_mask": mask})
        return dict(zip(self.outputs, res))
