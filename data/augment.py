"""Template + lexicon augmentation: synthetic training segments (training only).

    python -m rasid.data.augment --n 6000 --seed 0 --out data/corpus/augmented.jsonl

The hand-written corpus is small, so the default model sees each pattern only a
few times. This module composes several thousand extra segments that vary the
*patterns* the model must learn: how casualty counts are phrased (digits,
number words with correct agreement, duals, vague quantities, qualifiers,
partitives), what an armed-actor phrase looks like (real actors of many
theatres, invented groups built from productive head nouns, generic groups,
proclitics), and which words signal each attack type, plus segments with no
attack that reuse the same vocabulary (accidents, exercises, statements,
detainee counts, tallies, truces...).

Every segment is built as inline markup (``[[ACTOR|...]]``,
``[[KILLED 7|...]]``) and compiled with :func:`rasid.data.markup.parse_markup`,
so offsets are right by construction. Nothing is copied from news text.

Reading guide
- lexicons and templates: data files in ``data/lexicons/`` (counted nouns, actors per
  theatre, invented-name parts, places, times, targets, event and no-attack templates,
  attributions), checked on load by :mod:`rasid.data.lexicon`; number words stay here;
- a tiny template language used by the event templates::

      {NAME}      slot (actor, target, place, time...)
      (a|b|c)     random choice, may nest
      <m|f>       agreement with the attacker, verb before its subject
      <m|f|p>     full agreement with the attacker (p: human plural)
      {m|f}       agreement with the target noun
  A leading three-way token before ``{A}`` is a verb before its subject, so a
  human plural takes the singular (هاجم مسلحون); the same template is reused
  subject-first after إن / أن (إن مسلحين هاجموا).
- count phrases (:func:`count`), actors (:func:`actor`), event templates per
  attack type (``EVENTS``), sentence frames (:func:`_attack`: verb-first,
  after إن, casualties first, masdar after an attribution, أسفر ... عن,
  headline, toll, لقي ... مصرعه), no-attack frames (``NO_ATTACK``), noise
  (diacritics ~5%, tatweel ~3%), :func:`generate`, :func:`main`.

Annotation choices (docs/SCHEMA.md and AUTHORING.md house rules): the bomber
word انتحاري / انتحارية is not tagged (as in most hand-written segments);
abductees, detainees, released or convicted people, accident and disease
deaths, counts of things, sub-counts (بينهم طفلان), combined totals (بين قتيل
وجريح, مقتل وإصابة العشرات) and negations are untagged; tallies over a period
are tagged with attack_types []; defused bombs and general references to
attacks are []; an attack on an Egyptian كمين أمني (checkpoint) is
ARMED_ASSAULT; two attack types in one segment come from two separate events,
except assassinations by explosive (+BOMBING) or drone (+AIRSTRIKE).
"""

from __future__ import annotations

import argparse
import random
import re
import sys

from .lexicon import load
from .markup import parse_markup
from .schema import validate_record, write_jsonl

from rasid.inference.schema import ATTACK_TYPES  # noqa: E402  (one source for the label set)

# ---------------------------------------------------------------- numbers
UNITS_M = ("", "واحد", "اثنان", "ثلاثة", "أربعة", "خمسة", "ستة", "سبعة", "ثمانية", "تسعة", "عشرة")
UNITS_F = ("", "واحدة", "اثنتان", "ثلاث", "أربع", "خمس", "ست", "سبع", "ثماني", "تسع", "عشر")
TENS = ("", "", "عشر", "ثلاث", "أربع", "خمس", "ست", "سبع", "ثمان", "تسع")  # + ون / ين
HUNDREDS = ("", "", "", "ثلاث", "أربع", "خمس", "ست", "سبع", "ثمان", "تسع")  # + مئة / مائة
INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def number_words(rng, n: int, fem: bool, nom: bool, acc: bool = False) -> str:
    """Arabic words for 1..999. fem: the counted noun is feminine (3-10 take the
    opposite gender); nom: nominative, else genitive/accusative; acc: accusative
    (the unit of 21-99 then takes a written tanween: خمسًا وعشرين، واحدًا وعشرين)."""
    if n >= 100:
        h, r = divmod(n, 100)
        mia = rng.choice(("مئة", "مائة"))
        if h == 1:
            hw = mia
        elif h == 2:
            hw = (("مئتا" if nom else "مئتي") if r == 0 else ("مئتان" if nom else "مئتين"))
        else:
            hw = HUNDREDS[h] + mia
        return hw if r == 0 else hw + " و" + number_words(rng, r, fem, nom, acc)
    if n <= 2:
        return ((UNITS_F if fem else UNITS_M)[n] if nom or n == 1
                else ("اثنتين" if fem else "اثنين"))
    if n <= 10:
        return (UNITS_F if fem else UNITS_M)[n]
    if n == 11:
        return "إحدى عشرة" if fem else "أحد عشر"
    if n == 12:
        return ("اثنتا عشرة" if nom else "اثنتي عشرة") if fem else ("اثنا عشر" if nom else "اثني عشر")
    if n < 20:
        return (UNITS_F[n - 10] + " عشرة") if fem else (UNITS_M[n - 10] + " عشر")
    t, u = divmod(n, 10)
    tens = TENS[t] + ("ون" if nom else "ين")
    if u == 0:
        return tens
    if u == 1:
        unit = "إحدى" if fem else "واحد"
    else:
        unit = number_words(rng, u, fem, nom)
    if acc and not unit.endswith(("ة", "ى", "ين")):
        unit += "ًا"
    return unit + " و" + tens


# ---------------------------------------------------------------- lexicons and templates
# data/lexicons/*.json, checked on load (shapes in rasid.data.lexicon). Counted nouns are rows of
# (singular, singular accusative, plural after 3-10, dual nom, dual gen/acc, definite plural, gender);
# actor specs read "nominative/oblique:gender" (gender m, f, or p: human plural, a verb before it stays
# singular); targets are (accusative, genitive, feminine, kind v|s|c, owned 0|1).
_N, _A, _P, _T = (load(f) for f in ("nouns", "actors", "places", "templates"))
SOLDIERS, CIVILIANS, FIGHTERS = _N["soldiers"], _N["civilians"], _N["fighters"]
DEAD, HURT, MARTYRS, OTHERS = _N["dead"], _N["hurt"], _N["martyrs"], _N["others"]  # OTHERS is special-cased
CAPTIVES, HOSTAGES = _N["captives"], _N["hostages"]  # untagged people: abducted, detained, released, convicted
THINGS, TRUCKS, STRIKES = _N["things"], _N["trucks"], _N["strikes"]  # untagged counts of things
SINGLE_MIL, SINGLE_CIV, SINGLE_TARGET, RANKS = _N["single_mil"], _N["single_civ"], _N["single_target"], _N["ranks"]
POSSESSED, ESCORT_NOUNS, ESCORTS = _N["possessed"], _N["escort_nouns"], _N["escorts"]  # ثلاثة من عناصرها
SUBCOUNTS_CIV, SUBCOUNTS_FIGHTERS, SUBCOUNTS_MIL = _N["subcounts_civ"], _N["subcounts_fighters"], _N["subcounts_mil"]
NISBA = _N["nisba"]
GENERIC_ARMED, GENERIC_STATE, AFFILIATIONS = _A["generic_armed"], _A["generic_state"], _A["affiliations"]
THEATRES, THEATRE_WEIGHTS = _A["theatres"], _A["theatre_weights"]
# invented groups: head noun + invented name (the model should learn the heads, not the names)
GROUP_HEADS, NAME_A, NAME_B, NAME_C = _A["group_heads"], _A["name_a"], _A["name_b"], _A["name_c"]
FIRST_NAMES, LAST_NAMES, FEM_HEADS = _A["first_names"], _A["last_names"], frozenset(_A["fem_heads"])
PLACE_PREFIX, PLACE_STEM, SYLLABLES, REGION_WORDS = (_P["place_prefix"], _P["place_stem"], _P["syllables"],
                                                     _P["region_words"])
DAYS, DAY_PARTS, MONTHS, TIME_T, PLACE_T = _P["days"], _P["day_parts"], _P["months"], _P["time_t"], _P["place_t"]
TARGETS = _P["targets"]
EVENTS, EGYPT_CHECKPOINT, NAMED_T, PREPS = _T["events"], _T["egypt_checkpoint"], _T["named_t"], _T["preps"]
ATTR_LEAD, ATTR_TRAIL, ATTR_INNA, ATTR_MASDAR = _T["attr_lead"], _T["attr_trail"], _T["attr_inna"], _T["attr_masdar"]
NO_ATTACK, EXTRAS = _T["no_attack"], _T["extras"]
DIACRITIZED = load("noise")["diacritized"]  # partial vocalisation, no case endings on nouns


def _inv_place(rng) -> str:
    if rng.random() < 0.6:
        return rng.choice(PLACE_PREFIX) + " " + rng.choice(PLACE_STEM)
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3)))


def _inv_group(rng) -> str:
    head = rng.choice(GROUP_HEADS)
    r = rng.random()
    if head in ("قوات", "مجلس", "جيش") and r < 0.5:
        name = {"قوات": "(درع|حماية|نخبة) {p}", "مجلس": "{p} العسكري", "جيش": "تحرير {p}"}[head]
        return head + " " + name.replace("{p}", _inv_place(rng)).replace(
            "(درع|حماية|نخبة)", rng.choice(("درع", "حماية", "نخبة")))
    if head in ("لواء", "كتيبة") and r < 0.3:
        return ("اللواء " if head == "لواء" else "الكتيبة ") + str(rng.choice((rng.randint(1, 99), rng.randint(100, 400))))
    if r < 0.45:
        name = rng.choice(NAME_A) + " " + rng.choice(NAME_B)
    elif r < 0.75:
        name = rng.choice(NAME_C)
    elif r < 0.88:
        name = "الشهيد " + rng.choice(FIRST_NAMES) + " " + rng.choice(LAST_NAMES)
    else:
        name = rng.choice(NAME_A) + " " + _inv_place(rng)
    return head + " " + name


def _spec(spec: str) -> tuple[str, str, str]:
    """'nom/obl:g' -> (nom, obl, g); gender inferred from the head when absent."""
    spec, _, g = spec.partition(":")
    nom, _, obl = spec.partition("/")
    if not g:
        head = nom.split()[0]
        g = "p" if obl else ("f" if head in FEM_HEADS or head.endswith(("ة", "ات")) else "m")
    return nom, obl or nom, g


def tag(s: str) -> str:
    return f"[[ACTOR|{s}]]"


def lam(s: str) -> str:
    """ل + actor: للنظام is لل[[ACTOR|نظام]], لقوات is ل[[ACTOR|قوات]]."""
    return "لل" + tag(s[2:]) if s.startswith("ال") else "ل" + tag(s)


def actor(rng, spec: str, affil: str | None = None) -> dict:
    """Markup forms of one actor: nom, obl (gen/acc), lam (ل+), g, plain text."""
    nom, obl, g = _spec(spec)
    a = {"nom": tag(nom), "obl": tag(obl), "lam": lam(obl), "g": g, "text": nom, "wa": "و" + tag(obl)}
    if affil:
        head, tail = rng.choice(AFFILIATIONS)
        hn, ho, g = _spec(head)
        x = _spec(affil)[1]
        tail = _choices(rng, tail)
        tail = tail.replace("ل{X}", lam(x)).replace("{X}", tag(x))
        a = {"nom": tag(hn) + tail, "obl": tag(ho) + tail, "lam": lam(ho) + tail, "g": g, "text": hn,
             "wa": "و" + tag(ho) + tail}
    return a


# ---------------------------------------------------------------- places and times


def _time(rng) -> str:
    t = rng.choice(TIME_T)
    return (t.replace("{part}", rng.choice(DAY_PARTS)).replace("{day}", rng.choice(DAYS))
            .replace("{d}", str(rng.randint(1, 28))).replace("{month}", rng.choice(MONTHS)))


def _place(rng, th: dict) -> str:
    t = _choices(rng, rng.choice(PLACE_T))
    towns = th["towns"]
    return (t.replace("{town2}", rng.choice(towns)).replace("{town}", rng.choice(towns))
            .replace("{region}", rng.choice(th["regions"])).replace("{inv}", _inv_place(rng)))


def _bare_place(rng, th: dict) -> str:
    """A place without preposition (after إلى, تشهد...)."""
    return _choices(rng, rng.choice(("(مدينة|بلدة|) {t}", "{r}", "(ريف|محيط|أطراف) {t}"))).replace(
        "{t}", rng.choice(th["towns"])).replace("{r}", rng.choice(th["regions"]))


def _invented_theatre(rng) -> dict:
    towns = tuple(_inv_place(rng) for _ in range(6))
    regions = tuple(rng.choice(REGION_WORDS) + " " + _inv_place(rng) for _ in range(3))
    gov = tuple(GENERIC_STATE) + tuple(rng.choice(("الجيش", "قوات الأمن", "الشرطة")) + " " + a for a in
                ("الوطني", "الاتحادي", "الحكومي")) + tuple(_inv_group(rng) for _ in range(2))
    arm = tuple(_inv_group(rng) for _ in range(6)) + GENERIC_ARMED[:6]
    return dict(gov=gov, arm=arm, air=("الطيران الحربي", "سلاح الجو", "الطيران الحكومي", "القوات الجوية"),
                towns=towns, regions=regions)


# ---------------------------------------------------------------- template language
_CHOICE = re.compile(r"\(([^()]*)\)")
_AGREE = re.compile(r"<([^<>]*)>")
_TGT = re.compile(r"\{([^{}|]*\|[^{}]*)\}")
_SLOT = re.compile(r"\{(\w+)\}")


def _split(s: str) -> list[str]:
    """Split on | outside <...> and {...}."""
    parts, depth, cur = [], 0, []
    for ch in s:
        depth += ch in "<{"
        depth -= ch in ">}"
        if ch == "|" and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    return parts + ["".join(cur)]


def _choices(rng, t: str) -> str:
    while m := _CHOICE.search(t):
        t = t[: m.start()] + rng.choice(_split(m.group(1))) + t[m.end():]
    return t


def fill(rng, tpl: str, slots: dict, g: str = "m", tfem: bool = False, actor_first: bool = False) -> str:
    """Expand a template: choices, attacker agreement, target agreement, slots."""
    t = _choices(rng, tpl)
    lead_v = t.startswith("<") and not actor_first
    if actor_first:  # "<v> {A} rest" -> "{Ao} <v> rest"
        m = re.match(r"<([^<>]*)> \{A\} (.*)", t, re.S)
        t = "{Ao} <" + m.group(1) + "> " + m.group(2)
    first = [True]

    def agree(m):
        alts = m.group(1).split("|")
        lead, first[0] = first[0] and lead_v, False
        if len(alts) == 2 or lead:
            return alts[1] if g == "f" else alts[0]
        return alts[{"m": 0, "f": 1, "p": 2}[g]]

    t = _AGREE.sub(agree, t)
    t = _TGT.sub(lambda m: m.group(1).split("|")[1 if tfem else 0], t)
    return _SLOT.sub(lambda m: slots[m.group(1)](), t)


def _wchoice(rng, table: dict):
    keys = list(table)
    return rng.choices(keys, weights=[table[k] for k in keys])[0]


# ---------------------------------------------------------------- count phrases
KINDS = {"small": 22, "digits": 24, "teen": 7, "tens": 8, "hund": 2, "dual": 9, "single": 9,
         "vague": 9, "part": 6}


def _noun_after(n: int, nn: tuple, nom: bool) -> str:
    if nn is OTHERS[0]:
        return "آخرون" if nom else "آخرين"
    r = n % 100
    if n >= 100 and r in (0, 1, 2):
        return nn[0]
    if 3 <= r <= 10:
        return nn[2]
    return nn[1]


def count(rng, pool, case: str = "gen", kinds: dict | None = None, poss: str | None = None,
          quals: bool = True, big: bool = False) -> dict:
    """A count phrase. case: nom | gen | acc; big: allow counts in the hundreds
    (tallies). Returns dict(text, n (None=vague), q, trail (text after the span),
    num (s/d/p), fem)."""
    nn = rng.choice(pool)
    fem, nom = nn[6] == "f", case == "nom"
    kind = _wchoice(rng, kinds or KINDS)
    other = nn is OTHERS[0]
    if kind == "single":
        if other:
            return dict(text="آخر", n=1, q="exact", trail="", num="s", fem=False)
        singles = SINGLE_MIL if pool is SOLDIERS else SINGLE_CIV if pool is CIVILIANS else None
        if singles and rng.random() < 0.5:
            sg1 = rng.choice(singles)
            sg, fem = (sg1[1] if case == "acc" else sg1[0]), sg1[2] == "f"
        else:
            sg = nn[1] if case == "acc" else nn[0]
            if not fem and rng.random() < 0.15:
                sg += " آخر"  # جندي آخر / جنديًا آخر
        trail = " برتبة " + rng.choice(RANKS) if sg.startswith("ضابط") and rng.random() < 0.3 else ""
        return dict(text=sg, n=1, q="exact", trail=trail, num="s", fem=fem)
    if kind == "dual":
        d = nn[3] if nom else nn[4]
        if other:
            d = ("اثنان آخران" if nom else "اثنين آخرين")
        elif (not nom and nn[4] == nn[2]) or (rng.random() < 0.15 and nn[2].endswith("ين")):
            d += " اثنان" if nom else " اثنين"
        return dict(text=d, n=2, q="exact", trail="", num="d", fem=fem)
    if kind == "vague":
        if other:
            v = "آخرون" if nom else "آخرين"
        else:
            v = rng.choice(((("عدد" if case != "acc" else "عددًا") + " من " + nn[5], "عدة " + nn[2],
                             "العشرات من " + nn[5], "عشرات " + nn[5])
                            + (() if pool in (DEAD, HURT) else ("العشرات", "المئات"))))
        return dict(text=v, n=None, q=None, trail="", num="p", fem=False)
    if kind == "part" and not other:
        n = rng.choice((2, 3, 3, 4, 5, 6, 7, 8, 10, 12, 15))
        base = (poss and rng.random() < 0.6 and rng.choice(POSSESSED) + poss) or nn[5]
        fem = fem and base == nn[5]
        w = str(n) if rng.random() < 0.3 else number_words(rng, n, fem, nom)
        return dict(text=w + " من " + base, n=n, q="exact", trail="", num="p", fem=fem)
    if kind in ("small", "part"):
        n = rng.randint(3, 10)
    elif kind == "teen":
        n = rng.randint(11, 19)
    elif kind == "tens":
        n = rng.choice((rng.randint(20, 40), rng.randint(20, 40), rng.randint(20, 99)))
    elif kind == "hund":  # rare in single incidents, common in tallies
        n = rng.choice((100, 100, 120, 150, 200, 300) + ((500, rng.randint(101, 999)) if big else ()))
        if n % 100 in (1, 2):
            n += 5
    else:
        n = rng.choice((rng.randint(3, 30),) * 5 + (rng.randint(10, 99),) * 3 + ((rng.randint(100, 450),) if big else ()))
    q, pre, trail = "exact", "", ""
    r = rng.random() if quals else 1  # qualifiers only where they read naturally
    if r < 0.11 and n >= 10:
        q, pre, nom = "more_than", "أكثر من ", False  # أكثر من / نحو + genitive
    elif 0.11 <= r < 0.2 and n >= 5:
        q, pre, nom = "about", rng.choice(("نحو ", "حوالي ")), False
        if n > 12:
            n = round(n, -1)
    elif r < 0.28:
        q, trail = "at_least", " على الأقل"
    if kind == "digits":
        w = str(n).translate(INDIC) if rng.random() < 0.3 else str(n)
    else:
        w = number_words(rng, n, fem, nom, case == "acc" and not pre)
    noun = _noun_after(n, nn, nom)
    if not fem and pool in (SOLDIERS, CIVILIANS) and rng.random() < 0.3:
        noun += " " + _nisba(rng, n)  # the adjective belongs to the count span: جنود أتراك، عنصرًا أمنيًا
    return dict(text=f"{pre}{w} {noun}", n=n, q=q, trail=trail, num="p", fem=fem)


# Nisba adjectives after a counted masculine noun; form by number: 3-10 genitive
# plural (جنود عراقيين), 11-99 accusative singular (جنديًا عراقيًا), 100+ genitive singular.


def _nisba(rng, n: int) -> str:
    base = rng.choice(NISBA)
    if 3 <= n <= 10:
        return base + "ين"
    return base + "ًا" if n % 100 >= 11 else base


def cm(c: dict, label: str) -> str:
    """Count dict -> markup span (+ trailing على الأقل outside the span)."""
    head = f"{label} ?" if c["n"] is None else f"{label} {c['n']}" + ("" if c["q"] == "exact" else f" {c['q']}")
    return f"[[{head}|{c['text']}]]{c['trail']}"


def plain(c: dict) -> str:
    return c["text"] + c["trail"]


def _passive(c: dict, stem: str) -> str:
    """Verb before its subject: قُتل / قُتلت."""
    return stem + ("ت" if c["fem"] else "")


def _after(c: dict, stem: str) -> str:
    """Verb after its subject (إن ثلاثة جنود قُتلوا)."""
    return stem + {("s", False): "", ("s", True): "ت", ("d", False): "ا", ("d", True): "تا",
                   ("p", False): "وا", ("p", True): "ن"}[(c["num"], c["fem"])]


def _pron(c: dict) -> str:
    return {("s", False): "ه", ("s", True): "ها", ("d", False): "هما", ("d", True): "هما",
            ("p", False): "هم", ("p", True): "هن"}[(c["num"], c["fem"])]


# ---------------------------------------------------------------- sentence building
# Event templates (templates.json "events", per attack type) are rows of (form, event gender,
# template, extra labels). form V: verb-first clause (also usable subject-first after إن when it
# starts with "<verb> {A}"); S: subject-first clause only; E: event noun phrase (في / جراء / إثر /
# ب + E, أسفر E عن, headline E يقتل). A few rare templates carry two labels for one incident.
# Slots: {A} {Ao} {Al} attacker nom / obl / ل+; {O} {Oo} {Ol} {Ow} the other side;
# {T} {Tg} target acc / gen (Tv Ts Tc Tn: vehicles, sites, civilian places, sites or civilian);
# {PT} place and time; {P} place; {town} {town2}; {VIC} {VICn} assassination victim acc / nom;
# {NAMED}; {HOST} {HOSTg} {HOSTn} abductees acc / gen / nom (untagged), {hp} {hv}; {NR} rockets.
# No-attack templates ("no_attack") add: {N_det} {N_rel} {N_host} untagged people (acc / gen / nom),
# {N_thing} untagged things, {N_dead} {N_deadg} {N_inj} untagged accident victims, {KT} {KTn} {WT}
# {WTn} tagged tallies, {N_truck}, {Bo} an armed group (obl).
TARGET_KINDS = {k: tuple(t for t in TARGETS if t[3] in k.replace("n", "sc")) for k in "vscn"}
BAD_PAIRS = ({"BOMBING", "SUICIDE_BOMBING"}, {"AMBUSH", "ARMED_ASSAULT"})
FRAMES = {"V": 30, "INNA": 12, "CASFIRST": 16, "MASDAR": 9, "ASFAR": 9, "HEADLINE": 9, "TOLL": 4, "LAQI": 5}
PAIR_FRAMES = ("V", "V", "INNA", "CASFIRST", "MASDAR", "ASFAR", "LAQI")
HOST_KINDS = {"small": 4, "digits": 3, "teen": 1, "tens": 1, "dual": 1, "single": 1, "vague": 1}
LEAD3 = re.compile(r"<[^<>|]*\|[^<>|]*\|[^<>|]*> \{A\} ")


def _pt(rng, th) -> str:
    """Place and time, in either order; time optional."""
    r = rng.random()
    if r < 0.55:
        return _place(rng, th) + " " + _time(rng)
    if r < 0.7:
        return _time(rng) + " " + _place(rng, th)
    return _place(rng, th)


def _named(rng, th, own) -> str:
    t = _choices(rng, rng.choice(NAMED_T))
    return (t.replace("{Oo}", own["obl"]).replace("{town}", rng.choice(th["towns"]))
            .replace("{fn}", rng.choice(FIRST_NAMES)).replace("{ln}", rng.choice(LAST_NAMES)))


def _victim(rng, th, own, acc: bool) -> str:
    """Assassination victim: named person (untagged) or indefinite one (KILLED 1)."""
    if rng.random() < 0.4:
        return _named(rng, th, own)
    sg = rng.choice(SINGLE_TARGET)
    return f"[[KILLED 1|{sg[1] if acc else sg[0]}]]" + rng.choice(("", "", " في " + own["obl"]))


def _named_only(pool) -> list[str]:
    return [s for s in pool if _spec(s)[2] != "p"]


def _pick_actors(rng, th, atype, theatre) -> tuple[dict, dict]:
    """Attacker and the other side (owner of the attacked target, whose people are the victims)."""
    state_share = {"AIRSTRIKE": 1.0, "SHELLING": 0.45, "ARMED_ASSAULT": 0.35, "AMBUSH": 0.1}.get(atype, 0.05)
    if rng.random() < state_share:  # state forces attack an armed group: fighters are the victims
        pool = th["air"] if atype == "AIRSTRIKE" else th["gov"] + GENERIC_STATE[:3]
        side, other, victims = th["gov"], _named_only(th["arm"]), FIGHTERS
    else:  # armed group (real, invented or generic) attacks state forces
        r = rng.random()
        pool = (GENERIC_ARMED if r < 0.25 else tuple(_inv_group(rng) for _ in range(3))
                if r < 0.37 and theatre != "invented" else th["arm"])
        side, other, victims = th["arm"], _named_only(th["gov"]), SOLDIERS
        if rng.random() < 0.3:
            other += list(GENERIC_STATE)
    spec = rng.choice(pool)
    affil = rng.choice(side) if atype != "AIRSTRIKE" and rng.random() < 0.12 else None
    own = actor(rng, rng.choice([o for o in other if o != spec] or list(GENERIC_STATE)))
    own["victims"] = victims
    return actor(rng, spec, affil), own


def _slots(rng, th, atk, own, host) -> dict:
    """Slot table for one event (callables, evaluated where the slot is used)."""
    return {
        "A": lambda: atk["nom"], "Ao": lambda: atk["obl"], "Al": lambda: atk["lam"],
        "O": lambda: own["nom"], "Oo": lambda: own["obl"], "Ol": lambda: own["lam"], "Ow": lambda: own["wa"],
        "PT": lambda: _pt(rng, th), "P": lambda: _place(rng, th), "TM": lambda: _time(rng),
        "town": lambda: rng.choice(th["towns"]), "town2": lambda: rng.choice(th["towns"]),
        "VIC": lambda: _victim(rng, th, own, True), "VICn": lambda: _victim(rng, th, own, False),
        "NAMED": lambda: _named(rng, th, own),
        "HOST": lambda: plain(host("acc")), "HOSTg": lambda: plain(host("gen")), "HOSTn": lambda: plain(host("nom")),
        "hp": lambda: _pron(host("nom")), "hv": lambda: _after(host("nom"), ""),
        "NR": lambda: plain(count(rng, THINGS[:3], "gen", quals=False,
                                  kinds={"small": 3, "digits": 3, "teen": 1, "dual": 1, "vague": 1})),
        "NS": lambda: plain(count(rng, STRIKES, "acc", quals=False,
                                  kinds={"small": 2, "digits": 3, "teen": 1, "tens": 1, "vague": 1})),
    }


def _target_slots(rng, tpl: str, tgt: tuple, own: dict) -> tuple[dict, tuple | None]:
    m = re.search(r"\{T([vscn]?)g?\}", tpl)
    if not m:
        return {}, None
    tt = rng.choice(TARGET_KINDS[m.group(1)]) if m.group(1) else tgt

    def np(gen):
        return (tt[1] if gen else tt[0]) + (" " + own["lam"] if tt[4] else "")
    slots = {}
    for k in ("T", "Tv", "Ts", "Tc", "Tn"):
        slots[k], slots[k + "g"] = (lambda: np(False)), (lambda: np(True))
    return slots, tt


def _tail(rng, gender: str, civ: bool, poss: str | None, want: str, mil=SOLDIERS, assassination=False) -> str:
    """Casualty clause(s) appended to a finite event clause."""
    pool = CIVILIANS if civ else mil
    fi = "فيه" if gender == "m" else "فيها"
    if assassination:
        r = rng.random()
        if r < 0.35 or not want:
            return ""
        c = count(rng, ESCORT_NOUNS, "nom", kinds={"part": 3, "small": 1} if r < 0.65 else {"part": 2, "dual": 1})
        if " من " in c["text"]:
            c["text"] = c["text"].rsplit(" من ", 1)[0] + " من " + rng.choice(ESCORTS)
        if r < 0.65 and "K" in want:
            return "، (وقُتل معه|كما قُتل) " + cm(c, "KILLED")
        return "، (كما|فيما) " + _passive(c, "أصيب") + " " + cm(c, "WOUNDED") + " (بجروح|)"
    if not want:
        n = rng.randint(3, 40)
        nc = str(n) if rng.random() < 0.6 else number_words(rng, n, False, False)
        return rng.choice(("", "", "، دون وقوع إصابات", "، دون أن (يسفر|تسفر) عن إصابات",
                           "، ولم ترد أنباء عن (وقوع |)إصابات", "، ما أسفر عن أضرار مادية (فقط|)",
                           "، ما أسفر عن (سقوط|وقوع) " + nc + " بين قتيل وجريح",
                           "، ما أسفر عن مقتل وإصابة (العشرات|عدد من الأشخاص|" + plain(count(rng, pool, "gen", kinds={"small": 1, "digits": 1})) + ")"))
    if want == "W":
        w = count(rng, pool, "nom", poss=poss)
        return rng.choice((
            "، ما (أسفر عن|أدى إلى) إصابة " + cm(count(rng, pool, "gen", poss=poss), "WOUNDED")
            + " (بجروح (متفاوتة|طفيفة|خطيرة)|)",
            "، (فيما |و)" + _passive(w, "أصيب") + " " + cm(w, "WOUNDED") + " بجروح (متفاوتة|طفيفة|خطيرة|)",
            "، (وأصيب|وجُرح) " + fi + " " + cm(w, "WOUNDED")))
    has_w = "W" in want
    wpool = OTHERS if rng.random() < 0.45 else pool
    subs = SUBCOUNTS_CIV if civ else SUBCOUNTS_FIGHTERS if mil is FIGHTERS else SUBCOUNTS_MIL
    sub = ("، بينهم " + rng.choice(subs) + "،") if rng.random() < 0.18 else ""
    form = rng.choice(("asfar", "asfar", "asfar", "fihi", "mukh", "saqat", "fa"))
    if form == "asfar":
        k = count(rng, pool, "gen", poss=poss)
        sub = sub if k["n"] is None or k["n"] >= 4 else ""
        s = "، ما (أسفر عن|أدى إلى) (مقتل|مصرع) " + cm(k, "KILLED")
        if rng.random() < 0.08:
            s += " و" + cm(count(rng, pool, "gen", kinds={"single": 1}), "KILLED")
        s += sub
        if has_w:
            s += rng.choice((" وإصابة ", " وجرح ", " إلى جانب إصابة ")) + cm(count(rng, wpool, "gen", poss=poss), "WOUNDED")
        return s
    if form in ("mukh", "saqat"):
        case = "acc" if form == "mukh" else "nom"
        kinds = {"small": 4, "digits": 5, "teen": 1, "tens": 2, "dual": 1, "vague": 1}
        s = ("، مخلف" + ("ًا " if gender == "m" else "ة ")) if form == "mukh" else "، (وسقط|وسقط " + fi + ") "
        s += cm(count(rng, DEAD, case, kinds=kinds), "KILLED")
        if has_w:
            s += " و" + cm(count(rng, HURT, case, kinds=kinds), "WOUNDED")
        return s
    k, w = count(rng, pool, "nom", poss=poss), count(rng, wpool, "nom", poss=poss)
    s = ("، " + _passive(k, "قُتل") + " " + fi + " ") if form == "fihi" else ("، (ف|و)" + _passive(k, "قُتل") + " ")
    s += cm(k, "KILLED") + (sub if k["n"] is None or k["n"] >= 4 else "")
    if has_w:
        s += " و" + _passive(w, "أصيب") + " " + cm(w, "WOUNDED")
    return s


def _attackers_killed(rng, atk) -> str:
    lead = rng.choice(("، فيما ", "، بينما ", "، كما "))
    c = count(rng, FIGHTERS, "nom", kinds={"small": 3, "digits": 3, "dual": 1, "teen": 1, "vague": 1})
    if c["num"] == "p" and c["n"] is not None and rng.random() < 0.6:
        c["text"] = c["text"].rsplit(" ", 1)[0]
        who = tag("المهاجمين") if atk["g"] == "p" or rng.random() < 0.5 else atk["obl"]
        return lead + "قُتل " + cm(c, "KILLED") + " من " + who
    return lead + "قُتل " + cm(c, "KILLED")


def _attack(rng, th: dict, theatre: str, atype: str, frame: str | None = None) -> tuple[str, set]:
    """One attack event as markup; returns (markup, labels)."""
    templates = EVENTS[atype] + ((EGYPT_CHECKPOINT,) if theatre == "egypt" and atype == "ARMED_ASSAULT" else ())
    atk, own = _pick_actors(rng, th, atype, theatre)
    tgt = rng.choice(TARGETS)
    hseed = rng.random()  # abductees: the same phrase in any case

    def host(case):
        return count(random.Random(hseed), HOSTAGES, case, kinds=HOST_KINDS, quals=False)
    slots = _slots(rng, th, atk, own, host)
    frame = frame or _wchoice(rng, FRAMES)
    if atype in ("KIDNAPPING", "ASSASSINATION") and frame != "INNA":
        frame = "V"

    def expand(t, actor_first=False):
        _, gender, tpl, extra = t
        tslots, tt = _target_slots(rng, tpl, tgt, own)
        civ = (not tt[4]) if tt else ("{O" not in tpl and rng.random() < 0.75)
        civ = civ != (rng.random() < 0.12)
        text = fill(rng, tpl, {**slots, **tslots}, atk["g"], bool(tt and tt[2]), actor_first)
        return text, gender, set(extra), civ

    labels = {atype}
    r = rng.random()
    want = "" if atype == "KIDNAPPING" or r < 0.15 else "K" if r < 0.42 else "W" if r < 0.52 else "KW"
    poss_of = {"m": "ه", "f": "ها", "p": "هم"}[own["g"]]
    if frame in ("V", "INNA"):
        if frame == "INNA":
            t = rng.choice([t for t in templates if t[0] == "S" or (t[0] == "V" and LEAD3.match(t[2]))])
            body, gender, extra, civ = expand(t, actor_first=t[0] == "V")
            lead = fill(rng, rng.choice(ATTR_INNA), slots) + " "
        else:
            body, gender, extra, civ = expand(rng.choice([t for t in templates if t[0] == "V"]))
            lead = (fill(rng, rng.choice(ATTR_LEAD), slots) + "، ") if rng.random() < 0.2 else ""
        poss = None if civ or rng.random() < 0.5 else poss_of
        if body.startswith("نجا"):  # the target survived: only wounded companions
            want = want.replace("K", "")
        out = lead + body
        if atype != "KIDNAPPING":
            out += _tail(rng, gender, civ, poss, want, own["victims"], atype == "ASSASSINATION")
        if want and atype not in ("KIDNAPPING", "ASSASSINATION") and rng.random() < 0.1:
            out += _attackers_killed(rng, atk)
        if not lead and rng.random() < 0.2:
            out += "، " + fill(rng, rng.choice(ATTR_TRAIL), slots)
        return _choices(rng, out) + ".", labels | extra
    ev, gender, extra, civ = expand(rng.choice([t for t in templates if t[0] == "E"]))
    labels |= extra
    pool = CIVILIANS if civ else own["victims"]
    kw = {"poss": None if civ or rng.random() < 0.5 else poss_of}
    want = want or "K"
    ptime = (" " + _pt(rng, th)) if rng.random() < 0.8 else ""
    prep = rng.choice(PREPS)
    k_gen = lambda: cm(count(rng, pool, "gen", **kw), "KILLED")
    w_gen = lambda: cm(count(rng, OTHERS if rng.random() < 0.5 else pool, "gen", **kw), "WOUNDED")
    trail = lambda p: ("، " + fill(rng, rng.choice(ATTR_TRAIL), slots)) if rng.random() < p else ""
    if frame == "CASFIRST":
        if want == "W":
            w = count(rng, pool, "nom", **kw)
            out = _passive(w, "أصيب") + " " + cm(w, "WOUNDED") + " بجروح (متفاوتة|خطيرة|طفيفة|) " + prep + ev + ptime
        else:
            verb, kpool = rng.choice((("قُتل", pool), ("قُتل", pool), ("استُشهد", CIVILIANS), ("ارتقى", MARTYRS)))
            k = count(rng, kpool, "nom", **kw)
            out = _passive(k, verb) + " " + cm(k, "KILLED")
            if "W" in want:
                w = count(rng, OTHERS if rng.random() < 0.5 else pool, "nom", **kw)
                out += " و" + _passive(w, rng.choice(("أصيب", "أصيب", "جُرح"))) + " " + cm(w, "WOUNDED")
            out += " " + prep + ev + ptime
        out += trail(0.3)
    elif frame == "MASDAR":
        out = fill(rng, rng.choice(ATTR_MASDAR), slots)
        out += ("إصابة " + w_gen()) if want == "W" else ("مقتل " + k_gen() + (" وإصابة " + w_gen() if "W" in want else ""))
        out += " " + prep + ev + ptime
    elif frame == "ASFAR":
        out = ("أسفر " if gender == "m" else "أسفرت ") + ev + ptime + " عن "
        out += ("إصابة " + w_gen()) if want == "W" else ("(مقتل|مصرع) " + k_gen() + (" وإصابة " + w_gen() if "W" in want else ""))
        out += trail(0.25)
    elif frame == "HEADLINE":  # no verb, no final period
        p = (" " + _place(rng, th)) if rng.random() < 0.7 else ""
        if rng.random() < 0.5:
            out = "مقتل " + k_gen() + (" وإصابة " + w_gen() if "W" in want else "")
            return _choices(rng, out + " " + rng.choice(("في ", "ب", "جراء ")) + ev + p), labels
        v = ("يقتل", "ويصيب") if gender == "m" else ("تقتل", "وتصيب")
        out = ev + p + " " + v[0] + " " + cm(count(rng, pool, "acc", **kw), "KILLED")
        if "W" in want:
            out += " " + v[1] + " " + cm(count(rng, OTHERS if rng.random() < 0.5 else pool, "acc", **kw), "WOUNDED")
        return _choices(rng, out), labels
    elif frame == "TOLL":
        kinds = {"digits": 5, "small": 2, "teen": 2, "tens": 3}
        if rng.random() < 0.5:
            out = "ارتفعت حصيلة ضحايا " + ev + ptime + " إلى " + cm(count(rng, DEAD, "gen", kinds=kinds), "KILLED")
            if "W" in want:
                out += " و" + cm(count(rng, HURT, "gen", kinds=kinds), "WOUNDED")
        else:
            n = rng.randint(5, 60)
            out = "ارتفع عدد قتلى " + ev + ptime + " إلى " + cm({"text": str(n), "n": n, "q": "exact", "trail": ""}, "KILLED")
        out += trail(0.4)
    else:  # LAQI
        k = count(rng, pool, "nom", **kw)
        out = _passive(k, "لقي") + " " + cm(k, "KILLED") + " (مصرع|حتف)" + _pron(k) + " " + prep + ev + ptime
        if "W" in want:
            w = count(rng, OTHERS if rng.random() < 0.5 else pool, "nom", **kw)
            out += "، (فيما |و)" + _passive(w, "أصيب") + " " + cm(w, "WOUNDED") + " (بجروح|)"
    return _choices(rng, out) + ".", labels


def _extra(rng, th, atype, hurt: bool) -> str:
    """A follow-up sentence: claim, response, casualties' care, context (no new attack)."""
    c = actor(rng, rng.choice(_named_only(th["arm"]) or _named_only(GENERIC_ARMED)))
    o = actor(rng, rng.choice(_named_only(th["gov"] + GENERIC_STATE)))
    tpl = rng.choice([t for t in EXTRAS if hurt or not ("الجرحى" in t or "الحصيلة" in t)])
    if atype == "AIRSTRIKE" and "{C" in tpl:
        tpl = EXTRAS[-2]
    slots = {"C": lambda: c["nom"], "Co": lambda: c["obl"], "O": lambda: o["nom"]}
    return " " + fill(rng, tpl, slots, o["g"] if "{O}" in tpl else c["g"]) + "."


def _no_attack(rng, th: dict) -> str:
    tpl = rng.choice(NO_ATTACK)
    named = _named_only(th["gov"] + th["arm"] + GENERIC_STATE)
    a, o = actor(rng, rng.choice(named)), actor(rng, rng.choice(named))
    b = actor(rng, rng.choice([s for s in _named_only(th["arm"]) if _spec(s)[0] != a["text"]] or ["عناصر التنظيم"]))
    people = {"small": 4, "digits": 5, "teen": 1, "tens": 2, "hund": 1, "vague": 1}
    plural = {"small": 4, "digits": 5, "teen": 1, "tens": 2, "hund": 1}
    tally = {"digits": 6, "tens": 2, "hund": 2, "small": 1, "vague": 1}
    big = {"kinds": tally, "big": True}
    one_word = {"digits": 3, "small": 1}
    slots = {
        "A": lambda: a["nom"], "Ao": lambda: a["obl"], "Al": lambda: a["lam"], "O": lambda: o["nom"],
        "Oo": lambda: o["obl"], "Ol": lambda: o["lam"], "Bo": lambda: b["obl"], "Bl": lambda: b["lam"],
        "Bw": lambda: b["wa"], "P": lambda: _place(rng, th), "PT": lambda: _pt(rng, th),
        "town": lambda: rng.choice(th["towns"]), "PN": lambda: _bare_place(rng, th),
        "N_det": lambda: plain(count(rng, CAPTIVES[:2] + CAPTIVES[5:], "acc", kinds=people, quals=False)),
        "N_rel": lambda: plain(count(rng, CAPTIVES[2:5] + HOSTAGES[:3], "gen", kinds=people)),
        "N_host": lambda: plain(count(rng, HOSTAGES, "nom", kinds=plural, quals=False)),
        "N_conv": lambda: plain(count(rng, CIVILIANS[:1], "gen", kinds=one_word, quals=False)).split(" ")[0],
        "N_thing": lambda: plain(count(rng, THINGS, "acc", kinds=people, quals=False)) + rng.choice(
            ("", " و" + plain(count(rng, THINGS, "acc", kinds=plural, quals=False)))),
        "N_bomb": lambda: plain(count(rng, THINGS[3:4], "acc", kinds={"small": 2, "digits": 2}, quals=False)),
        "N_dead": lambda: plain(count(rng, CIVILIANS, "nom", kinds=plural)),
        "N_deadg": lambda: plain(count(rng, CIVILIANS, "gen", kinds=plural)),
        "N_inj": lambda: plain(count(rng, CIVILIANS[:1], "nom", kinds=one_word, quals=False)).split(" ")[0],
        "N_truck": lambda: plain(count(rng, TRUCKS, "nom", kinds={"digits": 3, "tens": 1, "small": 1, "hund": 1}, quals=False)),
        "KT": lambda: cm(count(rng, CIVILIANS[:3], "gen", **big), "KILLED"),
        "KF": lambda: cm(count(rng, FIGHTERS, "gen", **big), "KILLED"),
        "WT": lambda: cm(count(rng, CIVILIANS[:3] + OTHERS, "gen", **big), "WOUNDED"),
        "KTn": lambda: cm(count(rng, CIVILIANS[:3], "nom", **big), "KILLED"),
        "WTn": lambda: cm(count(rng, CIVILIANS[:3] + OTHERS, "nom", **big), "WOUNDED"),
    }
    return fill(rng, tpl, slots, a["g"]) + "."


def _segment(rng) -> tuple[str, list[str], str]:
    theatre = _wchoice(rng, THEATRE_WEIGHTS)
    th = _invented_theatre(rng) if theatre == "invented" else THEATRES[theatre]
    types = th.get("types", ATTACK_TYPES)
    r = rng.random()
    if r < 0.25:
        s = _no_attack(rng, th)
        if rng.random() < 0.2:
            s += " " + _no_attack(rng, th)
        return s, [], theatre
    a = rng.choice(types)
    if r < 0.36:  # two separate events of two types
        s, labels = _attack(rng, th, theatre, a, rng.choice(PAIR_FRAMES))
        b = rng.choice([t for t in types if t != a and {a, t} not in BAD_PAIRS])
        s2, l2 = _attack(rng, th, theatre, b, rng.choice(("V", "V", "CASFIRST", "LAQI")))
        conn = rng.choice(("وفي سياق متصل، ", "وفي حادث منفصل، ", "وفي حادث آخر، ", "إلى ذلك، ", "كما "))
        s, labels = s + " " + conn + s2, labels | l2
    else:
        s, labels = _attack(rng, th, theatre, a)
        if s.endswith(".") and rng.random() < 0.35:
            s += _extra(rng, th, a, "[[KILLED" in s or "[[WOUNDED" in s)
    return s, [t for t in ATTACK_TYPES if t in labels], theatre


# ---------------------------------------------------------------- noise
_AR_WORD = re.compile(r"[\u0621-\u064A\u0640ً-ْ]+")
NON_JOINING = set("اأإآدذرزوؤةىء")


def _noise(rng, markup: str) -> str:
    r = rng.random()
    if r < 0.05:  # partial diacritics
        p = rng.uniform(0.3, 0.9)
        return _AR_WORD.sub(lambda m: DIACRITIZED.get(m.group(0), m.group(0)) if rng.random() < p else m.group(0), markup)
    if r < 0.08:  # tatweel on one to three words (inside or outside spans)
        words = [m for m in _AR_WORD.finditer(markup) if len(m.group(0)) >= 4]
        for m in sorted(rng.sample(words, min(len(words), rng.randint(1, 3))), key=lambda m: -m.start()):
            w = m.group(0)
            i = 2 if w.startswith("ال") and w[2] not in "ً" else rng.randrange(1, len(w) - 1)
            if w[i - 1] in NON_JOINING or not ("\u0621" <= w[i] <= "\u064A"):
                continue
            markup = markup[: m.start()] + w[:i] + "ـ" + w[i:] + markup[m.end():]
    return markup


# Military aircraft and drones are ACTOR wherever they are mentioned (AUTHORING.md R13), with an
# adjective that belongs to them; a proclitic stays outside and an owner after تابعة is a second span.
_AIRCRAFT = re.compile(
    r"(^|[\s(«\"])([وفبل]{0,2})((?:الطائرات المسيّرة|طائرات مسيّرة|طائرة مسيّرة|طائرتان مسيّرتان|طائرتين مسيّرتين"
    r"|طائرات حربية|طائرة حربية|مقاتلات|مروحيات|مروحية|الطيران الحربي)(?: مجهولة)?)(?=[\s،.)»\"]|$)"
)
_MARKUP_TAG = re.compile(r"(\[\[[^\]]*\]\])")


def _tag_aircraft(markup: str) -> str:
    parts = _MARKUP_TAG.split(markup)  # odd parts are existing spans: left alone
    return "".join(p if i % 2 else _AIRCRAFT.sub(r"\1\2[[ACTOR|\3]]", p) for i, p in enumerate(parts))


# ---------------------------------------------------------------- API
def _clean(s: str) -> str:
    s = re.sub(r" {2,}", " ", s)
    s = re.sub(r" ([،.])", r"\1", s)
    s = s.replace("، ،", "،").replace("،،", "،").replace("،.", ".")
    return s.strip()


def generate(n: int, seed: int = 0) -> list[dict]:
    """n canonical records, deterministic for a seed."""
    rng = random.Random(seed)
    out, seen = [], set()
    while len(out) < n:
        markup, types, theatre = _segment(rng)
        markup = _noise(rng, _tag_aircraft(_clean(markup)))
        text, entities = parse_markup(markup)
        words = len(text.split())
        if text in seen or not 8 <= words <= 60:
            continue
        seen.add(text)
        rec = {"id": f"aug-{len(out) + 1:06d}", "text": text, "entities": entities,
               "attack_types": types, "theatre": theatre, "source": "augmented"}
        problems = validate_record(rec)
        if problems:
            raise ValueError(f"generated an invalid record {rec}: {problems}")
        out.append(rec)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m rasid.data.augment", description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=6000, help="number of segments")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="data/corpus/augmented.jsonl")
    args = ap.parse_args(argv)
    recs = generate(args.n, args.seed)
    write_jsonl(recs, args.out)
    from collections import Counter
    by_type = Counter(a for r in recs for a in r["attack_types"])
    print(f"{len(recs)} records -> {args.out}; no attack: {sum(not r['attack_types'] for r in recs)}; "
          f"types: {dict(by_type)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
