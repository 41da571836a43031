"""Arabic normalisation with an offset map back to the original string.

Every operation here either deletes a character (diacritics, tatweel, invisible
marks) or replaces one character by one or more characters (alef variants,
digits, presentation forms). So each character of the normalised text has
exactly one source character, and a span found on the normalised text maps
back to the exact characters of the caller's string.
"""

from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass

# Arabic marks, the one definition rasid uses (as a regex class body): honorific and Quranic signs
# above letters, harakat, tanween, shadda, sukun, dagger alef, Quranic annotation marks.
MARK_RANGES = "\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed"
DIACRITICS = frozenset(
    [chr(c) for c in range(0x0610, 0x061B)] + [chr(c) for c in range(0x064B, 0x0660)] + ["\u0670"]
    + [chr(c) for c in range(0x06D6, 0x06EE)]
)
TATWEEL = "\u0640"
# Zero-width and bidi control characters: invisible, and they split words in
# the tokenizer's eyes while a reader sees none.
INVISIBLE = frozenset(
    "\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff\u00ad\u061c"
)
ALEF_VARIANTS = {"\u0623": "\u0627", "\u0625": "\u0627", "\u0622": "\u0627", "\u0671": "\u0627"}
DIGITS = {chr(0x0660 + i): str(i) for i in range(10)} | {chr(0x06F0 + i): str(i) for i in range(10)}


@dataclass(frozen=True)
class NormalizationConfig:
    """What the model's input normalisation does; saved in the checkpoint."""

    strip_diacritics: bool = True  # harakat carry little signal in news text and are rare
    strip_tatweel: bool = True  # decorative elongation
    strip_invisible: bool = True  # ZWJ/ZWNJ/bidi marks
    normalize_alef: bool = True  # أ إ آ ٱ -> ا: spelling of hamza varies between outlets
    normalize_alef_maqsura: bool = False  # ى -> ي: off, it is a real distinction in MSA
    normalize_teh_marbuta: bool = False  # ة -> ه: off, same reason
    normalize_digits: bool = True  # ٠-٩ and ۰-۹ -> 0-9, so counts look alike to the model
    nfkc_presentation_forms: bool = True  # ﻻ, ﺍ... (legacy encodings) -> base letters
    # Word splitting, saved with the rest: "without" splits attached و ف ب ل off where spans start after
    # them (the schema); "with" keeps written words whole, for datasets whose spans include them (ANERcorp)
    proclitics: str = "without"
    # What the encoder reads: "split" feeds the words above (و and الجيش apart); "whole" feeds words as
    # written (والجيش) and each written word's label is its last part's, so spans still start after و
    word_input: str = "split"

    def __post_init__(self):
        if self.proclitics not in ("with", "without"):
            raise ValueError(f"proclitics must be 'with' or 'without', not {self.proclitics!r}")
        if self.word_input not in ("split", "whole"):
            raise ValueError(f"word_input must be 'split' or 'whole', not {self.word_input!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> "NormalizationConfig":
        d = dict(d or {})
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown normalisation settings: {sorted(unknown)}")
        return cls(**d)


def normalize(text: str, cfg: NormalizationConfig = NormalizationConfig()) -> tuple[str, list[int]]:
    """Return (normalised text, src) with ``src[i]`` the index in ``text`` of
    normalised character ``i``. ``len(src) == len(normalised)``."""
    out: list[str] = []
    src: list[int] = []
    for i, ch in enumerate(text):
        if cfg.strip_diacritics and ch in DIACRITICS:
            continue
        if cfg.strip_tatweel and ch == TATWEEL:
            continue
        if cfg.strip_invisible and ch in INVISIBLE:
            continue
        if cfg.nfkc_presentation_forms and ("\ufb50" <= ch <= "\ufdff" or "\ufe70" <= ch <= "\ufeff"):
            rep = unicodedata.normalize("NFKC", ch)
            if cfg.strip_diacritics:
                rep = "".join(c for c in rep if c not in DIACRITICS) or ch
        else:
            rep = ch
        if cfg.normalize_alef:
            rep = "".join(ALEF_VARIANTS.get(c, c) for c in rep)
        if cfg.normalize_alef_maqsura:
            rep = rep.replace("\u0649", "\u064a")
        if cfg.normalize_teh_marbuta:
            rep = rep.replace("\u0629", "\u0647")
        if cfg.normalize_digits:
            rep = "".join(DIGITS.get(c, c) for c in rep)
        out.append(rep)
        src.extend([i] * len(rep))
    return "".join(out), src


def _is_removable(ch: str, cfg: NormalizationConfig) -> bool:
    return (
        (cfg.strip_diacritics and ch in DIACRITICS)
        or (cfg.strip_tatweel and ch == TATWEEL)
    )


def to_original_span(
    start: int, end: int, src: list[int], original: str, cfg: NormalizationConfig = NormalizationConfig()
) -> tuple[int, int]:
    """Map a non-empty normalised span [start, end) to the original string.

    The end is extended over marks that normalisation removed right after the
    span's last letter (a final diacritic belongs to the word), so the original
    span covers whole written words.
    """
    if not 0 <= start < end <= len(src):
        raise ValueError(f"span ({start}, {end}) out of range for {len(src)} characters")
    o_start = src[start]
    o_end = src[end - 1] + 1
    while o_end < len(original) and _is_removable(original[o_end], cfg):
        o_end += 1
    return o_start, o_end
