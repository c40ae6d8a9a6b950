"""``ariane run`` on small leaks in the exchange and database formats, in layouts the other
tests do not use (:mod:`unseen_formats`, built with each format's own library): every
record read and none quarantined, results folded into their patient, persons exact,
the categories found, nothing unattributed."""

from __future__ import annotations

import json

import pytest

import unseen_formats
from hl7_messages import REGISTRY

pytest.importorskip("hl7apy")
pytest.importorskip("fhir.resources")


@pytest.mark.parametrize("name", sorted(unseen_formats.BUILDERS))
def test_run_on_an_unseen_layout(tmp_path, name):
    import typer.testing

    from ariane.cli import app

    out = tmp_path / "leak"
    out.mkdir()
    inputs, truth = unseen_formats.BUILDERS[name](out)
    registry = tmp_path / "registry.csv"
    registry.write_text(REGISTRY, encoding="utf-8")
    runner = typer.testing.CliRunner()
    case = tmp_path / "case"
    arguments = ["run", *map(str, inputs), "--case", str(case), "--registry", str(registry)]
    result = runner.invoke(app, [*arguments, "--quiet"])
    assert result.exit_code == 0, result.output
    found = json.loads(runner.invoke(app, ["summary", str(case), "--json"]).stdout)
    assert found["rows"] == truth["rows"]
    assert found["quarantined"] == 0
    assert found["rows"] - found["linked"] == truth["records"]  # results are no records
    assert found["persons"] == truth["persons"]
    low, high = found["persons_interval"]
    assert low <= truth["persons"] <= high
    categories = found["special_categories"]
    for category in ("hiv", "pregnancy", "cancer"):
        assert categories.get(category, 0) == truth[category], category
    assert found["unattributed_records"] == 0
