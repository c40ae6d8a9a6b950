"""The columns read from HL7 v2, HPRIM and FHIR get the labels of what they hold."""

import json

import pytest
from typer.testing import CliRunner

from ariane.cli import app
from hl7_messages import hl7_log, people
from test_read_fhir import _observation, _patient
from test_read_hprim import _net, _sante


def _labels(path):
    result = CliRunner().invoke(app, ["scan", str(path), "--json"])
    assert result.exit_code == 0, result.output
    return {c["name"]: c["label"] for c in json.loads(result.stdout)["columns"]}


def _hl7(folder, persons):
    path = folder / "feed.hl7"
    path.write_bytes(hl7_log(persons)[0])
    return path


def _fhir(folder, persons):
    entries = [{"resource": _patient(p, f"p{p.number}")} for p in persons]
    entries += [
        {"resource": _observation(f"o{p.number}", f"Patient/p{p.number}", p.hiv)} for p in persons
    ]
    org = {
        "resourceType": "Organization",
        "id": "lab",
        "name": "Laboratoire de Biologie Médicale Rennes Centre",
        "identifier": [{"system": "urn:oid:1.2.250.1.71.4.2.2", "value": "350000014"}],
    }
    path = folder / "bundle.json"
    path.write_text(json.dumps({"resourceType": "Bundle", "entry": [*entries, {"resource": org}]}))
    return path


def _hprim_sante(folder, persons):
    path = folder / "sante.hpr"
    path.write_bytes(_sante(persons).encode("cp1252"))
    return path


def _hprim_net(folder, persons):
    path = folder / "net.hpr"
    path.write_bytes("".join(_net(p) for p in persons).encode("cp1252"))
    return path


EXPECTED = {
    _hl7: {
        "pid_nir": "id.nir",
        "pid_family_name": "person.last_name",
        "pid_given_name": "person.first_name",
        "pid_birth_date": "person.birth_date",
        "pid_sex": "person.sex",
        "pid_street": "contact.street",
        "pid_postal_code": "contact.postal_code",
        "pid_city": "contact.city",
        "pid_phone": "contact.phone",
        "pv1_attending_doctor": "provider.physician",
        "orc_ordering_facility": "provider.organisation",
        "orc_ordering_facility_finess": "provider.finess",
        "obx_results": "health.test",
        "nte_comments": "health.note",
    },
    _fhir: {
        "nir": "id.nir",
        "family_name": "person.last_name",
        "given_name": "person.first_name",
        "birth_date": "person.birth_date",
        "gender": "person.sex",
        "address_line": "contact.street",
        "postal_code": "contact.postal_code",
        "phone": "contact.phone",
        "general_practitioner": "provider.physician",
        "result": "health.test",
        "finess": "provider.finess",
        "organization_name": "provider.organisation",
    },
    _hprim_sante: {
        "p_family_name": "person.last_name",
        "p_given_name": "person.first_name",
        "p_birth_date": "person.birth_date",
        "p_postal_code": "contact.postal_code",
        "p_phone": "contact.phone",
        "h_sending_code": "provider.finess",
        "obx_results": "health.test",
        "comments": "health.note",
    },
    _hprim_net: {
        "hprim_nir": "id.nir",
        "hprim_family_name": "person.last_name",
        "hprim_given_name": "person.first_name",
        "hprim_birth_date": "person.birth_date",
        "hprim_postal_code": "contact.postal_code",
        "hprim_prescriber": "provider.physician",
        "hprim_results": "health.test",
    },
}


@pytest.mark.parametrize("make", list(EXPECTED), ids=lambda make: make.__name__.strip("_"))
def test_exchange_columns_are_labelled(tmp_path, make):
    labels = _labels(make(tmp_path, people(60)))
    wrong = {
        n: (labels.get(n), want) for n, want in EXPECTED[make].items() if labels.get(n) != want
    }
    assert not wrong, wrong
