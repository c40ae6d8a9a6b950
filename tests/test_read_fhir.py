"""FHIR R4: Bundles streamed and bulk NDJSON, one source per resource type, patient_ref."""

import json

import pytest

from ariane.case import Case
from ariane.read import load
from ariane.read.sniff import sniff_format
from hl7_messages import LABS, REGISTRY, people
from measure import (
    assert_linear,
    assert_linear_steps,
    linear_sizes,
    loading_seconds,
    reading_steps,
)

NIR = "urn:oid:1.2.250.1.213.1.4.8"
FINESS = "urn:oid:1.2.250.1.71.4.2.2"


def _patient(person, pid):
    return {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [
            {"system": NIR, "value": person.nir},
            {"system": "https://hopital.example/ipp", "value": f"IPP{person.number}"},
        ],
        "name": [{"use": "official", "family": person.family, "given": [person.given]}],
        "gender": "female" if person.sex == "F" else "male",
        "birthDate": f"{person.birth[:4]}-{person.birth[4:6]}-{person.birth[6:]}",
        "telecom": [{"system": "phone", "value": person.phone}],
        "address": [
            {"line": [person.street], "city": person.city, "postalCode": person.postal_code}
        ],
        "generalPractitioner": [{"reference": "Practitioner/d1", "display": "Dr Pierre Dupont"}],
    }


def _observation(oid, subject, hiv):
    code = {"coding": [{"system": "http://loinc.org", "code": "7917-8", "display": "HIV 1 Ab"}]}
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": code,
        "subject": {"reference": subject},
        "valueCodeableConcept": {"text": "Positif" if hiv else "Négatif"},
    }


def _sources(path):
    with Case.ephemeral() as case:
        engine = case.engine()
        summary = load(engine, [path])
        tables = {
            s.table_name: engine.fetch_arrow(
                f"SELECT * FROM {s.data_table} ORDER BY _record"
            ).to_pylist()
            for s in summary.sources
        }
        quarantine = engine.fetch("SELECT source_id, reason FROM read_quarantine")
    return {s.table_name: s for s in summary.sources}, tables, quarantine


def test_a_bundle_gives_one_source_per_type_and_patient_refs(tmp_path):
    persons = people(6)
    entries = []
    for p in persons:
        entries.append(
            {"fullUrl": f"urn:uuid:u{p.number}", "resource": _patient(p, f"p{p.number}")}
        )
    for p in persons:  # half by urn:uuid, half by Patient/id
        ref = f"urn:uuid:u{p.number}" if p.number % 2 else f"Patient/p{p.number}"
        entries.append({"resource": _observation(f"o{p.number}", ref, p.hiv)})
    org = {
        "resourceType": "Organization",
        "id": "lab",
        "name": "Labo",
        "identifier": [{"system": FINESS, "value": "350000014"}],
    }
    entries.append({"resource": org})
    path = tmp_path / "bundle.txt"
    path.write_text(
        json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}, indent=1)
    )
    sources, tables, quarantine = _sources(path)
    assert sources["Patient"].format == "fhir-json"
    assert {name: s.rows for name, s in sources.items()} == {
        "Patient": 6,
        "Observation": 6,
        "Organization": 1,
    }
    assert quarantine == []
    patient = tables["Patient"][0]
    assert patient["nir"] == persons[0].nir
    assert patient["identifier_hopital_example_ipp"] == "IPP0"
    assert (patient["family_name"], patient["given_name"]) == (persons[0].family, persons[0].given)
    assert patient["postal_code"] == persons[0].postal_code
    assert patient["general_practitioner"] == "Dr Pierre Dupont"
    assert [o["patient_ref"] for o in tables["Observation"]] == [f"p{p.number}" for p in persons]
    assert tables["Observation"][0]["result"] == "7917-8 HIV 1 Ab = Positif"
    assert tables["Organization"][0]["finess"] == "350000014"


def test_a_lab_contained_in_its_patient_gives_its_name_and_finess(tmp_path):
    """``managingOrganization: {"reference": "#lab"}`` points inside the Patient, to a
    ``contained`` Organization (issue 15, second round: every record was unattributed); a
    contained Practitioner gives its name and RPPS."""
    persons = people(2)
    entries = []
    for p, (finess, name) in zip(persons, LABS, strict=True):
        patient = _patient(p, f"p{p.number}")
        patient["contained"] = [
            {"resourceType": "Organization", "id": "lab", "name": name,
             "identifier": [{"system": FINESS, "value": finess}]},
            {"resourceType": "Practitioner", "id": "gp",
             "identifier": [{"system": "urn:oid:1.2.250.1.71.4.2.1", "value": "10001234567"}],
             "name": [{"family": "Kerouac", "given": ["Anne"]}]},
        ]  # fmt: skip
        patient["managingOrganization"] = {"reference": "#lab"}
        patient["generalPractitioner"] = [{"reference": "#gp"}]
        entries.append({"fullUrl": f"urn:uuid:u{p.number}", "resource": patient})
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": entries}))
    sources, tables, quarantine = _sources(path)
    assert set(sources) == {"Patient"} and quarantine == []
    rows = tables["Patient"]
    assert [r["managing_organization"] for r in rows] == [name for _, name in LABS]
    assert [r["managing_organization_finess"] for r in rows] == [finess for finess, _ in LABS]
    assert rows[0]["general_practitioner_rpps"] == "10001234567"
    assert "Kerouac" in rows[0]["general_practitioner"]


def test_a_patient_merged_into_another_names_the_survivor(tmp_path):
    """``link: [{"other": ..., "type": "replaced-by"}]`` (issue 15, second round: the
    records merged away, with no NIR and an old address, were counted as persons of their
    own): both rows hold the surviving record's id in ``same_patient_as``."""
    persons = people(3)
    entries = [{"fullUrl": f"urn:uuid:u{p.number}", "resource": _patient(p, f"p{p.number}")}
               for p in persons]  # fmt: skip
    old = _patient(persons[0], "old0")
    old["link"] = [{"other": {"reference": f"urn:uuid:u{persons[0].number}"},
                    "type": "replaced-by"}]  # fmt: skip
    older = _patient(persons[1], "old1")
    older["link"] = [{"other": {"reference": f"Patient/p{persons[1].number}"},
                      "type": "replaced-by"}, {"other": {"reference": "Patient/x"},
                                               "type": "seealso"}]  # fmt: skip
    entries += [{"fullUrl": "urn:uuid:o0", "resource": old}, {"resource": older}]
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}))
    _, tables, _ = _sources(path)
    # A record no link names has none (third round: its own id there let two Patients
    # sharing an id pass for one person).
    assert [(r["id"], r["same_patient_as"]) for r in tables["Patient"]] == [
        ("p0", "p0"), ("p1", "p1"), ("p2", None), ("old0", "p0"), ("old1", "p1"),
    ]  # fmt: skip


def test_a_merged_patient_before_its_survivor_names_the_survivor(tmp_path):
    """Issue 15, third round: ``same_patient_as`` was resolved against the fullUrls met so
    far, so a record merged away written before its survivor got the survivor's raw uuid,
    not its id. Every link type joins records of one person, in any order, through other
    records too; a RelatedPerson is no record of the patient."""
    persons = people(4)
    old = _patient(persons[0], "old0")
    old["link"] = [{"other": {"reference": "urn:uuid:u0"}, "type": "replaced-by"}]
    older = _patient(persons[0], "older0")
    older["link"] = [{"other": {"reference": "urn:uuid:o0"}, "type": "replaced-by"}]
    seen = _patient(persons[1], "p1")
    seen["link"] = [{"other": {"reference": "urn:uuid:u2"}, "type": "seealso"},
                    {"other": {"reference": "RelatedPerson/r9"}, "type": "seealso"}]  # fmt: skip
    survivor = _patient(persons[3], "p3")
    survivor["link"] = [{"other": {"reference": "Patient/old3"}, "type": "replaces"}]
    entries = [
        {"fullUrl": "urn:uuid:q0", "resource": older},
        {"fullUrl": "urn:uuid:o0", "resource": old},
        {"fullUrl": "urn:uuid:u1", "resource": seen},
        {"fullUrl": "urn:uuid:old3", "resource": _patient(persons[3], "old3")},
        {"fullUrl": "urn:uuid:u0", "resource": _patient(persons[0], "p0")},
        {"fullUrl": "urn:uuid:u2", "resource": _patient(persons[2], "p2")},
        {"fullUrl": "urn:uuid:u3", "resource": survivor},
    ]
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}))
    _, tables, _ = _sources(path)
    assert {r["id"]: r["same_patient_as"] for r in tables["Patient"]} == {
        "older0": "p0", "old0": "p0", "p0": "p0",  # a chain of merges, survivor last
        "p1": "p1", "p2": "p1",  # both in use: the smaller id stands for them
        "old3": "p3", "p3": "p3",  # ``replaces``: the linking record survives
    }  # fmt: skip


def test_damaged_resources_are_quarantined_and_the_others_kept(tmp_path):
    persons = people(4)
    entries = [json.dumps({"resource": _patient(p, f"p{p.number}")}) for p in persons]
    entries.insert(2, '{"resource": {"resourceType": "Observation", "id": "x" "code": }}')
    entries.insert(3, '{"request": {"method": "DELETE"}}')
    entries.insert(4, '{"resource": {"resourceType": "not a type", "id": "z"}}')
    text = '{"resourceType": "Bundle", "entry": [\n' + ",\n".join(entries) + "\n]}"
    path = tmp_path / "damaged.json"
    path.write_text(text)
    sources, tables, quarantine = _sources(path)
    assert sources["Patient"].rows == 4
    assert sources["Observation"].quarantined == 1
    assert sources["Bundle.entry"].quarantined == 2
    reasons = sorted(r for _, r in quarantine)
    assert reasons == ["Bundle entry holds no resource", "invalid JSON", "not a FHIR resource"]


def test_bulk_ndjson(tmp_path):
    persons = people(5)
    patients = tmp_path / "Patient.ndjson"
    patients.write_text("\n".join(json.dumps(_patient(p, f"p{p.number}")) for p in persons) + "\n")
    observations = tmp_path / "Observation.ndjson"
    lines = [
        json.dumps(_observation(f"o{p.number}", f"Patient/p{p.number}", p.hiv)) for p in persons
    ]
    lines.insert(1, '{"resourceType": "Observation", "id": ')
    observations.write_text("\n".join(lines) + "\n")
    sources, tables, quarantine = _sources(observations)
    assert sources["Observation"].format == "fhir-ndjson"
    assert (sources["Observation"].rows, sources["Observation"].quarantined) == (5, 1)
    assert [o["patient_ref"] for o in tables["Observation"]] == [f"p{p.number}" for p in persons]
    sources, tables, _ = _sources(patients)
    assert [p["nir"] for p in tables["Patient"]] == [p.nir for p in persons]


def test_sniffed_from_content():
    assert sniff_format(b'{"resourceType": "Bundle", "entry": []}') == "fhir-json"
    assert (
        sniff_format(b'{"resourceType":"Patient","id":"1"}\n{"resourceType":"Patient","id":"2"}\n')
        == "fhir-ndjson"
    )
    assert sniff_format(b'{"patients": [{"nom": "x"}]}') == "json"


def test_run_on_a_bundle(tmp_path):
    """Patients attributed to their lab through the Organization they point to; the HIV
    results of Observations counted; the link stage folds Observations into their
    Patient (``linked`` in the summary): each patient is one person, the Organization none,
    and no record is left unattributed."""
    import typer.testing

    from ariane.cli import app

    persons = people(40)
    entries = []
    for p in persons:
        patient = _patient(p, f"p{p.number}")
        patient["managingOrganization"] = {"reference": "urn:uuid:lab"}
        entries.append({"fullUrl": f"urn:uuid:u{p.number}", "resource": patient})
        observation = _observation(f"o{p.number}", f"urn:uuid:u{p.number}", p.hiv)
        if not p.hiv:
            observation["code"] = {"coding": [{"code": "2345-7", "display": "Glucose"}]}
            observation["valueQuantity"] = {"value": 5.1, "unit": "mmol/L"}
            del observation["valueCodeableConcept"]
        entries.append({"resource": observation})
    lab = {
        "resourceType": "Organization",
        "id": "lab01",
        "name": "Laboratoire de Biologie Médicale Rennes Centre",
        "identifier": [{"system": FINESS, "value": "350000014"}],
    }
    entries.append({"fullUrl": "urn:uuid:lab", "resource": lab})  # after those pointing to it
    (tmp_path / "export.json").write_text(json.dumps({"resourceType": "Bundle", "entry": entries}))
    (tmp_path / "registry.csv").write_text(REGISTRY, encoding="utf-8")
    runner = typer.testing.CliRunner()
    case = tmp_path / "case"
    arguments = ["run", str(tmp_path / "export.json"), "--case", str(case), "--quiet"]
    result = runner.invoke(app, [*arguments, "--registry", str(tmp_path / "registry.csv")])
    assert result.exit_code == 0, result.output
    found = json.loads(runner.invoke(app, ["summary", str(case), "--json"]).stdout)
    resources = len(entries)
    assert found["rows"] + found["quarantined"] == resources
    assert found["special_categories"]["hiv"] == sum(p.hiv for p in persons)
    records = {c["controller_id"]: c["records"] for c in found["controllers"]}
    assert records == {"LAB01": len(persons) + 1}  # every Patient, and the lab's own row
    assert found["linked"] == len(persons)  # the link stage folded each Observation in
    # The Organization's row (its number, FINESS and name) names nobody: no person.
    assert found["persons"] == len(persons)
    assert found["unattributed_records"] == 0


def test_run_joins_merged_patients_however_few(tmp_path):
    """Issue 15, third round: a Bundle of 30 patients with 3 merged gave 33 persons, the
    link left to a person-key test that needs 5 pairs to speak. Each record merged away
    (another IPP, no NIR, no phone, an old address), written before or after its
    survivor, is the survivor's person: as many persons as patients."""
    import typer.testing

    from ariane.cli import app

    persons = people(24)
    entries = []
    for p in persons:
        survivor = {"fullUrl": f"urn:uuid:u{p.number}", "resource": _patient(p, f"p{p.number}")}
        merged = []
        if p.number % 10 == 3:  # three of them
            old = _patient(p, f"old{p.number}")
            old["identifier"] = [{"system": "https://hopital.example/ipp",
                                  "value": f"IPP9{p.number}"}]  # fmt: skip
            old["telecom"] = []
            old["address"] = [{"line": ["12 rue Ancienne"], "city": "Brest",
                               "postalCode": "29200"}]  # fmt: skip
            old["active"] = False
            old["link"] = [{"other": {"reference": f"urn:uuid:u{p.number}"},
                            "type": "replaced-by"}]  # fmt: skip
            merged = [{"fullUrl": f"urn:uuid:m{p.number}", "resource": old}]
        # The first merged record comes before its survivor, the others after.
        entries += merged + [survivor] if p.number == 3 else [survivor, *merged]
    path = tmp_path / "merged.json"
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}))
    (tmp_path / "registry.csv").write_text(REGISTRY, encoding="utf-8")
    runner = typer.testing.CliRunner()
    case = tmp_path / "case"
    arguments = ["run", str(path), "--case", str(case), "--quiet"]
    result = runner.invoke(app, [*arguments, "--registry", str(tmp_path / "registry.csv")])
    assert result.exit_code == 0, result.output
    found = json.loads(runner.invoke(app, ["summary", str(case), "--json"]).stdout)
    assert found["rows"] == len(persons) + 3
    assert found["persons"] == len(persons)


def _bundles(folder, n):
    paths = []
    for size in linear_sizes(n):
        persons = people(size)
        entries = [
            {"fullUrl": f"urn:uuid:u{p.number}", "resource": _patient(p, f"p{p.number}")}
            for p in persons
        ]
        entries += [
            {"resource": _observation(f"o{p.number}", f"urn:uuid:u{p.number}", p.hiv)}
            for p in persons
        ]
        paths.append(folder / f"{size}.json")
        paths[-1].write_text(json.dumps({"resourceType": "Bundle", "entry": entries}, indent=1))
    return paths


def test_reading_time_grows_linearly(tmp_path):
    paths = _bundles(tmp_path, 1500)
    times, summaries = loading_seconds(paths)
    assert [s.rows for s in summaries] == [2 * n for n in linear_sizes(1500)]
    assert_linear(times, lambda: loading_seconds(paths)[0])


def test_reading_steps_grow_linearly(tmp_path):
    paths = _bundles(tmp_path, 400)
    steps, summaries = reading_steps(paths)
    assert [s.rows for s in summaries] == [2 * n for n in linear_sizes(400)]
    assert_linear_steps(steps)


def test_a_key_named_resource_type_deeper_inside_is_not_fhir():
    assert sniff_format(b'[{"resourceType": "Patient", "id": "1"}]') == "fhir-json"
    assert sniff_format(b'{"data": [{"meta": {"resourceType": "Patient"}}]}') == "json"
    assert sniff_format(b'[{"name": "x", "source": {"resourceType": "Patient"}}]') == "json"


def _bulk_export(folder, persons, parts=1):
    """A bulk export as a FHIR server writes it: one NDJSON file per resource type, or
    ``parts`` files per type.

    Each patient but every fourth points to its lab (``managingOrganization``); each has
    one Observation (its HIV test) and, for every third patient, a Condition, both pointing
    to it by ``Patient/<id>``; every Observation names its lab as ``performer`` too. The HIV
    tests are those of the persons with HIV, the others glucose.
    """
    folder.mkdir()
    labs = [
        {
            "resourceType": "Organization",
            "id": f"org{n}",
            "name": name,
            "identifier": [{"system": FINESS, "value": finess}],
        }
        for n, (finess, name) in enumerate(LABS)
    ]
    patients, observations, conditions = [], [], []
    for p in persons:
        patient = _patient(p, f"p{p.number}")
        if p.number % 4:  # every fourth patient known to its lab by its results only
            patient["managingOrganization"] = {"reference": f"Organization/org{p.lab}"}
        patients.append(patient)
        observation = _observation(f"o{p.number}", f"Patient/p{p.number}", p.hiv)
        observation["performer"] = [{"reference": f"Organization/org{p.lab}"}]
        if not p.hiv:  # an HIV test says HIV, whatever its result: the others are sugar
            observation["code"] = {"coding": [{"code": "2345-7", "display": "Glucose"}]}
            observation["valueQuantity"] = {"value": 5.1, "unit": "mmol/L"}
            del observation["valueCodeableConcept"]
        observations.append(observation)
        if p.number % 3 == 0:
            conditions.append(
                {
                    "resourceType": "Condition",
                    "id": f"c{p.number}",
                    "subject": {"reference": f"Patient/p{p.number}"},
                    "code": {"coding": [{"code": "E11", "display": "Diabète de type 2"}]},
                }
            )
    # Results in another order than their patients (7 is prime to the counts used), so
    # that each file of results points to patients of every Patient file.
    observations = [observations[(7 * i) % len(observations)] for i in range(len(observations))]
    conditions = [conditions[(7 * i) % len(conditions)] for i in range(len(conditions))]
    files = []
    for kind, resources in (
        ("Patient", patients),
        ("Observation", observations),
        ("Condition", conditions),
        ("Organization", labs),
    ):
        # A server writes a type as files of so many resources each; a file of one
        # resource is one line (two labs over three files: one each, and no third).
        size = -(-len(resources) // parts)
        for part in range(min(parts, len(resources))):
            path = folder / (f"{kind}.{part:03d}.ndjson" if parts > 1 else f"{kind}.ndjson")
            chunk = resources[part * size : (part + 1) * size]
            path.write_text("".join(json.dumps(r) + "\n" for r in chunk))
            files.append(path)
    return files, len(labs), len(conditions)


def test_run_on_a_bulk_export_of_one_file_per_type(tmp_path):
    """A bulk export's files are one export: Observations and Conditions fold into their
    Patient across files, patients and their results are attributed to the Organization
    their patient points to (another file), and no result counts as a record."""
    import typer.testing

    from ariane.cli import app

    persons = people(60)
    files, labs, conditions = _bulk_export(tmp_path / "export", persons)
    (tmp_path / "registry.csv").write_text(REGISTRY, encoding="utf-8")
    runner = typer.testing.CliRunner()
    case = tmp_path / "case"
    arguments = ["run", *map(str, files), "--case", str(case), "--quiet"]
    result = runner.invoke(app, [*arguments, "--registry", str(tmp_path / "registry.csv")])
    assert result.exit_code == 0, result.output
    found = json.loads(runner.invoke(app, ["summary", str(case), "--json"]).stdout)
    read = len(persons) * 2 + conditions + labs
    assert found["rows"] + found["quarantined"] == read
    assert found["quarantined"] == 0
    assert found["linked"] == len(persons) + conditions
    assert found["persons"] == len(persons)
    assert found["special_categories"]["hiv"] == sum(p.hiv for p in persons)
    records = {c["controller_id"]: c["records"] for c in found["controllers"]}
    per_lab = [sum(1 for p in persons if p.lab == n) for n in range(labs)]
    # Every Patient is its lab's, and each lab's own row names it.
    assert records == {"LAB01": per_lab[0] + 1, "LAB02": per_lab[1] + 1}
    assert found["unattributed_records"] == 0


def _manifest(folder, files):
    """The output manifest of a bulk export (FHIR Bulk Data Access): each file by type and
    URL, the server's URL ending in the file's name, as a client saves them side by side."""
    manifest = {
        "transactionTime": "2026-11-30T10:00:00Z",
        "request": "https://fhir.example/$export?_type=Patient,Observation",
        "requiresAccessToken": True,
        "output": [
            {"type": f.name.split(".")[0], "url": f"https://fhir.example/out/{f.name}"}
            for f in files
        ],
        "error": [],
    }
    path = folder / "manifest.json"
    path.write_text(json.dumps(manifest, indent=2))
    return path


@pytest.mark.parametrize("given", ["files", "folder", "manifest"])
def test_run_on_a_bulk_export_of_several_files_per_type(tmp_path, given):
    """A type split over several NDJSON files (Patient.000, Patient.001...) is one table:
    every Observation and Condition folds into its Patient whatever file holds either,
    every patient is a record and a person, attributed to its lab. The export is given as
    its files, its folder or its manifest."""
    import typer.testing

    from ariane.cli import app

    persons = people(90)
    parts = 3
    files, labs, conditions = _bulk_export(tmp_path / "export", persons, parts)
    inputs = {
        "files": files,
        "folder": [tmp_path / "export"],
        "manifest": [_manifest(tmp_path / "export", files)],
    }[given]
    (tmp_path / "registry.csv").write_text(REGISTRY, encoding="utf-8")
    runner = typer.testing.CliRunner()
    case = tmp_path / "case"
    arguments = ["run", *map(str, inputs), "--case", str(case), "--quiet"]
    result = runner.invoke(app, [*arguments, "--registry", str(tmp_path / "registry.csv")])
    assert result.exit_code == 0, result.output
    found = json.loads(runner.invoke(app, ["summary", str(case), "--json"]).stdout)
    assert found["rows"] + found["quarantined"] == len(persons) * 2 + conditions + labs
    assert found["quarantined"] == 0
    assert found["linked"] == len(persons) + conditions
    assert found["persons"] == len(persons)
    assert found["special_categories"]["hiv"] == sum(p.hiv for p in persons)
    records = {c["controller_id"]: c["records"] for c in found["controllers"]}
    per_lab = [sum(1 for p in persons if p.lab == n) for n in range(labs)]
    assert records == {"LAB01": per_lab[0] + 1, "LAB02": per_lab[1] + 1}
    assert found["unattributed_records"] == 0
