"""The French geographic referential: communes, postal codes, départements, régions.

Built from the Etalab open data shipped in ``ariane/data/geo`` (see its LICENCE.md and
``scripts/derive_geo.py``). Loaded once, lazily, by :func:`referential`.

Labelling asks only two questions of it, once per sampled value: :func:`is_postal_code` and
:func:`is_commune_name` answer them from the postal codes and normalised names shipped
beside the tables (``scripts/derive_lookups.py``; ``tests/test_geo.py`` proves them equal
to what this module computes from the tables), without building the referential.

Postal codes mostly start with the département, with known exceptions this module knows
from the data rather than from rules: Corsica (``20xxx`` -> ``2A``/``2B``), overseas
(``97x``), and post offices serving a commune of a neighbouring département.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

_POSTAL_CODE = re.compile(r"\d{5}")
_NOT_ALNUM = re.compile(r"[^A-Z0-9]+")
_CEDEX = re.compile(r"(?: CEDEX(?: \d{1,3})?)$")
# Addresses abbreviate the saints; the canonical form is the La Poste one (ST, STE).
_WORD_FORMS = {"SAINT": "ST", "SAINTE": "STE", "SAINTS": "STS", "SAINTES": "STES"}


@dataclass(frozen=True)
class Commune:
    """A current commune (or municipal arrondissement) and the postal codes serving it."""

    code: str
    name: str
    postal_codes: tuple[str, ...]
    departement: str
    region: str


def normalise_commune_name(name: str) -> str:
    """Fold a commune name for comparison: case, accents, punctuation, saints, CEDEX."""
    ascii_only = name.upper() if name.isascii() else _without_accents(name.upper())
    spaced = _NOT_ALNUM.sub(" ", ascii_only.replace("Œ", "OE").replace("Æ", "AE")).strip()
    words = [_WORD_FORMS.get(word, word) for word in spaced.split()]
    return _CEDEX.sub("", " ".join(words)).strip()


def _without_accents(text: str) -> str:
    """The text decomposed (NFKD), combining marks dropped; ASCII text is left as it is."""
    folded = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in folded if not unicodedata.combining(ch))


@dataclass
class Referential:
    """Lookups over the communes, postal codes, départements and régions of France."""

    communes_by_code: dict[str, Commune]
    departements: dict[str, tuple[str, str]]  # code -> (name, region)
    regions: dict[str, str]  # code -> name
    former_names: tuple[str, ...] = ()
    _by_postal_code: dict[str, list[Commune]] = field(default_factory=dict, repr=False)
    _by_departement: dict[str, list[Commune]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for commune in self.communes_by_code.values():
            for postal_code in commune.postal_codes:
                self._by_postal_code.setdefault(postal_code, []).append(commune)
            self._by_departement.setdefault(commune.departement, []).append(commune)

    def commune(self, code: str) -> Commune | None:
        """The commune with this INSEE code, or None."""
        return self.communes_by_code.get(code.strip().upper())

    def communes_of_postal_code(self, postal_code: str) -> list[Commune]:
        """The communes served by a postal code (empty when the code is unknown)."""
        return list(self._by_postal_code.get(postal_code.strip(), ()))

    def is_postal_code(self, postal_code: str) -> bool:
        """True when the string is a postal code serving at least one commune."""
        return postal_code.strip() in self._by_postal_code

    def postal_codes(self) -> list[str]:
        """Every known postal code, sorted."""
        return sorted(self._by_postal_code)

    def is_commune_name(self, name: str) -> bool:
        """True when the name, once normalised, is a current or former commune name."""
        return is_commune_name(name)

    def departement_of_postal_code(self, postal_code: str) -> str | None:
        """The département of most communes a postal code serves, else one guessed from it.

        Unknown codes of the right shape (CEDEX codes, for instance) get the département
        their prefix names: ``20`` splits at ``202`` into 2A/2B, ``97x``/``98x`` take three
        digits; None when the prefix names no département.
        """
        postal_code = postal_code.strip()
        communes = self._by_postal_code.get(postal_code)
        if communes:
            counts = Counter(c.departement for c in communes)
            # Ties (rare) go to the département the prefix names, then to the smallest code.
            prefix = self._departement_of_prefix(postal_code)
            return min(counts, key=lambda dep: (-counts[dep], dep != prefix, dep))
        if _POSTAL_CODE.fullmatch(postal_code):
            return self._departement_of_prefix(postal_code)
        return None

    def _departement_of_prefix(self, postal_code: str) -> str | None:
        if postal_code.startswith("20"):
            guess = "2A" if postal_code < "20200" else "2B"
        elif postal_code[:2] in ("97", "98"):
            guess = postal_code[:3]
        else:
            guess = postal_code[:2]
        return guess if guess in self.departements else None

    def region_of_departement(self, departement: str) -> str | None:
        """The INSEE code of the région of a département, or None."""
        entry = self.departements.get(departement.strip().upper())
        return entry[1] if entry else None

    def departement_name(self, departement: str) -> str | None:
        """The name of a département, or None."""
        entry = self.departements.get(departement.strip().upper())
        return entry[0] if entry else None

    def region_name(self, region: str) -> str | None:
        """The name of a région, or None."""
        return self.regions.get(region.strip())

    def communes_of_departement(self, departement: str) -> list[Commune]:
        """The current communes of a département, in INSEE code order."""
        return list(self._by_departement.get(departement.strip().upper(), ()))


def _read_text(name: str) -> str:
    # Resolved from the regular package `ariane`, so a wheel needs no data/__init__.py.
    raw = resources.files("ariane").joinpath("data", "geo", name).read_bytes()
    if name.endswith(".gz"):
        raw = gzip.decompress(raw)
    return raw.decode("utf-8")


def _read_csv(name: str) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(_read_text(name))))
    return rows[1:]  # the header is fixed by scripts/derive_geo.py


#: Lookups derived from the tables by ``scripts/derive_lookups.py``: one value a line.
POSTAL_CODES_FILE = "postal_codes.txt.gz"
COMMUNE_NAMES_FILE = "commune_names.txt.gz"


@cache
def _shipped_lines(name: str) -> frozenset[str]:
    return frozenset(_read_text(name).splitlines())


def is_postal_code(postal_code: str) -> bool:
    """True when the string is a postal code serving at least one commune."""
    return postal_code.strip() in _shipped_lines(POSTAL_CODES_FILE)


def is_commune_name(name: str) -> bool:
    """True when the name, once normalised, is a current or former commune name."""
    normalised = normalise_commune_name(name)
    return bool(normalised) and normalised in _shipped_lines(COMMUNE_NAMES_FILE)


@cache
def referential() -> Referential:
    """The referential, loaded from the package data on first call and kept."""
    postal_codes: dict[str, list[str]] = {}
    first_row: dict[str, list[str]] = {}
    for row in _read_csv("communes.csv.gz"):  # sorted by code, then postal code
        code = row[0]
        postal_codes.setdefault(code, []).append(row[2])
        first_row.setdefault(code, row)
    communes = {
        code: Commune(code, row[1], tuple(postal_codes[code]), row[3], row[4])
        for code, row in first_row.items()
    }
    departements = {row[0]: (row[1], row[2]) for row in _read_csv("departements.csv")}
    regions = {row[0]: row[1] for row in _read_csv("regions.csv")}
    former = tuple(row[0] for row in _read_csv("former_names.csv.gz"))
    return Referential(communes, departements, regions, former)
