"""Resolve on small and odd leaks: ``ariane run`` completes and counts the persons built.

A few dozen patients without a NIR leave EM blocks where every pair is a stranger: Splink
then drives an m probability under 1e-300 and refuses it. Whatever the leak, the run must
finish; the expected counts follow from how each file was built.
"""

from __future__ import annotations

import csv
import json

import pytest
from typer.testing import CliRunner

from ariane.cli import app
from hl7_messages import people
from test_read_hprim import _read, _sante

runner = CliRunner()
HEADER = ["nom", "prenom", "date_naissance", "sexe", "adresse", "ville", "code_postal", "tel"]


def _run(path, tmp_path):
    case = tmp_path / "case"
    result = runner.invoke(app, ["run", str(path), "--case", str(case), "--quiet"])
    assert result.exit_code == 0, result.output
    summary = runner.invoke(app, ["summary", str(case), "--json"])
    assert summary.exit_code == 0, summary.output
    return json.loads(summary.stdout)


def _row(p):
    birth = f"{p.birth[6:]}/{p.birth[4:6]}/{p.birth[:4]}"
    return [p.family, p.given, birth, p.sex, p.street, p.city, p.postal_code, p.phone]


def _csv(path, rows, header=HEADER):
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_hprim_sample_of_forty_patients(tmp_path):
    persons = people(40)  # 40 distinct names and birth dates, no NIR in HPRIM Santé's P line
    path = tmp_path / "results.hpr"
    path.write_bytes(_sante(persons).encode("cp1252"))
    found = _run(path, tmp_path)
    assert found["rows"] == len(persons)
    assert found["persons"] == len(persons)
    low, high = found["persons_interval"]
    assert low <= len(persons) <= high


def test_the_same_forty_rows_as_csv(tmp_path):
    """The HPRIM sample's records saved as a CSV (its lab, patient numbers, names, birth
    dates, addresses, phones, results; no NIR)."""
    persons = people(40)
    path = tmp_path / "results.hpr"
    path.write_bytes(_sante(persons).encode("cp1252"))
    _, rows, _ = _read(path)
    columns = [c for c in rows[0] if not c.startswith("_")]
    table = [[row[c] for c in columns] for row in rows]
    found = _run(_csv(tmp_path / "results.csv", table, columns), tmp_path)
    assert found["rows"] == len(persons)
    assert found["persons"] == len(persons)


def test_forty_row_csv_without_nir(tmp_path):
    persons = people(40)
    # A patient number beside the fields, as a lab's export has it.
    rows = [[f"PAT{p.number}", *_row(p)] for p in persons]
    found = _run(_csv(tmp_path / "patients.csv", rows, ["num_patient", *HEADER]), tmp_path)
    assert found["rows"] == len(persons)
    assert found["persons"] == len(persons)


@pytest.mark.parametrize("count", [1, 2, 5])
def test_tiny_leaks(tmp_path, count):
    persons = people(count)
    found = _run(_csv(tmp_path / "tiny.csv", [_row(p) for p in persons]), tmp_path)
    assert found["rows"] == count
    assert found["persons"] == count


def test_every_record_identical(tmp_path):
    (person,) = people(1)
    found = _run(_csv(tmp_path / "same.csv", [_row(person)] * 30), tmp_path)
    assert found["rows"] == 30
    assert found["persons"] == 1


def test_one_patient_seen_many_times_among_few(tmp_path):
    persons = people(6)
    rows = [_row(persons[0])] * 12 + [_row(p) for p in persons[1:]]
    found = _run(_csv(tmp_path / "visits.csv", rows), tmp_path)
    assert found["rows"] == len(rows)
    assert found["persons"] == len(persons)


@pytest.mark.parametrize(
    ("header", "values"),
    [
        ("telephone", [f"06{10000000 + 7919 * i:08d}" for i in range(8)]),
        ("email", [f"patient{i}@exemple.fr" for i in range(8)]),
    ],
)
def test_a_contact_alone_is_still_a_person(tmp_path, header, values):
    # A leak of phones or emails only (with a test result beside each): every distinct
    # contact is someone.
    rows = [[value, "positif" if i % 2 else "negatif"] for i, value in enumerate(values)]
    found = _run(_csv(tmp_path / "contacts.csv", rows, [header, "resultat_vih"]), tmp_path)
    assert found["rows"] == len(values)
    assert found["persons"] == len(values)


def test_a_table_of_labs_names_nobody():
    """A labs table (number, FINESS, name) in the patients' dump: its numbers are the labs'
    own, even where they look like patient numbers of another file; its rows get no person.
    A visits table of keys alone, whose numbers are the patients', keeps its persons."""
    from datetime import date

    from ariane.case import Case
    from ariane.resolve import resolve, summarise
    from test_resolve import add_source

    persons = people(5)
    labels = {"num": "id.internal", "nom": "person.last_name", "prenom": "person.first_name"}
    labs = {"num": "id.internal", "finess": "provider.finess", "lab": "provider.organisation"}
    with Case.ephemeral() as case:
        engine = case.engine()
        add_source(
            engine, 1, "dump.sql",
            {"num": [str(p.number + 1) for p in persons], "nom": [p.family for p in persons],
             "prenom": [p.given for p in persons]},
            labels,
        )  # fmt: skip
        add_source(engine, 2, "dump.sql", {"num": ["3", "1", "3"]}, {"num": "id.internal"})
        add_source(
            engine, 3, "dump.sql",
            {"num": ["L1", "L2"], "finess": ["350000014", "350000022"], "lab": ["A", "B"]},
            labs,
        )  # fmt: skip
        add_source(
            engine, 4, "labs.sql",
            {"num": ["1", "2"], "finess": ["350000014", "350000022"], "lab": ["A", "B"]},
            labs,
        )  # fmt: skip
        resolve(engine, today=date(2026, 1, 1))
        person = {
            (s, r): p
            for s, r, p in engine.fetch("SELECT source_id, _record, person_id FROM resolve_records")
        }
        found = summarise(engine)["persons"]
    assert found == len(persons)
    assert [person[(3, r)] for r in (1, 2)] == [None, None]
    assert [person[(4, r)] for r in (1, 2)] == [None, None]
    assert [person[(2, r)] for r in (1, 2, 3)] == [person[(1, 3)], person[(1, 1)], person[(1, 3)]]


def test_pairs_scored_in_slices_give_the_same_persons(tmp_path, monkeypatch):
    """A leak whose candidate pairs outnumber a slice is scored a slice at a time (a 20 M-row
    leak's single join filled the disk): the persons found are those of one slice."""
    from ariane.resolve import persons

    leak = tmp_path / "leak"
    made = runner.invoke(app, ["synth", "--out", str(leak), "--rows", "3000", "--quiet"])
    assert made.exit_code == 0, made.output
    whole = _run(leak / "leak.csv", tmp_path / "whole")
    scored: list[int] = []
    predict = persons._predict
    monkeypatch.setattr(persons, "PAIRS_PER_SLICE", 40)
    monkeypatch.setattr(persons, "_predict", lambda *a: scored.append(1) or predict(*a))
    sliced = _run(leak / "leak.csv", tmp_path / "sliced")
    truth = json.loads((leak / "truth.json").read_text())
    assert len(scored) > 3  # the pairs were many slices, not one
    assert sliced["persons"] == whole["persons"]
    assert abs(sliced["persons"] - truth["persons"]) <= 0.01 * truth["persons"]
    assert sorted((c["controller_id"], c["persons"]) for c in sliced["controllers"]) == sorted(
        (c["controller_id"], c["persons"]) for c in whole["controllers"]
    )
