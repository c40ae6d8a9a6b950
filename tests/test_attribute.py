"""Attribute: registry loading, evidence (FINESS, names, file names, patient lists), places."""

from __future__ import annotations

from datetime import date

import pytest

from ariane.attribute import attribute, summarise
from ariane.attribute.evidence import OrganisationMatcher, controller_of_file
from ariane.attribute.patients import columns_of
from ariane.attribute.registry import load, place_of
from ariane.case import Case
from ariane.errors import ConfigError
from ariane.resolve import resolve
from test_resolve import add_source

REGISTRY = """controller_id,name,finess,siren,address,postal_code,city,dpo_email
LAB01,Laboratoire de Biologie Médicale Rennes Centre,350000017,,1 rue X,35000,Rennes,dpo@a.fr
LAB02,Labo Analyses Saint-Malo,350000025,,2 rue Y,35400,Saint-Malo,
LAB03,Laboratoire du Val de Loire,370000011,,3 rue Z,37000,Tours,
LAB04,Biologie Ajaccio,2A0000019,,4 cours W,20000,Ajaccio,
"""


@pytest.fixture
def registry(tmp_path):
    path = tmp_path / "registry.csv"
    path.write_text(REGISTRY, encoding="utf-8")
    return path


@pytest.fixture
def engine():
    with Case.ephemeral() as case:
        yield case.engine()


def test_registry_is_loaded_and_placed(registry):
    controllers = {c.controller_id: c for c in load(registry)}
    assert controllers["LAB01"].departement == "35"
    assert controllers["LAB01"].region == "53"
    assert controllers["LAB03"].region == "24"
    assert controllers["LAB04"].departement == "2A"
    assert controllers["LAB04"].region == "94"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("LAB01,Again,,,,,,", "line 2: controller_id repeats"),
        (",No id,,,,,,", "line 2: controller_id is empty"),
        ("LAB09,Bad finess,12AB,,,,,", "line 2: finess must be 9"),
        ("LAB09,Bad code,,,,350,,", "line 2: postal_code must be 5"),
    ],
)
def test_registry_errors_name_the_line(tmp_path, line, message):
    path = tmp_path / "registry.csv"
    first = "" if "repeats" not in message else "LAB01,First,,,,,,\n"
    path.write_text(REGISTRY.splitlines()[0] + "\n" + first + line + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=message.replace("line 2", f"line {2 + bool(first)}")):
        load(path)


def test_registry_header_is_checked(tmp_path):
    path = tmp_path / "registry.csv"
    path.write_text("id,name\nA,B\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="line 1: registry header lacks controller_id"):
        load(path)


def test_organisation_names_match_fuzzily_or_abstain(registry):
    matcher = OrganisationMatcher(load(registry))
    assert matcher.match("LABO BIO MED RENNES CENTRE")[0] == "LAB01"
    assert matcher.match("laboratoire analyses st malo")[0] == "LAB02"
    assert matcher.match("Laboratoir du Val de Loir")[0] == "LAB03"  # typos
    assert matcher.match("Pharmacie de la Gare") == (None, 0.0)
    assert matcher.match("Laboratoire") == (None, 0.0)  # names every lab: abstain
    assert matcher.match("Laboratoire Tours Nord") == (None, 0.0)  # another lab in a town
    assert matcher.match("LaboAnalyses St-Malo")[0] == "LAB02"  # words glued
    assert matcher.match("LMB Rennes Centre")[0] == "LAB01"  # a typo in the abbreviation


def test_file_names_are_provenance(registry):
    controllers = load(registry)
    matcher = OrganisationMatcher(controllers)
    assert (
        controller_of_file("dump.zip", "export/370000011_patients.csv", controllers, matcher)[0]
        == "LAB03"
    )
    assert controller_of_file("labo_analyses_saint_malo.csv", None, controllers, matcher)[0] == (
        "LAB02"
    )
    assert controller_of_file("export.csv", None, controllers, matcher)[0] is None


def test_places_of_a_post_office_serving_a_neighbouring_departement():
    # With no town, the FINESS prefix places a controller without a postal code.
    assert place_of(None, None, "370000011") == ("37", "24")
    assert place_of("20000", "Ajaccio", None) == ("2A", "94")


def _leak(engine):
    add_source(
        engine, 1, "export.csv",
        {
            "nom": ["Dupont", "Martin", "Durand", "Petit", "Roux"],
            "prenom": ["Jean", "Anne", "Paul", "Luc", "Yann"],
            "ddn": ["1980-01-02", "1971-03-04", "1990-05-06", "1960-07-08", "1955-09-10"],
            "finess": ["350000017", "35 000 0025", None, None, "999999999"],
            "labo": [None, None, "LABO BIO MED RENNES CENTRE", "Pharmacie", None],
        },
        {"nom": "person.last_name", "prenom": "person.first_name", "ddn": "person.birth_date",
         "finess": "provider.finess", "labo": "provider.organisation"},
    )  # fmt: skip
    add_source(
        engine, 2, "archive/labo_val_de_loire.csv",
        {"nom": ["Dupont", "Bernard"], "prenom": ["Jean", "Nolwenn"],
         "ddn": ["1980-01-02", "1999-12-31"]},
        {"nom": "person.last_name", "prenom": "person.first_name", "ddn": "person.birth_date"},
    )  # fmt: skip
    resolve(engine, today=date(2026, 1, 1))


def _decided(engine) -> dict[tuple[int, int], tuple[str | None, str | None]]:
    """Each record's (source, record) -> (controller, evidence), as attribute decided."""
    return {
        (s, r): (c, e)
        for s, r, c, e in engine.fetch(
            "SELECT source_id, _record, controller_id, evidence FROM attribute_records"
        )
    }


def test_records_are_attributed_with_evidence_or_left_for_review(engine, registry):
    _leak(engine)
    attribute(engine, registry)
    decided = _decided(engine)
    assert decided[(1, 1)] == ("LAB01", "finess column")
    assert decided[(1, 2)] == ("LAB02", "finess column")
    assert decided[(1, 3)][0] == "LAB01"
    assert decided[(1, 3)][1].startswith("organisation name")
    assert decided[(1, 4)][0] is None  # a pharmacy is no registry lab: abstain
    assert decided[(1, 5)][0] is None  # an unknown FINESS proves nothing
    assert decided[(2, 1)] == ("LAB03", "file name")
    summary = summarise(engine)
    assert summary["unattributed_records"] == 2
    assert [c["controller_id"] for c in summary["controllers"]] == ["LAB01", "LAB02", "LAB03"]
    by_id = {c["controller_id"]: c for c in summary["controllers"]}
    assert by_id["LAB01"]["records"] == 2
    assert by_id["LAB03"]["persons"] == 2
    assert summary["departements"] == ["35", "37"]  # not LAB04's: it holds no record
    assert summary["regions"] == ["24", "53"]
    review = engine.fetch("SELECT count(*) FROM attribute_unattributed")[0][0]
    assert review == 2


def test_without_registry_controllers_come_from_finess_values(engine):
    _leak(engine)
    attribute(engine, None)
    summary = summarise(engine)
    ids = [c["controller_id"] for c in summary["controllers"]]
    assert ids == ["350000017", "350000025", "999999999"][: len(ids)]
    assert "350000017" in ids
    assert summary["departements"][0] == "35"


def test_patient_lists_attribute_what_the_leak_does_not_say(engine, registry, tmp_path):
    add_source(
        engine, 1, "export.csv",
        {"nom": ["Dupont", "Martin", "Durand"], "prenom": ["Jean", "Anne", "Paul"],
         "ddn": ["02/01/1980", "04/03/1971", "06/05/1990"]},
        {"nom": "person.last_name", "prenom": "person.first_name", "ddn": "person.birth_date"},
    )  # fmt: skip
    resolve(engine, today=date(2026, 1, 1))
    lab1 = tmp_path / "lab1.csv"
    lab1.write_text("Nom,Prénom,Date de naissance\nDUPONT,jean,1980-01-02\n", encoding="utf-8")
    lab3 = tmp_path / "lab3.csv"
    lab3.write_text(
        "nom,prenom,ddn\nMartin,Anne,04/03/1971\nDupont,Jean,02/01/1980\n", encoding="utf-8"
    )
    attribute(engine, registry, {"LAB01": lab1, "LAB03": lab3})
    decided = dict(engine.fetch("SELECT _record, controller_id FROM attribute_records"))
    assert decided[2] == "LAB03"
    assert decided[1] is None  # in two labs' lists: neither can claim it
    assert decided[3] is None


def test_patient_list_headers_are_recognised():
    assert columns_of(["Nom de naissance", "Prénom", "Date de naissance", "NIR"]) == {
        "last_name": "Nom de naissance",
        "first_name": "Prénom",
        "birth_date": "Date de naissance",
        "nir": "NIR",
    }


def test_patient_list_errors_name_the_file(engine, registry, tmp_path):
    _leak(engine)
    unknown = tmp_path / "x.csv"
    unknown.write_text("nom,prenom,ddn\nA,B,01/01/1980\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="x.csv: controller LAB99 is not in the registry"):
        attribute(engine, registry, {"LAB99": unknown})
    useless = tmp_path / "y.csv"
    useless.write_text("code,montant\n1,2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="y.csv line 1: a patient list needs"):
        attribute(engine, registry, {"LAB01": useless})


def test_a_record_naming_no_lab_is_its_persons_lab_in_the_same_source(engine, registry):
    """An interface log (issue 15, second round): results name their lab's FINESS, the
    same patients' address updates name none. A record with no evidence of its own goes
    to the one controller its person's other records in the same source have; a person
    whose records name two labs, and a person seen in another source only, stay
    unattributed; a file's name outranks a person's other records."""
    names = {"nom": ["Dupont", "Dupont", "Martin", "Martin", "Martin", "Durand", "Leroy"],
             "prenom": ["Jean", "Jean", "Anne", "Anne", "Anne", "Paul", "Eva"],
             "ddn": ["02/01/1980"] * 2 + ["04/03/1971"] * 3 + ["06/05/1990", "07/07/1977"],
             "finess": ["350000017", "", "350000017", "350000025", "", "",
                        "350000025"]}  # fmt: skip
    labels = {"nom": "person.last_name", "prenom": "person.first_name",
              "ddn": "person.birth_date", "finess": "provider.finess"}  # fmt: skip
    add_source(engine, 1, "interface.log", names, labels)
    add_source(
        engine, 2, "other.csv",
        {"nom": ["Durand", "Leroy"], "prenom": ["Paul", "Eva"], "ddn": ["06/05/1990", "07/07/1977"],
         "finess": ["350000025", ""]},
        labels,
    )  # fmt: skip
    add_source(
        engine, 3, "Labo Analyses Saint-Malo.csv",
        {"nom": ["Dupont", "Dupont"], "prenom": ["Jean", "Jean"], "ddn": ["02/01/1980"] * 2,
         "finess": ["350000017", ""]},
        labels,
    )  # fmt: skip
    resolve(engine, today=date(2026, 1, 1))
    attribute(engine, registry)
    decided = _decided(engine)
    assert decided[(1, 2)] == ("LAB01", "same person in the same source")
    assert decided[(1, 5)][0] is None  # Martin's records name two labs
    assert decided[(1, 6)][0] is None  # Durand's lab is named in another source only
    assert decided[(2, 2)][0] is None  # Leroy's too
    assert decided[(3, 2)] == ("LAB02", "file name")


def test_a_registry_finess_in_a_records_free_text_attributes_it(engine, registry):
    """A report's letterhead names its lab (issue 15, second round: HPRIM Net 1 reports name
    it nowhere else). One registry FINESS in the text attributes a record that names no lab
    otherwise; two say neither; a FINESS column outranks the text; digits inside a longer
    number are no FINESS."""
    notes = [
        "Labo Analyses Saint-Malo - FINESS 350000025\\nGlycémie : 5.2 mmol/L",
        "Transmis de 350000017 à 350000025",
        "Adressé par le laboratoire 350000025",
        "Dossier 13500000250, RAS",
    ]
    add_source(
        engine, 1, "comptes_rendus.txt",
        {"nom": ["Dupont", "Martin", "Durand", "Leroy"], "prenom": ["Jean", "Anne", "Paul", "Eva"],
         "cr": notes, "finess": ["", "", "350000017", ""]},
        {"nom": "person.last_name", "prenom": "person.first_name", "cr": "health.note",
         "finess": "provider.finess"},
    )  # fmt: skip
    attribute(engine, registry)
    decided = dict(engine.fetch("SELECT _record, (controller_id, evidence) FROM attribute_records"))
    assert decided[1] == ("LAB02", "finess in text")
    assert decided[2][0] is None
    assert decided[3] == ("LAB01", "finess column")
    assert decided[4][0] is None
