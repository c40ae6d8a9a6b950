"""``ariane selfcheck``: thin commands, one-line errors with the right exit codes."""

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from ariane.case import Case
from ariane.cli import app
from selfcheck_fixtures import PERSONS, build

runner = CliRunner()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build(tmp_path_factory.mktemp("selfcheck-cli"))


def _one_line_error(result, code, words):
    assert result.exit_code == code, result.output
    assert words in result.output
    assert "Traceback" not in result.output


def test_export_prints_counts_and_where_the_keys_are(built, tmp_path):
    out = tmp_path / "index"
    env = {"ARIANE_KEY_DIR": str(built.case_dir.parent / "keys")}
    result = runner.invoke(app, ["selfcheck", "export", str(built.case_dir), "--out", str(out)],
                           env=env)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"{PERSONS} persons" in result.output
    assert "index.hmac-key" in result.output and "index.sender-key" in result.output
    assert (out / "index.json").exists()


def test_export_of_a_case_without_persons(tmp_path):
    with Case.create(tmp_path / "case") as case:
        case.engine().execute("CREATE TABLE case_stages (stage VARCHAR, completed_at TIMESTAMPTZ)")
    result = runner.invoke(app, ["selfcheck", "export", str(tmp_path / "case"), "--out",
                                 str(tmp_path / "index")])  # fmt: skip
    _one_line_error(result, 4, "no resolve results")


def test_export_of_a_folder_that_is_not_a_case(tmp_path):
    result = runner.invoke(app, ["selfcheck", "export", str(tmp_path), "--out",
                                 str(tmp_path / "index")])  # fmt: skip
    _one_line_error(result, 3, "not an Ariane case")


def test_serve_refuses_what_it_cannot_use(built, tmp_path):
    serve = ["selfcheck", "serve"]
    _one_line_error(runner.invoke(app, [*serve, str(tmp_path)]), 2, "not a self-check index")
    wrong = tmp_path / "wrong.key"
    wrong.write_text("00" * 32)
    _one_line_error(
        runner.invoke(app, [*serve, str(built.index_dir), "--hmac-key", str(wrong)]),
        2,
        "not this index's key",
    )
    _one_line_error(
        runner.invoke(app, [*serve, str(built.index_dir), "--smtp", "nowhere"]), 2, "HOST:PORT"
    )
    _one_line_error(
        runner.invoke(app, [*serve, str(built.index_dir), "--limit-ip", "many"]),
        2,
        "COUNT/SECONDS",
    )
    _one_line_error(
        runner.invoke(app, [*serve, str(built.index_dir), "--redis", "redis://127.0.0.1:1/0"]),
        2,
        "cannot reach the Redis server",
    )
    _one_line_error(
        runner.invoke(app, [*serve, str(built.index_dir), "--sender-key", str(wrong)]),
        2,
        "not an age identity",
    )


def test_the_service_opens_no_case():
    code = (
        "import sys, ariane.selfcheck.app, ariane.selfcheck.serve, ariane.selfcheck.sender; "
        "print(sorted(m for m in sys.modules if m.startswith(('ariane.case', 'duckdb'))))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        env={"PYTHONPATH": ":".join(sys.path)},
    ).stdout  # fmt: skip
    assert loaded.strip() == "[]"
