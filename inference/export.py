"""rasid-export: a checkpoint -> ONNX, the Hugging Face Hub, or the current checkpoint format.

    rasid-export --model outputs/default/model --output outputs/default/onnx --quantize int8
    Predictor.from_pretrained("outputs/default/onnx", backend="onnx")
    rasid-export --model outputs/default/model --push-to-hub my-org/rasid-e5-small [--private]
    rasid-export --model OLD_DIR --convert-to NEW_DIR      # format 1 -> 2 (config, card), same weights

The ONNX output directory is a complete checkpoint for the ONNX backend: config,
tokenizer and ``model.onnx`` (plus ``model.int8.onnx`` with --quantize); both
heads, dynamic batch and length. ``--push-to-hub`` uploads the checkpoint
directory (``rasid.inference.hub``); the token comes from ``HF_TOKEN`` or
``huggingface-cli login``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path


# Encoders whose exported graph onnxruntime's BERT optimiser knows how to fuse.
FUSABLE = ("bert", "roberta", "xlm-roberta", "electra")


INT8_KEEP = ("ffn+attn-output", "ffn", "ffn-output", "none")  # which dense layers stay fp32 in the int8 graph


def export_onnx(model_dir: str | Path, out_dir: str | Path, quantize: str | None = None, opset: int = 17,
                optimize: bool = True, int8_keep: str = "ffn+attn-output") -> list[Path]:
    """Write ``model.onnx`` (and ``model.int8.onnx`` with ``quantize="int8"``) for the ONNX backend.

    With ``optimize``, a BERT-family encoder is traced with eager attention (the graph pattern
    onnxruntime's optimiser recognises) and fused: embeddings + LayerNorm, attention, bias + GELU and
    residual + LayerNorm each become one kernel. int8 quantisation then runs on the fused graph: the
    fused attention becomes QAttention (int8 projections) and the dense layers MatMulInteger.

    int8 weights are per output channel. ``int8_keep`` leaves dense layers in fp32:
    ``ffn+attn-output`` (both feed-forward layers and the attention output projection of every
    block, so only the query/key/value projections are int8: spans agree with fp32 on 99% of the
    test split for the default models measured), ``ffn`` (the feed-forward layers only: 98.5-99%
    depending on the weights, a little faster), ``ffn-output`` (the second one only: about 97%) or
    ``none`` (all int8: about 95%, fastest). The feed-forward activations have the outliers that
    int8 flattens."""
    if int8_keep not in INT8_KEEP:  # before any export work
        raise ValueError(f"int8_keep must be one of {INT8_KEEP}, not {int8_keep!r}")
    import torch

    from rasid.models.modeling import CONFIG_NAME, RasidForEventExtraction, load_config, quiet_loading

    model_dir, out_dir = Path(model_dir), Path(out_dir)
    with quiet_loading():
        probe = load_config(model_dir)
        fuse = optimize and probe.encoder.model_type in FUSABLE
        extra = {"attn_implementation": "eager"} if fuse else {}
        model = RasidForEventExtraction.from_pretrained(model_dir, dtype=torch.float32, **extra)
    out_dir.mkdir(parents=True, exist_ok=True)
    for f in model_dir.iterdir():  # config and tokenizer files travel with the graph
        if f.name == CONFIG_NAME or f.name.startswith(("tokenizer", "special_tokens", "vocab")):
            shutil.copy2(f, out_dir / f.name)

    names = [n for n in ("token_logits", "type_logits") if getattr(model, n.replace("_logits", "_head")) is not None]

    class Graph(torch.nn.Module):  # tuple outputs: what ONNX export wants
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask):
            out = self.m(input_ids=input_ids, attention_mask=attention_mask)
            return tuple(out[n] for n in names)

    ids = torch.ones((2, 16), dtype=torch.long)  # (B, T) example; both axes are dynamic
    mask = torch.ones((2, 16), dtype=torch.long)
    onnx_path = out_dir / "model.onnx"
    dynamic = {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"}}
    dynamic |= {n: ({0: "batch", 1: "seq"} if n == "token_logits" else {0: "batch"}) for n in names}
    with torch.inference_mode():
        torch.onnx.export(
            Graph(model).eval(), (ids, mask), str(onnx_path), input_names=["input_ids", "attention_mask"],
            output_names=names, dynamic_axes=dynamic, opset_version=opset, dynamo=False,
        )
    if fuse:
        fuse_graph(onnx_path, model.config.encoder.num_attention_heads, model.config.encoder.hidden_size)
    written = [onnx_path]
    if quantize == "int8":
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic

        q_path = out_dir / "model.int8.onnx"
        # fused contrib ops carry no inferred types: tell the quantiser their tensors are fp32
        quantize_dynamic(str(onnx_path), str(q_path), weight_type=QuantType.QInt8, per_channel=True,
                         nodes_to_exclude=fp32_nodes(onnx.load(str(onnx_path)), int8_keep),
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        written.append(q_path)
    elif quantize:
        raise ValueError(f"unknown quantisation {quantize!r}; use int8")
    return written


def fp32_nodes(graph_model, keep: str) -> list[str]:
    """Names of the dense MatMuls that ``keep`` leaves in fp32 (HF BERT-family module names)."""
    names = [n.name for n in graph_model.graph.node if n.op_type in ("MatMul", "Gemm")]
    second = [n for n in names if "/output/dense/" in n and "/attention/" not in n]  # (B, T, 4H) -> (B, T, H)
    first = [n for n in names if "/intermediate/dense/" in n]  # (B, T, H) -> (B, T, 4H)
    attn_out = [n for n in names if "/attention/output/dense/" in n]  # (B, T, H) -> (B, T, H), after attention
    return {"ffn+attn-output": first + second + attn_out, "ffn": first + second, "ffn-output": second, "none": []}[keep]


def fuse_graph(path: Path, num_heads: int, hidden_size: int) -> dict[str, int]:
    """Fuse a BERT graph in place with onnxruntime's transformer optimiser; returns the fused-op counts."""
    import logging

    from onnxruntime.transformers.optimizer import optimize_model

    opt = optimize_model(str(path), model_type="bert", num_heads=num_heads, hidden_size=hidden_size)
    stats = {k: v for k, v in opt.get_fused_operator_statistics().items() if v}
    if not stats.get("Attention"):
        logging.getLogger("rasid.export").warning("no attention block was fused in %s: %s", path, stats)
    opt.save_model_to_file(str(path))
    return stats


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="rasid-export", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="checkpoint directory")
    ap.add_argument("--output", help="directory for the ONNX checkpoint")
    ap.add_argument("--quantize", choices=["int8"], help="also write a dynamically quantised int8 graph")
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--no-optimize", action="store_true", help="export the plain traced graph, without kernel fusion")
    ap.add_argument("--int8-keep", choices=INT8_KEEP, default="ffn+attn-output",
                    help="dense layers left in fp32 by --quantize int8: ffn+attn-output agrees with fp32 best, none is fastest")
    ap.add_argument("--push-to-hub", metavar="REPO", help="upload the --model checkpoint to this Hub model repo")
    ap.add_argument("--private", action="store_true", help="with --push-to-hub: create the repo private")
    ap.add_argument("--convert-to", metavar="DIR", help="re-save --model in the current checkpoint format here")
    args = ap.parse_args(argv)
    if not (args.output or args.push_to_hub or args.convert_to):
        ap.error("give --output (ONNX), --push-to-hub REPO or --convert-to DIR")
    from rasid.models.modeling import CheckpointError

    from . import hub

    try:
        files = []
        if args.convert_to:
            files += hub.convert_checkpoint(args.model, args.convert_to)
        if args.output:
            files += export_onnx(args.model, args.output, args.quantize, args.opset, optimize=not args.no_optimize,
                                 int8_keep=args.int8_keep)
        if args.push_to_hub:
            url = hub.push_to_hub(args.model, args.push_to_hub, private=args.private)
            print(f"uploaded {args.model} to {url}")
    except ImportError as exc:
        print(f"rasid-export: error: {exc}; install the extra: pip install 'rasid-inference[onnx]'", file=sys.stderr)
        return 2
    except (CheckpointError, ValueError, OSError) as exc:  # OSError: the Hub refused or was unreachable
        print(f"rasid-export: error: {exc}", file=sys.stderr)
        return 2
    for f in files:
        print(f"wrote {f} ({f.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
