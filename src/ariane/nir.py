"""The NIR (French social security number, also the INS matricule in health).

Layout of the 15 characters (13-character body + 2-digit key)::

    S YY MM DD CCC OOO KK     metropolitan birth: département DD (2A/2B in Corsica), commune CCC
    S YY MM DDD CC OOO KK     overseas birth: département DDD (971..976), commune CC
    S YY MM 99 PPP OOO KK     born abroad: 99 then country code PPP

S is sex (1 male, 2 female; 7, 8 for temporary numbers), MM the birth month (01-12, or
20+ when unknown). key = 97 - (body mod 97), with 2A -> 19 and 2B -> 18 before computing.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

_SEPARATORS = re.compile(r"[\s.\-_/]")
_SHAPE = re.compile(r"^[1278]\d{4}(?:\d{2}|2A|2B)\d{6}\d{2}$")

MALE_DIGITS = frozenset("17")
FEMALE_DIGITS = frozenset("28")


def normalise(value: str) -> str:
    """Strip separators and upper-case: ``'1 85 05 2A ...'`` -> ``'185052A...'``."""
    return _SEPARATORS.sub("", value).upper()


def _numeric_body(body: str) -> int:
    return int(body.replace("2A", "19").replace("2B", "18"))


def nir_key(body: str) -> int:
    """The control key of a 13-character NIR body."""
    return 97 - _numeric_body(body) % 97


def is_valid_nir(value: str) -> bool:
    """Whether ``value`` (separators allowed) is a well-formed NIR with the right key."""
    nir = normalise(value)
    if not _SHAPE.match(nir):
        return False
    month = int(nir[3:5])
    if month == 0 or (12 < month < 20) or month > 99:
        return False
    return nir_key(nir[:13]) == int(nir[13:])


def make_nir(
    sex: int,
    birth_year: int,
    birth_month: int,
    birth_departement: str,
    commune: str,
    order: int,
) -> str:
    """Build a valid 15-character NIR.

    ``birth_departement`` is '01'..'95', '2A', '2B', a 3-digit overseas code ('971'...) or
    '99' (abroad, then ``commune`` is the 3-digit country code). ``commune`` completes the
    place to 5 characters: 3 digits after a 2-character département, 2 after an overseas one.
    """
    place = f"{birth_departement}{commune}"
    if len(place) != 5:
        raise ValueError("département + commune must make 5 characters")
    body = f"{sex}{birth_year % 100:02d}{birth_month:02d}{place}{order:03d}"
    return f"{body}{nir_key(body):02d}"


def sex_of(value: str | None) -> int | None:
    """1 (male), 2 (female) or None from a sex field in French or English."""
    if value is None:
        return None
    text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().strip()
    text = text.lower().rstrip(".")
    if text in {"1", "m", "h", "homme", "masculin", "male", "man", "mr", "m.", "monsieur"}:
        return 1
    if text in {"2", "f", "femme", "feminin", "female", "woman", "mme", "mlle", "madame"}:
        return 2
    return None


def nir_agrees(nir: str, sex: str | None, birth_date: date | None) -> bool | None:
    """Whether a valid NIR agrees with the sex and birth date of its record.

    None when nothing can be compared (no sex, no date, unknown month in the NIR).
    """
    number = normalise(nir)
    verdicts: list[bool] = []
    sex_code = sex_of(sex)
    if sex_code is not None:
        verdicts.append(number[0] in (MALE_DIGITS if sex_code == 1 else FEMALE_DIGITS))
    if birth_date is not None:
        verdicts.append(int(number[1:3]) == birth_date.year % 100)
        month = int(number[3:5])
        if 1 <= month <= 12:
            verdicts.append(month == birth_date.month)
    if not verdicts:
        return None
    return all(verdicts)
