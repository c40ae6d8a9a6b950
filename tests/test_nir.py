"""The NIR module against python-stdnum and the rules of CASE.md."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.fr import nir as stdnum_nir

from ariane.nir import is_valid_nir, make_nir, nir_agrees, nir_key, normalise

PLACES = [("35", "238"), ("2A", "004"), ("2B", "033"), ("971", "05"), ("976", "11"), ("99", "135")]


@given(
    sex=st.sampled_from([1, 2]),
    year=st.integers(1900, 2020),
    month=st.integers(1, 12),
    place=st.sampled_from(PLACES),
    order=st.integers(1, 999),
)
def test_made_nirs_validate_with_stdnum(sex, year, month, place, order):
    nir = make_nir(sex, year, month, place[0], place[1], order)
    assert len(nir) == 15
    assert is_valid_nir(nir)
    assert stdnum_nir.is_valid(nir)


def test_corsica_key_uses_19_and_18():
    body = "285052A004012"
    assert nir_key(body) == 97 - int("2850519004012") % 97
    body_b = "285052B004012"
    assert nir_key(body_b) == 97 - int("2850518004012") % 97


def test_wrong_key_and_shapes_are_rejected():
    nir = make_nir(1, 1985, 5, "35", "238", 12)
    wrong = nir[:13] + f"{(int(nir[13:]) % 97) + 1:02d}"
    assert not is_valid_nir(wrong)
    assert not is_valid_nir(nir[:14])
    assert not is_valid_nir("3" + nir[1:])
    assert not is_valid_nir("")


def test_separators_are_tolerated():
    nir = make_nir(2, 1970, 11, "29", "019", 7)
    spaced = f"{nir[0]} {nir[1:3]} {nir[3:5]} {nir[5:7]} {nir[7:10]} {nir[10:13]} {nir[13:]}"
    assert normalise(spaced) == nir
    assert is_valid_nir(spaced)


@pytest.mark.parametrize(
    ("sex", "born", "expected"),
    [
        ("F", date(1985, 5, 3), True),
        ("Femme", date(1985, 5, 3), True),
        ("M", date(1985, 5, 3), False),
        ("F", date(1986, 5, 3), False),
        ("F", date(1985, 6, 3), False),
        (None, None, None),
    ],
)
def test_agreement_with_sex_and_birth_date(sex, born, expected):
    nir = make_nir(2, 1985, 5, "35", "238", 12)
    assert nir_agrees(nir, sex, born) is expected


def test_unknown_birth_month_cannot_disagree():
    nir = make_nir(1, 1950, 20, "99", "135", 3)
    assert is_valid_nir(nir)
    assert nir_agrees(nir, None, date(1950, 7, 1)) is True
