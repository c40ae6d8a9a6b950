"""Resolve on leaks whose layouts the generator never writes (builders: layout_leaks.py)."""

from __future__ import annotations

import pytest

from ariane.case import Case
from ariane.resolve import resolve
from layout_leaks import BUILDERS, measure
from test_resolve import add_source


@pytest.mark.parametrize("name", ["sql_dumps", "families", "two_csvs"])
def test_persons_are_counted_within_one_percent(tmp_path, name):
    """Tables of per-lab dumps linked by each dump's own patient numbers; households,
    twins and namesakes without NIRs; names + NIR in one file, names + birth date in
    another."""
    figures = measure(BUILDERS[name](tmp_path))
    assert figures.unmatched == 0
    assert figures.persons_error <= 0.01, figures.line()
    low, high = figures.interval
    assert low <= figures.persons_true <= high, figures.line()
    assert figures.split + figures.merged <= 0.01 * figures.persons_true, figures.line()


def _persons(columns, labels):
    with Case.ephemeral() as case:
        engine = case.engine()
        add_source(engine, 1, "leak.csv", columns, labels)
        resolve(engine)
        rows = engine.fetch("SELECT person_id FROM resolve_records ORDER BY _record")
        return [r[0] for r in rows]


LABELS = {
    "nom": "person.last_name", "prenom": "person.first_name", "ddn": "person.birth_date",
    "tel": "contact.phone", "adresse": "contact.street", "cp": "contact.postal_code",
    "ville": "contact.city", "nir": "id.nir",
}  # fmt: skip


def _family_leak(children: list[tuple[str, str]], repeat: int = 2) -> dict[str, list[str]]:
    """A household whose members share a phone, an address and the insured's NIR, among
    other households that train the model; each member appears ``repeat`` times."""
    columns: dict[str, list[str]] = {c: [] for c in LABELS}
    insured = _nir(1980, 1, 41)  # the insured father's, valid: own to him only
    members = [("JEAN", "01/01/1980"), *children]
    for first, birth in members:
        for _ in range(repeat):
            for column, value in zip(
                LABELS,
                [
                    "MARTIN",
                    first,
                    birth,
                    "0299001122",
                    "1 RUE DES LILAS",
                    "35000",
                    "RENNES",
                    insured,
                ],
                strict=True,
            ):
                columns[column].append(value)
    for n in range(60):
        for _ in range(2):
            for column, value in zip(
                LABELS,
                [
                    _letters(n) + "AS",
                    _letters(n % 7) + "EL",
                    f"{1 + n % 28:02d}/0{1 + n % 9}/19{30 + n}",
                    f"06{n:08d}",
                    f"{n} RUE HAUTE",
                    "29200",
                    "BREST",
                    "",
                ],
                strict=True,
            ):
                columns[column].append(value)
    return columns


def test_siblings_and_twins_sharing_a_home_stay_apart():
    columns = _family_leak([("LUCIE", "03/05/2010"), ("EMMA", "03/05/2010"), ("HUGO", "7/9/2012")])
    persons = _persons(columns, LABELS)
    family = persons[:8]
    # Each member's two records meet; no two members are one person.
    assert [family[i] == family[i + 1] for i in range(0, 8, 2)] == [True] * 4
    assert len(set(family)) == 4


def test_a_parent_and_a_child_of_the_same_name_stay_apart():
    """Same first name, home, phone and insured's NIR; born a generation apart."""
    columns = _family_leak([("JEAN", "14/06/2008")])
    persons = _persons(columns, LABELS)
    assert persons[0] == persons[1] and persons[2] == persons[3]
    assert persons[0] != persons[2]


def test_a_record_with_names_only_joins_the_one_person_of_that_name():
    columns = _family_leak([])
    known = len(columns["nom"])
    extra = {"nom": ["MARTIN", "NOMAAAS"], "prenom": ["JEAN", "ZOE"]}
    for column in columns:
        columns[column] += extra.get(column, ["", ""])
    persons = _persons(columns, LABELS)
    assert persons[known] == persons[0]  # the household's Jean Martin
    assert persons[known + 1] not in persons[:known]  # nobody of that name: alone


def test_names_only_records_stay_apart_when_namesakes_are_known():
    columns = _family_leak([])
    known = len(columns["nom"])
    # A second Jean Martin, born elsewhere and another year: the bare name could be either.
    for column, value in zip(
        LABELS,
        ["MARTIN", "JEAN", "02/03/1956", "0611111111", "9 RUE BASSE", "29200", "BREST", ""],
        strict=True,
    ):
        columns[column] += [value, value if column in ("nom", "prenom") else ""]
    persons = _persons(columns, LABELS)
    assert persons[known + 1] not in (persons[0], persons[known])


def _letters(n: int) -> str:
    """Three letters for a number: names normalise to letters only."""
    return "".join(chr(65 + (n // 26**i) % 26) for i in range(3))


def _nir(year: int, month: int, order: int) -> str:
    from ariane.nir import make_nir

    return make_nir(1, year % 100, month, "35", "238", order + 1)


def test_patient_numbers_link_tables_even_when_a_profile_spans_two_files():
    """A person registered in two labs' dumps folds into one profile; the visits of each
    dump, keyed by that dump's own patient number, must both reach it."""
    with Case.ephemeral() as case:
        engine = case.engine()
        identity = {
            "num": ["7", "8"],
            "nom": ["DURAND", "PETIT"],
            "prenom": ["ANNE", "LEO"],
            "ddn": ["01/02/1970", "03/04/1980"],
        }
        labels = {
            "num": "id.internal",
            "nom": "person.last_name",
            "prenom": "person.first_name",
            "ddn": "person.birth_date",
        }
        add_source(engine, 1, "lab_a.sql", identity, labels)
        add_source(engine, 2, "lab_a.sql", {"num": ["7", "8"]}, {"num": "id.internal"})
        add_source(engine, 3, "lab_b.sql", {**identity, "num": ["2", "1"]}, labels)
        add_source(engine, 4, "lab_b.sql", {"num": ["1", "2"]}, {"num": "id.internal"})
        resolve(engine)
        person = dict(
            ((s, r), p)
            for s, r, p in engine.fetch("SELECT source_id, _record, person_id FROM resolve_records")
        )
    anne = person[(1, 1)]
    assert person[(2, 1)] == anne and person[(4, 2)] == anne
    assert person[(4, 1)] == person[(1, 2)] != anne
