"""What a person types: checked, normalised, and told what to fix without echoing it."""

from datetime import date

import pytest

from ariane.nir import make_nir
from ariane.selfcheck.identifiers import EntryError, parse

NIR = make_nir(2, 1985, 5, "35", "238", 1)


def _refused(fields):
    with pytest.raises(EntryError) as caught:
        parse(fields)
    for value in fields.values():
        if isinstance(value, str) and len(value) > 3:
            assert value not in caught.value.message  # never quoted back
    return caught.value


def test_nir_with_spaces_and_a_french_date():
    spaced = f"{NIR[0]} {NIR[1:3]} {NIR[3:5]} {NIR[5:7]} {NIR[7:10]} {NIR[10:13]} {NIR[13:]}"
    typed = parse({"nir": spaced, "birth_date": "08/05/1985"})
    assert typed.nir == NIR and typed.birth_date == date(1985, 5, 8)


def test_email_and_phone_normalised():
    typed = parse({"email": " Jeanne.Dupont@Exemple.FR ", "phone": "06 12 34 56 78"})
    assert typed.email == "jeanne.dupont@exemple.fr"
    assert typed.phone == "+33612345678"


def test_nir_key_that_fails():
    wrong = NIR[:13] + f"{(int(NIR[13:]) % 97) + 1:02d}"
    error = _refused({"nir": wrong, "birth_date": "1985-05-08"})
    assert error.field == "nir" and "clé" in error.message


def test_nir_of_the_wrong_shape():
    error = _refused({"nir": "12345", "birth_date": "1985-05-08"})
    assert error.field == "nir" and "15 caractères" in error.message


@pytest.mark.parametrize("typed", ["2021-02-30", "31/04/1990", "1990-13-01"])
def test_date_that_does_not_exist(typed):
    error = _refused({"nir": NIR, "birth_date": typed})
    assert error.field == "birth_date" and "n'existe pas" in error.message


def test_date_in_another_shape():
    error = _refused({"nir": NIR, "birth_date": "8 mai 1985"})
    assert "AAAA-MM-JJ" in error.message


def test_ten_kilobyte_field():
    error = _refused({"email": "a" * 10_000 + "@exemple.fr"})
    assert error.field == "email" and "trop long" in error.message


def test_nir_needs_its_birth_date_and_something_is_needed():
    assert _refused({"nir": NIR}).field == "birth_date"
    assert "Indiquez" in _refused({}).message
    assert _refused({"email": 42}).field == "email"


def test_bad_email_and_phone():
    assert _refused({"email": "pas-une-adresse"}).field == "email"
    assert _refused({"email": "a@exemple.fr", "phone": "123"}).field == "phone"
