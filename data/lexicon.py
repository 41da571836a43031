"""The augmentation lexicons and templates (``data/lexicons/*.json``), checked on load.

Each file maps lower-case names to values of a known shape (``SCHEMA``); a file
that does not match is an error naming the file and the key, before any
segment is generated. Lists come back as tuples, sets as frozensets, so the
grammar code in :mod:`rasid.data.augment` reads them as it always has.

Shapes
- ``words``: a list of strings.
- ``nouns``: counted nouns, rows of (singular, singular accusative, plural after
  3-10, dual nominative, dual genitive/accusative, definite plural, gender m|f).
- ``singles``: single indefinite victims, rows of (nominative/genitive, accusative, gender m|f).
- ``pairs``: rows of two strings.
- ``weights``: name -> positive integer weight.
- ``theatres``: theatre -> {gov, arm, air, towns, regions: words; types: attack types, optional}.
  Actor specs read "nominative/oblique:gender" (gender m, f, or p for a human plural).
- ``targets``: rows of (accusative, genitive, feminine, kind v|s|c, owned 0|1):
  vehicle, site or civilian place; owned targets take ل + their owner.
- ``events``: attack type -> rows of (form V|S|E, gender m|f, template, extra attack types).
- ``event``: one such row.
- ``map``: string -> string.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

DIR = Path(__file__).parent / "lexicons"

SCHEMA: dict[str, dict[str, str]] = {
    "nouns": {"soldiers": "nouns", "civilians": "nouns", "fighters": "nouns", "dead": "nouns", "hurt": "nouns",
              "martyrs": "nouns", "others": "nouns", "captives": "nouns", "hostages": "nouns", "things": "nouns",
              "trucks": "nouns", "strikes": "nouns", "single_mil": "singles", "ranks": "words",
              "single_civ": "singles", "single_target": "pairs", "possessed": "words", "escort_nouns": "nouns",
              "escorts": "words", "subcounts_civ": "words", "subcounts_fighters": "words", "subcounts_mil": "words",
              "nisba": "words"},
    "actors": {"generic_armed": "words", "generic_state": "words", "theatres": "theatres",
               "theatre_weights": "weights", "group_heads": "words", "name_a": "words", "name_b": "words",
               "name_c": "words", "first_names": "words", "last_names": "words", "fem_heads": "words",
               "affiliations": "pairs"},
    "places": {"place_prefix": "words", "place_stem": "words", "syllables": "words", "region_words": "words",
               "days": "words", "day_parts": "words", "months": "words", "time_t": "words", "place_t": "words",
               "targets": "targets"},
    "templates": {"events": "events", "egypt_checkpoint": "event", "named_t": "words", "preps": "words",
                  "attr_lead": "words", "attr_trail": "words", "attr_inna": "words", "attr_masdar": "words",
                  "no_attack": "words", "extras": "words"},
    "noise": {"diacritized": "map"},
}
THEATRE_KEYS = {"gov", "arm", "air", "towns", "regions"}


class LexiconError(ValueError):
    """A lexicon file that does not match its schema."""


def _words(v) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, str) and x for x in v)


def _row(v, *checks) -> bool:
    return isinstance(v, list) and len(v) == len(checks) and all(c(x) for c, x in zip(checks, v))


def _str(x) -> bool:
    return isinstance(x, str) and bool(x)


def _event(x) -> bool:
    return _row(x, lambda f: f in ("V", "S", "E"), lambda g: g in ("m", "f"), _str,
                lambda t: isinstance(t, list) and all(isinstance(a, str) for a in t))


def _problem(shape: str, v) -> str | None:
    """What is wrong with ``v`` for ``shape``, or None."""
    expected = {
        "words": "a non-empty list of non-empty strings",
        "nouns": "rows of 6 strings and a gender m|f",
        "singles": "rows of 2 strings and a gender m|f",
        "pairs": "rows of 2 strings",
        "weights": "an object of positive integers",
        "theatres": f"an object of theatres with {', '.join(sorted(THEATRE_KEYS))} (and optional types) word lists",
        "targets": "rows of (accusative, genitive, feminine true|false, kind v|s|c, owned 0|1)",
        "events": "an object of attack types to rows of (V|S|E, m|f, template, [extra attack types])",
        "event": "a row of (V|S|E, m|f, template, [extra attack types])",
        "map": "an object of strings",
    }[shape]
    rows = isinstance(v, list) and bool(v)
    ok = {
        "words": lambda: _words(v),
        "nouns": lambda: rows and all(_row(r, *[_str] * 6, lambda g: g in ("m", "f")) for r in v),
        "singles": lambda: rows and all(_row(r, _str, _str, lambda g: g in ("m", "f")) for r in v),
        "pairs": lambda: rows and all(_row(r, _str, _str) for r in v),
        "weights": lambda: isinstance(v, dict) and all(type(w) is int and w > 0 for w in v.values()),
        "theatres": lambda: isinstance(v, dict) and all(
            isinstance(t, dict) and THEATRE_KEYS <= set(t) <= THEATRE_KEYS | {"types"}
            and all(_words(w) for w in t.values()) for t in v.values()),
        "targets": lambda: rows and all(_row(r, _str, _str, lambda b: isinstance(b, bool), lambda k: k in ("v", "s", "c"),
                                             lambda o: o in (0, 1) and not isinstance(o, bool)) for r in v),
        "events": lambda: isinstance(v, dict) and all(isinstance(rs, list) and rs and all(_event(r) for r in rs)
                                                      for rs in v.values()),
        "event": lambda: _event(v),
        "map": lambda: isinstance(v, dict) and all(_str(k) and _str(x) for k, x in v.items()),
    }[shape]()
    return None if ok else f"expected {expected}"


def _frozen(v):
    if isinstance(v, list):
        return tuple(_frozen(x) for x in v)
    if isinstance(v, dict):
        return {k: _frozen(x) for k, x in v.items()}
    return v


@cache
def load(name: str) -> dict:
    """``data/lexicons/NAME.json``, checked against ``SCHEMA[name]``; lists as tuples."""
    path = DIR / f"{name}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise LexiconError(f"{path}: {exc}") from None
    schema = SCHEMA[name]
    if not isinstance(data, dict):
        raise LexiconError(f"{path}: expected an object of {', '.join(schema)}")
    for key in sorted(set(schema) - set(data)):
        raise LexiconError(f"{path}: {key}: missing")
    for key in sorted(set(data) - set(schema)):
        raise LexiconError(f"{path}: {key}: not a known key (known: {', '.join(schema)})")
    for key, shape in schema.items():
        if problem := _problem(shape, data[key]):
            raise LexiconError(f"{path}: {key}: {problem}")
    return {k: _frozen(v) for k, v in data.items()}
