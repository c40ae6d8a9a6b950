"""Pools of person names from Faker's person providers, over several locales.

Classify uses them to recognise a column of names (read from the package data, folded
by ``scripts/derive_lookups.py``, so that a scan does not import Faker); resolve uses them
to tell the first name from the last in a whole-name field. They are raw strings: each
stage folds them the way its own comparisons need.
"""

from __future__ import annotations

import importlib
from functools import cache

#: The people of a French lab's file, and the English-speaking witnesses (FEBRL is
#: Australian).
NAME_LOCALES = (
    "fr_FR", "fr_CH", "fr_CA", "en_US", "en_GB", "en_IE", "de_DE", "es_ES", "it_IT",
    "pt_PT", "nl_NL", "pl_PL", "ar_AA", "tr_TR", "ro_RO",
)  # fmt: skip


@cache
def faker_names(locales: tuple[str, ...] = NAME_LOCALES) -> tuple[frozenset[str], frozenset[str]]:
    """``(first names, last names)`` of Faker's person providers for ``locales``."""
    firsts: set[str] = set()
    lasts: set[str] = set()
    for locale in locales:
        try:
            provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        except ImportError:
            continue
        for attribute in ("first_names", "first_names_male", "first_names_female"):
            firsts.update(str(name) for name in getattr(provider, attribute, ()) or ())
        lasts.update(str(name) for name in getattr(provider, "last_names", ()) or ())
    return frozenset(firsts), frozenset(lasts)
