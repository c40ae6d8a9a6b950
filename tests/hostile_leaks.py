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
    results.write_row(0, 0, ["Subject", "Test", "Description", "Result", "Units", "Comment"])
    count_results = 0
    for p in ppl:
        for analysis in _analyses(p):
            count_results += 1
            results.write_row(count_results, 0, [f"S{4000 + p.i * 7}", *analysis])
    sites = book.add_worksheet("Sites")
    sites.write_row(0, 0, ["Site", "Laboratory", "FINESS"])
    for n, (finess, name) in enumerate(LABS):
        sites.write_row(n + 1, 0, [f"SITE-{n + 1}", name, finess])
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


BUILDERS: dict[str, Callable[[Path], Built]] = {
    "hprim_two_labs": hprim_two_labs,
    "parquet_tables": parquet_tables,
    "excel_mixed_csv": excel_mixed_csv,
    "sqlite_chain": sqlite_chain,
    "parquet_fhirish": parquet_fhirish,
    "xlsx_english": xlsx_english,
    "hl7_batch": hl7_batch,
    "fhir_bulk": fhir_bulk,
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
            built = BUILDERS[name](work / "leak")
            print(name, json.dumps(figures(built, run(built, work)), ensure_ascii=False))
