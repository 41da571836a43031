"""The label contract of docs/SCHEMA.md that inference needs at run time."""

ENTITY_LABELS = ("ACTOR", "KILLED", "WOUNDED")
COUNT_LABELS = ("KILLED", "WOUNDED")
ATTACK_TYPES = (
    "BOMBING", "SUICIDE_BOMBING", "AIRSTRIKE", "SHELLING",
    "AMBUSH", "ARMED_ASSAULT", "ASSASSINATION", "KIDNAPPING",
)
QUALIFIERS = ("exact", "more_than", "about", "at_least")

# label -> (ACLED sub-event type, GTD attack type); None where GTD has none.
EVENT_CODES = {
    "BOMBING": ("Remote explosive/landmine/IED", "3 Bombing/Explosion"),
    "SUICIDE_BOMBING": ("Suicide bomb", "3 Bombing/Explosion, suicide=1"),
    "AIRSTRIKE": ("Air/drone strike", None),
    "SHELLING": ("Shelling/artillery/missile attack", None),
    "AMBUSH": ("Armed clash / Attack", "2 Armed Assault"),
    "ARMED_ASSAULT": ("Armed clash / Attack", "2 Armed Assault"),
    "ASSASSINATION": ("Attack", "1 Assassination"),
    "KIDNAPPING": ("Abduction/forced disappearance", "6 Kidnapping"),
}
