"""The command line: thin, safe errors, exit codes."""

import json

from typer.testing import CliRunner

from ariane.case import Case
from ariane.cli import app

runner = CliRunner()


def test_help_lists_every_contract_command():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("demo", "synth", "scan", "run", "summary", "report", "audit"):
        assert command in result.output


def test_missing_input_is_one_line_naming_the_file(tmp_path):
    missing = tmp_path / "nowhere.csv"
    result = runner.invoke(app, ["scan", str(missing)])
    assert result.exit_code == 2
    assert "nowhere.csv" in result.output
    assert "Traceback" not in result.output


def test_report_on_a_case_without_assessment_says_what_is_missing(tmp_path):
    with Case.create(tmp_path / "case") as case:
        case.engine().execute("CREATE TABLE case_stages (stage VARCHAR, completed_at TIMESTAMPTZ)")
        case.engine().execute("INSERT INTO case_stages VALUES ('read', now())")
    result = runner.invoke(app, ["report", str(tmp_path / "case")])
    assert result.exit_code == 4
    assert "no resolve, attribute, assess results" in result.output


def test_summary_of_a_folder_that_is_not_a_case(tmp_path):
    result = runner.invoke(app, ["summary", str(tmp_path)])
    assert result.exit_code == 3
    assert "not an Ariane case" in result.output


def test_bad_aware_at_is_refused_before_any_work(tmp_path):
    leak = tmp_path / "leak.csv"
    leak.write_text("a,b\n1,2\n")
    result = runner.invoke(
        app, ["run", str(leak), "--case", str(tmp_path / "case"), "--aware-at", "yesterday"]
    )
    assert result.exit_code == 2
    assert "--aware-at" in result.output
    assert not (tmp_path / "case").exists()


def test_scan_prints_a_table_per_file_and_json_on_request(tmp_path):
    leak = tmp_path / "patients.csv"
    leak.write_text(
        "nom;prenom;email\n"
        + "".join(f"NOM{i};Prenom{i};p{i}@example.invalid\n" for i in range(30)),
        encoding="utf-8",
    )
    table = runner.invoke(app, ["scan", str(leak), "-q"])
    assert table.exit_code == 0, table.output
    assert "30 rows read, 0 quarantined" in table.output
    assert "Columns of" in table.output and "contact.email" in table.output
    document = runner.invoke(app, ["scan", str(leak), "--json"])
    assert document.exit_code == 0
    parsed = json.loads(document.stdout)
    assert parsed["rows"] + parsed["quarantined"] == 30
    assert {c["name"]: c["label"] for c in parsed["columns"]}["email"] == "contact.email"
