"""A WordPiece tokenizer built from the corpus, for the embedded tiny model.

It sees the same normalised, clitic-split words the model will see, so the
vocabulary is spent on real units (stems, number words) rather than on
attached conjunctions. The vocabulary is chosen by a deterministic ranking
(the tokenizers trainers break frequency ties in hash order, which would make
two runs with the same seed differ): every character, then the most frequent
words, then the most useful sub-word pieces (frequency x length).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORD_SHARE = 0.6  # of the free budget, for whole words; the rest for pieces
MAX_PIECE = 8  # longest sub-word piece considered, in characters


def build_vocab(word_lists: Iterable[list[str]], vocab_size: int, min_frequency: int = 2) -> list[str]:
    counts = Counter(w for ws in word_lists for w in ws)
    chars = sorted({c for w in counts for c in w})
    vocab = SPECIALS + chars + ["##" + c for c in chars]  # no word is ever [UNK] for lack of a character
    seen = set(vocab)
    words = sorted((w for w, n in counts.items() if n >= min_frequency and w not in seen), key=lambda w: (-counts[w], w))
    budget = max(0, vocab_size - len(vocab))
    take = words[: int(budget * WORD_SHARE)]
    vocab += take
    seen.update(take)
    pieces: Counter = Counter()
    for w, n in counts.items():
        for i in range(len(w)):
            for j in range(i + 2, min(len(w), i + MAX_PIECE) + 1):
                pieces[("##" if i else "") + w[i:j]] += n
    ranked = sorted((p for p, n in pieces.items() if n >= min_frequency and p not in seen),
                    key=lambda p: (-pieces[p] * (len(p.lstrip("#")) - 1), p))
    vocab += ranked[: max(0, vocab_size - len(vocab))]
    rest = [w for w in words if w not in seen and w not in set(vocab)]
    vocab += rest[: max(0, vocab_size - len(vocab))]
    return vocab


def build_wordpiece(word_lists: Iterable[list[str]], vocab_size: int, min_frequency: int = 2):
    """WordPiece over pre-split words; returns a transformers fast tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = build_vocab(word_lists, vocab_size, min_frequency)
    tok = Tokenizer(models.WordPiece(vocab={p: i for i, p in enumerate(vocab)}, unk_token="[UNK]",
                                     max_input_chars_per_word=100))
    # Words arrive pre-split; BertPreTokenizer only isolates any punctuation left.
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    cls_id, sep_id = vocab.index("[CLS]"), vocab.index("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    tok.decoder = decoders.WordPiece()
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
        sep_token="[SEP]", mask_token="[MASK]", model_max_length=512,
    )
