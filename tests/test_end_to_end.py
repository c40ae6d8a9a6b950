"""A synthetic leak through every built stage: counts add up, and nothing leaks to disk."""

import csv
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ariane.cli import app
from ariane.synth import generate

runner = CliRunner()
IDENTIFYING = {"id.nir", "contact.email", "person.last_name", "person.first_name"}


@pytest.fixture(scope="module")
def leak(tmp_path_factory):
    folder = tmp_path_factory.mktemp("leak")
    generate(folder, rows=3_000, seed=7)
    return folder


def _identifying_values(leak_dir) -> set[bytes]:
    truth = json.loads((leak_dir / "truth.json").read_text())
    wanted = {name for name, label in truth["columns"].items() if label in IDENTIFYING}
    assert wanted, "the synthetic leak should have identifying columns"
    # Controllers' names and addresses are public and belong in reports ("Laboratoire
    # Roux-Gautier", "rue Victor Hugo"): a patient value that also stands there proves nothing.
    registry = (leak_dir / "registry.csv").read_text(encoding="utf-8")
    values: set[bytes] = set()
    with open(leak_dir / "leak.csv", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            for name in wanted:
                value = (row.get(name) or "").strip()
                if len(value) >= 6 and value not in registry:  # short ones match random bytes
                    values.add(value.encode("utf-8"))
    return values


def test_run_keeps_no_identifying_value_in_plaintext(leak, tmp_path):
    case_dir = tmp_path / "case"
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
        ],
    )
    assert result.exit_code == 0, result.output
    values = _identifying_values(leak)
    assert len(values) > 1_000
    for root, _, names in os.walk(case_dir):
        for name in names:
            content = Path(root, name).read_bytes()
            found = [v for v in values if v in content]
            assert not found, f"{name} holds {len(found)} identifying values in plaintext"


def test_summary_counts_every_record(leak, tmp_path):
    case_dir = tmp_path / "case"
    assert (
        runner.invoke(app, ["run", str(leak / "leak.csv"), "--case", str(case_dir), "-q"]).exit_code
        == 0
    )
    result = runner.invoke(app, ["summary", str(case_dir), "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    truth = json.loads((leak / "truth.json").read_text())
    assert document["rows"] + document["quarantined"] == truth["rows"]
    assert document["quarantined"] == 0
    audit = runner.invoke(app, ["audit", str(case_dir)])
    assert audit.exit_code == 0, audit.output
    assert "2 entries" in audit.output  # run, summary


def test_demo_runs_and_says_where(tmp_path):
    result = runner.invoke(app, ["demo", "--out", str(tmp_path / "demo"), "--rows", "2000", "-q"])
    assert result.exit_code == 0, result.output
    assert "case" in result.output
    assert (tmp_path / "demo" / "case" / "store.duckdb").exists()
