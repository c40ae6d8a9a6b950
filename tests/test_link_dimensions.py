"""A table of labs whose ids happen to be patient numbers is a dimension, not results.

A lab system's dump holds its patients, their analyses, and a small table of the labs
(controllers) that patients point to. The labs' ids are small integers, so they are all
among the patient numbers as well: the values alone would make the labs "results" of the
patients they share a number with. Everything here is built in code; the expected counts
follow from the build.
"""

from __future__ import annotations

import random

import pytest
import xlsxwriter
from faker import Faker
from stdnum import luhn

from ariane import pipeline

TESTS = ["Sérologie VIH", "Glycémie à jeun", "Numération formule sanguine", "Cholestérol total"]
CITIES = [("35000", "Rennes"), ("29200", "Brest"), ("56100", "Lorient"), ("22000", "Saint-Brieuc")]


def _finess(departement: str, n: int) -> str:
    digits = f"{departement}{n:06d}"
    return digits + luhn.calc_check_digit(digits)


def _leak(patients: int, labs: int, seed: int):
    """Patients numbered 1..n, each pointing to one of ``labs`` labs whose ids are drawn
    among 1..n (not a run: a run of row numbers is refused as a key already); analyses
    pointing to their patient; the registry of the labs."""
    rng = random.Random(seed)
    fake = Faker("fr_FR")
    fake.seed_instance(seed)
    lab_ids = sorted(rng.sample(range(2, patients, 3), labs))
    lab_rows = []
    for n, lab_id in enumerate(lab_ids):
        postal_code, city = CITIES[n % len(CITIES)]
        finess = _finess(postal_code[:2], 1000 + n)
        lab_rows.append([str(lab_id), f"Laboratoire {fake.last_name()} {city}", finess,
                         f"{n + 1} rue {fake.last_name()}", postal_code, city])  # fmt: skip
    patient_rows, analyses = [], []
    for i in range(1, patients + 1):
        birth = f"{rng.randint(1935, 2004)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        lab = rng.choice(lab_ids)
        patient_rows.append([str(i), fake.last_name().upper(), fake.first_name(), birth,
                             rng.choice("MF"), str(lab)])  # fmt: skip
        for _ in range(rng.choice([1, 1, 2, 3])):
            result = rng.choice(["positif", "négatif", f"{rng.uniform(3, 9):.1f}"])
            analyses.append([str(len(analyses) + 1), str(i), rng.choice(TESTS), result])
    registry = "controller_id,name,finess,siren,address,postal_code,city,dpo_email\n" + "".join(
        f"LAB{n:02d},{row[1]},{row[2]},,{row[3]},{row[4]},{row[5]},\n"
        for n, row in enumerate(lab_rows)
    )
    return patient_rows, lab_rows, analyses, registry


def _sql(rows: list[list[str]]) -> str:
    return ",".join("(" + ",".join(f"'{v}'" for v in row) + ")" for row in rows)


def _dump(patients, labs, analyses) -> str:
    return "\n".join([
        "-- MySQL dump 10.13",
        "CREATE TABLE `laboratoires` (`id` int, `nom` varchar(80), `finess` varchar(9), "
        "`adresse` varchar(80), `code_postal` varchar(5), `ville` varchar(40));",
        f"INSERT INTO `laboratoires` VALUES {_sql(labs)};",
        "CREATE TABLE `patients` (`id` int, `nom` varchar(50), `prenom` varchar(50), "
        "`naissance` varchar(10), `sexe` char(1), `labo` int);",
        f"INSERT INTO `patients` VALUES {_sql(patients)};",
        "CREATE TABLE `analyses` (`id` int, `patient` int, `examen` varchar(50), "
        "`resultat` varchar(20));",
        f"INSERT INTO `analyses` VALUES {_sql(analyses)};",
    ]) + "\n"  # fmt: skip


def _workbook(path, patients, labs, analyses) -> None:
    book = xlsxwriter.Workbook(str(path))
    sheets = {
        "Patients": [["N", "Nom", "Prénom", "Naissance", "Sexe", "Labo"], *patients],
        "Labos": [["Id", "Raison sociale", "FINESS", "Adresse", "CP", "Ville"], *labs],
        "Analyses": [["N", "Patient", "Examen", "Résultat"], *analyses],
    }
    for name, rows in sheets.items():
        sheet = book.add_worksheet(name)
        for r, row in enumerate(rows):
            sheet.write_row(r, 0, row)
    book.close()


@pytest.mark.parametrize("shape", ["sql", "xlsx", "sql-finess"])
def test_a_labs_table_numbered_like_patients_is_no_result_and_no_person(tmp_path, shape):
    """``sql-finess``: the patients hold their lab's FINESS rather than its id, and
    nothing points to the labs table: its columns alone (an id, then a lab's name,
    FINESS and address, nothing about health) say it is no table of results."""
    patients, labs, analyses, registry = _leak(150, 12, seed=5)
    assert all(lab[0] in {p[0] for p in patients} for lab in labs)  # the trap is set
    lab_of = {p[0]: p[5] for p in patients}  # patient number -> its lab's id, as built
    if shape == "sql-finess":
        finess = {lab[0]: lab[2] for lab in labs}
        patients = [[*p[:5], finess[p[5]]] for p in patients]
    if shape.startswith("sql"):
        path = tmp_path / "lims.sql"
        path.write_text(_dump(patients, labs, analyses), encoding="utf-8")
    else:
        path = tmp_path / "lims.xlsx"
        _workbook(path, patients, labs, analyses)
    (tmp_path / "registry.csv").write_text(registry, encoding="utf-8")
    options = pipeline.RunOptions([path], registry=tmp_path / "registry.csv")
    summary = pipeline.run(tmp_path / "case", options).summary
    assert summary["rows"] == len(patients) + len(labs) + len(analyses)
    assert summary["quarantined"] == 0
    assert summary["linked"] == len(analyses)  # the analyses, and no lab
    assert summary["persons"] == len(patients)
    records = sum(c["records"] for c in summary["controllers"]) + summary["unattributed_records"]
    # Each patient is a record; each lab's own row is one too (it names the lab, no person).
    assert records == len(patients) + len(labs)
    assert summary["unattributed_records"] <= 0.005 * summary["rows"]
    # Each patient is its own lab's: the lab's row and the patients pointing to it.
    expected = {
        f"LAB{n:02d}": 1 + sum(1 for lab in lab_of.values() if lab == row[0])
        for n, row in enumerate(labs)
    }
    assert {c["controller_id"]: c["records"] for c in summary["controllers"]} == expected


def test_lab_codes_that_read_as_icd10_codes_still_point_to_their_lab(tmp_path):
    """Patients point to their lab by codes ``L01``/``L02`` (ICD-10's shape: classify says
    conditions); all are ids of the labs table, so the labs' FINESS attributes them."""
    import hostile_leaks

    (tmp_path / "leak").mkdir()
    built = hostile_leaks.sqlite_chain(tmp_path / "leak")
    (tmp_path / "registry.csv").write_text(built.registry, encoding="utf-8")
    options = pipeline.RunOptions(built.files, registry=tmp_path / "registry.csv")
    summary = pipeline.run(tmp_path / "case", options).summary
    assert summary["persons"] == built.persons
    assert summary["unattributed_records"] <= 0.005 * summary["rows"]
    per_lab = {c["controller_id"]: c["records"] for c in summary["controllers"]}
    # Patients go to the labs in turn (hostile_leaks.people); each lab's own row is one.
    half = built.persons // 2
    assert per_lab == {"LAB01": half + 1, "LAB02": built.persons - half + 1}


def test_samples_pointing_to_their_lab_attribute_their_patient(tmp_path):
    """A normalised lab schema (issue 15, second round): the patients name no lab, their
    samples do (``labo``: ids 1..6 of a six-row labs table), the analyses hang off the
    samples. Before it, each sample's rank for its patient (1 to 5: also all among the
    labs' ids) must not be taken for the pointer. Each patient is the lab's of its samples."""
    rng = random.Random(11)
    fake = Faker("fr_FR")
    fake.seed_instance(11)
    labs = [[str(n + 1), f"Laboratoire {city}", _finess(code[:2], 2000 + n), "1 rue X", code,
             city] for n, (code, city) in enumerate(CITIES + CITIES[:2])]  # fmt: skip
    patients, samples, analyses, lab_of = [], [], [], {}
    for i in range(1, 121):
        birth = f"{rng.randint(1935, 2004)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        patients.append([str(i), fake.last_name().upper(), fake.first_name(), birth, "MF"[i % 2]])
        lab_of[i] = labs[i % 6][0]
        for rank in range(1, 2 + i % 5):
            samples.append([str(5000 + len(samples)), str(i), str(rank), lab_of[i]])
            analyses.append([str(len(analyses) + 1), samples[-1][0], rng.choice(TESTS), "positif"])
    dump = "\n".join([
        "CREATE TABLE `labos` (`id` int, `nom` varchar(80), `finess` varchar(9), "
        "`adresse` varchar(80), `code_postal` varchar(5), `ville` varchar(40));",
        f"INSERT INTO `labos` VALUES {_sql(labs)};",
        "CREATE TABLE `patients` (`id` int, `nom` varchar(50), `prenom` varchar(50), "
        "`naissance` varchar(10), `sexe` char(1));",
        f"INSERT INTO `patients` VALUES {_sql(patients)};",
        "CREATE TABLE `prelevements` (`id` int, `patient` int, `rang` int, `labo` int);",
        f"INSERT INTO `prelevements` VALUES {_sql(samples)};",
        "CREATE TABLE `analyses` (`id` int, `prelevement` int, `examen` varchar(50), "
        "`resultat` varchar(20));",
        f"INSERT INTO `analyses` VALUES {_sql(analyses)};",
    ]) + "\n"  # fmt: skip
    path = tmp_path / "lims.sql"
    path.write_text(dump, encoding="utf-8")
    registry = "controller_id,name,finess,siren,address,postal_code,city,dpo_email\n" + "".join(
        f"LAB{row[0]},{row[1]},{row[2]},,{row[3]},{row[4]},{row[5]},\n" for row in labs
    )
    (tmp_path / "registry.csv").write_text(registry, encoding="utf-8")
    options = pipeline.RunOptions([path], registry=tmp_path / "registry.csv")
    summary = pipeline.run(tmp_path / "case", options).summary
    assert summary["linked"] == len(samples) + len(analyses)
    assert summary["unattributed_records"] == 0
    expected = {f"LAB{lab[0]}": 1 + sum(v == lab[0] for v in lab_of.values()) for lab in labs}
    assert {c["controller_id"]: c["records"] for c in summary["controllers"]} == expected


def test_a_copy_of_the_patients_key_does_not_make_their_results_a_dimension(tmp_path):
    """One result per patient (a 1:1 child), and the patients' key written twice (``id``
    and ``dossier``, as a FHIR Patient's ``id`` and ``same_patient_as``): the copy points
    to no other table, so the results are no table of labs the patients point to; they
    fold (issue 15, second round: a Bundle's Observations stayed records)."""
    rng = random.Random(12)
    fake = Faker("fr_FR")
    fake.seed_instance(12)
    patients, results = [], []
    for i in range(60):
        number = str(70_000 + 7 * i)
        birth = f"{rng.randint(1935, 2004)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        patients.append([number, fake.last_name().upper(), fake.first_name(), birth, number])
        results.append([number, rng.choice(TESTS), "positif"])
    dump = "\n".join([
        "CREATE TABLE `patients` (`id` int, `nom` varchar(50), `prenom` varchar(50), "
        "`naissance` varchar(10), `dossier` int);",
        f"INSERT INTO `patients` VALUES {_sql(patients)};",
        "CREATE TABLE `examens` (`patient` int, `examen` varchar(50), `resultat` varchar(20));",
        f"INSERT INTO `examens` VALUES {_sql(results)};",
    ]) + "\n"  # fmt: skip
    path = tmp_path / "lims.sql"
    path.write_text(dump, encoding="utf-8")
    summary = pipeline.run(tmp_path / "case", pipeline.RunOptions([path])).summary
    assert summary["rows"] == len(patients) + len(results)
    assert summary["linked"] == len(results)
