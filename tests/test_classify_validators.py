"""Value checks and header synonyms, on values built in code."""

from __future__ import annotations

from datetime import date

import pytest
from stdnum import luhn

from ariane import nir
from ariane.classify import headers, validators


def _luhn(body: str) -> str:
    return body + luhn.calc_check_digit(body)


def test_nir_key_and_corsica() -> None:
    number = nir.make_nir(2, 1985, 3, "2A", "004", 123)
    assert validators.is_nir(number)
    assert validators.is_nir(" ".join([number[:1], number[1:3], number[3:7], number[7:]]))
    wrong_key = number[:13] + f"{(int(number[13:]) + 1) % 100:02d}"
    assert not validators.is_nir(wrong_key)
    assert validators.is_nir_shaped(number[:13])
    assert not validators.is_nir_shaped("3" + number[1:])


def test_checksummed_identifiers() -> None:
    rpps = _luhn("1000123456")
    assert validators.is_rpps(rpps)
    assert not validators.is_rpps(rpps[:-1] + str((int(rpps[-1]) + 1) % 10))
    finess = _luhn("35000123")
    assert validators.is_finess(finess)
    assert validators.is_adeli(_luhn("35100123"))
    assert validators.is_siren_or_siret("732829320")  # a published SIREN
    assert validators.is_iban("FR76 3000 6000 0112 3456 7890 189")
    assert not validators.is_iban("FR76 3000 6000 0112 3456 7890 188")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("06 12 34 56 78", True),
        ("+33 6 12 34 56 78", True),
        ("0590 12 34 56", True),  # Guadeloupe
        ("0262 12 34 56", True),  # La Réunion
        ("351234567", False),  # nine bare digits: an ADELI or a SIREN
        ("12/03/1985", False),
    ],
)
def test_phone_numbers(value: str, expected: bool) -> None:
    assert validators.is_phone(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12/03/1985", date(1985, 3, 12)),
        ("1985-03-12", date(1985, 3, 12)),
        ("12.03.1985", date(1985, 3, 12)),
        ("19850312", date(1985, 3, 12)),
        ("12 mars 1985", date(1985, 3, 12)),
        ("March 12, 1985", date(1985, 3, 12)),
        ("03/31/1985", date(1985, 3, 31)),  # month first when the day cannot be one
        ("2021-02-03 10:00:00", date(2021, 2, 3)),
        ("31/02/1985", None),
        ("35000", None),
    ],
)
def test_dates_in_common_formats(value: str, expected: date | None) -> None:
    assert validators.parse_date(value) == expected


def test_addresses_streets_and_places() -> None:
    assert validators.is_street("12 rue des Lilas")
    assert validators.is_street("4 Wattle Street")
    assert validators.is_street("chemin du Moulin")
    assert not validators.is_street("Dr Martin")
    assert validators.is_address("3 allée Jean Moulin, 29200 Brest")
    assert not validators.is_street("3 allée Jean Moulin, 29200 Brest")
    assert validators.is_french_postal_code("35000")
    assert not validators.is_french_postal_code("00000")
    assert validators.is_commune("Saint-Malo") and validators.is_commune("ST MALO")


def test_health_and_people_values() -> None:
    assert all(validators.is_blood_group(v) for v in ("A+", "O-", "AB Rh+", "B pos", "0+"))
    assert not validators.is_blood_group("ABO")
    assert all(validators.is_sex(v) for v in ("M", "F", "H", "Femme", "Mme", "1", "2"))
    assert validators.is_physician("Dr Le Gall") and validators.is_physician("Docteur J. Riou")
    assert validators.is_full_name("DUPONT Jean") and not validators.is_full_name("Dupont")
    assert validators.is_insurer("Harmonie Mutuelle") and validators.is_insurer("MGEN")
    assert validators.is_organisation("Laboratoire des Rives")
    assert validators.is_icd10("C50.9") and validators.is_icd10("B20")
    assert validators.is_hiv_value("VIH+") and validators.is_hiv_value("séronégatif")
    assert validators.is_pregnancy_value("12 SA") and validators.is_pregnancy_value("G2P1")


@pytest.mark.parametrize(
    ("header", "label"),
    [
        ("N° SS", "id.nir"),
        ("nir", "id.nir"),
        ("ssn", "id.nir"),
        ("numeroSecu", "id.nir"),
        ("NUM_SECU", "id.nir"),
        ("ddn", "person.birth_date"),
        ("dob", "person.birth_date"),
        ("dateNaissance", "person.birth_date"),
        ("CP", "contact.postal_code"),
        ("zip", "contact.postal_code"),
        ("mutuelle", "insurance.insurer"),
        ("insurer", "insurance.insurer"),
        ("NOM_MUTUELLE", "insurance.insurer"),
        ("nom_medecin", "provider.physician"),
        ("Nom du patient", "person.last_name"),
        ("prenon", "person.first_name"),
        ("telephonne", "contact.phone"),
        ("Prénom", "person.first_name"),
        ("e-mail", "contact.email"),
        ("Groupe Sanguin", "health.blood_group"),
        ("finess_labo", "provider.finess"),
        ("rpps_medecin", "provider.rpps"),
        ("date_prelevement", "health.visit_date"),
        ("commentaire 2", "health.note"),
    ],
)
def test_header_synonyms(header: str, label: str) -> None:
    scores = headers.header_scores(header)
    assert max(scores, key=lambda k: scores[k]) == label


@pytest.mark.parametrize("header", ["col_3", "Unnamed: 2", "", "  ", "column7"])
def test_meaningless_headers_say_nothing(header: str) -> None:
    assert headers.header_scores(header) == {}


def test_vague_headers_only_hint() -> None:
    assert headers.header_scores("date")["health.visit_date"] <= 0.5
    assert headers.header_scores("name")["person.full_name"] <= 0.5
