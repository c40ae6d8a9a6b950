"""Linked tables: results, visits and observations folded into their patient's record.

Every input is built here, in code, with its expected counts known from the build: which
patient has which result, which rows have no patient. Headers are meaningless or in another
language, so that only the values can say which table hangs off which.
"""

from __future__ import annotations

import random
import sqlite3
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import xlsxwriter
from faker import Faker
from stdnum import luhn

from ariane import pipeline
from ariane.case import Case
from ariane.read import load

TESTS = ["Sérologie VIH", "Glycémie à jeun", "Numération formule sanguine", "Cholestérol total"]
HIV = TESTS[0]


def _finess(departement: str, n: int) -> str:
    digits = f"{departement}{n:06d}"
    return digits + luhn.calc_check_digit(digits)


@dataclass
class Leak:
    """Patients and their results, as built (the truth the tests compare with)."""

    patients: list[list[str]] = field(default_factory=list)
    results: list[list[str]] = field(default_factory=list)

    @property
    def with_hiv_test(self) -> int:
        return len({r[0] for r in self.results if r[1] == HIV})


def _leak(patients: int, seed: int, *, numbers: str = "P{:05d}") -> Leak:
    rng = random.Random(seed)
    fake = Faker("fr_FR")
    fake.seed_instance(seed)
    labs = [_finess("35", 1001), _finess("29", 2002)]
    leak = Leak()
    for i in range(patients):
        number = numbers.format(10_000 + i * 7)
        birth = f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.randint(1935, 2004)}"
        leak.patients.append(
            [number, fake.last_name().upper(), fake.first_name(), birth, rng.choice("MF"),
             rng.choice(labs)]
        )  # fmt: skip
        for _ in range(rng.choice([0, 1, 1, 2, 3])):
            when = f"2021-0{rng.randint(1, 9)}-{rng.randint(10, 28)}"
            leak.results.append([number, rng.choice(TESTS), rng.choice(["positif", "négatif",
                                 f"{rng.uniform(3, 9):.1f}"]), when])  # fmt: skip
    return leak


def _workbook(path, sheets: dict[str, list[list[str]]]) -> None:
    book = xlsxwriter.Workbook(str(path))
    for name, rows in sheets.items():
        sheet = book.add_worksheet(name)
        for r, row in enumerate(rows):
            sheet.write_row(r, 0, row)
    book.close()


PATIENT_HEADER = ["Nummer", "Nachname", "Vorname", "Geburtsdatum", "Geschlecht", "Labor"]
RESULT_HEADER = ["c1", "c2", "c3", "c4"]  # meaningless: the values must tell


@pytest.fixture
def engine():
    with Case.ephemeral() as case:
        yield case.engine()


def test_results_sheet_folds_into_its_patients_end_to_end(tmp_path):
    leak = _leak(150, seed=3)
    path = tmp_path / "export.xlsx"
    _workbook(
        path,
        {"Blatt1": [PATIENT_HEADER, *leak.patients], "Blatt2": [RESULT_HEADER, *leak.results]},
    )
    done = pipeline.run(tmp_path / "case", pipeline.RunOptions([path]))
    summary = done.summary
    patients, results = len(leak.patients), len(leak.results)
    assert "link" in done.stages_run
    assert (summary["rows"], summary["quarantined"]) == (patients + results, 0)
    assert summary["linked"] == results
    records = sum(c["records"] for c in summary["controllers"]) + summary["unattributed_records"]
    assert records == patients  # one record per patient; results are no records
    assert summary["unattributed_records"] == 0  # attributed through their patient's lab
    assert summary["persons"] == patients
    # The HIV test lives in the results sheet only: it reaches the patient's record.
    assert summary["special_categories"]["hiv"] == leak.with_hiv_test > 0


def test_scan_says_which_rows_were_linked_and_where(tmp_path):
    leak = _leak(60, seed=5)
    path = tmp_path / "book.xlsx"
    _workbook(path, {"A": [RESULT_HEADER, *leak.results], "B": [PATIENT_HEADER, *leak.patients]})
    document = pipeline.scan([path]).as_contract()
    results, patients = document["files"]
    assert (results["rows"], results["linked"], results["linked_to"]) == (
        len(leak.results), len(leak.results), 1
    )  # fmt: skip
    assert (patients["rows"], patients["linked"], patients["linked_to"]) == (60, 0, None)
    assert document["linked"] == len(leak.results)
    assert document["rows"] + document["quarantined"] == len(leak.results) + 60


def _sql_dump(leak: Leak, visits_per_patient: int = 2) -> tuple[str, int, int]:
    """patients <- visites <- resultats, integer keys as a database writes them."""
    lines = ["-- MySQL dump 10.13", "CREATE TABLE `patients` (`id` int, `nom` varchar(50), "
             "`prenom` varchar(50), `naissance` varchar(10), `finess` varchar(9));"]  # fmt: skip
    values = ",".join(
        f"({i + 1},'{p[1]}','{p[2]}','{p[3]}','{p[5]}')" for i, p in enumerate(leak.patients)
    )
    lines.append(f"INSERT INTO `patients` VALUES {values};")
    visits, results = [], []
    for i in range(len(leak.patients)):
        for _ in range(visits_per_patient):
            visits.append(f"({len(visits) + 1},{i + 1},'2021-03-0{len(visits) % 9 + 1}')")
            number = len(visits)
            # Visit n has n % 3 results: some none, some several (an HIV test on every 5th).
            for k in range(number % 3):
                test = HIV if number % 5 == 0 and k == 0 else TESTS[1]
                results.append(f"({len(results) + 1},{number},'{test}','négatif')")
    lines.append(f"INSERT INTO `visites` VALUES {','.join(visits)};")
    lines.append(f"INSERT INTO `resultats` VALUES {','.join(results)};")
    return "\n".join(lines) + "\n", len(visits), len(results)


def test_sql_dump_chain_results_visits_patients(engine, tmp_path):
    leak = _leak(40, seed=7)
    dump, visits, results = _sql_dump(leak)
    path = tmp_path / "dump.sql"
    path.write_text(dump, encoding="utf-8")
    summary = load(engine, [path])
    from ariane import classify, link

    classify.classify(engine)
    folded = link.link(engine)
    summary.refresh(engine)
    by_name = {s.table_name: s for s in summary.sources}
    assert by_name["visites"].linked == visits and by_name["resultats"].linked == results
    assert by_name["patients"].linked == 0
    # Results reached the patients through their visits.
    parent = {f.child_source_id: f.parent_source_id for f in folded}
    assert parent[by_name["resultats"].source_id] == by_name["visites"].source_id
    assert parent[by_name["visites"].source_id] == by_name["patients"].source_id
    patients = by_name["patients"]
    column = "visites.resultats.col_3"  # the test's name (a dump without CREATE TABLE)
    assert column in patients.columns
    row = engine.fetch(f'SELECT "{column}" FROM "{patients.data_table}" WHERE _record = 3')[0][0]
    # Patient 3 had visits 5 and 6: visit 5 two results (the HIV test first), visit 6 none.
    assert row == f"{TESTS[1]} | {HIV}"
    hiv = engine.fetch(
        "SELECT count(DISTINCT _record) FROM classify_mentions WHERE source_id = ? "
        "AND category = 'hiv'",
        [patients.source_id],
    )[0][0]
    tested = {(v + 1) // 2 for v in range(1, visits + 1) if v % 5 == 0 and v % 3}
    assert hiv == len(tested)
    from ariane.read import record_sources_sql

    records = engine.fetch(f"SELECT source_id FROM ({record_sources_sql(engine)})")
    assert [r[0] for r in records] == [patients.source_id]


def test_sqlite_patients_and_analyses_end_to_end(tmp_path):
    leak = _leak(80, seed=11)
    path = tmp_path / "lims.sqlite"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE t1 (a INTEGER PRIMARY KEY, b, c, d, e)")
    connection.execute("CREATE TABLE t2 (a INTEGER PRIMARY KEY, b INTEGER, c, d)")
    connection.executemany(
        "INSERT INTO t1 VALUES (?, ?, ?, ?, ?)",
        [(i + 1, p[1], p[2], p[3], p[5]) for i, p in enumerate(leak.patients)],
    )
    number = {p[0]: i + 1 for i, p in enumerate(leak.patients)}
    connection.executemany(
        "INSERT INTO t2 (b, c, d) VALUES (?, ?, ?)",
        [(number[r[0]], r[1], r[2]) for r in leak.results],
    )
    connection.commit()
    connection.close()
    summary = pipeline.run(tmp_path / "case", pipeline.RunOptions([path])).summary
    assert (summary["rows"], summary["linked"]) == (80 + len(leak.results), len(leak.results))
    records = sum(c["records"] for c in summary["controllers"]) + summary["unattributed_records"]
    assert records == 80 and summary["unattributed_records"] == 0
    assert summary["special_categories"]["hiv"] == leak.with_hiv_test


def test_orphan_results_are_quarantined_with_their_reason(engine, tmp_path):
    leak = _leak(100, seed=13)
    orphans = [["P99991", HIV, "positif", "2021-02-02"], ["", TESTS[1], "5.1", "2021-02-03"]]
    results = leak.results[:60] + orphans + leak.results[60:]
    assert len(results) >= 50  # two orphans stay under the 5% a link tolerates
    path = tmp_path / "book.xlsx"
    _workbook(path, {"p": [PATIENT_HEADER, *leak.patients], "r": [RESULT_HEADER, *results]})
    document = pipeline.scan([path]).as_contract()
    child = document["files"][1]
    assert (child["rows"], child["quarantined"], child["linked"]) == (
        len(results) - 2,
        2,
        len(results) - 2,
    )
    with Case.ephemeral() as case:
        engine = case.engine()
        load(engine, [path])
        from ariane import classify, link

        classify.classify(engine)
        link.link(engine)
        quarantined = engine.fetch("SELECT record, reason FROM read_quarantine ORDER BY record")
    assert [r[0] for r in quarantined] == [61, 62]  # their own record numbers in the sheet
    assert all(r[1].startswith("orphan") for r in quarantined)


def test_low_cardinality_codes_and_row_numbers_make_no_link(tmp_path):
    leak = _leak(120, seed=17)
    rng = random.Random(17)
    # A unique row number 1..120 beside the patients; a survey whose answers are 1/2 codes,
    # yes/no, and dates that are birth dates of the patients.
    patients = [[str(i + 1), *p] for i, p in enumerate(leak.patients)]
    survey = [
        [rng.choice(["1", "2"]), rng.choice(["oui", "non"]), rng.choice(leak.patients)[3]]
        for _ in range(200)
    ]
    # A lookup of 12 codes numbered 1..12, all among the patients' row numbers.
    lookup = [[str(i), f"Service {i}"] for i in range(1, 13)]
    path = tmp_path / "book.xlsx"
    _workbook(
        path,
        {"p": [["n", *PATIENT_HEADER], *patients], "q": [["x", "y", "z"], *survey],
         "l": [["k", "v"], *lookup]},
    )  # fmt: skip
    document = pipeline.scan([path]).as_contract()
    assert document["linked"] == 0
    assert [f["linked_to"] for f in document["files"]] == [None, None, None]


def test_two_exports_with_the_same_columns_stay_apart(tmp_path):
    first, second = _leak(100, seed=19), _leak(60, seed=23)  # the same patient numbers
    path = tmp_path / "labs.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for name, leak in (("lab1.csv", first), ("lab2.csv", second)):
            rows = [PATIENT_HEADER, *leak.patients]
            zf.writestr(name, "\n".join(";".join(r) for r in rows) + "\n")
    document = pipeline.scan([path]).as_contract()
    assert document["linked"] == 0 and document["rows"] == 160


def _two_files(patients: Path, results: Path, leak: Leak) -> None:
    for path, rows in ((patients, [PATIENT_HEADER, *leak.patients]),
                       (results, [RESULT_HEADER, *leak.results])):  # fmt: skip
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(";".join(r) for r in rows) + "\n")


def test_files_of_one_folder_link_given_one_by_one_or_as_the_folder(tmp_path):
    """A leak's tables as one file each (``ariane run export/*.csv`` or ``export/``)."""
    leak = _leak(50, seed=29)
    export = tmp_path / "export"
    _two_files(export / "patients.csv", export / "results.csv", leak)
    for given in ([export / "patients.csv", export / "results.csv"], [export]):
        document = pipeline.scan(given).as_contract()
        assert document["linked"] == len(leak.results), given
        assert document["rows"] - document["linked"] == len(leak.patients)


def test_tables_of_files_in_different_folders_are_never_linked(tmp_path):
    leak = _leak(50, seed=29)
    patients, results = tmp_path / "a" / "patients.csv", tmp_path / "b" / "results.csv"
    _two_files(patients, results, leak)
    document = pipeline.scan([patients, results]).as_contract()
    assert document["linked"] == 0


def test_results_in_an_archive_of_csv_files_link(tmp_path):
    leak = _leak(70, seed=31)
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("a.csv", "\n".join(";".join(r) for r in [PATIENT_HEADER, *leak.patients]))
        zf.writestr("b.csv", "\n".join(";".join(r) for r in [RESULT_HEADER, *leak.results]))
    document = pipeline.scan([path]).as_contract()
    assert document["linked"] == len(leak.results)
    assert document["files"][1]["linked_to"] == 0


def test_per_lab_dumps_fold_analyses_into_patients(tmp_path):
    """Issue 5's layout of one mysqldump per lab (patients + analyses keyed by the lab's own
    patient numbers, restarting at 1): analyses fold into their patients, lab by lab."""
    from layout_leaks import BUILDERS, measure

    layout = BUILDERS["sql_dumps"](tmp_path)
    patients = sum(1 for key in layout.truth if key[0].endswith("#patients"))
    figures = measure(layout)
    assert figures.unmatched == 0
    assert figures.records == patients  # analyses are no records of their own
    assert figures.persons_error <= 0.01, figures.line()
    assert figures.unattributed <= 0.005 and figures.wrong_records == 0, figures.line()


def test_results_repeating_the_patients_names_fold_when_the_names_agree(tmp_path):
    leak = _leak(90, seed=37)
    by_number = {p[0]: p for p in leak.patients}
    results = [[r[0], by_number[r[0]][1], by_number[r[0]][2], *r[1:]] for r in leak.results]
    path = tmp_path / "book.xlsx"
    header = ["Nummer", "Name", "Vorname", "Untersuchung", "Ergebnis", "Datum"]
    _workbook(path, {"p": [PATIENT_HEADER, *leak.patients], "r": [header, *results]})
    document = pipeline.scan([path]).as_contract()
    assert document["linked"] == len(results)
    assert document["files"][1]["linked_to"] == 0


def test_another_labs_visits_numbered_alike_do_not_fold(tmp_path):
    """Lab 2's visits carry its own patient numbers, which are lab 1's too: the names of
    the persons they lead to disagree, so nothing folds."""
    first, second = _leak(90, seed=41), _leak(90, seed=43)  # same numbers, other persons
    visits = [[p[0], p[1], p[2], "2021-05-05", "NFS"] for p in second.patients for _ in (1, 2)]
    path = tmp_path / "book.xlsx"
    header = ["Nummer", "Name", "Vorname", "Datum", "Untersuchung"]
    _workbook(path, {"lab1": [PATIENT_HEADER, *first.patients], "lab2": [header, *visits]})
    document = pipeline.scan([path]).as_contract()
    assert document["linked"] == 0


def test_patient_numbers_that_lost_their_leading_zeros_still_link(tmp_path):
    """The patients sheet keeps ``000123`` as text; the results sheet holds the number."""
    leak = _leak(80, seed=47, numbers="{:08d}")
    results = [[str(int(r[0])), *r[1:]] for r in leak.results]
    path = tmp_path / "book.xlsx"
    _workbook(path, {"p": [PATIENT_HEADER, *leak.patients], "r": [RESULT_HEADER, *results]})
    document = pipeline.scan([path]).as_contract()
    assert results[0][0] != leak.results[0][0]  # the zeros are gone in the results
    assert document["linked"] == len(results) and document["quarantined"] == 0


def test_two_tables_of_the_same_persons_fold_one_way_only(tmp_path):
    """Patients and their contact details, one row each, both naming the person: either
    could be the parent; one folds into the other, never both into each other."""
    leak = _leak(80, seed=53)
    contacts = [[p[0], p[1], p[2], f"06{i:08d}"] for i, p in enumerate(leak.patients)]
    path = tmp_path / "book.xlsx"
    header = ["Nummer", "Name", "Vorname", "Telefon"]
    _workbook(path, {"p": [PATIENT_HEADER, *leak.patients], "c": [header, *contacts]})
    document = pipeline.scan([path]).as_contract()
    assert document["linked"] == 80
    assert sorted(f["linked_to"] is None for f in document["files"]) == [False, True]
    assert document["rows"] - document["linked"] == 80  # one record per person


def test_a_one_to_one_table_keyed_by_its_parents_numbers_folds_down_a_chain(tmp_path):
    # Results -> samples -> stays -> patients; one sample per stay, keyed by the stays'
    # numbers 300001.. (a run, but not the samples' own numbering from 1).
    import hostile_leaks

    built = hostile_leaks.sqlite_chain(tmp_path)
    with Case.ephemeral() as case:
        engine = case.engine()
        load(engine, built.files)
        from ariane import classify, link

        classify.classify(engine)
        link.link(engine)
        links = engine.fetch(
            "SELECT c.table_name, l.child_column, p.table_name FROM link_tables l "
            "JOIN read_sources c ON c.source_id = l.child_source_id "
            "JOIN read_sources p ON p.source_id = l.parent_source_id ORDER BY 1"
        )
        records = engine.fetch("SELECT sum(rows - linked) FROM read_sources")[0][0]
    assert sorted(links) == [
        ("prelevement", "sejour", "sejour"),
        ("resultat", "prlvt", "prelevement"),
        ("sejour", "ref_dossier", "individu"),
    ]
    assert records == built.records
