"""Reference lists of values a column may hold: first names, insurers, labs, analyses.

Every list is folded (lower case, no accents) and matched on whole words. The lists aim
at recognising a *column* from a sample of its values, so they need to cover the common
cases, not every value: a column is labelled from the share of values that match.
"""

from __future__ import annotations

import gzip
import re
import unicodedata
from functools import cache, lru_cache
from importlib import resources

from ariane.names import faker_names

_NOT_ALNUM = re.compile(r"[^a-z0-9]+")

#: :func:`first_names`, shipped folded (``scripts/derive_lookups.py``): importing Faker and
#: folding its lists on every scan cost more than reading them.
FIRST_NAMES_FILE = "first_names.txt.gz"


@lru_cache(maxsize=1 << 16)
def fold(text: str) -> str:
    """Lower-case ascii words separated by one space: ``'Hôpital-Nord'`` -> ``'hopital nord'``."""
    if text.isascii():  # nothing to decompose: most values, at a fraction of the cost
        return _NOT_ALNUM.sub(" ", text.lower()).strip()
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_only = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NOT_ALNUM.sub(" ", ascii_only.lower()).strip()


@lru_cache(maxsize=8)
def phrase_pattern(phrases: tuple[str, ...] | frozenset[str]) -> re.Pattern[str]:
    """One regex finding any of the folded ``phrases`` as whole words in folded text."""
    alternatives = "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))
    return re.compile(rf"(?:^| )(?:{alternatives})(?= |$)")


@cache
def first_names() -> frozenset[str]:
    """Known first names (folded), pooled from Faker's person lists of several locales."""
    # Shipped folded (FIRST_NAMES_FILE), resolved from the regular package `ariane`, so a
    # wheel needs no data/__init__.py.
    raw = resources.files("ariane").joinpath("data", "names", FIRST_NAMES_FILE).read_bytes()
    return frozenset(gzip.decompress(raw).decode("utf-8").splitlines())


@cache
def last_names() -> frozenset[str]:
    """Known last names (folded), pooled likewise (from Faker itself: no label uses them)."""
    return frozenset(map(fold, faker_names()[1]))


#: Words naming a lab or health establishment (folded).
ORGANISATION_WORDS = frozenset(
    [
        "laboratoire",
        "labo",
        "lab",
        "lbm",
        "biologie",
        "biologique",
        "biomedical",
        "medicale",
        "analyses",
        "selas",
        "selarl",
        "sas",
        "sarl",
        "sa",
        "clinique",
        "hopital",
        "chu",
        "chr",
        "ch",
        "centre",
        "hospitalier",
        "polyclinique",
        "cabinet",
        "pharmacie",
        "ehpad",
        "institut",
        "fondation",
        "groupe",
        "cerballiance",
        "biogroup",
        "eurofins",
        "synlab",
        "inovie",
        "unilabs",
        "bioclinic",
        "biopath",
        "laboratory",
        "laboratories",
        "clinic",
        "hospital",
        "medical",
        "diagnostics",
        "pathology",
        "imagerie",
        "radiologie",
    ]
)

#: Complementary insurers (mutuelles, insurers, and the public schemes written in the same
#: column). Multi-word names are matched as phrases.
INSURERS = (
    "mgen",
    "harmonie mutuelle",
    "malakoff humanis",
    "malakoff mederic",
    "ag2r",
    "ag2r la mondiale",
    "groupama",
    "maaf",
    "macif",
    "maif",
    "matmut",
    "axa",
    "allianz",
    "swiss life",
    "swisslife",
    "generali",
    "april",
    "mutuelle generale",
    "la mutuelle generale",
    "mnt",
    "mnh",
    "humanis",
    "apicil",
    "klesia",
    "pro btp",
    "probtp",
    "alan",
    "aesio",
    "ociane",
    "mutuelle de bretagne",
    "mutuelle bleue",
    "mgefi",
    "mutuelle familiale",
    "smatis",
    "mutualia",
    "mutuelle saint christophe",
    "solimut",
    "mcdef",
    "ccmo",
    "mmh",
    "mutuelle du soleil",
    "henner",
    "gan",
    "mma",
    "cnp",
    "credit agricole",
    "pacifica",
    "lcl",
    "bnp paribas cardif",
    "covea",
    "mutex",
    "vyv",
    "eovi",
    "eovi mcd",
    "adrea",
    "apreva",
    "intergroupe",
    "mutuelle des motards",
    "ipeca",
    "mutuelle entrain",
    "ufr",
    "intériale",
    "interiale",
    "mgp",
    "mutuelle nationale territoriale",
    "la banque postale",
    "cmu",
    "cmu c",
    "c2s",
    "ame",
    "css",
    "complementaire sante solidaire",
    "mutuelle",
    "assurance",
    "prevoyance",
    "mutualite",
    "aucune",
    "sans mutuelle",
    "cpam",
    "msa",
    "rsi",
    "bupa",
    "medibank",
    "hcf",
    "nib",
    "aetna",
    "cigna",
    "humana",
    "kaiser",
)

#: Analyses a lab orders (French abbreviations first), and result words.
TESTS = (
    "nfs",
    "numeration formule sanguine",
    "hemogramme",
    "glycemie",
    "glycemie a jeun",
    "hba1c",
    "hemoglobine glyquee",
    "tsh",
    "t3",
    "t4",
    "ft4",
    "bilan lipidique",
    # Panels a lab is asked for ("Bilan biologique": a request, not the lab's name).
    "bilan biologique",
    "bilan sanguin",
    "bilan hepatique",
    "bilan renal",
    "bilan thyroidien",
    "bilan martial",
    "bilan prenatal",
    "bilan infectieux",
    "ldl",
    "hdl",
    "cholesterol",
    "triglycerides",
    "creatinine",
    "uree",
    "ionogramme",
    "crp",
    "vs",
    "ferritine",
    "fer serique",
    "vitamine d",
    "b12",
    "folates",
    "psa",
    "ca 125",
    "ca 15 3",
    "ace",
    "afp",
    "bhcg",
    "beta hcg",
    "hcg",
    "serologie",
    "serologie vih",
    "serologie hepatite",
    "toxoplasmose",
    "rubeole",
    "ecbu",
    "tp",
    "inr",
    "tca",
    "fibrinogene",
    "d dimeres",
    "transaminases",
    "asat",
    "alat",
    "ggt",
    "pal",
    "bilirubine",
    "lipase",
    "albumine",
    "proteinurie",
    "microalbuminurie",
    "bilan hepatique",
    "bilan renal",
    "bilan thyroidien",
    "groupage",
    "rai",
    "pcr",
    "pcr covid",
    "antigenique",
    "test antigenique",
    "caryotype",
    "charge virale",
    "cd4",
    "electrophorese",
    "hemoculture",
    "coproculture",
    "frottis",
    "bilan sanguin",
    "prise de sang",
    "glucose",
    "hemoglobin",
    "blood count",
    "cbc",
    "lipid panel",
    "thyroid",
    "urinalysis",
    "positif",
    "negatif",
    "positive",
    "negative",
    "normal",
    "anormal",
    "en cours",
    "resultat",
    "detecte",
    "non detecte",
)

#: Chronic conditions written out in a diagnosis field.
CONDITIONS = (
    "diabete",
    "diabete type 1",
    "diabete type 2",
    "hta",
    "hypertension",
    "asthme",
    "bpco",
    "insuffisance renale",
    "insuffisance cardiaque",
    "hypothyroidie",
    "hyperthyroidie",
    "epilepsie",
    "depression",
    "cancer",
    "lymphome",
    "leucemie",
    "mucoviscidose",
    "drepanocytose",
    "hemophilie",
    "vih",
    "hepatite b",
    "hepatite c",
    "sclerose en plaques",
    "parkinson",
    "alzheimer",
    "polyarthrite",
    "lupus",
    "obesite",
    "dyslipidemie",
    "anemie",
    "cirrhose",
    "avc",
    "infarctus",
    "arythmie",
    "fibrillation",
    "diabetes",
    "asthma",
    "hypertension",
    "copd",
    "stroke",
)
