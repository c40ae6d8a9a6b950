"""A leak saved again by French Excel: labels right, damage flagged, certain repairs made.

The leak is a synthetic one reshaped the way Excel writes it back (``layout_leaks.
french_excel``): NIRs in scientific notation with a decimal comma, FINESS numbers, postal
codes and phone numbers without their leading zero, dates as serial numbers, Windows-1252.
Every expectation comes from how the file was built.
"""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest

from ariane import attribute, classify, excel, read, resolve
from ariane.assess.enisa import Exposure
from ariane.assess.exposure import build_exposure
from ariane.case import Case
from ariane.classify import validators
from ariane.resolve import records as person_fields
from ariane.resolve.fields import field_columns
from layout_leaks import french_excel, measure


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return french_excel(tmp_path_factory.mktemp("excel"), rows=600)


@pytest.fixture(scope="module")
def ran(built):
    """Read, classify, resolve and attribute the leak: (profiles by label, resolved rows)."""
    with Case.ephemeral() as case:
        engine = case.engine()
        read.load(engine, built.files)
        profiles = classify.classify(engine)
        # The person fields resolve compares (kept only while it runs): no identifier.
        person_fields.build(engine, date.today())
        (identified,) = engine.fetch(
            "SELECT count(*) FROM resolve_fields WHERE foreign_id IS NOT NULL OR nir IS NOT NULL"
        )[0]
        resolve.resolve(engine)
        attribute.attribute(engine, built.registry, {})
        build_exposure(engine, date.today())
        (nir_leaked,) = engine.fetch(
            f"SELECT count(*) FROM assess_exposure WHERE exposure & {int(Exposure.NIR)} <> 0"
        )[0]
        fields = field_columns(engine)
        rows = engine.fetch(
            "SELECT _record, nir, birth_date, postal_code, phone FROM resolve_records "
            "ORDER BY _record"
        )
    return {p.label: p for p in profiles}, fields, rows, (identified, nir_leaked)


def _original(built, label: str) -> list[str]:
    return [built.originals[("leak.csv", i + 1)][label] for i in range(len(built.truth))]


def _written_date(text: str) -> date | None:
    for form in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, form).date()
        except ValueError:
            continue
    return None


def test_a_rounded_nir_column_says_a_nir_leaked_but_is_flagged_damaged(ran, built):
    by_label, fields, rows, (identified, nir_leaked) = ran
    nir = by_label["id.nir"]
    assert nir.damage == "digits lost"
    assert nir.as_contract()["damage"] == "digits lost"
    # Resolve never compares it: no NIR field is filled, no value is taken as an identifier.
    assert all("nir_raw" not in f and "nir_alt_raw" not in f for f in fields.values())
    assert all(nir_value is None for _r, nir_value, *_ in rows)
    assert identified == 0
    # It still says a NIR leaked: every record with a value in the column is exposed so.
    assert nir_leaked == sum(1 for v in _original(built, "id.nir") if v.strip())


def test_every_column_keeps_its_label(ran, built):
    by_label, *_ = ran
    for label in ("provider.finess", "contact.postal_code", "contact.phone"):
        assert by_label[label].damage is None
    for label in ("person.birth_date", "health.visit_date", "person.last_name"):
        assert label in by_label


def test_repairs_are_counted_as_built(ran, built):
    by_label, *_ = ran
    finess = _original(built, "provider.finess")
    assert by_label["provider.finess"].repaired == sum(f.startswith("0") for f in finess)
    codes = _original(built, "contact.postal_code")
    assert by_label["contact.postal_code"].repaired == sum(
        bool(re.fullmatch(r"0\d{4}", c)) for c in codes
    )
    phones = [re.sub(r"[\s.]", "", p) for p in _original(built, "contact.phone")]
    assert by_label["contact.phone"].repaired == sum(
        bool(re.fullmatch(r"0[1-79]\d{8}", p)) for p in phones
    )
    births = _original(built, "person.birth_date")
    assert by_label["person.birth_date"].repaired == sum(
        _written_date(b) is not None for b in births
    )
    visits = _original(built, "health.visit_date")
    assert by_label["health.visit_date"].repaired == sum(
        _written_date(v) is not None for v in visits
    )
    for label in ("person.last_name", "contact.email", "id.nir"):
        assert by_label[label].repaired == 0


def test_serial_dates_zeros_and_phones_are_read_repaired(ran, built):
    _by_label, _fields, rows, _identified = ran
    births = _original(built, "person.birth_date")
    codes = _original(built, "contact.postal_code")
    checked = 0
    for record, _nir, birth, postal_code, _phone in rows:
        written = _written_date(births[record - 1])
        if written is not None and written.year >= 1902:
            assert birth == written, record
            checked += 1
        if re.fullmatch(r"0\d{4}", codes[record - 1]):
            assert postal_code == codes[record - 1]
    assert checked > len(rows) // 2


def test_records_of_labs_whose_finess_lost_its_zero_are_attributed(built):
    figures = measure(built)
    assert figures.attributed_right >= 0.995, figures.line()
    assert figures.unattributed <= 0.005
    assert figures.persons_error <= 0.01


@pytest.mark.parametrize(
    ("value", "expected"),
    [("31457", date(1986, 2, 14)), ("36526", date(2000, 1, 1)), ("1000", date(1902, 9, 26))],
)
def test_serial_numbers_follow_excels_1900_system(value, expected):
    # 36526 is 2000-01-01 in every Excel (1900 date system, after its false 1900-02-29).
    assert excel.serial_date(value) == expected


def test_short_or_long_integers_are_no_serial_dates():
    assert excel.serial_date("61") is None  # too short to tell from a count
    assert excel.serial_date("60001") is None  # 2064: beyond any leak
    assert excel.serial_date("01234") is None


@pytest.mark.parametrize(
    ("value", "damaged"),
    [
        ("2,85057E+14", True),
        ("2.85057E+14", True),
        ("1,23457E+12", True),
        ("285057000000000", True),
        ("285057512345678", False),  # a whole NIR (key not checked here)
        ("3,45678E+14", False),  # no NIR starts with 3
        ("1,5E+03", False),
    ],
)
def test_rounded_nirs_are_told(value, damaged):
    assert excel.nir_digits_lost(value) is damaged
    assert validators.is_nir_digits_lost(value) is damaged


def test_leading_zeros_are_put_back_only_where_certain():
    assert excel.finess_restored("10001231") == ("010001231" if _luhn("010001231") else None)
    good = next(f"{n:08d}" for n in range(10000000, 10000100) if _luhn(f"0{n:08d}"))
    bad = next(f"{n:08d}" for n in range(10000000, 10000100) if not _luhn(f"0{n:08d}"))
    assert excel.finess_restored(good) == "0" + good
    assert excel.finess_restored(bad) is None
    assert excel.postal_code_restored("1000") == "01000"  # Bourg-en-Bresse
    assert excel.postal_code_restored("1999") is None  # no such postal code
    assert excel.phone_restored("612345678") == "0612345678"
    assert excel.phone_restored("299123456") == "0299123456"
    assert excel.phone_restored("012345678") is None


def _luhn(text: str) -> bool:
    from stdnum import luhn

    return bool(luhn.is_valid(text))


def test_a_registry_saved_by_excel_gets_its_finess_zeros_back(tmp_path):
    from ariane.attribute.registry import load

    good = next(f"{n:08d}" for n in range(10000000, 10000100) if _luhn(f"0{n:08d}"))
    path = tmp_path / "registry.csv"
    path.write_bytes(
        "controller_id;name;finess;siren;address;postal_code;city;dpo_email\r\n"
        f"L1;Laboratoire de l'Ain;{good};;1 rue X;1000;Bourg-en-Bresse;\r\n".encode("cp1252")
    )
    (controller,) = load(path)
    assert controller.finess == "0" + good and controller.postal_code == "01000"
    assert controller.departement == "01"
