"""Value checks and header synonyms, on values built in code."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

import pytest
from stdnum import luhn

from ariane import nir
from ariane.classify import headers, reference, validators
from ariane.names import faker_names


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


@pytest.mark.parametrize(
    ("header", "label"),
    [
        ("Apellidos", "person.last_name"),
        ("cognome", "person.last_name"),
        ("Nachname", "person.last_name"),
        ("Voornaam", "person.first_name"),
        ("Fecha de nacimiento", "person.birth_date"),
        ("Geboortedatum", "person.birth_date"),
        ("Geschlecht", "person.sex"),
        ("Straße", "contact.street"),
        ("indirizzo", "contact.street"),
        ("PLZ", "contact.postal_code"),
        ("Ciudad", "contact.city"),
        ("Morada", "contact.address"),
        ("Telemóvel", "contact.phone"),
        ("Correo electrónico", "contact.email"),
        ("codice_previdenza", "id.nir"),
        ("Número de seguridad social", "id.nir"),
        ("Nº processo", "id.internal"),
        ("Grupo sanguíneo", "health.blood_group"),
        ("Bemerkungen", "health.note"),
        ("Opmerkingen", "health.note"),
        ("Krankenkasse", "insurance.insurer"),
        ("medico_curante", "provider.physician"),
        ("Hausarzt", "provider.physician"),
        ("Last seen", "health.visit_date"),
    ],
)
def test_header_synonyms_of_other_languages(header: str, label: str) -> None:
    """Exports of foreign software name columns in their own language."""
    scores = headers.header_scores(header)
    assert max(scores, key=lambda k: scores[k]) == label


@pytest.mark.parametrize(
    ("header", "label"),
    [
        ("DaTe_NaIsSaNcE", "person.birth_date"),  # random casing: no camelCase split
        ("Given Names", "person.first_name"),  # plural
        ("mutuel", "insurance.insurer"),  # cut short
        ("Observ.", "health.note"),
        ("date_naiss", "person.birth_date"),
    ],
)
def test_headers_in_odd_casing_plural_or_cut_short(header: str, label: str) -> None:
    """Casing, plurals and truncations do not hide what a header says."""
    scores = headers.header_scores(header)
    assert max(scores, key=lambda k: scores[k]) == label


def test_a_specific_word_outweighs_a_vague_one() -> None:
    """'Résultat VIH' is about HIV first: 'résultat' alone only hints at a test."""
    scores = headers.header_scores("Résultat VIH")
    assert scores["health.hiv"] > scores.get("health.test", 0.0)


def test_structured_values_with_their_field_name() -> None:
    """'Sérologie VIH : négatif' is an HIV answer; a sentence about HIV is not."""
    assert validators.is_hiv_value("Sérologie VIH: négatif")
    assert validators.is_hiv_value("HIV test = pos")
    assert validators.is_hiv_value("Statut VIH : non fait")
    assert not validators.is_hiv_value("commentaire VIH: patient suivi au CHU")
    assert not validators.is_hiv_value("Sérologie hépatite B: négatif")


def test_physician_titles_of_other_languages() -> None:
    """Dott., Dra., Dr. med. are physicians' titles; a name starting with Dr is not."""
    for value in ("Dott. Rossi", "Dra. García", "Dr. med. Weber", "Dottssa Bianchi"):
        assert validators.is_physician(value), value
    assert not validators.is_physician("Drouet")


def test_addresses_without_street_type_and_cities_with_arrondissement() -> None:
    """A postal code followed by a real commune ends an address; 'Paris 15' is a city."""
    for value in (
        "Appt 4, 12 rue des Lilas, 35000 Rennes",
        "La Ville Hervé 35310 Mordelles",
        "BP 12 35000 Rennes cedex 9",
    ):
        assert validators.is_address(value), value
    assert not validators.is_address("rdv le 12 35000 fois")
    assert not validators.is_address("12 rue des Lilas")
    for value in ("PARIS 15", "Lyon 3e", "Marseille 8eme arrondissement"):
        assert validators.is_commune(value), value
    assert not validators.is_commune("Rennes 2000")


def test_names_written_surname_comma_first_name() -> None:
    """'DUPONT, Marie' is a whole name; 'Paris, France' is not."""
    assert validators.is_full_name("DUPONT, Marie")
    assert validators.is_full_name("Le Goff , Anne-Marie")
    assert not validators.is_full_name("Paris, France")


def test_mobiles_whose_leading_zero_was_dropped() -> None:
    """A spreadsheet turns 06 12 34 56 78 into 612345678: still a mobile, not a SIREN."""
    assert validators.is_mobile_without_zero("612345678")
    assert validators.is_mobile_without_zero("6 12 34 56 78")
    assert not validators.is_mobile_without_zero("0612345678")
    assert not validators.is_mobile_without_zero("212345678")  # landline or any 9 digits


def test_a_whole_name_is_not_a_first_name() -> None:
    """'Jean-Pierre' and 'Marie Claire' are first names; 'Jean Dupuis' is a whole name."""
    assert validators.is_first_name("Jean-Pierre")
    assert validators.is_first_name("Marie Claire")
    assert not validators.is_first_name("Jean Dupuis")
    assert validators.is_full_name("Jean Dupuis")


# -- results tables: test codes, units, measures ------------------------------------------


@pytest.mark.parametrize(
    ("value", "loinc"),
    [("2345-7", True), ("4548-4", True), ("15074-8", True), ("2345-8", False), ("12-345", False)],
)
def test_loinc_codes_carry_their_check_digit(value, loinc):
    assert validators.is_loinc(value) is loinc


@pytest.mark.parametrize("value", ["mmol/L", "µmol/L", "%", "g/dL", "10^9/L", "mUI/L", "fL"])
def test_units_of_lab_results(value):
    assert validators.is_unit(value)


@pytest.mark.parametrize("value", ["Dupont", "rue", "Rennes", "A+", "P000123"])
def test_words_and_codes_are_no_units(value):
    assert not validators.is_unit(value)


@pytest.mark.parametrize(
    ("value", "measure"),
    [
        ("5,4", True),
        ("3,9-5,8", True),
        ("45-104", True),
        ("< 5", True),
        ("78", False),  # a plain integer may be a count or an id
        ("2021-12345", False),  # a file number
        ("2021-07", False),  # a month
    ],
)
def test_measures_are_told_from_codes(value, measure):
    assert validators.is_measurement(value) is measure


def test_addresses_with_the_town_before_its_postal_code() -> None:
    """English and German order: street line, town, postal code; a year is no code."""
    for value in (
        "25, boulevard de Meyer, Saint-Vaast-en-Auge 14640",
        "42 Baker Street, London 12345",
        "7 High Street, Bristol 12345",
    ):
        assert validators.is_address(value), value
    assert not validators.is_address("Rendez-vous le 12 mars 2021")
    assert not validators.is_address("contrôle prévu à Rennes 35000")


def test_an_abbreviated_number_header() -> None:
    """'N° adh' abbreviates one kind of number only; a word beginning several kinds says
    nothing, nor does a number word alone."""
    from ariane.classify.headers import header_scores

    assert header_scores("N° ADH") == {"insurance.member_id": 0.6}
    assert header_scores("Pat.-Nr.") == {"id.internal": 0.6}
    assert header_scores("Vers.-Nr.") == {}  # Versicherung: the insured's or the NIR?
    assert header_scores("Nr.") == {}


def test_membership_numbers_with_a_check_digit():
    from stdnum import luhn

    from ariane.classify.validators import is_health_card, is_kvnr, is_member_card

    assert is_kvnr("A123456780") and not is_kvnr("A123456781")  # the key of the example
    assert not is_kvnr("1123456780") and not is_kvnr("A12345678")
    card = "802500000012345678"
    card += luhn.calc_check_digit(card)
    assert is_health_card(card) and is_member_card(card)
    assert not is_health_card(card[:-1] + str((int(card[-1]) + 1) % 10))  # a wrong key
    other = "4970" + card[4:-1]  # a payment card's issuer, Luhn-valid: not a health card
    assert not is_health_card(other + luhn.calc_check_digit(other))


def _decided(name: str, values: list[str]) -> str:
    from ariane.classify.columns import ColumnSample, decide, measure

    sample = ColumnSample(name, values, 0.0, len(set(values)) / len(values))
    measure(sample)
    return decide(sample).label


@pytest.mark.parametrize("header", ["labor_id", "lab_id", "site_id", "id_etablissement"])
def test_digits_one_and_two_under_another_header_are_no_sex(header: str) -> None:
    # A table of two labs numbered 1 and 2: the patients' pointer to it holds only 1s and
    # 2s, which are also sex codes; its header names an id (issue 15, second round).
    values = ["1", "2", "2", "1", "1"] * 40
    assert _decided(header, values) != "person.sex"


@pytest.mark.parametrize("header", ["sexe", "Geschlecht", "col_4", ""])
def test_digit_sex_codes_stay_sex_where_the_header_says_so_or_nothing(header: str) -> None:
    assert _decided(header, ["1", "2", "2", "1", "1"] * 40) == "person.sex"
    assert _decided(header or "labor_id", ["M", "F", "F", "M"] * 50) == ("person.sex")


def test_shipped_first_names_are_fakers_folded() -> None:
    """The first names shipped folded (scripts/derive_lookups.py) are exactly Faker's, folded:
    re-run the script when Faker's lists change."""
    assert reference.first_names() == {reference.fold(name) for name in faker_names()[0]}
    assert {"jean", "marie", "aaron"} <= reference.first_names()


def test_prepare_neither_imports_faker_nor_builds_the_referential() -> None:
    """Labelling's reference data comes from the shipped lookups (what each scan pays for)."""
    code = (
        "import sys; from ariane import classify, geo; classify.prepare(); "
        "print('faker' in sys.modules, geo.referential.cache_info().currsize)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "0"]
