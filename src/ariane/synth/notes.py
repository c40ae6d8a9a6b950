"""Free-text clinical comments, written the way lab staff write them, with their truth.

A comment is made of fragments joined by one of :data:`SEPARATORS`. A fragment is a
*mention* (it says something about HIV, pregnancy, cancer, a genetic disease or a
treatment: the special categories of CONTRACT.md, any polarity counting, since a test for
HIV is itself sensitive), *noise* (logistics of the visit), or a *distractor*: text that
looks close to a mention but is not one ("traitement du dossier", "K+ 4,2", "Cancale").
The categories of a comment are exactly those of its mention fragments.
"""

from __future__ import annotations

import random
import string
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

CATEGORIES: tuple[str, ...] = ("hiv", "pregnancy", "cancer", "genetic", "treatment")
SEPARATORS: tuple[str, ...] = (" ; ", " ; ", " / ", "\n")

# (template, categories it mentions). Templates hold no separator.
MENTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("VIH+", ("hiv",)),
    ("VIH +", ("hiv",)),
    ("sérologie VIH positive", ("hiv",)),
    ("séropo VIH", ("hiv",)),
    ("séropositif VIH", ("hiv",)),
    ("HIV +", ("hiv",)),
    ("charge virale VIH indétectable", ("hiv",)),
    ("sérologie VIH négative", ("hiv",)),
    ("dépistage VIH demandé", ("hiv",)),
    ("suivi VIH au CHU", ("hiv",)),
    ("Ac anti-VIH1/2 positifs", ("hiv",)),
    ("VIH sous trithérapie", ("hiv", "treatment")),
    ("sous ARV (VIH)", ("hiv", "treatment")),
    ("enceinte {sa} SA", ("pregnancy",)),
    ("grossesse", ("pregnancy",)),
    ("grossesse en cours", ("pregnancy",)),
    ("G{g}P{p}", ("pregnancy",)),
    ("enceinte", ("pregnancy",)),
    ("bHCG +", ("pregnancy",)),
    ("beta-HCG positif", ("pregnancy",)),
    ("suivi de grossesse T{t}", ("pregnancy",)),
    ("DDR {day}", ("pregnancy",)),
    ("{sa} SA", ("pregnancy",)),
    ("terme prévu le {day}", ("pregnancy",)),
    ("test de grossesse négatif", ("pregnancy",)),
    ("K sein", ("cancer",)),
    ("ATCD K sein", ("cancer",)),
    ("néo colique", ("cancer",)),
    ("cancer de la prostate", ("cancer",)),
    ("lymphome", ("cancer",)),
    ("leucémie", ("cancer",)),
    ("carcinome", ("cancer",)),
    ("tumeur vessie", ("cancer",)),
    ("métastases hépatiques", ("cancer",)),
    ("suivi onco", ("cancer",)),
    ("néo pulmonaire", ("cancer",)),
    ("chimio en cours", ("cancer", "treatment")),
    ("sous chimiothérapie", ("cancer", "treatment")),
    ("radiothérapie en cours", ("cancer", "treatment")),
    ("mucoviscidose", ("genetic",)),
    ("mucovisc.", ("genetic",)),
    ("drépanocytose", ("genetic",)),
    ("hémophilie A", ("genetic",)),
    ("trisomie 21", ("genetic",)),
    ("thalassémie", ("genetic",)),
    ("maladie de Huntington", ("genetic",)),
    ("myopathie de Duchenne", ("genetic",)),
    ("hémochromatose génétique", ("genetic",)),
    ("porteur mutation BRCA1", ("genetic",)),
    ("syndrome de l'X fragile", ("genetic",)),
    ("sous AVK", ("treatment",)),
    ("traitement par Lévothyrox", ("treatment",)),
    ("Lévothyrox {dose} µg", ("treatment",)),
    ("sous Kardégic", ("treatment",)),
    ("TTT : metformine", ("treatment",)),
    ("sous insuline", ("treatment",)),
    ("Préviscan {dose} mg", ("treatment",)),
    ("sous méthotrexate", ("treatment",)),
    ("ttt anticoagulant", ("treatment",)),
    ("sous corticoïdes", ("treatment",)),
    ("sous Coumadine", ("treatment",)),
    ("sous Eliquis", ("treatment",)),
    ("INR cible 2-3 sous AVK", ("treatment",)),
    ("sous lithium", ("treatment",)),
    ("sous Xarelto", ("treatment",)),
)
NOISE: tuple[str, ...] = (
    "patient à jeun",
    "à jeun depuis 12h",
    "non à jeun",
    "prélèvement difficile",
    "prélèvement à domicile",
    "rappeler pour RDV",
    "résultats envoyés au Dr {doctor}",
    "résultats par courrier",
    "résultats sur serveur",
    "tube hémolysé à refaire",
    "ordonnance manquante",
    "bilan annuel",
    "IDE passage 8h",
    "venir à jeun",
    "patient prévenu",
    "facturer mutuelle",
    "tiers payant",
    "urgent",
    "RDV {day}",
    "NFS + CRP",
    "bilan lipidique",
)
DISTRACTORS: tuple[str, ...] = (
    "habite Cancale",
    "vient de Vihiers",
    "traitement du dossier en cours",
    "traitement administratif",
    "retraité",
    "K+ 4,2 mmol/L",
    "kaliémie à contrôler",
    "grosse fatigue",
    "parking dans l'enceinte du CHU",
    "bilan biochimie standard",
    "sérum lipémique",
    "pas de gêne particulière",
    "ATCD AVC",
    "HTA connue",
    "carte vitale OK",
    "mutuelle à jour",
)

_FIELDS = string.Formatter()
_BY_CATEGORY: dict[str, tuple[str, ...]] = {
    category: tuple(t for t, cats in MENTIONS if category in cats) for category in CATEGORIES
}
_CATEGORIES_OF: dict[str, tuple[str, ...]] = dict(MENTIONS)
_PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    template: tuple(name for _, name, _, _ in _FIELDS.parse(template) if name)
    for template in (*_CATEGORIES_OF, *NOISE, *DISTRACTORS)
}


@lru_cache(maxsize=8192)  # names and phrases recur: fold each once
def strip_accents(text: str) -> str:
    """Text without diacritics, as typed on keyboards or exported by old systems."""
    decomposed = unicodedata.normalize("NFD", text)
    kept = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", kept)


@dataclass(frozen=True)
class Comments:
    """The two comment fields of one record and the categories they mention."""

    first: str
    second: str
    categories: tuple[str, ...]


def _fill(rng: random.Random, template: str, doctor: str) -> str:
    names = _PLACEHOLDERS[template]
    if not names:
        return template
    values = {
        "sa": rng.randint(5, 39),
        "g": rng.randint(1, 4),
        "p": rng.randint(0, 3),
        "t": rng.randint(1, 3),
        "day": f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}",
        "dose": rng.choice((25, 50, 75, 100, 20)),
        "doctor": doctor,
    }
    return template.format(**{name: values[name] for name in names})


def _styled(rng: random.Random, fragment: str) -> str:
    roll = rng.random()
    if roll < 0.08:
        return fragment.upper()
    if roll < 0.14:
        return fragment.lower()
    return fragment


def write_comments(
    rng: random.Random, conditions: tuple[str, ...], woman_of_age: bool, doctor: str
) -> Comments:
    """Write the two comment fields of a record of a person with these conditions."""
    clinical: list[str] = []
    categories: set[str] = set()
    for condition in conditions:
        if rng.random() < 0.7:  # a record does not always repeat what the lab knows
            # A treatment phrase may not reveal a disease the person does not have.
            template = rng.choice(
                [
                    t
                    for t in _BY_CATEGORY[condition]
                    if all(c in conditions or c == "treatment" for c in _CATEGORIES_OF[t])
                ]
            )
            clinical.append(_fill(rng, template, doctor))
            categories.update(_CATEGORIES_OF[template])
    if rng.random() < 0.008:
        clinical.append("dépistage VIH demandé")
        categories.add("hiv")
    if woman_of_age and rng.random() < 0.01:
        clinical.append("test de grossesse négatif")
        categories.add("pregnancy")
    first: list[str] = []
    second: list[str] = []
    for fragment in clinical:
        (second if rng.random() < 0.75 else first).append(_styled(rng, fragment))
    if rng.random() < 0.4:
        first.append(_styled(rng, _fill(rng, rng.choice(NOISE), doctor)))
    if rng.random() < 0.1:
        second.append(_styled(rng, _fill(rng, rng.choice(NOISE), doctor)))
    if rng.random() < 0.04:
        (first if rng.random() < 0.5 else second).append(rng.choice(DISTRACTORS))
    rng.shuffle(second)
    texts = []
    for fragments in (first, second):
        text = rng.choice(SEPARATORS[:3] if rng.random() < 0.97 else SEPARATORS).join(fragments)
        texts.append(strip_accents(text) if rng.random() < 0.12 else text)
    return Comments(texts[0], texts[1], tuple(c for c in CATEGORIES if c in categories))


def draw_conditions(rng: random.Random, woman_of_age: bool, age: int) -> tuple[str, ...]:
    """The special-category conditions of one person, at rough French prevalences."""
    conditions = []
    if rng.random() < 0.006:
        conditions.append("hiv")
    if woman_of_age and rng.random() < 0.09:
        conditions.append("pregnancy")
    if rng.random() < (0.05 if age >= 50 else 0.01):
        conditions.append("cancer")
    if rng.random() < 0.01:
        conditions.append("genetic")
    if rng.random() < (0.14 if age >= 60 else 0.03):
        conditions.append("treatment")
    return tuple(conditions)
