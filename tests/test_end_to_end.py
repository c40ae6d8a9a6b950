"""A synthetic leak through every stage: counts add up, findings match the truth, and
nothing identifying lands on disk in plaintext."""

import csv
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ariane import geo
from ariane.cli import app
from ariane.synth import generate

runner = CliRunner()
IDENTIFYING = {"id.nir", "contact.email", "person.last_name", "person.first_name"}


@pytest.fixture(scope="module")
def leak(tmp_path_factory):
    folder = tmp_path_factory.mktemp("leak")
    generate(folder, rows=3_000, seed=7)
    return folder


@pytest.fixture(scope="module")
def case(leak, tmp_path_factory):
    """One full run, with registry and awareness time, shared by the tests below."""
    case_dir = tmp_path_factory.mktemp("run") / "case"
    truth = json.loads((leak / "truth.json").read_text())
    result = runner.invoke(
        app,
        [
            "run",
            str(leak / "leak.csv"),
            "--case",
            str(case_dir),
            "--quiet",
            "--registry",
            str(leak / "registry.csv"),
            "--aware-at",
            truth["aware_at"],
        ],
    )
    assert result.exit_code == 0, result.output
    return case_dir


def _identifying_values(leak_dir) -> set[bytes]:
    truth = json.loads((leak_dir / "truth.json").read_text())
    wanted = {name for name, label in truth["columns"].items() if label in IDENTIFYING}
    assert wanted, "the synthetic leak should have identifying columns"
    # Controllers' names and addresses are public and belong in reports ("Laboratoire
    # Roux-Gautier", "rue Victor Hugo"): a patient value that also stands there proves nothing.
    registry = (leak_dir / "registry.csv").read_text(encoding="utf-8")
    # So are the names of régions and départements ("Normand" stands in "Normandie").
    places = _public_place_names()
    values: set[bytes] = set()
    with open(leak_dir / "leak.csv", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            for name in wanted:
                value = (row.get(name) or "").strip()
                public = value in registry or value in places
                if len(value) >= 6 and not public:  # short ones match random bytes
                    values.add(value.encode("utf-8"))
    return values


def _public_place_names() -> str:
    """The names of every département and région (public, and in reports by design)."""
    places = geo.referential()
    overseas = ["2A", "2B", "971", "972", "973", "974", "976"]
    names = []
    for code in [f"{n:02d}" for n in range(1, 96) if n != 20] + overseas:
        region = places.region_of_departement(code)
        names += [places.departement_name(code) or "", places.region_name(region or "") or ""]
    return " ".join(names)


def test_case_keeps_no_identifying_value_in_plaintext(leak, case):
    values = _identifying_values(leak)
    assert len(values) > 1_000
    assert (case / "report" / "v1" / "index.pdf").exists()
    for root, _, names in os.walk(case):
        for name in names:
            content = Path(root, name).read_bytes()
            found = [v for v in values if v in content]
            assert not found, f"{name} holds {len(found)} identifying values in plaintext"


def test_summary_matches_the_truth(leak, case):
    result = runner.invoke(app, ["summary", str(case), "--json"])
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    truth = json.loads((leak / "truth.json").read_text())
    assert found["rows"] + found["quarantined"] == truth["rows"]
    assert found["quarantined"] == 0
    assert abs(found["persons"] - truth["persons"]) <= 0.01 * truth["persons"]
    low, high = found["persons_interval"]
    assert low <= truth["persons"] <= high
    assert found["departements"] == truth["departements"]
    assert found["regions"] == truth["regions"]
    assert found["special_categories"] == truth["special_categories"]
    assert sum(found["severity"].values()) == found["persons"]
    assert found["unattributed_records"] <= 0.005 * truth["rows"]
    expected = {c["controller_id"]: c for c in truth["controllers"]}
    assert {c["controller_id"] for c in found["controllers"]} <= set(expected)
    attributed = 0
    for controller in found["controllers"]:
        wanted = expected[controller["controller_id"]]
        attributed += controller["records"]
        assert controller["records"] <= wanted["records"] * 1.005 + 1
        for duty in ("notify_regulator", "notify_persons"):
            assert controller[duty] == wanted[duty], (controller["controller_id"], duty)
        # The processor has told no lab yet (no informed_at): no lab's 72 hours have started.
        assert controller["informed_at"] is None and controller["deadline"] is None
    assert attributed + found["unattributed_records"] == truth["rows"]


def test_audit_log_lists_every_command(case):
    readable = runner.invoke(app, ["summary", str(case)])
    assert readable.exit_code == 0, readable.output
    assert "Controllers" in readable.output and "LAB01" in readable.output
    assert "persons interval" in readable.output
    audit = runner.invoke(app, ["audit", str(case)])
    assert audit.exit_code == 0, audit.output
    log = [json.loads(line) for line in (case / "audit.jsonl").read_text().splitlines()]
    assert log[0]["command"] == "run"
    assert log[0]["inputs"][0]["path"].endswith("leak.csv")
    assert f"{len(log)} entries" in audit.output


def test_report_writes_a_new_version_and_keeps_the_first(case):
    first = (case / "report" / "v1" / "index.html").read_bytes()
    result = runner.invoke(app, ["report", str(case), "-q"])
    assert result.exit_code == 0, result.output
    assert (case / "report" / "v1" / "index.html").read_bytes() == first
    assert (case / "report" / "v2" / "index.html").exists()
    assert list((case / "report" / "v2" / "controllers").glob("*/notification.json"))


def test_demo_runs_and_says_where_and_runs_again(tmp_path):
    for _ in range(2):  # a second demo in the same folder replaces the first
        result = runner.invoke(
            app, ["demo", "--out", str(tmp_path / "demo"), "--rows", "300", "-q"]
        )
        assert result.exit_code == 0, result.output
        assert "report:" in result.output
        assert (tmp_path / "demo" / "case" / "report" / "v1" / "index.html").exists()
        assert not (tmp_path / "demo" / "case" / "report" / "v2").exists()
