"""Predictor: a saved rasid checkpoint -> entities, attack types and events.

    from rasid.inference import Predictor
    p = Predictor.from_pretrained("outputs/default/model")   # device="auto": a GPU if there is one
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

import rasid.models  # noqa: F401  (registers the rasid model with transformers' Auto classes)
from rasid.models.configuration import CheckpointError, load_config

from .backends import DEFAULT_BATCH_SIZE, OnnxBackend, TorchBackend
from .counts import is_counted_noun, is_multiplier, is_number_word, parse_count, quantifier_at, quantifier_before
from .encoding import Prepared, check_fast_tokenizer, encode, first_subword_positions, prepare
from .normalize import MARK_RANGES, TATWEEL, NormalizationConfig
from .schema import COUNT_LABELS, EVENT_CODES
from .segment import split_segments
from .words import DEFAULT_STEMS

_SURROGATE = re.compile("[\ud800-\udfff]")  # lone surrogates (from JSON \\ud800 escapes) break tokenizers


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def load_tokenizer(path: str | os.PathLike):
    """The fast tokenizer saved in the checkpoint directory, through AutoTokenizer (local files only)."""
    from transformers import AutoTokenizer  # reads config.json first: a RasidConfig, registered on import

    path = Path(path)
    if not (path / "tokenizer.json").is_file():
        raise CheckpointError(f"{path} has no tokenizer.json; rasid needs the fast tokenizer saved with the model")
    tok_cfg = path / "tokenizer_config.json"
    if tok_cfg.is_file():
        import json

        d = json.loads(tok_cfg.read_text(encoding="utf-8"))
        if d.get("auto_map"):
            raise CheckpointError(f"{tok_cfg} asks for remote code; rasid never runs code from a checkpoint")
    tok = AutoTokenizer.from_pretrained(str(path), local_files_only=True, trust_remote_code=False)
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


# ---------------------------------------------------------------- span refinement
# Published news writes names in quotes, numbers in brackets, units with
# numbers and number phrases in many pieces (data/corpus/AUTHORING.md R10-R16).
# The model tags words; these rules then fix the span edges, on word
# boundaries. Words come from rasid.inference.words: every punctuation mark is
# a word of its own, digits glued to letters are split from them, and
# proclitics are split off.
_SEPARATORS = frozenset("،,؛;.!?؟:")  # no span crosses these: it is cut in two there
_BRACKETS = {"(": ")", "[": "]"}  # and no name crosses a bracket (a count keeps them, R11)
_QUOTE_PAIRS = {"«": "»", "“": "”", "‹": "›", "„": "“", '"': '"', "'": "'"}
_CLOSING_QUOTES = {close: open_ for open_, close in _QUOTE_PAIRS.items()}
_DIGITS = re.compile(r"\d+(?:[.,\u066b\u066c]\d+)*")


_ALEF = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا"})
_MARKS = re.compile(f"[{MARK_RANGES}{TATWEEL}]")


def _fold(word: str) -> str:
    """Comparison form of a word: no marks or tatweel, one alef. ى stays ى:
    the preposition على is not the name علي."""
    return _MARKS.sub("", word).translate(_ALEF)


def _fold_set(text: str) -> frozenset[str]:
    return frozenset(_fold(w) for w in text.split())


# Verbs of saying and reporting, and function words: never a span on their own.
_SPEECH_VERBS = _fold_set("""قال قالت قالوا يقول تقول أفاد أفادت أفادوا يفيد تفيد أكد أكدت أكدوا يؤكد تؤكد
    أعلن أعلنت أعلنوا يعلن تعلن ذكر ذكرت ذكروا يذكر تذكر أضاف أضافت يضيف تضيف أوضح أوضحت يوضح توضح
    أشار أشارت يشير تشير صرح صرحت يصرح تصرح نقل نقلت أورد أوردت أفيد بحسب وفق وفقا نقلا""")
_FUNCTION_WORDS = _fold_set("""في من على إلى عن مع إن أن أنه أنها إنه إنها أنهم إنهم التي الذي الذين اللذين
    اللتين اللاتي اللواتي ما ماذا لا لم لن قد هذا هذه ذلك تلك هؤلاء هو هي هم كان كانت كانوا بعد قبل حيث ثم
    أو أي كما كل بين خلال عند منذ حتى لدى ضد نحو عبر و ف ب ل ك لل وب ول فب فل وك""") | _SPEECH_VERBS
# Cut off the start of a span: the schema starts spans at the head noun ...
_LEADING_CUT = _fold_set("""في من إلى عن مع إن أن أنه أنها إنه إنها التي الذي الذين اللذين اللتين اللاتي
    و ف ب ل ك لل وب ول فب فل وك""") | _SPEECH_VERBS
# ... and a count span after the killing or wounding word.
_LEADING_CUT_COUNT = _fold_set("قتل قتلت قتلوا مقتل أصيب أصيبت إصابة مصرع سقوط استشهد استشهاد جرح جرحت")
# Cut off the end (a count stops before a partitive من + ACTOR).
_TRAILING_CUT = _fold_set("""من في على عن إلى مع إن أن التي الذي الذين اللذين اللتين اللاتي
    و ف ب ل ك لل وب""") | _SPEECH_VERBS
# A number right after these names a unit (R12: اللواء 93), never a casualty count.
_UNIT_NOUNS = _fold_set("لواء اللواء فرقة الفرقة كتيبة الكتيبة فوج الفوج سرية السرية فيلق الفيلق وحدة الوحدة")


def _is_punct(word: str) -> bool:
    return not any(c.isalnum() for c in word)


def _is_number(word: str) -> bool:
    """Digits or a number word (`12`, `سبعة`, `ألفي`)."""
    return bool(_DIGITS.fullmatch(word)) or is_number_word(word)


def _is_numeric(word: str) -> bool:
    """A number, a multiplier (`آلاف`), or either with its conjunction attached (`وثلاثين`)."""
    if _is_number(word) or is_multiplier(word):
        return True
    return len(word) > 1 and word[0] == "و" and (_is_number(word[1:]) or is_multiplier(word[1:]))


def _number_continues(words: list[str], k: int) -> int:
    """How many words from ``k`` continue the number phrase that ends at ``k - 1``:
    a multiplier after a number (`12 | ألف`), `و` + number word in a compound
    (`سبعة | و ثلاثين`), `و` + any number after a multiplier (`آلاف | و 215`);
    0 when the phrase ends at ``k - 1`` (`5 و 7` are two numbers)."""
    if not 0 < k < len(words):
        return 0
    prev, cur = words[k - 1], words[k]
    if is_multiplier(cur) and _is_number(prev):
        return 1
    if cur == "و" and k + 1 < len(words):
        nxt = words[k + 1]
        if (is_number_word(nxt) and is_number_word(prev)) or (is_multiplier(prev) and _is_number(nxt)):
            return 2
    if len(cur) > 1 and cur[0] == "و" and _is_number(cur[1:]) and (is_number_word(prev) or is_multiplier(prev)):
        return 1
    return 0


def _open_quotes(words: list[str], w0: int, w1: int) -> dict[str, int]:
    """Opening quote -> how many are still open after words[w0..w1]."""
    open_: dict[str, int] = {}
    for k in range(w0, w1 + 1):
        q = words[k]
        if q in _CLOSING_QUOTES and open_.get(_CLOSING_QUOTES[q], 0) > 0:
            open_[_CLOSING_QUOTES[q]] -= 1
        elif q in _QUOTE_PAIRS:
            open_[q] = open_.get(q, 0) + 1
    return open_


def _closes_inner_quote(words: list[str], w0: int, w1: int) -> bool:
    """words[w1] closes a quote opened inside the span, after its first word
    (R10: `كتائب "أبو علي مصطفى"` keeps its closing mark; `"داعش"` does not)."""
    opener = _CLOSING_QUOTES.get(words[w1])
    return opener is not None and w1 - w0 >= 2 and _open_quotes(words, w0 + 1, w1 - 1).get(opener, 0) > 0


def _trim(label: str, w0: int, w1: int, words: list[str], folded: list[str]) -> tuple[int, int]:
    """Cut punctuation and function words off both ends; w0 > w1 when nothing is left."""
    changed = True
    while changed and w0 <= w1:
        changed = False
        first = folded[w0]
        if (_is_punct(words[w0]) or first in _LEADING_CUT
                or (label in COUNT_LABELS and first in _LEADING_CUT_COUNT)
                or (first == "على" and (w0 == w1 or folded[w0 + 1] not in ("الاقل", "اقل")))):
            w0, changed = w0 + 1, True
            continue
        if _is_punct(words[w1]) and (label in COUNT_LABELS or not _closes_inner_quote(words, w0, w1)):
            w1, changed = w1 - 1, True
        elif folded[w1] in _TRAILING_CUT:
            w1, changed = w1 - 1, True
    return w0, w1


def _owners(spans: list[list], n: int) -> list[int | None]:
    owner: list[int | None] = [None] * n
    for j, (label, w0, w1, _) in enumerate(spans):
        if label is not None:
            for k in range(w0, w1 + 1):
                owner[k] = j
    return owner


def _extend_count(w0: int, w1: int, words: list[str], free) -> tuple[int, int]:
    """Grow a KILLED/WOUNDED span to its whole number phrase (R11, R15): the
    number words and multipliers around it, the brackets around the number, the
    counted noun after it and the quantifier before it."""
    nums = [k for k in range(w0, w1 + 1) if _is_numeric(words[k])]
    q = quantifier_at(words, w0)
    if not nums and q and w1 < w0 + q < len(words) and _is_numeric(words[w0 + q]) \
            and all(free(m) for m in range(w1 + 1, w0 + q + 1)):
        nums = [w0 + q]  # only (part of) the quantifier was tagged: `ما يربو | على 40 ألف شخص`
    elif not nums:  # only the counted noun was tagged: `(15) | جريحًا`, `12 ألف | قتيل`
        k = w0 - 1
        if k >= 0 and words[k] in _BRACKETS.values():
            k -= 1
        if k < 0 or not all(free(m) for m in range(k, w0)) or not _is_numeric(words[k]):
            return w0, w1
        nums = [k]
    start = end = nums[0]  # the first number phrase of the span
    while True:  # left: `ثلاثة | آلاف`, `ثلاثة آلاف و | 215`
        if start >= 1 and free(start - 1) and _is_number(words[start - 1]) and _number_continues(words, start) == 1:
            start -= 1
        elif start >= 2 and free(start - 1) and free(start - 2) and _number_continues(words, start - 1) == 2:
            start -= 2
        else:
            break
    while True:  # right: `12 | ألف`, `ثلاثة آلاف | و 215`, `سبعة | و ثلاثين`
        n = _number_continues(words, end + 1)
        if not n or not all(free(k) for k in range(end + 1, end + 1 + n)):
            break
        end += n
    w0, w1 = min(w0, start), max(w1, end)
    # brackets around the number: `(15) جريحًا`
    if (w0 == start and start >= 1 and end + 1 < len(words) and words[start - 1] in _BRACKETS
            and words[end + 1] == _BRACKETS[words[start - 1]] and free(start - 1) and free(end + 1)):
        w0, w1 = start - 1, max(w1, end + 1)
    # the counted noun right after the number: `12 ألف | قتيل`, `(15) | جريحًا`
    after_number = w1 == end or (w1 == end + 1 and words[w1] in _BRACKETS.values())
    if after_number and w1 + 1 < len(words) and free(w1 + 1) and is_counted_noun(words[w1 + 1]):
        w1 += 1
    # the quantifier before it: `قرابة | 12 ألف قتيل`
    q = quantifier_before(words, w0)
    if q and all(free(k) for k in range(w0 - q, w0)):
        w0 -= q
    return w0, w1


def refine_spans(spans: list[tuple[str, int, int, float]], words: list[str]) -> list[tuple[str, int, int, float]]:
    """Decoded spans ``(label, first word, last word, score)`` over ``words`` ->
    spans whose edges follow the schema on published-news forms:

    * no span is punctuation only, starts on punctuation or ends on it, except a
      closing quote whose name opened inside the span (R10; a name cut inside its
      quotes is extended to the closing mark); a span is cut in two at a comma or
      a full stop, and a name at a bracket;
    * no span is only a verb of saying or a function word; spans start after a
      leading preposition, conjunction or relative, and end before a trailing one;
    * a number right after a unit noun (`اللواء 93`) is no casualty count: it
      joins the ACTOR that ends on the unit, or is dropped (R12);
    * a KILLED/WOUNDED span covers the whole number phrase, with its brackets,
      counted noun and leading quantifier (R11, R15).
    """
    folded = [_fold(w) for w in words]
    # 1. cut at separators, trim the ends, drop what holds no name or number
    out: list[list] = []
    for label, w0, w1, score in spans:
        stops = _SEPARATORS if label in COUNT_LABELS else _SEPARATORS | _BRACKETS.keys() | set(_BRACKETS.values())
        start = w0
        for k in range(w0, w1 + 2):
            if k <= w1 and words[k] not in stops:
                continue
            a, b = _trim(label, start, k - 1, words, folded)
            if a <= b and not all(_is_punct(words[m]) or folded[m] in _FUNCTION_WORDS for m in range(a, b + 1)):
                out.append([label, a, b, score])
            start = k + 1
    n = len(words)

    def free_for(j):
        owner = _owners(out, n)
        return lambda k: 0 <= k < n and owner[k] in (None, j)

    # 2. R10: a name whose quote opens inside the span ends on the closing quote
    for j, sp in enumerate(out):
        if sp[0] in COUNT_LABELS:
            continue
        free = free_for(j)
        for q, still_open in _open_quotes(words, sp[1], sp[2]).items():
            if still_open <= 0 or words[sp[1]] == q:
                continue
            for k in range(sp[2] + 1, min(n, sp[2] + 8)):
                if words[k] in _SEPARATORS or not free(k):
                    break
                if words[k] == _QUOTE_PAIRS[q]:
                    sp[2] = k
                    break
    # 3. R12: the number of a unit is not a casualty count
    for sp in out:
        label, w0, w1, _ = sp
        if label not in COUNT_LABELS:
            continue
        unit = w0 if folded[w0] in _UNIT_NOUNS else w0 - 1
        if unit < 0 or folded[unit] not in _UNIT_NOUNS or unit + 1 > w1 or not _is_number(words[unit + 1]):
            continue
        end = unit + 1
        while end < w1 and _number_continues(words, end + 1) == 1:
            end += 1
        actor = next((a for a in out if a[0] == "ACTOR" and a[2] == unit), None)
        if actor is not None:
            actor[2] = end  # [[ACTOR|اللواء 93]]
        sp[1] = end + 1
        if sp[1] <= sp[2]:
            sp[1], sp[2] = _trim(label, sp[1], sp[2], words, folded)
        if sp[1] > sp[2] or not any(_is_numeric(words[k]) or is_counted_noun(words[k]) for k in range(sp[1], sp[2] + 1)):
            sp[0] = None  # nothing of a count is left
    # 4. R11, R15: casualty spans take the whole number phrase; two counts of one
    # label that the phrase joins are one (`ثلاثة آلاف | و | 215`)
    for j, sp in enumerate(out):
        if sp[0] not in COUNT_LABELS:
            continue
        nxt = next((b for b in out[j + 1:] if b[0] is not None), None)
        if (nxt is not None and nxt[0] == sp[0] and nxt[1] == sp[2] + 2 and words[sp[2] + 1] == "و"
                and _number_continues(words, sp[2] + 1) == 2):
            nxt[1], sp[0] = sp[1], None
    for j, sp in enumerate(out):
        if sp[0] in COUNT_LABELS:
            sp[1], sp[2] = _extend_count(sp[1], sp[2], words, free_for(j))
    return [(label, w0, w1, score) for label, w0, w1, score in out if label is not None]


class _PooledCapture:
    """The encoder's last hidden states during a forward pass, mean-pooled over
    real tokens: a forward hook, so the model and its outputs stay as they are."""

    def __init__(self, backend):
        model = getattr(backend, "model", None)
        encoder = getattr(model, "encoder", None)
        if encoder is None:
            raise ValueError("embeddings need the torch backend (Predictor.from_pretrained(..., backend='torch'))")
        self.hidden = None
        self.handle = encoder.register_forward_hook(self._hook)

    def _hook(self, module, args, output) -> None:
        h = output.last_hidden_state if hasattr(output, "last_hidden_state") else output[0]
        self.hidden = h.detach().float().cpu().numpy()  # (B, T, H), on the host whatever the device

    def take(self, mask: np.ndarray) -> np.ndarray:
        m = mask[..., None].astype(np.float32)  # (B, T, 1)
        return (self.hidden * m).sum(1) / np.maximum(m.sum(1), 1.0)  # (B, H)

    def close(self) -> None:
        self.handle.remove()


@dataclass
class _Window:
    doc: int
    seg: int
    ids: list[int]
    word_ids: list[int | None]


class Predictor:
    def __init__(self, path: Path, backend, tokenizer, config, batch_size: int | None = None):
        self.path = path
        self.backend = backend
        self.device = str(getattr(backend, "device", "cpu"))
        # segments per forward pass when predict() is not told: wider on a GPU
        self.batch_size = batch_size or DEFAULT_BATCH_SIZE.get(self.device.split(":")[0], 32)
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
        onnx_file: str | None = None, device: str | None = "auto", dtype: str | None = None,
        batch_size: int | None = None,
    ) -> "Predictor":
        """Load a checkpoint directory (format 1 or 2).

        ``device``: ``auto`` (cuda, else mps, else cpu), ``cpu``, ``cuda``, ``cuda:N`` or ``mps``;
        ``dtype``: ``auto`` (bf16/fp16 on a GPU, fp32 on cpu), ``float32``, ``float16`` or ``bfloat16``
        (torch backend); ``batch_size``: default segments per forward pass (by device when None).
        """
        path = Path(path)
        config = load_config(path)
        tokenizer = load_tokenizer(path)
        vocab = getattr(config.encoder, "vocab_size", None)
        if vocab is not None and len(tokenizer) > vocab:
            raise CheckpointError(
                f"the tokenizer in {path} has {len(tokenizer)} tokens but the model's embedding has {vocab}: "
                "they come from different models. Save the tokenizer the model was trained with next to it."
            )
        if backend == "torch":
            be = TorchBackend(path, num_threads, device, dtype)
        elif backend == "onnx":
            if dtype not in (None, "auto"):
                raise ValueError("dtype applies to backend='torch'; an ONNX graph runs in the precision it was exported in")
            be = OnnxBackend(path, num_threads, onnx_file, device)
        else:
            raise ValueError(f"unknown backend {backend!r}; use 'torch' or 'onnx'")
        return cls(path, be, tokenizer, config, batch_size)

    # -- public API --------------------------------------------------------
    def predict(self, texts: str | list[str], batch_size: int | None = None,
                thresholds: dict[str, float] | None = None) -> dict | list[dict]:
        """Entities, attack types and events per text, in input order. ``batch_size``:
        segments per forward pass (default: by device); ``thresholds`` overrides the
        checkpoint's per-type thresholds for this call only."""
        single = isinstance(texts, str)
        items = [texts] if single else list(texts)
        for i, t in enumerate(items):
            if not isinstance(t, str):
                raise TypeError(f"input {i} is {type(t).__name__}, expected str")
        # Same-length replacement keeps every offset valid; entity text comes from the original.
        safe = [_SURROGATE.sub("\ufffd", t) for t in items]
        results = self._predict(safe, batch_size or self.batch_size, {**self.thresholds, **(thresholds or {})})
        for original, clean, res in zip(items, safe, results):
            if original != clean:
                for e in res["entities"]:
                    e["text"] = original[e["start"] : e["end"]]
        return results[0] if single else results

    __call__ = predict

    def analyze(self, texts: list[str], batch_size: int = 32, embeddings: bool = False) -> list[dict]:
        """What the model saw, per text, for active learning and diagnostics.

        Each item: ``prediction`` (what ``predict`` returns) and ``segments``, one
        per segment: ``start``/``end`` in the text, ``word_probs`` (W, num_tags)
        tag probabilities of its words (``self.tags`` order), ``path`` (W,) the
        decoded IOB2 tag ids (constrained Viterbi), ``type_probs`` (num_types,)
        attack-type probabilities (``self.config.attack_types`` order) or None,
        and with ``embeddings`` the mean-pooled last encoder layer (H,), averaged
        over the segment's windows (torch backend only)."""
        items = list(texts)
        safe = [_SURROGATE.sub("\ufffd", t) for t in items]
        segs, best, seg_types, seg_emb = self._forward(safe, batch_size, embeddings)
        out = []
        for d, doc_segs in enumerate(segs):
            pred = self._document(d, doc_segs, best, seg_types, self.thresholds)
            for e in pred["entities"]:
                e["text"] = items[d][e["start"]:e["end"]]
            segments = []
            for k, (s, e, prep) in enumerate(doc_segs):
                words = best.get((d, k), {})
                probs = np.stack([words[w][1] for w in sorted(words)]) if words else np.zeros((0, len(self.tags)))
                path = np.array(viterbi_iob2(np.log(probs + 1e-12), self.tags) if len(probs) else [], dtype=np.int64)
                segments.append({"start": s, "end": e, "word_probs": probs, "path": path,
                                 "type_probs": seg_types.get((d, k)), "embedding": seg_emb.get((d, k))})
            out.append({"prediction": pred, "segments": segments})
        return out

    # -- pipeline ----------------------------------------------------------
    def _predict(self, texts: list[str], batch_size: int, thresholds: dict[str, float]) -> list[dict]:
        segs, best, seg_types, _ = self._forward(texts, batch_size)
        return [self._document(d, segs[d], best, seg_types, thresholds) for d in range(len(texts))]

    def _forward(self, texts: list[str], batch_size: int, embeddings: bool = False):
        """Segments, per-word tag probabilities, per-segment type probabilities
        and (with ``embeddings``) per-segment pooled encoder vectors."""
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
            enc = encode(self.tokenizer, [segs[d][k][2].input_strings() for d, k in chunk], cfg.max_length, cfg.stride)
            for w, sample in enumerate(enc["overflow_to_sample_mapping"]):
                d, k = chunk[sample]
                windows.append(_Window(d, k, enc["input_ids"][w], enc.word_ids(w)))
        # 3. forward in length-sorted batches (little padding), results by window
        token_probs: list[np.ndarray | None] = [None] * len(windows)
        type_probs: list[np.ndarray | None] = [None] * len(windows)
        order = sorted(range(len(windows)), key=lambda i: len(windows[i].ids))
        pad = self.tokenizer.pad_token_id or 0
        pooled: list[np.ndarray | None] = [None] * len(windows)
        capture = _PooledCapture(self.backend) if embeddings else None  # a hook: removed below, kept only on error
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
            if capture is not None:
                for i, vec in zip(idx, capture.take(mask)):  # window index, its pooled vector
                    pooled[i] = vec
            for r, i in enumerate(idx):
                if "token_logits" in out:
                    token_probs[i] = _softmax(out["token_logits"][r, : len(windows[i].ids)])  # (T_i, num_tags)
                if "type_logits" in out:
                    type_probs[i] = _sigmoid(out["type_logits"][r])  # (num_types,)
        if capture is not None:
            capture.close()
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
            prep = segs[win.doc][win.seg][2]
            for g, pos in first_subword_positions(win.word_ids).items():
                w = prep.owner(g)  # the word this input word speaks for (itself, unless word_input="whole")
                centrality = min(pos, n - 1 - pos)  # keep the window with most context
                if w not in words or centrality > words[w][0]:
                    words[w] = (centrality, token_probs[i][pos])
        seg_emb: dict[tuple[int, int], np.ndarray] = {}
        if capture is not None:
            groups: dict[tuple[int, int], list[np.ndarray]] = {}
            for i, win in enumerate(windows):
                groups.setdefault((win.doc, win.seg), []).append(pooled[i])
            seg_emb = {key: np.mean(vs, axis=0) for key, vs in groups.items()}
        return segs, best, seg_types, seg_emb

    def _document(self, d, doc_segs, best, seg_types, thresholds: dict[str, float]) -> dict:
        entities, events = [], []
        doc_types: dict[str, float] = {}
        for k, (s, e, prep) in enumerate(doc_segs):
            ents = self._decode_entities(prep, best.get((d, k), {}), s) if self.config.has_tagging else []
            entities.extend(ents)
            types = []
            if (d, k) in seg_types:
                for label, p in zip(self.config.attack_types, seg_types[(d, k)]):
                    if p >= thresholds[label]:
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
        # Positions below index `words`, the words that have a prediction: all of them, or with
        # word_input="whole" the last part of each written word (a proclitic before it has none).
        spans: list[list] = []  # label, first position, last position, probs
        prev = None
        for i, t in enumerate(path):
            tag, p = self.tags[t], float(probs[i, t])
            if tag == "O":
                prev = None
                continue
            bio, label = tag.split("-", 1)
            if bio == "I" and spans and prev == i - 1 and spans[-1][0] == label:
                spans[-1][2] = i
                spans[-1][3].append(p)
            else:
                spans.append([label, i, i, [p]])
            prev = i
        # Two spans of one label with no word between are one span cut in two by a
        # stray B- tag (`تنظيم | داعش`, `سبعة | و | عشرين`): in the corpus fewer
        # than 1% of ACTOR pairs touch, and no KILLED or WOUNDED pair does.
        # Word indices here, not positions: `الجيش و الشرطة` with no prediction for و are two spans.
        merged: list[list] = []
        for label, i0, i1, ps in spans:
            w0, w1 = words[i0], words[i1]
            if merged and label == merged[-1][0] and w0 == merged[-1][2] + 1:
                merged[-1][2] = w1
                merged[-1][3] = merged[-1][3] + ps
            else:
                merged.append([label, w0, w1, ps])
        text = prep.original
        out = []
        words = prep.word_strings()
        spans = [(label, w0, w1, float(np.mean(ps))) for label, w0, w1, ps in merged]
        for label, w0, w1, score in refine_spans(spans, words):
            s, e = prep.original_span(w0, w1, self.norm_cfg)
            ent = {"start": offset + s, "end": offset + e, "label": label, "text": text[s:e], "score": round(score, 4)}
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
