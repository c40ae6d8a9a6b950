"""The case after run, as a real incident's weeks go: facts set and changed, each lab told
at its own time with its own deadline, an initial and a complementary notification per
lab, an encrypted export, and every step in the audit log."""

import csv
import hashlib
import io
import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import jsonschema
import pyrage
import pytest
from typer.testing import CliRunner

from ariane import pipeline, report
from ariane.cli import app
from ariane.synth import generate

runner = CliRunner()
AWARE_AT = datetime.fromisoformat("2021-02-23T10:00:00+01:00")


def _at(days: float) -> str:
    return (AWARE_AT + timedelta(days=days)).isoformat()


@pytest.fixture(scope="module")
def leak(tmp_path_factory):
    folder = tmp_path_factory.mktemp("leak")
    generate(folder, rows=400, labs=4, seed=5)
    return folder


@pytest.fixture(scope="module")
def built(leak, tmp_path_factory):
    """One case made by run; each test works on its own copy (the key file is shared)."""
    case_dir = tmp_path_factory.mktemp("built") / "case"
    result = runner.invoke(
        app,
        [
            "run",
            str(leak / "leak.csv"),
            "--case",
            str(case_dir),
            "-q",
            "--registry",
            str(leak / "registry.csv"),
            "--aware-at",
            AWARE_AT.isoformat(),
        ],
    )
    assert result.exit_code == 0, result.output
    return case_dir


@pytest.fixture
def case(built, tmp_path):
    return Path(shutil.copytree(built, tmp_path / "case"))


def _facts(case_dir) -> dict:
    result = runner.invoke(app, ["facts", "show", str(case_dir), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _set(case_dir, *assignments, controller=None):
    extra = ["--controller", controller] if controller else []
    result = runner.invoke(app, ["facts", "set", str(case_dir), *assignments, *extra])
    assert result.exit_code == 0, result.output
    return result


def _log(case_dir) -> list[dict]:
    return [json.loads(line) for line in (case_dir / "audit.jsonl").read_text().splitlines()]


def _notification(case_dir, version: int, controller: str) -> dict:
    path = case_dir / "report" / f"v{version}" / "controllers" / controller / "notification.json"
    return json.loads(path.read_text(encoding="utf-8"))


def test_unknown_facts_are_null_never_a_default(case):
    facts = _facts(case)
    assert facts["case"]["aware_at"] == AWARE_AT.isoformat()
    for name in ("malicious", "encrypted", "cross_border", "nature", "confidentiality"):
        assert facts["case"][name] is None, name
    assert set(facts["controllers"]) == {"LAB01", "LAB02", "LAB03", "LAB04"}
    assert all(v is None for v in facts["controllers"]["LAB01"].values())
    shown = runner.invoke(app, ["facts", "show", str(case)])
    assert "« à compléter »" in shown.output
    draft = _notification(case, 1, "LAB01")
    assert draft["sections"]["nature"]["malicious"] is None
    assert draft["sections"]["data"]["encrypted"] is None
    index = (case / "report" / "v1" / "index.html").read_text(encoding="utf-8")
    assert 'Acte malveillant</th><td><span class="missing">' in index


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["colour=blue"], "colour: not a fact of the case"),
        (["started_at=2021-02-20T08:00:00"], "started_at: needs a time zone"),
        (["started_at=last week"], "started_at: not an ISO-8601"),
        (["malicious=perhaps"], "malicious: expected true or false"),
        (["confidentiality=everyone"], "confidentiality: expected one of"),
        (["persons_informed=maybe", "--controller", "LAB01"], "persons_informed: expected one"),
        (["informed_at=2021-02-24T09:00:00+01:00", "--controller", "LAB99"], "LAB99: no such"),
        (["nature=ok", "cnil_reference=X"], "cnil_reference: not a fact of the case"),
        (["nature"], "expected NAME=VALUE"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_changes_nothing(case, arguments, message):
    log_before = (case / "audit.jsonl").read_bytes()
    store_before = (case / "store.duckdb").read_bytes()
    result = runner.invoke(app, ["facts", "set", str(case), *arguments])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert "Traceback" not in result.output
    assert (case / "audit.jsonl").read_bytes() == log_before
    assert (case / "store.duckdb").read_bytes() == store_before


def test_an_incident_over_weeks(leak, case):
    truth = json.loads((leak / "truth.json").read_text())
    summary_schema, notification_schema = report.schema("summary"), report.schema("notification")

    # Week 1: what happened becomes known; the processor tells LAB01 the next day, LAB02
    # five days later, LAB03 and LAB04 not yet.
    _set(case, "nature=fichier publié sur un forum", "malicious=true", "encrypted=false")
    _set(case, "organisation.name=Éditeur SA", "delay_reasons=labs hard to reach")
    _set(case, f"informed_at={_at(1)}", controller="LAB01")
    _set(case, f"informed_at={_at(5)}", "minors=false", controller="LAB02")
    now = AWARE_AT + timedelta(days=6)
    summary = pipeline.summary(case, now=now)
    jsonschema.validate(summary, summary_schema)
    clocks = {c["controller_id"]: c for c in summary["controllers"]}
    assert clocks["LAB01"]["deadline"] == _at(4)  # its own awareness + 72 h
    assert clocks["LAB01"]["overdue"] is True  # day 6 is past day 4, nothing notified
    assert clocks["LAB02"]["deadline"] == _at(8)
    assert clocks["LAB02"]["overdue"] is False
    assert clocks["LAB03"]["informed_at"] is None and clocks["LAB03"]["deadline"] is None
    assert clocks["LAB01"]["notices"] == dict.fromkeys(
        ("planned", "approved", "sent", "delivered", "bounced", "letters"), 0
    )
    assert (
        summary["provenance"]["inputs"][0]["sha256"]
        == hashlib.sha256((leak / "leak.csv").read_bytes()).hexdigest()
    )

    # The report of that day: v2 beside the v1 of run, which stays as it was.
    v1 = (case / "report" / "v1" / "index.html").read_bytes()
    pipeline.write_reports(case, now=now)
    assert (case / "report" / "v1" / "index.html").read_bytes() == v1
    index = (case / "report" / "v2" / "index.html").read_text(encoding="utf-8")
    duty = index.index("obligation du sous-traitant")
    assert duty < index.index("En bref")  # the processor's own duty comes first
    assert "2 responsable(s) de traitement pas encore informé(s)" in index
    assert "Échéance dépassée" in index
    head_before_report = _log(case)[-2]["hash"]  # the report's own entry comes after
    lab1 = _notification(case, 2, "LAB01")
    jsonschema.validate(lab1, notification_schema)
    assert lab1["provenance"]["report_version"] == 2
    assert lab1["provenance"]["audit_head"] == head_before_report
    assert lab1["provenance"]["case_id"] == json.loads((case / "case.json").read_text())["id"]
    assert lab1["sections"]["timeline"]["overdue"] is True
    assert lab1["sections"]["nature"]["malicious"] is True
    assert lab1["sections"]["timeline"]["delay_reasons"] == "labs hard to reach"

    # Week 2: LAB01 notifies (late) and gets its CNIL reference; the facts change.
    _set(
        case,
        f"notified_at={_at(7)}",
        "cnil_reference=CNIL-2021-0042",
        "delay_reasons=DPO absent",
        "persons_informed=planned",
        controller="LAB01",
    )
    _set(case, "nature=fichier publié puis retiré d'un forum")
    pipeline.write_reports(case, now=AWARE_AT + timedelta(days=14))
    for controller in ("LAB01", "LAB02", "LAB03", "LAB04"):
        for version in (1, 2, 3):
            jsonschema.validate(_notification(case, version, controller), notification_schema)
        assert _notification(case, 1, controller)["notification_type"] == "initial"
    lab1 = _notification(case, 3, "LAB01")
    assert lab1["notification_type"] == "complementary"
    assert lab1["initial_notification"] == {
        "version": 1,
        "cnil_reference": "CNIL-2021-0042",
        "notified_at": _at(7),
    }
    changed = {(c["scope"], c["name"]): (c["old"], c["new"]) for c in lab1["changes"]}
    assert changed[("controller", "cnil_reference")] == (None, "CNIL-2021-0042")
    assert changed[("case", "nature")] == (None, "fichier publié puis retiré d'un forum")
    assert ("controller", "minors") not in changed  # LAB02's fact, not LAB01's
    assert lab1["sections"]["notification"]["initial_reference"] == "CNIL-2021-0042"
    assert lab1["sections"]["timeline"]["overdue"] is False  # notified, though late
    assert lab1["sections"]["persons_informed"]["status"] == "planned"
    html = (case / "report" / "v3" / "controllers" / "LAB01" / "notification.html").read_text(
        encoding="utf-8"
    )
    assert "complémentaire" in html and "CNIL-2021-0042" in html
    index = (case / "report" / "v3" / "index.html").read_text("utf-8")
    assert "notifiée hors délai" in index
    assert "<td>DPO absent</td>" in index  # LAB01's reasons for its delay
    table = list(csv.DictReader(io.StringIO(
        (case / "report" / "v3" / "controllers.csv").read_text(encoding="utf-8-sig")
    ), delimiter=";"))  # fmt: skip
    expected = {c["controller_id"]: c for c in truth["controllers"]}
    for row in table:
        assert int(row["records"]) <= expected[row["controller_id"]]["records"] + 1
    assert (case / "report" / "v3" / "controllers.xlsx").read_bytes()[:2] == b"PK"

    # The export for LAB01: encrypted, decrypts to its persons with their contacts.
    identity = pyrage.x25519.Identity.generate()
    out_file = case.parent / "lab01.csv.age"
    result = runner.invoke(
        app,
        [
            "export", str(case), "--controller", "LAB01", "--out", str(out_file),
            "--recipient", str(identity.to_public()),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    sealed = out_file.read_bytes()
    assert sealed.startswith(b"age-encryption.org/v1")
    rows = list(csv.DictReader(io.StringIO(pyrage.decrypt(sealed, [identity]).decode())))
    assert abs(len(rows) - expected["LAB01"]["persons"]) <= 1
    leak_nirs = _nirs_of(leak, finess=_finess(leak, "LAB01"))
    exported = {r["nir"] for r in rows if r["nir"]}
    assert leak_nirs and len(leak_nirs & exported) >= 0.9 * len(leak_nirs)
    for nir in exported:  # every NIR the export holds comes from the leak
        assert nir in _nirs_of(leak)
    assert any(r["email"] for r in rows) and any(r["phone"] for r in rows)

    # Every step, in order, in a log that verifies.
    audit = runner.invoke(app, ["audit", str(case)])
    assert audit.exit_code == 0, audit.output
    commands = [entry["command"] for entry in _log(case)]
    assert commands[0] == "run"
    assert commands[:2] == ["run", "report"]  # run writes v1 after its own entry
    assert commands.count("facts set") == 6 and commands.count("report") == 3
    v1 = _notification(case, 1, "LAB01")["provenance"]
    assert v1["audit_head"] == _log(case)[0]["hash"] and v1["report_version"] == 1
    assert commands[-1] == "export"
    sets = [e for e in _log(case) if e["command"] == "facts set"]
    assert sets[4]["outcome"]["changes"][1] == {
        "controller_id": "LAB01",
        "name": "cnil_reference",
        "old": None,
        "new": "CNIL-2021-0042",
    }
    assert _log(case)[-1]["outcome"]["persons"] == len(rows)
    assert _log(case)[-1]["outcome"]["sha256"] == hashlib.sha256(sealed).hexdigest()


def test_a_fact_that_changes_the_grading_regrades(case):
    before = pipeline.summary(case)
    assert all(c["notify_persons"] for c in before["controllers"] if c["persons"])
    _set(case, "encrypted=true")  # art. 34(3)(a): persons need not be told
    after = pipeline.summary(case)
    assert not any(c["notify_persons"] for c in after["controllers"])
    assert _log(case)[-2]["outcome"]["regraded"] is True


def test_export_by_passphrase_and_refusals(case, tmp_path):
    out_file = tmp_path / "lab02.age"
    result = runner.invoke(
        app,
        ["export", str(case), "--controller", "LAB02", "--out", str(out_file)],
        env={"ARIANE_EXPORT_PASSPHRASE": "correct horse battery staple"},
    )
    assert result.exit_code == 0, result.output
    plain = pyrage.passphrase.decrypt(out_file.read_bytes(), "correct horse battery staple")
    assert plain.decode().startswith("person_id,last_name,first_name")
    again = runner.invoke(
        app,
        ["export", str(case), "--controller", "LAB02", "--out", str(out_file)],
        env={"ARIANE_EXPORT_PASSPHRASE": "x"},
    )
    assert again.exit_code == 2 and "already exists" in again.output
    no_key = runner.invoke(
        app,
        ["export", str(case), "--controller", "LAB02", "--out", str(tmp_path / "b.age")],
        env={"ARIANE_EXPORT_PASSPHRASE": ""},
    )
    assert no_key.exit_code == 2 and "--recipient" in no_key.output
    bad = runner.invoke(
        app,
        [
            "export", str(case), "--controller", "LAB02", "--out", str(tmp_path / "c.age"),
            "--recipient", "not-a-key",
        ],
    )  # fmt: skip
    assert bad.exit_code == 2 and "not an age public key" in bad.output
    assert not (tmp_path / "b.age").exists() and not (tmp_path / "c.age").exists()


def _column(leak, label: str) -> str:
    truth = json.loads((leak / "truth.json").read_text())
    return next(name for name, found in truth["columns"].items() if found == label)


def _finess(leak, controller_id: str) -> str:
    with open(leak / "registry.csv", encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle)
        return next(r["finess"] for r in rows if r["controller_id"] == controller_id)


def _nirs_of(leak, finess: str | None = None) -> set[str]:
    """NIRs of the leak's rows (of one FINESS), without spaces, 15 characters long."""
    finess_column, nir_column = _column(leak, "provider.finess"), _column(leak, "id.nir")
    found = set()
    with open(leak / "leak.csv", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if finess is not None and row[finess_column] != finess:
                continue
            nir = "".join(ch for ch in row[nir_column] if ch.isalnum()).upper()  # 2A, 2B
            if len(nir) == 15:
                found.add(nir)
    return found


def test_run_facts_file_feeds_the_same_store(leak, tmp_path):
    facts = tmp_path / "facts.toml"
    facts.write_text(
        '[breach]\nnature = "fichier publié"\nmalicious = false\naware_at = "2021-02-20T08:00:00"\n'
        '[controllers.LAB02]\ninformed_at = "2021-02-24T09:00:00+01:00"\n',
        encoding="utf-8",
    )
    case_dir = tmp_path / "case"
    result = runner.invoke(
        app,
        [
            "run", str(leak / "leak.csv"), "--case", str(case_dir), "-q",
            "--registry", str(leak / "registry.csv"), "--facts", str(facts),
            "--aware-at", AWARE_AT.isoformat(),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    shown = _facts(case_dir)
    assert shown["case"]["nature"] == "fichier publié"
    assert shown["case"]["malicious"] is False
    assert shown["case"]["aware_at"] == AWARE_AT.isoformat()  # --aware-at wins over the file
    assert shown["controllers"]["LAB02"]["informed_at"] == "2021-02-24T09:00:00+01:00"
    assert shown["case"]["encrypted"] is None
    lab2 = {c["controller_id"]: c for c in pipeline.summary(case_dir)["controllers"]}["LAB02"]
    assert lab2["deadline"] == "2021-02-27T09:00:00+01:00"


def test_a_fact_set_empty_is_unknown_again(case):
    _set(case, "aware_at=")  # even the --aware-at given to run
    _set(case, "nature=x")
    _set(case, "nature=")
    facts = _facts(case)
    assert facts["case"]["aware_at"] is None and facts["case"]["nature"] is None
    sets = [e for e in _log(case) if e["command"] == "facts set"]
    assert sets[0]["outcome"]["changes"] == [
        {"controller_id": None, "name": "aware_at", "old": AWARE_AT.isoformat(), "new": None}
    ]
