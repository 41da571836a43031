"""Normalisation and its offset map (table and property tests)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from rasid.inference.normalize import NormalizationConfig, normalize, to_original_span
from rasid.inference.words import split_words

CFG = NormalizationConfig()


def test_table():
    cases = [
        ("قُتِلَ", "قتل"),
        ("الـجـيش", "الجيش"),
        ("أإآٱ", "اااا"),
        ("٢٣ و۱۲", "23 و12"),
        ("a\u200fb\u200dc", "abc"),
        ("\ufefb", "لا"),  # lam-alef ligature expands to two letters
    ]
    for raw, want in cases:
        assert normalize(raw, CFG)[0] == want


def test_settings_off_keep_text():
    off = NormalizationConfig(**{k: False for k, f in NormalizationConfig.__dataclass_fields__.items() if f.type in (bool, "bool")})
    s = "قُتِلَ الـجيش ٢٣ أ\u200f"
    norm, src = normalize(s, off)
    assert norm == s and src == list(range(len(s)))


def test_unknown_setting_rejected():
    import pytest

    with pytest.raises(ValueError, match="unknown normalisation settings"):
        NormalizationConfig.from_dict({"strip_diacritics": True, "lowercase": True})


arabic = st.characters(min_codepoint=0x0600, max_codepoint=0x06FF)
mixed = st.one_of(
    arabic,
    st.sampled_from(list(" \n\t.,،؟!0123456789abcXYZ\u0640\u064b\u064e\u0650\u0651\u0652\u200c\u200d\u200f\u202b\ufefb\ufe8d😀")),
    st.characters(),
)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=mixed, max_size=80))
def test_word_spans_map_back_exactly(text):
    norm, src = normalize(text, CFG)
    assert len(src) == len(norm)
    assert all(0 <= i < len(text) for i in src)
    assert src == sorted(src)
    for s, e in split_words(norm):
        o_s, o_e = to_original_span(s, e, src, text, CFG)
        assert 0 <= o_s < o_e <= len(text)
        # the original slice normalises back to the same word, whatever was removed
        if (s == 0 or src[s - 1] != src[s]) and (e == len(src) or src[e] != src[e - 1]):
            assert normalize(text[o_s:o_e], CFG)[0] == norm[s:e]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=mixed, max_size=60), st.data())
def test_any_span_maps_into_range(text, data):
    norm, src = normalize(text, CFG)
    if not norm:
        return
    s = data.draw(st.integers(0, len(norm) - 1))
    e = data.draw(st.integers(s + 1, len(norm)))
    o_s, o_e = to_original_span(s, e, src, text, CFG)
    assert 0 <= o_s < o_e <= len(text)
    assert o_s <= src[s] and src[e - 1] < o_e
