"""Small leaks in the lab exchange and database formats, in layouts the other tests do
not use, built with the real libraries of each format (hl7apy, fhir.resources, sqlite3,
pyarrow): each builder writes its files into a folder and returns its truth, counted
from how the files were built.

- :func:`hl7_log`: HL7 v2.5 messages framed by MLLP, each patient admitted (ADT^A01),
  updated (ADT^A08: moved house) and given results (ORU^R01); identifiers as repetitions
  (the lab's number, the NIR under the INS-NIR authority), escapes (``\\T\\``,
  ``\\F\\``), NTE notes revealing HIV, a pregnancy, a cancer.
- :func:`fhir_transaction`: one FHIR R4 Bundle of type ``transaction``, resources without
  ids, every reference a ``urn:uuid:`` fullUrl; Patients with the INS-NIR OID.
- :func:`fhir_per_patient`: a folder of one transaction Bundle per patient, the labs in a
  Bundle of their own (as Synthea writes them).
- :func:`sqlite_lims`: patients, results keyed by a column named ``c2``, sites by code.
- :func:`parquet_nested`: one row per patient, identifiers and results as lists of structs.
"""

from __future__ import annotations

import random
import sqlite3
import uuid
from pathlib import Path
from typing import Any

from ariane.nir import make_nir
from hl7_messages import LABS

FAM = ["Lemoine", "Garnier", "Faure", "Rousseau", "Blanc", "Guerin", "Muller", "Henry",
       "Roussel", "Nicolas", "Perrin", "Morin", "Mathieu", "Clement", "Gauthier", "Dumont",
       "Lopez", "Fontaine"]  # fmt: skip
GIV_F = ["Anne", "Sophie", "Claire", "Julie", "Emma", "Alice", "Manon", "Zoé", "Léna"]
GIV_M = ["Marc", "Eric", "Thomas", "Lucas", "Nathan", "Adam", "Raphaël", "Tom", "Victor"]
NIR_SYSTEM = "urn:oid:1.2.250.1.213.1.4.8"
FINESS_SYSTEM = "urn:oid:1.2.250.1.71.4.2.2"


def persons(n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` distinct patients: every fifth with HIV, every sixth woman pregnant, every
    seventh (from the fourth) with a cancer; labs in turn."""
    r = random.Random(seed)
    out = []
    for i in range(n):
        sex = 2 if i % 2 == 0 else 1
        y, m, d = 1950 + r.randrange(55), 1 + r.randrange(12), 1 + r.randrange(28)
        out.append(
            {
                "i": i,
                "family": FAM[(i * 5 + seed) % len(FAM)],
                "given": (GIV_F if sex == 2 else GIV_M)[i % 9],
                "sex": "F" if sex == 2 else "M",
                "birth": f"{y}{m:02d}{d:02d}",
                "nir": make_nir(sex, y, m, "35", f"{238 + i % 50:03d}", 100 + i),
                "lab": i % 2,
                "hiv": i % 5 == 0,
                "pregnant": sex == 2 and i % 6 == 0,
                "cancer": i % 7 == 3,
                "street": f"{1 + i} rue des Lilas",
                "city": "Rennes",
                "cp": "35000",
            }
        )
    return out


def _truth(ppl: list[dict[str, Any]], **counts: int) -> dict[str, int]:
    return {
        "persons": len(ppl),
        "hiv": sum(p["hiv"] for p in ppl),
        "pregnancy": sum(p["pregnant"] for p in ppl),
        "cancer": sum(p["cancer"] for p in ppl),
        **counts,
    }


# --- HL7 v2 -------------------------------------------------------------------------------
def _hl7_messages(p: dict[str, Any]) -> list[str]:
    from hl7apy.core import Message

    finess, lab = LABS[p["lab"]]
    messages = []
    for kind, event in (("ADT", "A01"), ("ADT", "A08"), ("ORU", "R01")):
        m = Message("ORU_R01" if kind == "ORU" else "ADT_A01", version="2.5")
        m.msh.msh_3 = "SIL^LAB"
        m.msh.msh_4 = f"{lab.upper()[:20]}^{finess}^FINEG"
        m.msh.msh_7 = "20240315101500"
        m.msh.msh_9 = "ORU^R01^ORU_R01" if kind == "ORU" else f"ADT^{event}^ADT_A01"
        m.msh.msh_10 = f"M{p['i']}{event}"
        m.msh.msh_11 = "P"
        if kind == "ADT":
            m.evn.evn_2 = "20240315101500"
            pid = m.pid
            m.pv1.pv1_2 = "O"
        else:
            result = m.add_group("ORU_R01_PATIENT_RESULT")
            pid = result.add_group("ORU_R01_PATIENT").add_segment("PID")
        # Repetitions: the lab's number, then the NIR under the INS-NIR authority.
        pid.pid_3 = (
            f"{9000 + p['i']}^^^LAB^PI~{p['nir'][:13]}^^^"
            "ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO^NH"
        )
        family = p["family"] + (r" \T\ FILS" if p["i"] % 9 == 4 else "")  # an escaped '&'
        pid.pid_5 = f"{family.upper()}^{p['given']}^^^^^L~{p['family'].upper()}^{p['given']}^^^^^D"
        pid.pid_7 = p["birth"]
        pid.pid_8 = p["sex"]
        street = p["street"] if event != "A08" else f"{2 + p['i']} avenue du Mail"  # moved
        pid.pid_11 = f"{street}^^{p['city']}^^{p['cp']}^FRA^H"
        pid.pid_13 = (
            f"^PRN^PH^^^^^^^^^06{10000000 + p['i'] * 7:08d}~^NET^Internet^x{p['i']}@example.org"
        )
        if kind == "ORU":
            order = result.add_group("ORU_R01_ORDER_OBSERVATION")
            obr = order.add_segment("OBR")
            obr.obr_1 = "1"
            obr.obr_4 = "HIV^Sérologie VIH^L" if p["hiv"] else "GLU^Glycémie^L"
            obr.obr_7 = "20240315090000"
            observation = order.add_group("ORU_R01_OBSERVATION")
            obx = observation.add_segment("OBX")
            obx.obx_1, obx.obx_2, obx.obx_3 = "1", "NM", "2345-7^Glucose^LN"
            obx.obx_5, obx.obx_6 = "5.4", "mmol/L"
            notes = []
            if p["hiv"]:
                notes.append(r"Patient séropositif VIH\F\ suivi en infectiologie")
            if p["pregnant"]:
                notes.append("Patiente enceinte, grossesse de 12 SA")
            if p["cancer"]:
                notes.append("Suivi oncologique: cancer du sein en cours de traitement")
            for n, note in enumerate(notes, start=1):
                nte = observation.add_segment("NTE")
                nte.nte_1, nte.nte_3 = str(n), note
        messages.append(m.to_er7())
    return messages


def hl7_log(out: Path, count: int = 40) -> tuple[list[Path], dict[str, int]]:
    """An MLLP-framed log of three messages per patient (A01, A08, R01)."""
    ppl = persons(count, 1)
    frames = [b"\x0b" + text.encode("utf-8") + b"\x1c\r" for p in ppl for text in _hl7_messages(p)]
    path = out / "interface.log"
    path.write_bytes(b"".join(frames))
    return [path], _truth(ppl, rows=len(frames), records=len(frames))


# --- FHIR R4 (built and validated by fhir.resources' R4B models) ----------------------------
def _uid(*parts: object) -> str:
    return "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(map(str, parts))))


def _post(full_url: str, resource: Any) -> dict[str, Any]:
    kind = resource.get_resource_type()
    return {"fullUrl": full_url, "resource": resource, "request": {"method": "POST", "url": kind}}


def _labs() -> list[dict[str, Any]]:
    from fhir.resources.R4B.organization import Organization

    return [
        _post(
            _uid("org", n),
            Organization(
                id=f"lab{n}", name=name, identifier=[{"system": FINESS_SYSTEM, "value": finess}]
            ),
        )
        for n, (finess, name) in enumerate(LABS)
    ]


def _patient_entries(p: dict[str, Any]) -> list[dict[str, Any]]:
    """A Patient (no id: a transaction creates it) and its results, by urn:uuid."""
    from fhir.resources.R4B.condition import Condition
    from fhir.resources.R4B.diagnosticreport import DiagnosticReport
    from fhir.resources.R4B.observation import Observation
    from fhir.resources.R4B.patient import Patient

    me = _uid("patient", p["i"])
    lab = {"reference": _uid("org", p["lab"])}
    entries = [
        _post(
            me,
            Patient(
                identifier=[
                    {"system": NIR_SYSTEM, "value": p["nir"][:13]},
                    {"system": "urn:oid:1.2.250.1.71.4.2.7", "value": f"IPP{p['i']:05d}"},
                ],
                name=[{"family": p["family"], "given": [p["given"]]}],
                gender="female" if p["sex"] == "F" else "male",
                birthDate=f"{p['birth'][:4]}-{p['birth'][4:6]}-{p['birth'][6:]}",
                address=[{"line": [p["street"]], "city": p["city"], "postalCode": p["cp"]}],
                managingOrganization=lab,
            ),
        )
    ]
    loinc = "http://loinc.org"
    code = (
        {"coding": [{"system": loinc, "code": "7917-8", "display": "HIV 1+2 Ab"}]}
        if p["hiv"]
        else {"coding": [{"system": loinc, "code": "2345-7", "display": "Glucose"}]}
    )
    observation = Observation(
        status="final",
        code=code,
        subject={"reference": me},
        valueString="positif" if p["hiv"] else "5.1 mmol/L",
        performer=[lab],
    )
    entries.append(_post(_uid("observation", p["i"]), observation))
    icd = "http://hl7.org/fhir/sid/icd-10"
    for flag, code_, display in (
        ("pregnant", "Z33", "Grossesse"),
        ("cancer", "C50.9", "Tumeur maligne du sein"),
    ):
        if p[flag]:
            condition = Condition(
                subject={"reference": me},
                code={"coding": [{"system": icd, "code": code_, "display": display}]},
            )
            entries.append(_post(_uid(flag, p["i"]), condition))
    report = DiagnosticReport(
        status="final", code={"text": "Bilan"}, subject={"reference": me},
        conclusion="Résultats dans les normes",
    )  # fmt: skip
    entries.append(_post(_uid("report", p["i"]), report))
    return entries


def _bundle(entries: list[dict[str, Any]]) -> str:
    from fhir.resources.R4B.bundle import Bundle

    return Bundle(type="transaction", entry=entries).model_dump_json(indent=2, exclude_none=True)


def fhir_transaction(out: Path, count: int = 50) -> tuple[list[Path], dict[str, int]]:
    """One transaction Bundle: the labs first, then each patient and its resources."""
    ppl = persons(count, 2)
    entries = _labs() + [e for p in ppl for e in _patient_entries(p)]
    path = out / "transaction.json"
    path.write_text(_bundle(entries))
    return [path], _truth(ppl, rows=len(entries), records=len(ppl) + len(LABS))


def fhir_per_patient(out: Path, count: int = 30) -> tuple[list[Path], dict[str, int]]:
    """A folder of one transaction Bundle per patient and one of the labs."""
    ppl = persons(count, 3)
    folder = out / "fhir"
    folder.mkdir()
    rows = 0
    for p in ppl:
        entries = _patient_entries(p)
        rows += len(entries)
        (folder / f"{p['given']}_{p['family']}_{p['i']}.json").write_text(_bundle(entries))
    labs = _labs()
    (folder / "hospitalInformation.json").write_text(_bundle(labs))
    return [folder], _truth(ppl, rows=rows + len(labs), records=len(ppl) + len(LABS))


# --- SQLite and Parquet ---------------------------------------------------------------------
def sqlite_lims(out: Path, count: int = 60) -> tuple[list[Path], dict[str, int]]:
    """Patients (``pk``), their results keyed by ``c2``, and the sites by code."""
    ppl = persons(count, 4)
    path = out / "lims.sqlite"
    con = sqlite3.connect(path)
    con.execute(
        "CREATE TABLE t_pat (pk INTEGER PRIMARY KEY, nom TEXT, prenom TEXT, ddn TEXT, "
        "nir TEXT, sexe TEXT, site TEXT)"
    )
    con.execute(
        "CREATE TABLE t_res (id INTEGER PRIMARY KEY, c2 INTEGER, code TEXT, libelle TEXT, "
        "valeur TEXT, unite TEXT, commentaire TEXT)"
    )
    con.execute("CREATE TABLE t_site (code TEXT PRIMARY KEY, raison_sociale TEXT, finess TEXT)")
    for n, (finess, name) in enumerate(LABS):
        con.execute("INSERT INTO t_site VALUES (?, ?, ?)", (f"S{n + 1}", name, finess))
    results = 0
    for p in ppl:
        pk = 5000 + p["i"] * 3
        birth = f"{p['birth'][6:]}/{p['birth'][4:6]}/{p['birth'][:4]}"
        con.execute(
            "INSERT INTO t_pat VALUES (?, ?, ?, ?, ?, ?, ?)",
            (pk, p["family"].upper(), p["given"], birth, p["nir"], p["sex"], f"S{p['lab'] + 1}"),
        )
        tests = [("GLU", "Glycémie", "5.2", "mmol/L", "")]
        if p["hiv"]:
            tests.append(("VIH", "Sérologie VIH 1/2", "POSITIF", "", "séropositivité confirmée"))
        if p["pregnant"]:
            tests.append(("HCG", "Beta HCG", "12500", "UI/L", "grossesse évolutive"))
        if p["cancer"]:
            tests.append(("CA153", "CA 15-3", "85", "U/mL", "suivi cancer du sein"))
        for test in tests:
            results += 1
            con.execute(
                "INSERT INTO t_res (c2, code, libelle, valeur, unite, commentaire) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (pk, *test),
            )
    con.commit()
    con.close()
    rows = len(ppl) + results + len(LABS)
    return [path], _truth(ppl, rows=rows, records=len(ppl) + len(LABS))


def parquet_nested(out: Path, count: int = 70) -> tuple[list[Path], dict[str, int]]:
    """One row per patient: a struct of who, lists of structs of identifiers and results."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    ppl = persons(count, 5)
    rows = []
    for p in ppl:
        finess, lab = LABS[p["lab"]]
        results = [{"code": "2345-7", "label": "Glucose", "value": "5.3", "unit": "mmol/L"}]
        if p["hiv"]:
            results.append({"code": "7917-8", "label": "HIV 1+2 Ab", "value": "positif"})
        if p["pregnant"]:
            results.append({"code": "2106-3", "label": "hCG grossesse", "value": "positif"})
        if p["cancer"]:
            results.append({"code": "83112-3", "label": "CA 15-3 cancer du sein", "value": "85"})
        rows.append(
            {
                "patient": {
                    "name": {"family": p["family"], "given": p["given"]},
                    "birth": f"{p['birth'][:4]}-{p['birth'][4:6]}-{p['birth'][6:]}",
                    "sex": p["sex"],
                },
                "identifiers": [
                    {"system": "NIR", "value": p["nir"]},
                    {"system": "IPP", "value": f"{77000 + p['i']}"},
                ],
                "lab": {"finess": finess, "name": lab},
                "results": results,
            }
        )
    path = out / "results.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    return [path], _truth(ppl, rows=len(ppl), records=len(ppl))


#: Every builder, by name.
BUILDERS = {
    "hl7_log": hl7_log,
    "fhir_transaction": fhir_transaction,
    "fhir_per_patient": fhir_per_patient,
    "sqlite_lims": sqlite_lims,
    "parquet_nested": parquet_nested,
}
