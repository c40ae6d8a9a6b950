"""The French geographic referential (ariane.geo)."""

from __future__ import annotations

import subprocess
import sys
import unicodedata

import pytest

from ariane import geo
from ariane.geo import _without_accents, normalise_commune_name, referential


def test_rennes_postal_code_is_in_ille_et_vilaine_and_bretagne() -> None:
    geo = referential()
    communes = geo.communes_of_postal_code("35000")
    assert [c.name for c in communes] == ["Rennes"]
    assert geo.departement_of_postal_code("35000") == "35"
    assert geo.region_of_departement("35") == "53"
    assert geo.departement_name("35") == "Ille-et-Vilaine"
    assert geo.region_name("53") == "Bretagne"


def test_corsica_postal_codes_map_to_2a_and_2b() -> None:
    geo = referential()
    assert "Ajaccio" in {c.name for c in geo.communes_of_postal_code("20000")}
    assert geo.departement_of_postal_code("20000") == "2A"
    assert geo.departement_of_postal_code("20200") == "2B"  # Bastia
    assert geo.region_of_departement("2a") == "94"


def test_overseas_postal_codes_take_three_digit_departements() -> None:
    geo = referential()
    assert geo.departement_of_postal_code("97400") == "974"
    assert geo.departement_of_postal_code("97200") == "972"
    assert all(c.departement == "974" for c in geo.communes_of_postal_code("97400"))


def test_a_post_office_serving_another_departement_is_kept_per_commune() -> None:
    geo = referential()
    # Search the data for communes served by a postal code of another département,
    # rather than hard-coding one: there must be some, and each must keep its own
    # département while the postal code answers with the majority one.
    crossing = [
        c
        for dep in ("03", "04", "24", "39")
        for c in geo.communes_of_departement(dep)
        if any(not pc.startswith(dep) for pc in c.postal_codes)
    ]
    assert crossing
    commune = crossing[0]
    foreign = next(pc for pc in commune.postal_codes if not pc.startswith(commune.departement))
    assert commune in geo.communes_of_postal_code(foreign)
    assert geo.departement_of_postal_code(foreign) != commune.departement


def test_unknown_postal_codes() -> None:
    geo = referential()
    assert not geo.is_postal_code("00000")
    assert not geo.is_postal_code("3500")
    assert geo.communes_of_postal_code("99999") == []
    # A CEDEX code serves no commune in the table but names its département.
    assert not geo.is_postal_code("35042")
    assert geo.departement_of_postal_code("35042") == "35"
    assert geo.departement_of_postal_code("abcde") is None


@pytest.mark.parametrize(
    "written",
    ["SAINT-MALO", "st malo", "Saint Malo Cedex", "ST-MALO CEDEX 1", "saint-malo"],
)
def test_commune_names_are_normalised(written: str) -> None:
    assert referential().is_commune_name(written)


def test_normalisation_folds_accents_apostrophes_and_saints() -> None:
    assert normalise_commune_name("L'Haÿ-les-Roses") == "L HAY LES ROSES"
    assert normalise_commune_name("Sainte-Anne-d'Auray") == normalise_commune_name(
        "STE ANNE D AURAY"
    )
    assert normalise_commune_name("Châteauroux CEDEX") == "CHATEAUROUX"


def test_non_commune_words_are_rejected() -> None:
    geo = referential()
    for word in ("", "   ", "prélèvement difficile", "Dr Martin", "A+"):
        assert not geo.is_commune_name(word)


def test_former_commune_names_are_known() -> None:
    geo = referential()
    # Old communes merged into a new one stay on letters for years.
    assert geo.former_names
    assert all(geo.is_commune_name(name) for name in geo.former_names[:50])


def test_communes_and_departements_are_consistent() -> None:
    geo = referential()
    rennes = geo.commune("35238")
    assert rennes is not None and "35000" in rennes.postal_codes
    assert rennes.region == geo.region_of_departement(rennes.departement)
    finistere = geo.communes_of_departement("29")
    assert len(finistere) > 200
    assert all(c.departement == "29" for c in finistere)
    # Paris, Lyon and Marseille arrondissements are there with their own postal code.
    assert geo.communes_of_postal_code("75001")
    assert geo.commune("69381") is not None


def test_loading_in_a_fresh_process_works() -> None:
    """The referential loads from the packaged files alone (its time: benchmarks/bench_geo.py)."""
    code = "from ariane.geo import referential; print(referential().departement_name('35'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "Ille-et-Vilaine"


def test_ascii_names_skip_decomposition_with_the_same_result() -> None:
    """ASCII names are folded without NFKD: the same as decomposing every name, as before."""
    geo = referential()
    names = [c.name for c in geo.communes_by_code.values()] + list(geo.former_names)
    assert sum(name.isascii() for name in names) > 1000  # the shortcut is taken
    for name in names:
        folded = unicodedata.normalize("NFKD", name.upper())
        decomposed = "".join(ch for ch in folded if not unicodedata.combining(ch))
        assert _without_accents(name.upper()) == decomposed
        if name.isascii():
            assert decomposed == name.upper()


def test_shipped_lookups_are_what_the_tables_give() -> None:
    """Labelling's postal codes and normalised names (scripts/derive_lookups.py) are exactly
    those of the tables, normalised by the code: they cannot drift apart."""
    places = referential()
    postal_codes = {pc for c in places.communes_by_code.values() for pc in c.postal_codes}
    names = [c.name for c in places.communes_by_code.values()] + list(places.former_names)
    assert geo._shipped_lines(geo.POSTAL_CODES_FILE) == postal_codes
    assert geo._shipped_lines(geo.COMMUNE_NAMES_FILE) == {normalise_commune_name(n) for n in names}


def test_lookups_answer_without_building_the_referential() -> None:
    """A postal code and a commune name are told apart from the shipped lookups alone."""
    code = (
        "from ariane import geo; "
        "print(geo.is_postal_code('35000'), geo.is_postal_code('35042'), "
        "geo.is_commune_name('st malo cedex'), geo.is_commune_name('Dr Martin'), "
        "geo.referential.cache_info().currsize)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False", "True", "False", "0"]
