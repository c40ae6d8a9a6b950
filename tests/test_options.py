"""Options and option files: read tolerantly, checked before the leak, help texts clean."""

import re

import pytest
from typer.testing import CliRunner

from ariane import pipeline
from ariane.attribute import registry
from ariane.cli import app
from ariane.errors import ConfigError

runner = CliRunner()
ROWS = [
    ["LAB01", "Laboratoire Élodie Hôpital", "350815627", "830873766", "3 rue Gambetta",
     "35700", "Rennes", "dpo@lab1.example"],
    ["LAB02", "Biopôle Brest", "296918162", "", "84 rue Victor Hugo", "29200", "Brest", ""],
]  # fmt: skip


def _registry(path, *, sep: str, encoding: str, preamble: str = "") -> None:
    lines = [sep.join(registry.HEADER)] + [sep.join(row) for row in ROWS]
    path.write_bytes((preamble + "\r\n".join(lines) + "\r\n").encode(encoding))


@pytest.mark.parametrize(
    ("sep", "encoding", "preamble"),
    [
        (";", "cp1252", ""),
        (";", "latin-1", "sep=;\r\n"),
        ("\t", "utf-8-sig", ""),
        (",", "utf-8", ""),
    ],
)
def test_registry_as_french_excel_writes_it(tmp_path, sep, encoding, preamble):
    path = tmp_path / "registry.csv"
    _registry(path, sep=sep, encoding=encoding, preamble=preamble)
    found = registry.load(path)
    assert [c.controller_id for c in found] == ["LAB01", "LAB02"]
    assert found[0].name == "Laboratoire Élodie Hôpital"  # the accents survive
    assert found[1].name == "Biopôle Brest" and found[1].siren is None
    assert found[0].departement == "35" and found[1].departement == "29"


def test_registry_errors_count_lines_after_a_preamble(tmp_path):
    path = tmp_path / "registry.csv"
    _registry(path, sep=";", encoding="cp1252", preamble="sep=;\r\n")
    path.write_bytes(path.read_bytes() + b"LAB03;X;12;;;;;\r\n")
    with pytest.raises(ConfigError, match=r"registry.csv line 5: finess must be"):
        registry.load(path)


@pytest.mark.parametrize(
    ("option", "content", "message"),
    [
        ("registry", "controller_id;name\nLAB01;X\n", "registry header lacks"),
        ("facts", "[breach]\nmalicious = 3\n", "breach.malicious must be true or false"),
        ("patients", "colour,size\nred,1\n", "a patient list needs a NIR column"),
    ],
)
def test_option_files_are_checked_before_the_leak_is_read(
    tmp_path, monkeypatch, option, content, message
):
    leak = tmp_path / "leak.csv"
    leak.write_text("nom,prenom\nA,B\n")
    given = tmp_path / f"{option}.txt"
    given.write_text(content)

    def must_not_read(*args, **kwargs):
        raise AssertionError("the leak was read before the option files were checked")

    monkeypatch.setattr(pipeline.read, "load", must_not_read)
    options = pipeline.RunOptions(
        [leak],
        registry=given if option == "registry" else None,
        facts=given if option == "facts" else None,
        controller_patients={"LAB01": given} if option == "patients" else {},
    )
    with pytest.raises(ConfigError, match=message):
        pipeline.run(tmp_path / "case", options)
    assert not (tmp_path / "case").exists()


COMMANDS = [
    ["synth"], ["scan"], ["run"], ["summary"], ["report"], ["facts"], ["facts", "show"],
    ["facts", "set"], ["export"], ["audit"], ["demo"], ["selfcheck", "export"],
    ["selfcheck", "serve"],
]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_is_clean_and_every_command_takes_quiet(command):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output
    assert "`" not in result.output
    assert "CONTRACT" not in result.output
    assert re.search(r"-q, --quiet", result.output), result.output


def test_facts_template_is_still_written(tmp_path):
    template = tmp_path / "facts.toml"
    result = runner.invoke(app, ["facts", "--out", str(template)])
    assert result.exit_code == 0, result.output
    assert "[breach]" in template.read_text(encoding="utf-8")
    again = runner.invoke(app, ["facts", "--out", str(template)])
    assert again.exit_code == 2 and "already exists" in again.output


def test_docs_name_every_fact_and_the_readme_links_them():
    from pathlib import Path

    from ariane.assess.facts import catalogue

    root = Path(__file__).resolve().parent.parent
    facts = (root / "docs" / "facts.md").read_text(encoding="utf-8")
    for controller in (False, True):
        for name in catalogue(controller=controller):
            assert f"| `{name}` |" in facts, name
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert "CONTRACT.md" not in readme
    for page in ("commands.md", "inputs.md", "facts.md", "outputs.md"):
        assert f"docs/{page}" in readme
        assert (root / "docs" / page).exists()
