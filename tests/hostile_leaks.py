"""Leaks in the exchange and database formats built as a hostile tester would (issue 15's
check on files never seen), in shapes :mod:`unseen_formats`, :mod:`layout_leaks`,
:mod:`witness_unseen` and ``ariane synth`` do not make. Persons come from Faker
(``fr_FR``), several given names each, a valid NIR; each builder writes its files with
the format's own library where one writes it (pyarrow, sqlite3, xlsxwriter; ``hl7``
parses every HL7 message written) and returns its truth, counted from how the files
were built: persons, categories, rows, records (rows that are no result of another),
and the label of each column it names.

- :func:`sqlite_chain`: results keyed by a sample, samples by a stay, stays by a patient
  (three links, none named after the table it points to), labs by a code.
- :func:`parquet_fhirish`: identifiers as a list of structs under OIDs (NIR sometimes
  second), given names as a list, results as a list of structs, the lab as a struct.
- :func:`xlsx_english`: three sheets with English headers: subjects, their results keyed
  by "Subject", the sites keyed by "Site".
- :func:`hl7_batch`: HL7 v2.3.1 ORU^R01 in an FHS/BHS batch, ``\\r\\n`` between segments,
  PD1 and NK1 (a relative's name) before PV1, ORC before OBR, several OBX and NTE, the
  NIR as the first or second repetition of PID-3, second given names in PID-5.3, two
  messages per patient.
- :func:`parquet_tables`: a folder of one Parquet file per table (patients; results keyed
  by the patient's number), as a data lake exports them.
- :func:`excel_mixed_csv`: a ``;`` CSV saved by French Excel as UTF-8 with a BOM, then
  appended to by a tool writing Windows-1252; one to three visits per patient, NIRs in
  scientific notation, labs of départements 01 and 02 whose FINESS lost its zero, dates as
  serial numbers, postal codes and phones without their zero.
- :func:`hprim_two_labs`: HPRIM Santé, one message per lab and day (two days), ``\n``
  between records, the lab's delimiters ``|!^\\&`` (``!`` repeats), the NIR in P-5,
  several given names, comments going on in ``A`` lines, in Windows-1252.
- :func:`fhir_bulk`: bulk-export NDJSON (Patient, Observation, Condition, Organization),
  ``Patient/<id>`` references, a maiden name beside the official one, birth-place
  extensions, identifiers typed ``NH`` / ``MR`` with the INS-NIR OID.

Second round (issue 15, branch ``unseen3``), by a tester who did not write the readers:

- :func:`hl7_adt_mllp`: an HL7 v2.5 interface log framed by MLLP: ADT^A04, ADT^A08 and
  ADT^A31 (addresses and phones changing between messages, the NIR known from the
  update on), NK1 next of kin (spouses who are both patients name each other), ORU^R01.
- :func:`fhir_transaction`: a transaction Bundle (``urn:uuid:`` fullUrls and references,
  the lab ``contained`` in each Patient, merged patients with ``link`` ``replaced-by``,
  ``valueCodeableConcept`` and ``component`` results, dates with time zones), checked by
  ``fhir.resources``' R4B models.
- :func:`hprim_net`: HPRIM Net 2.x (an ``H`` record names the lab) and HPRIM Net 1 (only
  the report's letterhead does), ``\r\n``, Windows-1252, ``RES`` and ``TEX`` lines.
- :func:`sqlite_without_rowid`: German headers, foreign keys declared, WITHOUT ROWID
  tables keyed by the patient's integer key (1..N), a two-row labs table.
- :func:`parquet_pandas`: one row per result written by pandas: categorical
  (dictionary-encoded) columns, nullable integers, time-zone-aware timestamps.
- :func:`xlsx_title_block`: a title, a date line and headings over merged cells above
  the header; the results in a hidden sheet.
- :func:`mysqldump_lab`, :func:`pg_copy_schema`: a normalised lab schema (labs,
  patients, samples pointing to their lab, results) dumped by ``mariadb-dump`` in Latin-1
  and by ``pg_dump`` (COPY) from a schema of its own; they raise :class:`ServiceMissing`
  when the server is not there.

``python tests/hostile_leaks.py [name...]`` runs ``ariane run`` on each and prints its
figures against the truth.
"""

from __future__ import annotations

import json
import random
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ariane.nir import make_nir
from hl7_messages import LABS, REGISTRY

NIR_OID = "1.2.250.1.213.1.4.8"


@dataclass
class Person:
    """One synthetic patient and what their records reveal."""

    i: int
    sex: int  # 1 man, 2 woman
    family: str
    given: list[str]
    birth: str  # YYYY-MM-DD
    nir: str
    street: str
    city: str
    postal_code: str
    phone: str
    lab: int  # index in LABS
    hiv: bool
    pregnant: bool
    cancer: bool


@dataclass
class Built:
    """The files of one leak and its truth."""

    files: list[Path]
    persons: int
    categories: dict[str, int]
    rows: int
    records: int
    labels: dict[str, str] = field(default_factory=dict)  # column name -> true label
    registry: str = REGISTRY  # the controllers' registry (registry.csv's text)
    #: Records rightly quarantined (a title above a sheet's header, kept aside).
    quarantined: int = 0


def people(count: int, seed: int) -> list[Person]:
    """``count`` distinct patients: every fifth with HIV, every sixth woman pregnant,
    every seventh (from the third) with a cancer; labs in turn."""
    from faker import Faker

    fake = Faker("fr_FR")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    out: list[Person] = []
    seen: set[tuple[str, str, str]] = set()
    while len(out) < count:
        i = len(out)
        sex = 2 if i % 2 == 0 else 1
        first = fake.first_name_female if sex == 2 else fake.first_name_male
        given = [first() for _ in range(1 + i % 3)]
        family = fake.last_name()
        y, m, d = 1940 + rng.randrange(65), 1 + rng.randrange(12), 1 + rng.randrange(28)
        birth = f"{y}-{m:02d}-{d:02d}"
        if (family, given[0], birth) in seen:
            continue
        seen.add((family, given[0], birth))
        dep = rng.choice(["35", "29", "22", "56"])
        out.append(
            Person(
                i=i,
                sex=sex,
                family=family,
                given=given,
                birth=birth,
                nir=make_nir(sex, y, m, dep, f"{1 + rng.randrange(300):03d}", 1 + i),
                street=fake.street_address(),
                city=fake.city(),
                postal_code=f"{dep}{rng.randrange(1000):03d}",
                phone=f"06{rng.randrange(10**8):08d}",
                lab=i % len(LABS),
                hiv=i % 5 == 0,
                pregnant=sex == 2 and i % 6 == 0,
                cancer=i % 7 == 2,
            )
        )
    return out


def _categories(ppl: list[Person]) -> dict[str, int]:
    return {
        "hiv": sum(p.hiv for p in ppl),
        "pregnancy": sum(p.pregnant for p in ppl),
        "cancer": sum(p.cancer for p in ppl),
    }


def _analyses(p: Person) -> list[tuple[str, str, str, str, str]]:
    """(code, label, value, unit, comment) of one patient's results."""
    tests = [("GLU", "Glycémie à jeun", "5.2", "mmol/L", ""),
             ("CREA", "Créatinine", "78", "µmol/L", "")]  # fmt: skip
    if p.hiv:
        tests.append(("VIH", "Sérologie VIH 1/2", "POSITIF", "", "séropositivité confirmée"))
    if p.pregnant:
        tests.append(("HCG", "Beta HCG", "12500", "UI/L", "grossesse évolutive"))
    if p.cancer:
        tests.append(("CA153", "CA 15-3", "85", "U/mL", "suivi cancer du sein"))
    return tests


# --- SQLite: a chain of three links --------------------------------------------------------
def sqlite_chain(out: Path, count: int = 80) -> Built:
    """Patients, stays (``ref_dossier``), samples (``sejour``), results (``prlvt``), labs."""
    ppl = people(count, 41)
    path = out / "sgl.db"
    con = sqlite3.connect(path)
    con.executescript(
        """
        CREATE TABLE individu (ident INTEGER PRIMARY KEY, nom_naissance TEXT, prenoms TEXT,
            date_naiss TEXT, no_secu TEXT, genre TEXT, tel TEXT, labo TEXT);
        CREATE TABLE sejour (num INTEGER PRIMARY KEY, ref_dossier INTEGER, entree TEXT,
            FOREIGN KEY (ref_dossier) REFERENCES individu(ident));
        CREATE TABLE prelevement (code_barre TEXT PRIMARY KEY, sejour INTEGER, preleve_le TEXT,
            FOREIGN KEY (sejour) REFERENCES sejour(num));
        CREATE TABLE resultat (rid INTEGER PRIMARY KEY, prlvt TEXT, analyse TEXT,
            libelle TEXT, valeur TEXT, unite TEXT, commentaire TEXT,
            FOREIGN KEY (prlvt) REFERENCES prelevement(code_barre));
        CREATE TABLE laboratoire (code TEXT PRIMARY KEY, raison_sociale TEXT, finess TEXT);
        """
    )
    for n, (finess, name) in enumerate(LABS):
        con.execute("INSERT INTO laboratoire VALUES (?, ?, ?)", (f"L{n + 1:02d}", name, finess))
    stays = samples = results = 0
    for p in ppl:
        ident = 910_000 + p.i * 17
        y, m, d = p.birth.split("-")
        con.execute(
            "INSERT INTO individu VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (ident, p.family.upper(), " ".join(p.given), f"{d}/{m}/{y}", p.nir,
             "MF"[p.sex - 1], p.phone, f"L{p.lab + 1:02d}"),
        )  # fmt: skip
        for visit in range(1 + p.i % 2):
            stays += 1
            stay = 300_000 + stays
            con.execute(
                "INSERT INTO sejour VALUES (?, ?, ?)", (stay, ident, f"2024-0{1 + visit}-15")
            )
            samples += 1
            barcode = f"B{7_000_000 + samples * 31}"
            con.execute(
                "INSERT INTO prelevement VALUES (?, ?, ?)", (barcode, stay, f"2024-0{1 + visit}-15")
            )
            for analysis in _analyses(p) if visit == 0 else _analyses(p)[:1]:
                results += 1
                con.execute(
                    "INSERT INTO resultat (prlvt, analyse, libelle, valeur, unite, commentaire) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (barcode, *analysis),
                )
    con.commit()
    con.close()
    labels = {
        "nom_naissance": "person.last_name", "prenoms": "person.first_name",
        "date_naiss": "person.birth_date", "no_secu": "id.nir", "genre": "person.sex",
        "tel": "contact.phone", "finess": "provider.finess",
        "raison_sociale": "provider.organisation", "libelle": "health.test",
        "valeur": "health.test",
    }  # fmt: skip
    rows = count + stays + samples + results + len(LABS)
    return Built([path], count, _categories(ppl), rows, count + len(LABS), labels)


# --- Parquet: FHIR-like nesting ------------------------------------------------------------
def parquet_fhirish(out: Path, count: int = 90) -> Built:
    """One row per patient: identifiers under OIDs (order varies), given names as a list."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    ppl = people(count, 42)
    rows = []
    for p in ppl:
        finess, lab = LABS[p.lab]
        ids = [
            {"system": f"urn:oid:{NIR_OID}", "value": p.nir[:13]},
            {"system": "urn:oid:1.2.250.1.71.4.2.7", "value": f"8{p.i:07d}"},
        ]
        if p.i % 4 == 1:
            ids.reverse()
        results = [
            {"code": a[0], "display": a[1], "value": a[2], "unit": a[3], "comment": a[4]}
            for a in _analyses(p)
        ]
        rows.append(
            {
                "identifier": ids,
                "name": {"family": p.family, "given": p.given},
                "gender": "female" if p.sex == 2 else "male",
                "birthDate": p.birth,
                "telecom": [{"system": "phone", "value": p.phone}],
                "managingOrganization": {"finess": finess, "display": lab},
                "results": results,
            }
        )
    path = out / "patients.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    labels = {
        "name.family": "person.last_name", "name.given": "person.first_name",
        "birthDate": "person.birth_date", "gender": "person.sex",
        f"identifier.urn:oid:{NIR_OID}.value": "id.nir",
        "telecom.phone.value": "contact.phone", "managingOrganization.finess": "provider.finess",
        "managingOrganization.display": "provider.organisation",
    }  # fmt: skip
    return Built([path], count, _categories(ppl), count, count, labels)


# --- XLSX: three linked sheets in English --------------------------------------------------
def _results_sheet(
    sheet: Any, header: list[str], ppl: list[Person], number: Callable[[Person], str]
) -> int:
    """Write each person's analyses under ``header``, keyed by ``number(person)``; return
    how many rows of results were written."""
    sheet.write_row(0, 0, header)
    count = 0
    for p in ppl:
        for analysis in _analyses(p):
            count += 1
            sheet.write_row(count, 0, [number(p), *analysis])
    return count


def _labs_sheet(sheet: Any, header: list[str], code: str) -> None:
    """Write the labs (each coded ``code`` and its rank) with their names and FINESS."""
    sheet.write_row(0, 0, header)
    for n, (finess, name) in enumerate(LABS):
        sheet.write_row(n + 1, 0, [f"{code}{n + 1}", name, finess])


def xlsx_english(out: Path, count: int = 120) -> Built:
    """Subjects, results keyed by "Subject" (the subject's number), sites by "Site"."""
    import xlsxwriter

    ppl = people(count, 43)
    path = out / "export.xlsx"
    book = xlsxwriter.Workbook(str(path))
    subjects = book.add_worksheet("Subjects")
    header = ["Subject No", "Surname", "Given names", "Date of birth", "Social security no",
              "Gender", "Mobile", "Site"]  # fmt: skip
    subjects.write_row(0, 0, header)
    for r, p in enumerate(ppl, start=1):
        y, m, d = p.birth.split("-")
        subjects.write_row(
            r, 0,
            [f"S{4000 + p.i * 7}", p.family, " ".join(p.given), f"{d}/{m}/{y}", p.nir,
             "MF"[p.sex - 1], p.phone, f"SITE-{p.lab + 1}"],
        )  # fmt: skip
    results = book.add_worksheet("Results")
    header = ["Subject", "Test", "Description", "Result", "Units", "Comment"]
    count_results = _results_sheet(results, header, ppl, lambda p: f"S{4000 + p.i * 7}")
    _labs_sheet(book.add_worksheet("Sites"), ["Site", "Laboratory", "FINESS"], "SITE-")
    book.close()
    labels = {
        "Surname": "person.last_name", "Given names": "person.first_name",
        "Date of birth": "person.birth_date", "Social security no": "id.nir",
        "Gender": "person.sex", "Mobile": "contact.phone", "Description": "health.test",
        "Laboratory": "provider.organisation", "FINESS": "provider.finess",
    }  # fmt: skip
    rows = count + count_results + len(LABS)
    return Built([path], count, _categories(ppl), rows, count + len(LABS), labels)


# --- HL7 v2.3.1 in a batch ------------------------------------------------------------------
def _escape(text: str) -> str:
    return (
        text.replace("\\", "\\E\\").replace("|", "\\F\\").replace("^", "\\S\\")
        .replace("&", "\\T\\").replace("~", "\\R\\")
    )  # fmt: skip


def _hl7_message(p: Person, visit: int, control: str) -> str:
    finess, lab = LABS[p.lab]
    y, m, d = p.birth.split("-")
    ids = [f"{7_100_000 + p.i}^^^{lab[:10]}^PI", f"{p.nir}^^^INS-NIR&{NIR_OID}&ISO^NH"]
    if p.i % 2:
        ids.reverse()
    given = p.given[0]
    second = " ".join(p.given[1:])
    kin_given = "Paul" if p.sex == 2 else "Jeanne"
    segments = [
        f"MSH|^~\\&|LIS|{_escape(lab)}^{finess}^FINEG|DPI|HOSP|2024031{visit}0830||ORU^R01|"
        f"{control}|P|2.3.1||||||8859/1",
        f"PID|1||{'~'.join(ids)}||{_escape(p.family.upper())}^{given}^{second}^^^^L||"
        f"{y}{m}{d}|{'MF'[p.sex - 1]}|||{_escape(p.street)}^^{p.city}^^{p.postal_code}^FRA||"
        f"{p.phone}",
        "PD1|||Cabinet médical^^12345",
        f"NK1|1|{_escape(p.family.upper())}^{kin_given}|SPO^Conjoint",
        f"PV1|1|O|LAB^^^{finess}||||",
        f"ORC|RE|{control}A|{control}B",
        f"OBR|1|{control}A|{control}B|BILAN^Bilan biologique^L|||2024031{visit}0745",
    ]
    tests = _analyses(p) if visit == 0 else _analyses(p)[:1]
    for n, (code, label, value, unit, comment) in enumerate(tests, start=1):
        kind = "NM" if value.replace(".", "").isdigit() else "ST"
        segments.append(f"OBX|{n}|{kind}|{code}^{_escape(label)}^L||{value}|{unit}|||||F")
        if comment:
            segments.append(f"NTE|{n}|L|{_escape(comment)}")
    return "\r\n".join(segments)


def hl7_batch(out: Path, count: int = 70) -> Built:
    """An HL7 v2.3.1 batch (FHS/BHS ... BTS/FTS), two messages for every other patient."""
    import hl7

    ppl = people(count, 44)
    messages = []
    for p in ppl:
        for visit in range(1 + p.i % 2):
            messages.append(_hl7_message(p, visit, f"C{p.i:04d}{visit}"))
    for message in messages:
        parsed = hl7.parse(message.replace("\r\n", "\r"))
        assert str(parsed.segment("PID")[5][0][0][0])  # the library reads what was written
    body = "\r\n".join(messages)
    text = (
        "FHS|^~\\&|LIS|LAB|||20240320\r\nBHS|^~\\&|LIS|LAB|||20240320\r\n"
        f"{body}\r\nBTS|{len(messages)}\r\nFTS|1\r\n"
    )
    path = out / "batch.hl7"
    path.write_bytes(text.encode("latin-1"))
    return Built([path], count, _categories(ppl), len(messages), len(messages))


# --- FHIR bulk export -----------------------------------------------------------------------
def fhir_bulk(out: Path, count: int = 80) -> Built:
    """Patient.ndjson, Observation.ndjson, Condition.ndjson, Organization.ndjson."""
    ppl = people(count, 45)
    folder = out / "bulk"
    folder.mkdir()
    orgs = [
        {"resourceType": "Organization", "id": f"org{n}", "name": name,
         "identifier": [{"system": "urn:oid:1.2.250.1.71.4.2.2", "value": finess}]}
        for n, (finess, name) in enumerate(LABS)
    ]  # fmt: skip
    patients, observations, conditions = [], [], []
    for p in ppl:
        pid = f"p{p.i:05d}"
        names = [{"use": "official", "family": p.family, "given": p.given}]
        if p.sex == 2 and p.i % 4 == 0:
            names.append({"use": "maiden", "family": p.family + "-Née", "given": p.given[:1]})
        patients.append(
            {
                "resourceType": "Patient",
                "id": pid,
                "extension": [
                    {
                        "url": "http://hl7.org/fhir/StructureDefinition/patient-birthPlace",
                        "valueAddress": {"city": p.city, "country": "FRA"},
                    },
                ],  # fmt: skip
                "identifier": [
                    {"type": {"coding": [{"code": "MR"}]}, "value": f"IPP{p.i:06d}"},
                    {
                        "type": {"coding": [{"code": "NH"}]},
                        "system": f"urn:oid:{NIR_OID}",
                        "value": p.nir[:13],
                    },
                ],  # fmt: skip
                "name": names,
                "gender": "female" if p.sex == 2 else "male",
                "birthDate": p.birth,
                "telecom": [{"system": "phone", "value": p.phone, "use": "mobile"}],
                "address": [{"line": [p.street], "city": p.city, "postalCode": p.postal_code}],
                "managingOrganization": {"reference": f"Organization/org{p.lab}"},
            }
        )
        for n, (code, label, value, unit, comment) in enumerate(_analyses(p)):
            observation: dict[str, Any] = {
                "resourceType": "Observation", "id": f"o{p.i}-{n}", "status": "final",
                "code": {"coding": [{"system": "urn:lab", "code": code, "display": label}]},
                "subject": {"reference": f"Patient/{pid}"},
                "valueString": f"{value} {unit}".strip(),
            }  # fmt: skip
            if comment:
                observation["note"] = [{"text": comment}]
            observations.append(observation)
        for flag, code, display in (("pregnant", "Z33", "Grossesse"),
                                    ("cancer", "C50.9", "Tumeur maligne du sein")):  # fmt: skip
            if getattr(p, flag):
                conditions.append(
                    {"resourceType": "Condition", "id": f"c{p.i}-{code}",
                     "subject": {"reference": f"Patient/{pid}"},
                     "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10",
                                          "code": code, "display": display}]}}
                )  # fmt: skip
    for name, resources in (
        ("Organization", orgs), ("Patient", patients), ("Observation", observations),
        ("Condition", conditions),
    ):  # fmt: skip
        lines = [json.dumps(r, ensure_ascii=False) for r in resources]
        (folder / f"{name}.ndjson").write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows = len(orgs) + len(patients) + len(observations) + len(conditions)
    return Built([folder], count, _categories(ppl), rows, count + len(orgs))


# --- Parquet: one file per table --------------------------------------------------------------
def parquet_tables(out: Path, count: int = 100) -> Built:
    """``patients.parquet`` and ``analyses.parquet`` (keyed by ``pat``) in one folder."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    ppl = people(count, 46)
    folder = out / "lake"
    folder.mkdir()
    patients, analyses = [], []
    for p in ppl:
        number = f"{2_000_000 + p.i * 101}"
        y, m, d = (int(x) for x in p.birth.split("-"))
        import datetime as dt

        patients.append(
            {"num_patient": number, "nom": p.family, "prenoms": p.given,
             "naissance": dt.date(y, m, d), "nir": p.nir, "sexe": p.sex,
             "finess_labo": LABS[p.lab][0]}
        )  # fmt: skip
        for code, label, value, unit, comment in _analyses(p):
            analyses.append(
                {"pat": number, "code": code, "libelle": label, "resultat": value,
                 "unite": unit, "commentaire": comment or None}
            )  # fmt: skip
    pq.write_table(pa.Table.from_pylist(patients), folder / "patients.parquet")
    pq.write_table(pa.Table.from_pylist(analyses), folder / "analyses.parquet")
    labels = {
        "nom": "person.last_name", "prenoms": "person.first_name",
        "naissance": "person.birth_date", "nir": "id.nir", "finess_labo": "provider.finess",
        "libelle": "health.test",
    }  # fmt: skip
    return Built([folder], count, _categories(ppl), count + len(analyses), count, labels)


# --- French Excel, then another tool ---------------------------------------------------------
def excel_mixed_csv(out: Path, count: int = 150) -> Built:
    """Visits of patients of two labs of départements 01 and 02, through French Excel."""
    import datetime as dt

    from layout_leaks import EXCEL_EPOCH, excel_number, finess_for

    ppl = people(count, 47)
    rng = random.Random(47)
    labs = [("LAB01", "Laboratoire de l'Ain", finess_for("01", rng), "01000", "Bourg-en-Bresse"),
            ("LAB02", "Biologie de l'Aisne", finess_for("02", rng), "02000", "Laon")]  # fmt: skip
    registry = "controller_id,name,finess,siren,address,postal_code,city,dpo_email\n" + "".join(
        f"{c},{n},{f},,1 rue X,{cp},{city},\n" for c, n, f, cp, city in labs
    )
    header = ["N° Dossier", "NOM", "Prénom(s)", "Né(e) le", "N° SS", "Sexe", "Code postal",
              "Ville", "Tél.", "FINESS", "Date prél.", "Commentaire"]  # fmt: skip
    utf8_lines, latin_lines = [], []
    rows = 0
    for p in ppl:
        y, m, d = (int(x) for x in p.birth.split("-"))
        serial = (dt.date(y, m, d) - EXCEL_EPOCH).days
        notes = [a[4] for a in _analyses(p) if a[4]]
        for visit in range(1 + p.i % 3):
            rows += 1
            seen = (dt.date(2024, 1 + visit, 10) - EXCEL_EPOCH).days
            cells = [
                f"D{80_000 + rows}", p.family.upper(), " ".join(p.given), str(serial),
                excel_number(p.nir), "MF"[p.sex - 1], excel_number("0" + p.postal_code[1:]),
                p.city, excel_number(p.phone), excel_number(labs[p.lab][2]), str(seen),
                ", ".join(notes) if visit == 0 else "",
            ]  # fmt: skip
            line = ";".join(cells)
            (latin_lines if p.i % 4 == 3 else utf8_lines).append(line)
    body = "\ufeff" + ";".join(header) + "\r\n" + "".join(x + "\r\n" for x in utf8_lines)
    data = body.encode("utf-8") + "".join(x + "\r\n" for x in latin_lines).encode("cp1252")
    path = out / "export_labo.csv"
    path.write_bytes(data)
    labels = {
        "NOM": "person.last_name", "Prénom(s)": "person.first_name",
        "Né(e) le": "person.birth_date", "N° SS": "id.nir", "Sexe": "person.sex",
        "Code postal": "contact.postal_code", "Ville": "contact.city", "Tél.": "contact.phone",
        "FINESS": "provider.finess", "Date prél.": "health.visit_date",
        "Commentaire": "health.note",
    }  # fmt: skip
    return Built([path], count, _categories(ppl), rows, rows, labels, registry)


# --- HPRIM Santé from two labs -----------------------------------------------------------------
def hprim_two_labs(out: Path, count: int = 60) -> Built:
    """Two days of messages of each lab; every patient on the first day, every third again."""
    ppl = people(count, 48)
    lines: list[str] = []
    records = 0
    for day in (1, 2):
        for lab_index, (finess, lab) in enumerate(LABS):
            lines.append(
                f"H|!^\\&|MSG{day}{lab_index}||{finess}^{lab}|1 rue X^^Rennes^^35000|ORU|"
                f"0299000000||DR{lab_index}^Dr Martin||P|H2.2^C|2024010{day}"
            )
            mine = [p for p in ppl if p.lab == lab_index and (day == 1 or p.i % 3 == 0)]
            for n, p in enumerate(mine, start=1):
                records += 1
                y, m, d = p.birth.split("-")
                lines.append(
                    f"P|{n}|PAT{p.i:05d}|L{p.i:05d}|{p.nir}|{p.family.upper()}^"
                    f"{' '.join(p.given)}||{y}{m}{d}|{'MF'[p.sex - 1]}||"
                    f"{p.street}^^{p.city}^^{p.postal_code}||{p.phone}"
                )
                lines.append(f"OBR|1|D{n}|E{n}||^^^BIO^Bilan|||2024010{day}")
                tests = _analyses(p) if day == 1 else _analyses(p)[:1]
                for k, (code, label, value, unit, comment) in enumerate(tests, start=1):
                    lines.append(f"OBX|{k}|ST|{code}^{label}^L||{value}|{unit}|||N")
                    if comment:  # a comment cut by the 220-character rule: A goes on
                        lines.append(f"C|{k}|L|{comment[:8]}")
                        lines.append(f"A|{comment[8:]}")
            lines.append("L|1|||1")
    path = out / "resultats.hpr"
    path.write_bytes(("\n".join(lines) + "\n").encode("cp1252"))
    return Built([path], count, _categories(ppl), records, records)


# === Second round (issue 15, branch ``unseen3``) ============================================
class ServiceMissing(RuntimeError):
    """A database server a builder needs (MariaDB, PostgreSQL) cannot be reached."""


def _mllp(message: str) -> bytes:
    return b"\x0b" + message.encode("latin-1") + b"\x1c\r"


def _moved(p: Person, n: int) -> tuple[str, str, str]:
    """Address and phone of ``p`` after their ``n``-th move (n = 0: as registered)."""
    if n == 0:
        return p.street, p.postal_code, p.phone
    return f"{n * 3 + p.i % 40} impasse des Lilas", p.postal_code[:2] + "100", f"07{p.i:04d}{n:04d}"


def hl7_adt_mllp(out: Path, count: int = 70) -> Built:
    """An HL7 v2.5 interface log framed by MLLP: ADT^A04 registrations, ADT^A08 updates
    (every other patient moved: new address and phone) and ADT^A31 (every third: another
    phone), then ORU^R01 results. Each ADT carries NK1 segments: patients are paired as
    spouses, each naming the other (name, phone, address) as next of kin, and a parent of
    the same family name with a birth date in NK1-16. Every fifth patient's registration
    knows the NIR; the others give it from their update on (the IPP in PID-3 always)."""
    import hl7

    ppl = people(count, 51)
    messages: list[str] = []

    def pid(p: Person, move: int, with_nir: bool) -> str:
        finess, lab = LABS[p.lab]
        street, postal, phone = _moved(p, move)
        y, m, d = p.birth.split("-")
        ids = [f"{500_000 + p.i * 13}^^^{finess}&1.2.250.1.71.4.2.2&ISO^PI"]
        if with_nir:
            ids.append(f"{p.nir[:13]}^^^ASIP-SANTE-INS-NIR&{NIR_OID}&ISO^INS")
        return (
            f"PID|1||{'~'.join(ids)}||{_escape(p.family.upper())}^{_escape(p.given[0])}^"
            f"{_escape(' '.join(p.given[1:]))}^^^^L||{y}{m}{d}|{'MF'[p.sex - 1]}|||"
            f"{_escape(street)}^^{_escape(p.city)}^^{postal}^FRA^H||{phone}^PRN^CP~^NET^Internet^"
            f"p{p.i}@exemple.fr"
        )

    def nk1(p: Person, move: int) -> list[str]:
        spouse = ppl[p.i ^ 1] if (p.i ^ 1) < count else ppl[0]
        street, postal, phone = _moved(spouse, move)
        parent_given = "Monique" if p.i % 2 else "Gérard"
        return [
            f"NK1|1|{_escape(spouse.family.upper())}^{_escape(spouse.given[0])}|SPO^Conjoint^HL70063|"
            f"{_escape(street)}^^{_escape(spouse.city)}^^{postal}^FRA|{phone}",
            f"NK1|2|{_escape(p.family.upper())}^{parent_given}|PAR^Parent^HL70063|"
            f"{_escape(p.street)}^^{_escape(p.city)}^^{p.postal_code}^FRA|0299{p.i:06d}"
            f"||||||||||||19{40 + p.i % 10}0{1 + p.i % 9}15",
        ]

    def msh(event: str, control: str, when: str) -> str:
        return (
            f"MSH|^~\\&|GAM|HOPITAL|LIS|LABO|{when}||ADT^{event}^ADT_A01|{control}|P|2.5|||"
            "AL|NE|FRA|8859/1"
        )

    for p in ppl:
        finess, _lab = LABS[p.lab]
        registered = p.i % 5 == 0
        messages.append(
            "\r".join(
                [msh("A04", f"A{p.i:04d}", "20240301101500"),
                 "EVN|A04|20240301101500", pid(p, 0, registered), *nk1(p, 0),
                 f"PV1|1|O|LAB^^^{finess}|||||||||||||||||"]
            )
        )  # fmt: skip
        if p.i % 2 == 0:
            messages.append(
                "\r".join(
                    [msh("A08", f"U{p.i:04d}", "20240305090000"), "EVN|A08|20240305090000",
                     pid(p, 1, True), *nk1(p, 1), "PV1|1|O"]
                )
            )  # fmt: skip
        if p.i % 3 == 0:
            messages.append(
                "\r".join(
                    [msh("A31", f"V{p.i:04d}", "20240306090000"), "EVN|A31|20240306090000",
                     pid(p, 2, True)]
                )
            )  # fmt: skip
        segments = [
            f"MSH|^~\\&|LIS|{_escape(LABS[p.lab][1])}^{finess}^FINEG|DPI|HOPITAL|20240310083000||"
            f"ORU^R01^ORU_R01|R{p.i:04d}|P|2.5|||||FRA|8859/1",
            pid(p, 2 if p.i % 3 == 0 else (1 if p.i % 2 == 0 else 0), True),
            f"OBR|1|O{p.i}|F{p.i}|BIO^Biochimie^L|||20240310074500",
        ]
        for n, (code, label, value, unit, comment) in enumerate(_analyses(p), start=1):
            segments.append(f"OBX|{n}|ST|{code}^{_escape(label)}^L||{_escape(value)}|{unit}|||||F")
            if comment:
                segments.append(f"NTE|{n}|L|{_escape(comment)}")
        messages.append("\r".join(segments))
    for message in messages:
        parsed = hl7.parse(message)
        assert str(parsed.segment("PID")[5][0][0])  # the library reads what was written
    path = out / "interface.log"
    path.write_bytes(b"".join(_mllp(m) for m in messages))
    labels = {
        "pid_family_name": "person.last_name", "pid_given_name": "person.first_name",
        "pid_birth_date": "person.birth_date", "pid_nir": "id.nir", "pid_phone": "contact.phone",
        "pid_street": "contact.street", "pid_postal_code": "contact.postal_code",
        "pid_city": "contact.city", "pid_email": "contact.email",
        # A relative's name, address and phone: said of a third party, never the patient's.
        "nk1_next_of_kin": "health.note",
    }  # fmt: skip
    return Built([path], count, _categories(ppl), len(messages), len(messages), labels)


def fhir_transaction(out: Path, count: int = 60) -> Built:
    """A FHIR R4 transaction Bundle (checked by ``fhir.resources``' R4B models): ``urn:uuid:``
    fullUrls and references, the lab as a resource ``contained`` in each Patient
    (``#lab``), every tenth patient also present as the old record merged into the new one
    (``active: false``, ``link`` ``replaced-by``; another IPP, no NIR, an old address and
    no phone), results as
    ``valueCodeableConcept`` (HIV, pregnancy test) or panels of ``component``, dates with
    time zones."""
    import uuid

    from fhir.resources.R4B.bundle import Bundle

    ppl = people(count, 52)
    rng = random.Random(52)
    entries: list[dict[str, Any]] = []
    patients = 0

    def url() -> str:
        return f"urn:uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}"

    def entry(resource: dict[str, Any], full_url: str) -> None:
        request = {"method": "POST", "url": resource["resourceType"]}
        entries.append({"fullUrl": full_url, "resource": resource, "request": request})

    def patient(p: Person, ipp: str, extra: dict[str, Any]) -> dict[str, Any]:
        finess, lab = LABS[p.lab]
        return {
            "resourceType": "Patient",
            "contained": [
                {
                    "resourceType": "Organization",
                    "id": "lab",
                    "name": lab,
                    "identifier": [{"system": "urn:oid:1.2.250.1.71.4.2.2", "value": finess}],
                }
            ],  # fmt: skip
            "identifier": [
                {
                    "use": "official",
                    "system": f"urn:oid:{NIR_OID}",
                    "value": p.nir[:13],
                    "type": {
                        "coding": [
                            {
                                "system": "http://interopsante.org/fhir/CodeSystem/fr-v2-0203",
                                "code": "INS-NIR",
                            }
                        ]
                    },
                },
                {
                    "use": "usual",
                    "system": "urn:oid:1.2.250.1.999.1.1.1",
                    "value": ipp,
                    "type": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                                "code": "PI",
                            }
                        ]
                    },
                },
            ],  # fmt: skip
            "name": [{"use": "official", "family": p.family, "given": p.given}],
            "gender": "female" if p.sex == 2 else "male",
            "birthDate": p.birth,
            "telecom": [{"system": "phone", "value": p.phone, "use": "mobile"}],
            "address": [
                {
                    "use": "home",
                    "line": [p.street],
                    "city": p.city,
                    "postalCode": p.postal_code,
                    "country": "FR",
                }
            ],  # fmt: skip
            "managingOrganization": {"reference": "#lab"},
            **extra,
        }

    for p in ppl:
        current = url()
        entry(patient(p, f"{300_000 + p.i}", {"active": True}), current)
        patients += 1
        if p.i % 10 == 3:
            old = url()
            link = [{"other": {"reference": current}, "type": "replaced-by"}]
            merged = patient(p, f"{900_000 + p.i}", {"active": False, "link": link})
            # The record merged away was made before the NIR was known, at an old address.
            merged["identifier"] = merged["identifier"][1:]
            merged["address"][0].update(line=["12 rue Ancienne"], postalCode="35000", city="Rennes")
            merged["telecom"] = []
            entry(merged, old)
            patients += 1
        when = f"2024-03-{1 + p.i % 27:02d}T0{7 + p.i % 3}:15:00+01:00"
        panel = {
            "resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "24320-4",
                                 "display": "Ionogramme sanguin"}]},
            "subject": {"reference": current}, "effectiveDateTime": when,
            "component": [
                {"code": {"coding": [{"system": "http://loinc.org", "code": "2951-2",
                                      "display": "Sodium"}]},
                 "valueQuantity": {"value": 140, "unit": "mmol/L"}},
                {"code": {"coding": [{"system": "http://loinc.org", "code": "2823-3",
                                      "display": "Potassium"}]},
                 "valueQuantity": {"value": 4.1, "unit": "mmol/L"}},
            ],
        }  # fmt: skip
        entry(panel, url())
        concepts = []
        if p.hiv:
            concepts.append(("7917-8", "HIV 1 Ab [Presence] in Serum", "10828004", "Positive"))
        if p.pregnant:
            concepts.append(("2106-3", "Choriogonadotropin (pregnancy test) [Presence] in Urine",
                             "10828004", "Positive"))  # fmt: skip
        for code, display, answer, answer_display in concepts:
            entry(
                {"resourceType": "Observation", "status": "final",
                 "code": {"coding": [{"system": "http://loinc.org", "code": code,
                                      "display": display}]},
                 "subject": {"reference": current}, "effectiveDateTime": when,
                 "issued": when.replace("+01:00", "Z").replace("T0", "T1"),
                 "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct",
                                                      "code": answer,
                                                      "display": answer_display}]}},
                url(),
            )  # fmt: skip
        if p.cancer:
            entry(
                {"resourceType": "Condition", "subject": {"reference": current},
                 "recordedDate": when,
                 "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10",
                                      "code": "C18.7",
                                      "display": "Malignant neoplasm of sigmoid colon"}]}},
                url(),
            )  # fmt: skip
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    Bundle.model_validate(bundle)  # the library holds it a valid bundle
    path = out / "transaction.json"
    path.write_text(json.dumps(bundle, ensure_ascii=False, indent=1), encoding="utf-8")
    labels = {
        "family_name": "person.last_name", "given_name": "person.first_name",
        "birth_date": "person.birth_date", "gender": "person.sex", "nir": "id.nir",
        "phone": "contact.phone", "postal_code": "contact.postal_code", "city": "contact.city",
        # The merged record's survivor: another record of the file, no member number.
        "same_patient_as": "id.internal",
    }  # fmt: skip
    return Built([path], count, _categories(ppl), len(entries), patients, labels)


def hprim_net(out: Path, count: int = 60) -> Built:
    """HPRIM Net reports as a physician's software receives them (``\\r\\n``, Windows-1252),
    one file per lab: twelve header lines, the report's text, ``****LAB****`` with ``RES``
    and ``TEX`` lines, ``****FINLAB****``, ``****FIN****``, ``****FINFICHIER****`` at the
    end. The first lab writes HPRIM Net 2.x (an ``H`` record of version ``H2.4`` naming it
    and its FINESS before the reports), the second HPRIM Net 1 (no ``H`` record: its name
    and FINESS only in each report's letterhead). Every third patient has a second report;
    every fourth report leaves the second address line empty."""
    ppl = people(count, 53)
    reports = 0
    files = []
    for lab_index, (finess, lab) in enumerate(LABS):
        lines: list[str] = []
        if lab_index == 0:
            lines.append(
                f"H|~^\\&|HPRIM_{lab_index}||{finess}^{lab}|2 rue de la Gare^^Rennes^^35000|ORU|"
                f"0299000000||DRMARTIN^Docteur MARTIN Alain||P|H2.4^C|20240402"
            )
        for day in (1, 2):
            for p in ppl:
                if p.lab != lab_index or (day == 2 and p.i % 3):
                    continue
                reports += 1
                y, m, d = p.birth.split("-")
                lines += [
                    f"{p.i + 1000}", p.family.upper(), " ".join(p.given), p.street,
                    "" if reports % 4 == 0 else "Bâtiment B",
                    f"{p.postal_code} {p.city.upper()}", f"{d}/{m}/{y}", p.nir,
                    f"{2400000 + reports}", f"0{day}/04/2024", "DRMARTIN",
                    "Docteur MARTIN Alain",
                    f"{lab} - FINESS {finess}", "Compte rendu d'analyses de biologie médicale",
                    "",
                ]  # fmt: skip
                tests = _analyses(p) if day == 1 else _analyses(p)[:1]
                lines += [
                    f"{label} : {value} {unit}".rstrip() for _c, label, value, unit, _n in tests
                ]
                lines += [comment.capitalize() for *_rest, comment in tests if comment]
                lines.append("****LAB****")
                for code, label, value, unit, comment in tests:
                    kind = "N" if value.replace(".", "").isdigit() else "A"
                    lines.append(f"RES|{label}|{code}|{kind}|{value}|{unit}|||N|F")
                    if comment:
                        lines.append(f"TEX|{comment}")
                lines += ["****FINLAB****", "****FIN****"]
        if lab_index == 0:
            lines.append("L|1|||1")
        lines.append("****FINFICHIER****")
        path = out / f"HPRIM_20240402_{lab_index + 1}.hpr"
        path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
        files.append(path)
    labels = {
        "hprim_family_name": "person.last_name", "hprim_given_name": "person.first_name",
        "hprim_birth_date": "person.birth_date", "hprim_nir": "id.nir",
        "hprim_address_1": "contact.street", "hprim_postal_code": "contact.postal_code",
        "hprim_city": "contact.city", "hprim_prescriber": "provider.physician",
        "hprim_results": "health.test", "hprim_report_text": "health.note",
        "h_sending_lab": "provider.organisation", "h_sending_code": "provider.finess",
        # The lab's own address and phone (the H record) are no patient's contact.
        "h_sending_lab_address": "other", "h_sending_lab_phone": "other",
    }  # fmt: skip
    return Built(files, count, _categories(ppl), reports, reports, labels)


def sqlite_without_rowid(out: Path, count: int = 90) -> Built:
    """A German-headed SQLite database with foreign keys declared: ``patient`` keyed
    1..N (AUTOINCREMENT), ``aufenthalt``, ``befund`` and ``diagnose`` (WITHOUT ROWID, their
    primary key starting with the patient's integer key), and ``labor`` referenced by the
    patient's ``labor_id``."""
    ppl = people(count, 54)
    path = out / "klinik.sqlite"
    con = sqlite3.connect(path)
    con.executescript(
        """
        PRAGMA foreign_keys = ON;
        CREATE TABLE labor (labor_id INTEGER PRIMARY KEY, bezeichnung TEXT NOT NULL,
            finess TEXT NOT NULL);
        CREATE TABLE patient (pat_id INTEGER PRIMARY KEY AUTOINCREMENT, nachname TEXT,
            vorname TEXT, geburtsdatum TEXT, versicherungsnummer TEXT, geschlecht TEXT,
            strasse TEXT, plz TEXT, ort TEXT, telefon TEXT,
            labor_id INTEGER NOT NULL REFERENCES labor(labor_id));
        CREATE TABLE aufenthalt (pat_id INTEGER NOT NULL REFERENCES patient(pat_id),
            lfd_nr INTEGER NOT NULL, aufnahme TEXT, entlassung TEXT,
            PRIMARY KEY (pat_id, lfd_nr)) WITHOUT ROWID;
        CREATE TABLE befund (pat_id INTEGER NOT NULL REFERENCES patient(pat_id),
            lfd_nr INTEGER NOT NULL, analyt TEXT, bezeichnung TEXT, ergebnis TEXT,
            einheit TEXT, bemerkung TEXT, PRIMARY KEY (pat_id, lfd_nr)) WITHOUT ROWID;
        CREATE TABLE diagnose (pat_id INTEGER NOT NULL REFERENCES patient(pat_id),
            icd10 TEXT NOT NULL, text TEXT, PRIMARY KEY (pat_id, icd10)) WITHOUT ROWID;
        """
    )
    for n, (finess, name) in enumerate(LABS, start=1):
        con.execute("INSERT INTO labor VALUES (?, ?, ?)", (n, name, finess))
    stays = results = diagnoses = 0
    for p in ppl:
        y, m, d = p.birth.split("-")
        cursor = con.execute(
            "INSERT INTO patient (nachname, vorname, geburtsdatum, versicherungsnummer,"
            " geschlecht, strasse, plz, ort, telefon, labor_id) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (p.family, " ".join(p.given), f"{d}.{m}.{y}", p.nir, "wm"[p.sex - 1], p.street,
             p.postal_code, p.city, p.phone, p.lab + 1),
        )  # fmt: skip
        key = cursor.lastrowid
        for visit in range(1 + p.i % 2):
            stays += 1
            con.execute("INSERT INTO aufenthalt VALUES (?, ?, ?, ?)",
                        (key, visit + 1, f"2024-0{visit + 1}-03",
                         f"2024-0{visit + 1}-05"))  # fmt: skip
        for n, analysis in enumerate(_analyses(p), start=1):
            results += 1
            con.execute("INSERT INTO befund VALUES (?, ?, ?, ?, ?, ?, ?)", (key, n, *analysis))
        for flag, icd, text in (("pregnant", "Z34.9", "Überwachung einer normalen Schwangerschaft"),
                                ("cancer", "C50.4", "Bösartige Neubildung der Brustdrüse"),
                                ("hiv", "B24", "HIV-Krankheit")):  # fmt: skip
            if getattr(p, flag):
                diagnoses += 1
                con.execute("INSERT INTO diagnose VALUES (?, ?, ?)", (key, icd, text))
    con.commit()
    assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    con.close()
    labels = {
        "nachname": "person.last_name", "vorname": "person.first_name",
        "geburtsdatum": "person.birth_date", "versicherungsnummer": "id.nir",
        "geschlecht": "person.sex", "strasse": "contact.street", "plz": "contact.postal_code",
        "ort": "contact.city", "telefon": "contact.phone", "finess": "provider.finess",
        "ergebnis": "health.test",
    }  # fmt: skip
    rows = len(LABS) + count + stays + results + diagnoses
    return Built([path], count, _categories(ppl), rows, count + len(LABS), labels)


def parquet_pandas(out: Path, count: int = 80) -> Built:
    """One row per result, the patient repeated on each (a denormalised extract written by
    pandas): categorical columns (dictionary-encoded in Parquet), nullable integers and
    strings with gaps, a birth date as a timestamp at midnight in Paris, the sampling time as a
    time-zone-aware timestamp."""
    import pandas as pd

    ppl = people(count, 55)
    frame: dict[str, list[Any]] = {k: [] for k in (
        "PatientKey", "FamilyName", "Forenames", "DOB", "SocialSecurityNo", "Sex", "Phone",
        "Postcode", "Town", "SampledAt", "AssayCode", "AssayName", "NumericValue", "TextValue",
        "Unit", "Remark", "SiteFINESS")}  # fmt: skip
    for p in ppl:
        for n, (code, label, value, unit, comment) in enumerate(_analyses(p)):
            numeric = value.replace(".", "").isdigit()
            row = {
                "PatientKey": 70_000 + p.i * 3, "FamilyName": p.family,
                "Forenames": " ".join(p.given), "DOB": pd.Timestamp(p.birth, tz="Europe/Paris"),
                "SocialSecurityNo": p.nir, "Sex": "FM"[p.sex % 2],
                "Phone": p.phone if p.i % 6 else None, "Postcode": p.postal_code,
                "Town": p.city,
                "SampledAt": pd.Timestamp(f"2024-02-{1 + p.i % 28:02d} 0{7 + n % 3}:30",
                                          tz="Europe/Paris"),
                "AssayCode": code, "AssayName": label,
                "NumericValue": round(float(value)) if numeric else None,
                "TextValue": None if numeric else value, "Unit": unit or None,
                "Remark": comment or None, "SiteFINESS": LABS[p.lab][0],
            }  # fmt: skip
            for key, cell in row.items():
                frame[key].append(cell)
    data = pd.DataFrame(frame)
    data["PatientKey"] = data["PatientKey"].astype("Int64")
    data["NumericValue"] = data["NumericValue"].astype("Int64")
    for column in ("Sex", "AssayCode", "AssayName", "Unit", "SiteFINESS", "Town"):
        data[column] = data[column].astype("category")
    for column in ("Phone", "TextValue", "Remark"):
        data[column] = data[column].astype("string")
    path = out / "extract.parquet"
    data.to_parquet(path, engine="pyarrow", index=False)
    labels = {
        "FamilyName": "person.last_name", "Forenames": "person.first_name",
        "DOB": "person.birth_date", "SocialSecurityNo": "id.nir", "Sex": "person.sex",
        "Phone": "contact.phone", "Postcode": "contact.postal_code", "Town": "contact.city",
        "SampledAt": "health.visit_date", "AssayName": "health.test",
        "SiteFINESS": "provider.finess", "Remark": "health.note",
    }  # fmt: skip
    return Built([path], count, _categories(ppl), len(data), len(data), labels)


def xlsx_title_block(out: Path, count: int = 100) -> Built:
    """A workbook as a lab's staff shapes it: the patients sheet opens with a title, a date
    line, a blank row and a row of merged group headings ("Identité", "Coordonnées",
    "Prise en charge") above the real header; the results sit in a hidden sheet keyed by
    the file number; the labs in a third sheet."""
    import datetime as dt

    import xlsxwriter

    ppl = people(count, 56)
    path = out / "suivi_patients.xlsx"
    book = xlsxwriter.Workbook(str(path))
    bold = book.add_format({"bold": True})
    merged = book.add_format({"bold": True, "align": "center"})
    dates = book.add_format({"num_format": "dd/mm/yyyy"})
    sheet = book.add_worksheet("Patients")
    sheet.write(0, 0, "Laboratoire d'analyses — suivi des patients", bold)
    sheet.write(1, 0, "Extraction du 14/03/2024, usage interne")
    sheet.merge_range(3, 0, 3, 4, "Identité", merged)
    sheet.merge_range(3, 5, 3, 7, "Coordonnées", merged)
    sheet.merge_range(3, 8, 3, 9, "Prise en charge", merged)
    header = ["N° de dossier", "Nom de famille", "Prénoms", "Date de naissance",
              "Numéro de sécurité sociale", "Adresse", "CP", "Commune", "Code labo",
              "Médecin"]  # fmt: skip
    sheet.write_row(4, 0, header, bold)
    for r, p in enumerate(ppl, start=5):
        y, m, d = (int(x) for x in p.birth.split("-"))
        sheet.write_row(r, 0, [f"DOS-{24_000 + p.i * 9}", p.family, " ".join(p.given)])
        sheet.write_datetime(r, 3, dt.datetime(y, m, d), dates)
        sheet.write_row(r, 4, [p.nir, p.street, p.postal_code, p.city, f"LB{p.lab + 1}",
                               f"Dr {['Lemoine', 'Caradec', 'Le Goff'][p.i % 3]}"])  # fmt: skip
    results = book.add_worksheet("Résultats")
    header = ["Dossier", "Code", "Analyse", "Résultat", "Unité", "Observation"]
    count_results = _results_sheet(results, header, ppl, lambda p: f"DOS-{24_000 + p.i * 9}")
    results.hide()
    _labs_sheet(book.add_worksheet("Labos"), ["Code labo", "Raison sociale", "N° FINESS"], "LB")
    book.close()
    labels = {
        "Nom de famille": "person.last_name", "Prénoms": "person.first_name",
        "Date de naissance": "person.birth_date", "Numéro de sécurité sociale": "id.nir",
        "Adresse": "contact.street", "CP": "contact.postal_code", "Commune": "contact.city",
        "Médecin": "provider.physician", "Analyse": "health.test",
        "Raison sociale": "provider.organisation", "N° FINESS": "provider.finess",
    }  # fmt: skip
    rows = count + count_results + len(LABS)
    # The title, the date line and the headings of groups: above the header, no records.
    return Built([path], count, _categories(ppl), rows, count + len(LABS), labels, quarantined=3)


def _lab_schema(ppl: list[Person]) -> tuple[list[tuple[Any, ...]], ...]:
    """Rows of a normalised lab schema: labs, patients, samples, results (ids from 1)."""
    labs = [(n, name, finess) for n, (finess, name) in enumerate(LABS, start=1)]
    patients, samples, results = [], [], []
    for p in ppl:
        y, m, d = p.birth.split("-")
        patients.append((p.i + 1, p.family.upper(), " ".join(p.given), f"{y}-{m}-{d}", p.nir,
                         "MF"[p.sex - 1], p.street, p.postal_code, p.city, p.phone))  # fmt: skip
        for visit in range(1 + p.i % 2):
            sample = len(samples) + 1
            samples.append(
                (sample, p.i + 1, p.lab + 1, f"2024-0{visit + 1}-1{p.i % 10} 08:1{visit}:00")
            )
            for code, label, value, unit, comment in (
                _analyses(p) if visit == 0 else _analyses(p)[:2]
            ):
                results.append(
                    (len(results) + 1, sample, code, label, value, unit, comment or None)
                )
    return labs, patients, samples, results


_LAB_LABELS = {
    "nom": "person.last_name", "prenoms": "person.first_name", "naissance": "person.birth_date",
    "nir": "id.nir", "adresse": "contact.street", "code_postal": "contact.postal_code",
    "ville": "contact.city", "telephone": "contact.phone",
    "raison_sociale": "provider.organisation",
    "finess": "provider.finess", "libelle": "health.test",
}  # fmt: skip


def _sql_literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("\\", "\\\\").replace("'", "''") + "'"


def _server(command: list[str], what: str) -> None:
    import subprocess

    try:
        done = subprocess.run(command, capture_output=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ServiceMissing(f"{what} not reachable ({type(exc).__name__})") from None
    if done.returncode:
        raise ServiceMissing(f"{what} not reachable (exit {done.returncode})")


def mysqldump_lab(out: Path, count: int = 80) -> Built:
    """``mariadb-dump --extended-insert`` of a normalised lab schema whose tables are
    ``latin1`` and dumped as such (``--default-character-set=latin1``: the file's bytes
    are Latin-1): ``laboratoires``, ``patients``, ``prelevements`` (patient, lab),
    ``resultats`` (sample), French headers."""
    import subprocess
    import uuid

    ppl = people(count, 57)
    labs, patients, samples, results = _lab_schema(ppl)
    base = f"ariane_h_{uuid.uuid4().hex[:8]}"
    client = ["mariadb", "-h127.0.0.1", "-P3306", "-uroot", "--default-character-set=utf8mb4"]
    _server([*client, "-e", "SELECT 1"], "MariaDB at 127.0.0.1:3306")
    script = [
        f"CREATE DATABASE {base} CHARACTER SET latin1;", f"USE {base};",
        "CREATE TABLE laboratoires (id INT PRIMARY KEY, raison_sociale VARCHAR(120),"
        " finess CHAR(9)) DEFAULT CHARSET=latin1;",
        "CREATE TABLE patients (id INT AUTO_INCREMENT PRIMARY KEY, nom VARCHAR(80),"
        " prenoms VARCHAR(120), naissance DATE, nir CHAR(15), sexe CHAR(1), adresse VARCHAR(200),"
        " code_postal CHAR(5), ville VARCHAR(80), telephone VARCHAR(20)) DEFAULT CHARSET=latin1;",
        "CREATE TABLE prelevements (id INT PRIMARY KEY, patient_id INT NOT NULL, labo_id INT,"
        " preleve_le DATETIME, FOREIGN KEY (patient_id) REFERENCES patients(id),"
        " FOREIGN KEY (labo_id) REFERENCES laboratoires(id)) DEFAULT CHARSET=latin1;",
        "CREATE TABLE resultats (id INT PRIMARY KEY, prelevement_id INT NOT NULL,"
        " code VARCHAR(10), libelle VARCHAR(120), valeur VARCHAR(40), unite VARCHAR(20),"
        " commentaire TEXT, FOREIGN KEY (prelevement_id) REFERENCES prelevements(id))"
        " DEFAULT CHARSET=latin1;",
    ]  # fmt: skip
    for table, rows in (("laboratoires", labs), ("patients", patients),
                        ("prelevements", samples), ("resultats", results)):  # fmt: skip
        for row in rows:
            script.append(f"INSERT INTO {table} VALUES ({', '.join(map(_sql_literal, row))});")
    try:
        subprocess.run(client, input="\n".join(script).encode(), check=True, capture_output=True)
        path = out / "labo_dump.sql"
        with path.open("wb") as dump:
            subprocess.run(
                ["mariadb-dump", "-h127.0.0.1", "-P3306", "-uroot", "--extended-insert",
                 "--default-character-set=latin1", "--net-buffer-length=4096", base],
                stdout=dump, check=True,
            )  # fmt: skip
    finally:
        subprocess.run([*client, "-e", f"DROP DATABASE IF EXISTS {base}"], capture_output=True)
    rows = len(labs) + len(patients) + len(samples) + len(results)
    return Built([path], count, _categories(ppl), rows, len(labs) + count, dict(_LAB_LABELS))


def pg_copy_schema(out: Path, count: int = 80) -> Built:
    """``pg_dump`` (plain, COPY) of the same normalised schema in a schema of its own
    (``labo_<hex>``, not ``public``), with foreign keys, a sequence behind the patients'
    ids, ``timestamptz`` sampling times and NULLs (``\\N``) in comments."""
    import subprocess
    import uuid

    ppl = people(count, 58)
    labs, patients, samples, results = _lab_schema(ppl)
    schema = f"labo_{uuid.uuid4().hex[:8]}"
    psql = ["psql", "-h", "127.0.0.1", "-p", "5432", "-U", "postgres", "-d", "test",
            "-v", "ON_ERROR_STOP=1", "-q"]  # fmt: skip
    _server([*psql, "-c", "SELECT 1"], "PostgreSQL at 127.0.0.1:5432")
    script = [
        f"CREATE SCHEMA {schema};", f"SET search_path TO {schema};",
        "CREATE TABLE laboratoires (id integer PRIMARY KEY, raison_sociale text, finess char(9));",
        "CREATE TABLE patients (id serial PRIMARY KEY, nom text, prenoms text, naissance date,"
        " nir char(15), sexe char(1), adresse text, code_postal char(5), ville text,"
        " telephone text);",
        "CREATE TABLE prelevements (id integer PRIMARY KEY, patient_id integer NOT NULL"
        " REFERENCES patients(id), labo_id integer REFERENCES laboratoires(id),"
        " preleve_le timestamptz);",
        "CREATE TABLE resultats (id integer PRIMARY KEY, prelevement_id integer NOT NULL"
        " REFERENCES prelevements(id), code text, libelle text, valeur text, unite text,"
        " commentaire text);",
    ]  # fmt: skip
    for table, rows in (("laboratoires", labs), ("patients", patients),
                        ("prelevements", samples), ("resultats", results)):  # fmt: skip
        for row in rows:
            values = ", ".join(_sql_literal(v).replace("\\\\", "\\") for v in row)
            script.append(f"INSERT INTO {table} VALUES ({values});")
    script.append(f"SELECT setval('patients_id_seq', {count});")
    try:
        subprocess.run(psql, input="\n".join(script).encode(), check=True, capture_output=True)
        path = out / "labo.pgsql"
        with path.open("wb") as dump:
            subprocess.run(
                ["pg_dump", "-h", "127.0.0.1", "-p", "5432", "-U", "postgres", "-n", schema,
                 "test"],
                stdout=dump, check=True,
            )  # fmt: skip
    finally:
        subprocess.run(
            [*psql, "-c", f"DROP SCHEMA IF EXISTS {schema} CASCADE"], capture_output=True
        )
    rows = len(labs) + len(patients) + len(samples) + len(results)
    return Built([path], count, _categories(ppl), rows, len(labs) + count, dict(_LAB_LABELS))


#: The second round's leaks (those needing a server raise :class:`ServiceMissing`).
SECOND_ROUND = (
    "hl7_adt_mllp", "fhir_transaction", "hprim_net", "sqlite_without_rowid", "parquet_pandas",
    "xlsx_title_block", "mysqldump_lab", "pg_copy_schema",
)  # fmt: skip


BUILDERS: dict[str, Callable[[Path], Built]] = {
    "hprim_two_labs": hprim_two_labs,
    "parquet_tables": parquet_tables,
    "excel_mixed_csv": excel_mixed_csv,
    "sqlite_chain": sqlite_chain,
    "parquet_fhirish": parquet_fhirish,
    "xlsx_english": xlsx_english,
    "hl7_batch": hl7_batch,
    "fhir_bulk": fhir_bulk,
    "hl7_adt_mllp": hl7_adt_mllp,
    "fhir_transaction": fhir_transaction,
    "hprim_net": hprim_net,
    "sqlite_without_rowid": sqlite_without_rowid,
    "parquet_pandas": parquet_pandas,
    "xlsx_title_block": xlsx_title_block,
    "mysqldump_lab": mysqldump_lab,
    "pg_copy_schema": pg_copy_schema,
}


# --- Running and measuring -------------------------------------------------------------------
def run(built: Built, work: Path) -> dict[str, Any]:
    """``ariane run`` on the leak, then its summary and its column labels."""
    import typer.testing

    from ariane.case import Case  # noqa: F401  (the CLI opens the case)
    from ariane.cli import app

    registry = work / "registry.csv"
    registry.write_text(built.registry, encoding="utf-8")
    case = work / "case"
    runner = typer.testing.CliRunner()
    arguments = ["run", *map(str, built.files), "--case", str(case), "--registry", str(registry)]
    result = runner.invoke(app, [*arguments, "--quiet"])
    assert result.exit_code == 0, result.output
    summary = json.loads(runner.invoke(app, ["summary", str(case), "--json"]).stdout)
    scanned = runner.invoke(app, ["scan", *map(str, built.files), "--json"])
    labels = {c["name"]: c["label"] for c in json.loads(scanned.stdout)["columns"]}
    return {"summary": summary, "labels": labels}


def figures(built: Built, found: dict[str, Any]) -> dict[str, Any]:
    """The run against the truth."""
    summary, labels = found["summary"], found["labels"]
    named = {name: label for name, label in built.labels.items() if name in labels}
    right = sum(labels[name] == label for name, label in named.items())
    low, high = summary["persons_interval"]
    return {
        "rows": summary["rows"],
        "rows_true": built.rows,
        "quarantined": summary["quarantined"],
        "quarantined_true": built.quarantined,
        "records": summary["rows"] - summary["linked"],
        "records_true": built.records,
        "persons": summary["persons"],
        "persons_true": built.persons,
        "interval_holds": low <= built.persons <= high,
        "interval": [low, high],
        "categories": {k: summary["special_categories"].get(k, 0) for k in built.categories},
        "categories_true": built.categories,
        "unattributed": summary["unattributed_records"],
        "labels_right": f"{right}/{len(built.labels)}",
        "labels_wrong": {
            n: labels.get(n) for n, lab in built.labels.items() if labels.get(n) != lab
        },
    }


if __name__ == "__main__":
    import tempfile

    for name in sys.argv[1:] or list(BUILDERS):
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            (work / "leak").mkdir()
            try:
                built = BUILDERS[name](work / "leak")
            except ServiceMissing as exc:
                print(name, "skipped:", exc)
                continue
            print(name, json.dumps(figures(built, run(built, work)), ensure_ascii=False))
