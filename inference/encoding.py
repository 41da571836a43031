"""Text -> words -> sub-word windows, shared by training and inference.

Training and prediction must see text the same way, so both go through
:func:`prepare` (normalise, split words, keep the offset map) and
:func:`encode` (fast tokenizer over pre-split words, overlapping windows so
nothing past ``max_length`` is dropped).
"""

from __future__ import annotations

from dataclasses import dataclass

from .normalize import NormalizationConfig, normalize, to_original_span
from .words import DEFAULT_STEMS, split_words


@dataclass
class Prepared:
    original: str
    norm: str  # normalised text the model sees
    src: list[int]  # norm index -> original index
    words: list[tuple[int, int]]  # word spans in `norm`
    # What the encoder reads: spans in `norm` (the words, or the written words that hold them) and,
    # for each, the index of the word whose label it carries
    inputs: list[tuple[int, int]] | None = None
    owners: list[int] | None = None

    def word_strings(self) -> list[str]:
        return [self.norm[s:e] for s, e in self.words]

    def input_strings(self) -> list[str]:
        return [self.norm[s:e] for s, e in self.inputs] if self.inputs is not None else self.word_strings()

    def owner(self, i: int) -> int:
        """Word index whose label the encoder's input word ``i`` carries."""
        return self.owners[i] if self.owners is not None else i

    def original_span(self, first_word: int, last_word: int, cfg: NormalizationConfig) -> tuple[int, int]:
        """Original-text span covering words first_word..last_word (inclusive)."""
        return to_original_span(self.words[first_word][0], self.words[last_word][1], self.src, self.original, cfg)


def prepare(text: str, cfg: NormalizationConfig, stems: frozenset[str] = DEFAULT_STEMS) -> Prepared:
    norm, src = normalize(text, cfg)
    words = split_words(norm, stems, cfg.proclitics)
    if cfg.word_input == "split" or cfg.proclitics == "with":
        return Prepared(text, norm, src, words)
    # word_input="whole": the encoder reads each written word once; split_words cut every written
    # word into consecutive parts, so a part belongs to the written word it starts in
    inputs = split_words(norm, stems, "with")
    owners, j = [], 0
    for s, e in inputs:
        while j + 1 < len(words) and words[j + 1][0] < e:
            j += 1  # the last part inside this written word: the stem after و ف ب ل
        owners.append(j)
    return Prepared(text, norm, src, words, inputs, owners)


def check_fast_tokenizer(tokenizer) -> None:
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(
            f"{type(tokenizer).__name__} is a slow tokenizer; rasid needs a fast (Rust) tokenizer "
            "for word alignment. Save the tokenizer with tokenizer.json (tokenizers library)."
        )


def encode(tokenizer, word_lists: list[list[str]], max_length: int, stride: int):
    """Tokenize pre-split words into windows of at most ``max_length`` tokens.

    Returns the BatchEncoding; ``overflow_to_sample_mapping[i]`` is the input
    a window came from and ``word_ids(i)`` maps its tokens back to words.
    Windows overlap by ``stride`` tokens.
    """
    if stride >= max_length - 2:
        raise ValueError(f"stride ({stride}) must be smaller than max_length - 2 ({max_length - 2})")
    return tokenizer(
        word_lists,
        is_split_into_words=True,
        truncation=True,
        max_length=max_length,
        stride=stride,
        return_overflowing_tokens=True,
        padding=False,
    )


def first_subword_positions(word_ids: list[int | None]) -> dict[int, int]:
    """word index -> position of its first sub-word in this window."""
    firsts: dict[int, int] = {}
    for pos, w in enumerate(word_ids):
        if w is not None and w not in firsts:
            firsts[w] = pos
    return firsts
