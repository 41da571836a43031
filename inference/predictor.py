"""Predictor: a saved rasid checkpoint -> entities, attack types and events.

    from rasid.inference import Predictor
    p = Predictor.from_pretrained("outputs/default/model")
    p.predict("قتل سبعة جنود في هجوم ...")          # one dict
    p.predict(list_of_articles, batch_size=32)        # list, input order

Articles of any length: paragraphs and sentences become segments, segments
longer than the model's window become overlapping windows, and each word is
read from the window where it sits most centrally. Offsets index the caller's
string exactly, whatever normalisation did.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rasid.models.modeling import CheckpointError, load_config

from .counts import is_number_word, parse_count
from .encoding import Prepared, check_fast_tokenizer, encode, first_subword_positions, prepare
from .normalize import NormalizationConfig
from .schema import COUNT_LABELS, EVENT_CODES
from .segment import split_segments
from .words import DEFAULT_STEMS

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a checkpoint is local; never reach for a hub
_TRAILING_PREPOSITIONS = frozenset(["من", "في", "على", "عن", "ب", "ل", "و"])
_SURROGATE = re.compile("[\ud800-\udfff]")  # lone surrogates (from JSON \\ud800 escapes) break tokenizers


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def load_tokenizer(path: str | os.PathLike):
    """Fast tokenizer from the checkpoint directory only."""
    from transformers import PreTrainedTokenizerFast

    path = Path(path)
    if not (path / "tokenizer.json").is_file():
        raise CheckpointError(f"{path} has no tokenizer.json; rasid needs the fast tokenizer saved with the model")
    tok_cfg = path / "tokenizer_config.json"
    if tok_cfg.is_file():
        import json

        d = json.loads(tok_cfg.read_text(encoding="utf-8"))
        if d.get("auto_map"):
            raise CheckpointError(f"{tok_cfg} asks for remote code; rasid never runs code from a checkpoint")
    # The generic fast class reads tokenizer.json only: no config.json lookup, no remote code.
    tok = PreTrainedTokenizerFast.from_pretrained(str(path), local_files_only=True)
    check_fast_tokenizer(tok)
    return tok


def viterbi_iob2(logp: np.ndarray, tags: list[str]) -> list[int]:
    """Most probable tag sequence under IOB2 constraints. ``logp``: (W, num_tags)."""
    n = len(tags)
    allowed = np.zeros((n, n), dtype=bool)  # allowed[prev, cur]
    start_ok = np.array([not t.startswith("I-") for t in tags])
    for j, cur in enumerate(tags):
        for i, prev in enumerate(tags):
            allowed[i, j] = not cur.startswith("I-") or prev[2:] == cur[2:] and prev != "O"
    trans = np.where(allowed, 0.0, -np.inf)  # (num_tags, num_tags)
    score = np.where(start_ok, logp[0], -np.inf)  # (num_tags,)
    back = np.zeros((len(logp), n), dtype=np.int64)
    for w in range(1, len(logp)):
        cand = score[:, None] + trans  # (prev, cur)
        back[w] = cand.argmax(0)
        score = cand.max(0) + logp[w]
    path = [int(score.argmax())]
    for w in range(len(logp) - 1, 0, -1):
        path.append(int(back[w, path[-1]]))
    return path[::-1]


class _TorchBackend:
    def __init__(self, path: Path, num_threads: int | None):
        import torch

        from rasid.models.modeling import RasidModel

        if num_threads:
            torch.set_num_threads(num_threads)
        self.torch = torch
        self.model = RasidModel.from_pretrained(path)

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
        t = self.torch
        with t.inference_mode():
            kw = {"input_ids": t.from_numpy(ids), "attention_mask": t.from_numpy(mask)}
            out = self.model(**kw)
        return {k: v.float().numpy() for k, v in out.items()}


class _OnnxBackend:
    def __init__(self, path: Path, num_threads: int | None, file_name: str | None):
        try:
            import onnxruntime as ort
        except ImportError:
            raise CheckpointError("backend='onnx' needs onnxruntime: pip install 'rasid-inference[onnx]'") from None
        candidates = [file_name] if file_name else ["model.int8.onnx", "model.onnx"]
        onnx_file = next((path / c for c in candidates if (path / c).is_file()), None)
        if onnx_file is None:
            raise CheckpointError(f"{path} has no {' or '.join(candidates)}; run rasid-export --model DIR --output {path}")
        opts = ort.SessionOptions()
        if num_threads:
            opts.intra_op_num_threads = num_threads
        self.session = ort.InferenceSession(str(onnx_file), opts, providers=["CPUExecutionProvider"])
        self.outputs = [o.name for o in self.session.get_outputs()]

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
        res = self.session.run(None, {"input_ids": ids, "attention_mask": mask})
        return dict(zip(self.outputs, res))


@dataclass
class _Window:
    doc: int
    seg: int
    ids: list[int]
    word_ids: list[int | None]


class Predictor:
    def __init__(self, path: Path, backend, tokenizer, config):
        self.path = path
        self.backend = backend
        self.tokenizer = tokenizer
        self.config = config
        self.norm_cfg = NormalizationConfig.from_dict(config.normalization)
        self.stems = DEFAULT_STEMS | frozenset(config.clitic_stems)
        self.tags = config.tags
        self.thresholds = {t: float(config.thresholds.get(t, 0.5)) for t in config.attack_types}
        self.max_segment_words = 80

    @classmethod
    def from_pretrained(
        cls, path: str | os.PathLike, backend: str = "torch", num_threads: int | None = None,
        onnx_file: str | None = None,
    ) -> "Predictor":
        path = Path(path)
        config = load_config(path)
        tokenizer = load_tokenizer(path)
        vocab = config.encoder.get("vocab_size")
        if vocab is not None and len(tokenizer) > vocab:
            raise CheckpointError(
                f"the tokenizer in {path} has {len(tokenizer)} tokens but the model's embedding has {vocab}: "
                "they come from different models. Save the tokenizer the model was trained with next to it."
            )
        if backend == "torch":
            be = _TorchBackend(path, num_threads)
        elif backend == "onnx":
            be = _OnnxBackend(path, num_threads, onnx_file)
        else:
            raise ValueError(f"unknown backend {backend!r}; use 'torch' or 'onnx'")
        return cls(path, be, tokenizer, config)

    # -- public API --------------------------------------------------------
    def predict(self, texts: str | list[str], batch_size: int = 32) -> dict | list[dict]:
        single = isinstance(texts, str)
        items = [texts] if single else list(texts)
        for i, t in enumerate(items):
            if not isinstance(t, str):
                raise TypeError(f"input {i} is {type(t).__name__}, expected str")
        # Same-length replacement keeps every offset valid; entity text comes from the original.
        safe = [_SURROGATE.sub("\ufffd", t) for t in items]
        results = self._predict(safe, batch_size)
        for original, clean, res in zip(items, safe, results):
            if original != clean:
                for e in res["entities"]:
                    e["text"] = original[e["start"] : e["end"]]
        return results[0] if single else results

    __call__ = predict

    # -- pipeline ----------------------------------------------------------
    def _predict(self, texts: list[str], batch_size: int) -> list[dict]:
        cfg = self.config
        # 1. documents -> segments -> prepared words
        segs: list[list[tuple[int, int, Prepared]]] = []
        for text in texts:
            doc_segs = []
            for s, e in split_segments(text, self.max_segment_words):
                prep = prepare(text[s:e], self.norm_cfg, self.stems)
                if prep.words:
                    doc_segs.append((s, e, prep))
            segs.append(doc_segs)
        # 2. segments -> token windows
        flat = [(d, k) for d, doc in enumerate(segs) for k in range(len(doc))]
        windows: list[_Window] = []
        for start in range(0, len(flat), 256):  # tokenize in chunks: bounded memory on huge inputs
            chunk = flat[start : start + 256]
            enc = encode(self.tokenizer, [segs[d][k][2].word_strings() for d, k in chunk], cfg.max_length, cfg.stride)
            for w, sample in enumerate(enc["overflow_to_sample_mapping"]):
                d, k = chunk[sample]
                windows.append(_Window(d, k, enc["input_ids"][w], enc.word_ids(w)))
        # 3. forward in length-sorted batches (little padding), results by window
        token_probs: list[np.ndarray | None] = [None] * len(windows)
        type_probs: list[np.ndarray | None] = [None] * len(windows)
        order = sorted(range(len(windows)), key=lambda i: len(windows[i].ids))
        pad = self.tokenizer.pad_token_id or 0
        for b in range(0, len(order), batch_size):
            idx = order[b : b + batch_size]
            T = max(len(windows[i].ids) for i in idx)
            ids = np.full((len(idx), T), pad, dtype=np.int64)  # (B, T)
            mask = np.zeros((len(idx), T), dtype=np.int64)  # (B, T)
            for r, i in enumerate(idx):
                n = len(windows[i].ids)
                ids[r, :n] = windows[i].ids
                mask[r, :n] = 1
            out = self.backend(ids, mask)
            for r, i in enumerate(idx):
                if "token_logits" in out:
                    token_probs[i] = _softmax(out["token_logits"][r, : len(windows[i].ids)])  # (T_i, num_tags)
                if "type_logits" in out:
                    type_probs[i] = _sigmoid(out["type_logits"][r])  # (num_types,)
        # 4. windows -> per-word tag probabilities and per-segment type scores
        best: dict[tuple[int, int], dict[int, tuple[int, np.ndarray]]] = {}
        seg_types: dict[tuple[int, int], np.ndarray] = {}
        for i, win in enumerate(windows):
            key = (win.doc, win.seg)
            if type_probs[i] is not None:
                prev = seg_types.get(key)
                seg_types[key] = type_probs[i] if prev is None else np.maximum(prev, type_probs[i])
            if token_probs[i] is None:
                continue
            n = len(win.ids)
            words = best.setdefault(key, {})
            for w, pos in first_subword_positions(win.word_ids).items():
                centrality = min(pos, n - 1 - pos)  # keep the window with most context
                if w not in words or centrality > words[w][0]:
                    words[w] = (centrality, token_probs[i][pos])
        # 5. assemble documents
        return [self._document(d, segs[d], best, seg_types) for d in range(len(texts))]

    def _document(self, d, doc_segs, best, seg_types) -> dict:
        entities, events = [], []
        doc_types: dict[str, float] = {}
        for k, (s, e, prep) in enumerate(doc_segs):
            ents = self._decode_entities(prep, best.get((d, k), {}), s) if self.config.has_tagging else []
            entities.extend(ents)
            types = []
            if (d, k) in seg_types:
                for label, p in zip(self.config.attack_types, seg_types[(d, k)]):
                    if p >= self.thresholds[label]:
                        types.append({"label": label, "score": round(float(p), 4)})
                        doc_types[label] = max(doc_types.get(label, 0.0), float(p))
            if types:
                events.append(self._event(s, e, types, ents))
        attack_types = [{"label": lab, "score": round(p, 4)} for lab, p in sorted(doc_types.items(), key=lambda x: -x[1])]
        return {"entities": entities, "attack_types": attack_types, "events": events}

    def _decode_entities(self, prep: Prepared, word_probs: dict[int, tuple[int, np.ndarray]], offset: int) -> list[dict]:
        """Best valid IOB2 path over words (Viterbi: I-X only after B-X or I-X) -> spans."""
        words = [w for w in range(len(prep.words)) if w in word_probs]
        if not words:
            return []
        probs = np.stack([word_probs[w][1] for w in words])  # (W, num_tags)
        path = viterbi_iob2(np.log(probs + 1e-12), self.tags)
        spans: list[list] = []  # label, first word, last word, probs
        prev_w = None
        for i, (w, t) in enumerate(zip(words, path)):
            tag, p = self.tags[t], float(probs[i, t])
            if tag == "O":
                prev_w = None
                continue
            bio, label = tag.split("-", 1)
            if bio == "I" and spans and prev_w == w - 1 and spans[-1][0] == label:
                spans[-1][2] = w
                spans[-1][3].append(p)
            else:
                spans.append([label, w, w, [p]])
            prev_w = w
        # Two ACTOR spans with no word between are one name cut in two by a stray
        # B- tag (`تنظيم | داعش`): in the corpus fewer than 1% of ACTOR pairs touch.
        merged: list[list] = []
        for sp in spans:
            if merged and sp[0] == merged[-1][0] == "ACTOR" and sp[1] == merged[-1][2] + 1:
                merged[-1][2] = sp[2]
                merged[-1][3] = merged[-1][3] + sp[3]
            else:
                merged.append(sp)
        text = prep.original
        out = []
        words = prep.word_strings()
        for label, w0, w1, ps in merged:
            # No span ends on a conjunction or preposition (the schema ends a count
            # before a partitive من + ACTOR): drop trailing من/في/و words.
            while w1 > w0 and words[w1] in _TRAILING_PREPOSITIONS:
                w1 -= 1
                ps = ps[:-1]
            # A compound number is never cut after its first part (`سبعة | وعشرين`):
            # extend over و + number word.
            while (label in COUNT_LABELS and w1 + 2 < len(words) and words[w1 + 1] == "و"
                   and is_number_word(words[w1 + 2]) and is_number_word(words[w1])):
                w1 += 2
            s, e = prep.original_span(w0, w1, self.norm_cfg)
            ent = {"start": offset + s, "end": offset + e, "label": label, "text": text[s:e],
                   "score": round(float(np.mean(ps)), 4)}
            if label in COUNT_LABELS:
                count, qualifier = parse_count(text[s:e], text[e : e + 20])
                ent["count"] = count
                ent["qualifier"] = qualifier
            out.append(ent)
        return out

    @staticmethod
    def _event(s: int, e: int, types: list[dict], ents: list[dict]) -> dict:
        def total(label):
            counts = [x["count"] for x in ents if x["label"] == label and x.get("count") is not None]
            return sum(counts) if counts else None

        actors = list(dict.fromkeys(x["text"] for x in ents if x["label"] == "ACTOR"))
        return {
            "start": s, "end": e,
            "attack_types": [
                {**t, "acled_sub_event": EVENT_CODES.get(t["label"], (None, None))[0],
                 "gtd_attack_type": EVENT_CODES.get(t["label"], (None, None))[1]}
                for t in types
            ],
            "actors": actors,
            "killed": total("KILLED"),
            "wounded": total("WOUNDED"),
        }
