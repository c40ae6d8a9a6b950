"""Controllers read off a leak's organisation names when no registry is given.

A lab's name is written many ways in one leak ('LABORATOIRE ROUX-GAUTIER', 'Lab.
Roux-Gautier', 'ROUX-GAUTIER - RENNES', a slip here and there): one controller per way of
writing it would list labs that do not exist. Names are grouped by their distinctive words
(:func:`~ariane.attribute.evidence.organisation_keys`); a town at the end (a commune name of
the referential) is set aside, so the name with and without its town meet; a slip joins
the more frequent form it is one slip from. A name written with two towns is two labs of
one chain ('BIOLAB RENNES', 'BIOLAB BREST'): those stay apart, and the name without any
town, which could be either, names no controller.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from ariane.attribute.evidence import organisation_keys
from ariane.attribute.registry import Controller
from ariane.geo import referential

#: How close (0-100) a form must be to a more frequent one to be a slip of it.
MIN_SLIP_SCORE = 90.0
_MAX_TOWN_WORDS = 3
#: Records a form of a name needs to found a controller: at least this many, and this share.
MIN_FORM_RECORDS = 3
MIN_FORM_SHARE = 0.001


@dataclass
class _Name:
    """One lab name and the ways the leak writes it."""

    base: str
    towns: Counter[str] = field(default_factory=Counter)
    keys: set[str] = field(default_factory=set)
    written: Counter[str] = field(default_factory=Counter)


def split_town(key: str) -> tuple[str, str | None]:
    """``(name, town)`` of a distinctive key ending with a commune name (else no town)."""
    words = key.split()
    geo = referential()
    for size in range(min(_MAX_TOWN_WORDS, len(words) - 1), 0, -1):
        town = " ".join(words[-size:])
        if geo.is_commune_name(town):
            return " ".join(words[:-size]), town
    return key, None


def _is_slip(forms: list[dict[str, str]], of: list[dict[str, str]]) -> bool:
    # Compared without spaces, like with like: 'LBM BIOOUEST' is 'LBM BIO OUEST', but
    # 'GAUTIER' is not 'ROUX GAUTIER'.
    return any(
        _one_slip(key.replace(" ", ""), other[kind].replace(" ", ""))
        for other in of
        for mine in forms
        for kind, key in mine.items()
        if kind in other
    )


def _one_slip(a: str, b: str) -> bool:
    if min(len(a), len(b)) < 4:
        return a == b
    return Levenshtein.distance(a, b) <= 1 or fuzz.ratio(a, b) >= MIN_SLIP_SCORE


@dataclass(frozen=True)
class DerivedNames:
    """Controllers read off organisation names, and which written name is whose."""

    controllers: list[Controller]
    members: dict[str, str]


def organisation_controllers(values: list[tuple[str, int]]) -> DerivedNames:
    """One controller per lab named in ``values`` (each ``(organisation, records)``), and
    the controller each written name (slips included) stands for."""
    by_key: dict[str, Counter[str]] = {}
    forms: dict[str, list[dict[str, str]]] = {}
    for value, count in values:
        keys = organisation_keys(value)
        if keys.get("distinctive"):
            by_key.setdefault(keys["distinctive"], Counter())[value] += count
            forms.setdefault(keys["distinctive"], []).append(keys)
    # A form written only a few times founds no lab: it is a slip the matcher may still
    # place, or a record left unattributed, never a lab of its own listed.
    minor = max(MIN_FORM_RECORDS, MIN_FORM_SHARE * sum(c for _, c in values))
    names: list[_Name] = []
    # Most written first: a rare form is more likely a slip of a frequent one than the reverse.
    for key, written in sorted(by_key.items(), key=lambda kv: (-kv[1].total(), kv[0])):
        base, town = split_town(key)
        name = next((n for n in names if n.base == base), None) or next(
            (n for n in names if _is_slip(forms[key], [f for k in n.keys for f in forms[k]])), None
        )
        if name is None:
            if written.total() < minor:
                continue
            name = _Name(base)
            names.append(name)
        name.keys.add(key)
        name.towns[town or ""] += written.total()
        name.written.update(written)
    controllers: list[Controller] = []
    members: dict[str, str] = {}
    for name in names:
        towns = [t for t in name.towns if t]
        if len(towns) > 1:
            # A chain's branches: one controller per town, none for the name alone.
            for town in sorted(towns):
                branch = Counter(
                    {w: c for w, c in name.written.items() if split_town(_key(w))[1] == town}
                )
                controllers.append(_controller(len(controllers) + 1, branch, town))
                members.update(dict.fromkeys(branch, controllers[-1].controller_id))
            continue
        controllers.append(_controller(len(controllers) + 1, name.written, next(iter(towns), None)))
        members.update(dict.fromkeys(name.written, controllers[-1].controller_id))
    return DerivedNames(controllers, members)


def _key(value: str) -> str:
    return organisation_keys(value).get("distinctive", "")


def _controller(number: int, written: Counter[str], town: str | None) -> Controller:
    name = written.most_common(1)[0][0] if written else (town or "")
    return Controller(
        f"ORG-{number:04d}", name, None, None, None, None, town, None, None, None
    )  # fmt: skip
