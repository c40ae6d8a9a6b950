"""Postal code + town -> commune, département, région, through :mod:`ariane.geo`.

When a postal code serves several communes, the town given with it picks the commune; a
post office serving a neighbouring département is then placed right. Without a town, a
postal code serving one commune still gives it; otherwise the département most of its
communes belong to.
"""

from __future__ import annotations

from functools import cache

from ariane.geo import Commune, normalise_commune_name, referential


@cache
def _communes_by_name(postal_code: str) -> tuple[list[Commune], dict[str, list[Commune]]]:
    # Cached per postal code: folding every commune name per record pair would dominate.
    communes = referential().communes_of_postal_code(postal_code)
    by_name: dict[str, list[Commune]] = {}
    for commune in communes:
        by_name.setdefault(normalise_commune_name(commune.name), []).append(commune)
    return communes, by_name


def place(postal_code: str | None, city: str | None) -> tuple[str | None, str | None]:
    """``(commune_code, departement)`` of a postal code and town (either may be None)."""
    if not postal_code:
        return None, None
    communes, by_name = _communes_by_name(postal_code)
    if city:
        named = by_name.get(normalise_commune_name(city), [])
        if len(named) == 1:
            return named[0].code, named[0].departement
    if len(communes) == 1:
        return communes[0].code, communes[0].departement
    return None, referential().departement_of_postal_code(postal_code)


def region_of(departement: str | None) -> str | None:
    """The INSEE région code of a département code."""
    if not departement:
        return None
    return referential().region_of_departement(departement)
