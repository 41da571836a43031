"""Build ar_words.txt (the word list inference/words.py uses to decide و/ف splits)
from wordfreq's Arabic frequency list. Run once, by hand, when the rule changes:

    pip download --no-deps -d /tmp/wf wordfreq==3.1.1 && unzip -q -d /tmp/wf /tmp/wf/wordfreq-3.1.1-py3-none-any.whl
    python inference/lexicon/build_ar_words.py --data /tmp/wf/wordfreq/data > inference/lexicon/ar_words.txt

Needs only msgpack (not wordfreq's own dependencies) and rasid.inference.words.

The list holds, in wordfreq's spelling folded as words.fold does it:
1. the TOP most frequent Arabic words of 3+ letters (the remainders a
   conjunction can stand before), less the conjoined forms (below) and the
   definite forms (words.py splits those by rule);
2. the rarer words starting with و/ف that are words in their own right, kept
   only where it matters: where their remainder would otherwise be found.

A word w = و/ف + r (4+ letters) counts as conjunction + word when r is listed
and both frequency tests say so:
  * f(w) < RATIO * f(r): a conjoined form is rarer than its bare word
    (وقتل/قتل 0.13, والجيش/الجيش 0.04; فجّر/جر 6.8, وليد/ليد 13);
  * f(و + w) < AGAIN * f(w): a conjoined form takes no second و (ووقال is not
    written), a real word does (وفيصل/فيصل 0.02, ووليد, وفجروا).
"""

from __future__ import annotations

import argparse
import gzip
import re
import sys
from collections import Counter
from pathlib import Path

import msgpack

from rasid.inference.words import fold, remainder_forms

TOP = 50_000  # about 350 KB of text; 30k misses twice as many rare conjoined verbs in the corpus
RATIO = 4.0
AGAIN = 0.005
_WORD = re.compile("[\u0621-\u064a]+")
_DEFINITE = re.compile("^(ال|بال|كال|لل)")
_DEFINITE_AFTER_CONJ = re.compile("^[وف][بلك]?ال..")

HEADER = """\
# ar_words.txt: Arabic words for proclitic splitting in rasid.inference.words
# (a leading و/ف is split off when the remainder, or its stem, is listed here
# and the whole word is not). One word a line, folded: no diacritics or
# tatweel, alef variants as ا, ة as ه.
#
# Source: wordfreq {version} (https://github.com/rspeer/wordfreq), file
# data/large_ar.msgpack.gz, by Robyn Speer; for Arabic built from Wikipedia,
# OPUS OpenSubtitles 2018, news (NewsCrawl, GlobalVoices), web text (OSCAR)
# and Twitter word counts. See its README for sources and credits.
# Licence of this list: CC BY-SA 4.0 (https://creativecommons.org/licenses/by-sa/4.0/),
# as wordfreq's data files; this file is a derived selection of those words
# (changes: folded spelling, selection rule in build_ar_words.py).
#
# Built by inference/lexicon/build_ar_words.py: TOP={top} RATIO={ratio} AGAIN={again};
# {n} words.
"""


def read_frequencies(data: Path) -> tuple[Counter, set[str]]:
    """Folded Arabic word -> frequency (wordfreq's cBpack: bucket i holds words
    of -i centibels), and the folded words that some spelling writes without a
    definite article (ألعاب folds to العاب but is no definite form)."""
    packed = msgpack.loads(gzip.decompress((data / "large_ar.msgpack.gz").read_bytes()), raw=False)
    freq: Counter = Counter()
    indefinite: set[str] = set()
    for i, bucket in enumerate(packed[1:]):
        for word in bucket:
            key = fold(word)
            if _WORD.fullmatch(key):
                freq[key] += 10 ** (-i / 100)
                if not _DEFINITE.match(word):
                    indefinite.add(key)
    return freq, indefinite


def conjoined(w: str, freq: Counter) -> bool:
    fr = freq.get(w[1:], 0.0)
    return bool(fr) and freq[w] < RATIO * fr and freq.get("و" + w, 0.0) < AGAIN * freq[w]


def build(freq: Counter, indefinite: set[str]) -> list[str]:
    ranked = sorted(freq, key=lambda w: (-freq[w], w))
    bare = {w for w in ranked[:TOP]
            if len(w) >= 3 and (w in indefinite or not _DEFINITE.match(w))
            and not (w[0] in "وف" and len(w) >= 4 and conjoined(w, freq))}
    whole = set()
    for w in ranked:
        if w[0] in "وف" and len(w) >= 4 and not conjoined(w, freq):
            # listed only where words.py would otherwise split it
            if _DEFINITE_AFTER_CONJ.match(w) or any(f in bare for f in remainder_forms(w[1:])):
                whole.add(w)
    return sorted(bare | whole)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, type=Path, help="wordfreq's data/ folder (holds large_ar.msgpack.gz)")
    ap.add_argument("--version", default="3.1.1", help="wordfreq version, for the header")
    args = ap.parse_args(argv)
    words = build(*read_frequencies(args.data))
    sys.stdout.write(HEADER.format(version=args.version, top=TOP, ratio=RATIO, again=AGAIN, n=len(words)))
    sys.stdout.write("\n".join(words) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
