"""A synthetic leak through every stage: counts add up, findings match the truth, and
nothing identifying lands on disk in plaintext."""

import csv
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import ariane
from ariane import geo
from ariane.cli import app
from ariane.synth import generate

runner = CliRunner()

#: Values that identify a person, or a health fact about one, wherever they appear.
DISTINCTIVE = {
    "id.nir",
    "id.internal",
    "contact.email",
    "contact.phone",
    "contact.street",
    "provider.physician",
}
#: Single names: short, so searched as whole words, and only where a match means something.
NAMES = {"person.last_name", "person.first_name"}
# Left out as too generic to mean anything alone (each is a value any report may print, or
# one that thousands of people share): sex, birth date, postal code, town, blood group,
# visit date, insurer, lab, FINESS and RPPS (professionals' public registers).

#: In encrypted or compressed bytes a 4-byte value matches by chance about once per 4 GB
#: searched per value; from 8 bytes on a chance match is out of reach (2**-64 per place).
BINARY_MIN = 8


@pytest.fixture(scope="module")
def leak(tmp_path_factory):
    folder = tmp_path_factory.mktemp("leak")
    generate(folder, rows=3_000, seed=7)
    return folder


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """Every place a run may write: temp, home, keys, working folder; and what it printed."""
    root = tmp_path_factory.mktemp("sandbox")
    for name in ("tmp", "home", "keys", "work"):
        (root / name).mkdir()
    return root


@pytest.fixture(scope="module")
def case(leak, sandbox):
    """One full run, with registry and awareness time, in a process whose every writable
    place is inside the sandbox; shared by the tests below."""
    case_dir = sandbox / "work" / "case"
    truth = json.loads((leak / "truth.json").read_text())
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("ARIANE_", "XDG_"))},
        # The code under test, wherever the working folder is (a relative path would not do).
        "PYTHONPATH": str(Path(ariane.__file__).resolve().parents[1]),
        "TMPDIR": str(sandbox / "tmp"),
        "HOME": str(sandbox / "home"),
        "ARIANE_KEY_DIR": str(sandbox / "keys"),
    }
    command = [sys.executable, "-c", "from ariane.cli import main; main()", "run"]
    result = subprocess.run(
        [
            *command,
            str(leak / "leak.csv"),
            "--case",
            str(case_dir),
            "--quiet",
            "--registry",
            str(leak / "registry.csv"),
            "--aware-at",
            truth["aware_at"],
        ],
        env=env,
        cwd=sandbox / "work",
        capture_output=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    (sandbox / "stdout").write_bytes(result.stdout)
    (sandbox / "stderr").write_bytes(result.stderr)
    return case_dir


def _values(leak_dir, labels: set[str]) -> set[str]:
    truth = json.loads((leak_dir / "truth.json").read_text())
    wanted = {name for name, label in truth["columns"].items() if label in labels}
    assert wanted, f"the synthetic leak should have columns labelled {labels}"
    # Controllers' names and addresses are public and belong in reports ("Laboratoire
    # Roux-Gautier", "rue Victor Hugo"): a patient value that also stands there proves nothing.
    registry = (leak_dir / "registry.csv").read_text(encoding="utf-8")
    # So are the names of régions and départements ("Normand" stands in "Normandie").
    places = _public_place_names()
    values: set[str] = set()
    with open(leak_dir / "leak.csv", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            for name in wanted:
                value = (row.get(name) or "").strip()
                if value and value not in registry and value not in places:
                    values.add(value)
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


def _notes(leak_dir) -> set[str]:
    """Free-text notes of two words or more: a one-word note ("grossesse") is the very name
    of a category the report counts, so it proves nothing where it appears."""
    return {note for note in _values(leak_dir, {"health.note"}) if len(note.split()) >= 2}


def _full_names(leak_dir) -> set[str]:
    """First and last name together, in both orders: distinctive however short each is."""
    truth = json.loads((leak_dir / "truth.json").read_text())
    first = next(n for n, label in truth["columns"].items() if label == "person.first_name")
    last = next(n for n, label in truth["columns"].items() if label == "person.last_name")
    names: set[str] = set()
    with open(leak_dir / "leak.csv", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row[first].strip() and row[last].strip():
                names.add(f"{row[first].strip()} {row[last].strip()}")
                names.add(f"{row[last].strip()} {row[first].strip()}")
    return names


def _written_files(sandbox) -> list[Path]:
    return [Path(root, name) for root, _, names in os.walk(sandbox) for name in names]


def _plaintext_hits(files: list[Path], distinctive: set[str], names: set[str]) -> list:
    """(file, value) for every identifying value found in clear in ``files``."""
    # Whole words, a hyphen counting as part of one: "Denis" alone, not in "Saint-Denis".
    alternatives = "|".join(sorted(map(re.escape, names)))
    name_pattern = re.compile(rf"(?<![\w-])({alternatives})(?![\w-])")
    hits = []
    for path in files:
        content = path.read_bytes()
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is not None:  # report, JSON, logs, what was printed: every value counts
            hits += [(path.name, v) for v in distinctive if v in text]
            hits += [(path.name, m.group()) for m in name_pattern.finditer(text)]
        else:  # encrypted store, PDF streams: values long enough not to match by chance
            hits += [
                (path.name, v)
                for v in distinctive
                if len(v.encode()) >= BINARY_MIN and v.encode() in content
            ]
    return hits


def test_nothing_identifying_is_written_in_plaintext_anywhere(leak, sandbox, case):
    distinctive = _values(leak, DISTINCTIVE) | _full_names(leak) | _notes(leak)
    digits = {re.sub(r"\D", "", v) for v in _values(leak, {"contact.phone"})}
    distinctive |= {d for d in digits if len(d) >= 10}  # a phone as stored, "0685739268"
    names = _values(leak, NAMES)
    assert len(distinctive) > 5_000 and len(names) > 500
    files = [f for f in _written_files(sandbox) if not f.is_relative_to(sandbox / "keys")]
    assert case / "report" / "v1" / "index.pdf" in files and sandbox / "stdout" in files
    assert case / "store.duckdb" in files
    hits = _plaintext_hits(files, distinctive, names)
    assert not hits, f"{len(hits)} identifying values in plaintext, e.g. {hits[:5]}"


def test_the_plaintext_check_finds_what_it_looks_for(tmp_path):
    """The search above is not blind: short names in text, long values in binary bytes."""
    (tmp_path / "report.html").write_text("<p>Zoé</p><p>Saint-Denis</p>", encoding="utf-8")
    (tmp_path / "spill.bin").write_bytes(b"\xff\xfe" + b"185053523801234" + b"\x00Luc")
    hits = _plaintext_hits(sorted(tmp_path.iterdir()), {"185053523801234"}, {"Zoé", "Denis", "Luc"})
    assert sorted(hits) == [("report.html", "Zoé"), ("spill.bin", "185053523801234")]


def test_the_run_leaves_no_scratch_behind(sandbox, case):
    scratch = sandbox / "tmp" / f"ariane-{os.getuid()}"
    assert not scratch.exists() or list(scratch.iterdir()) == []
    assert not (case / ".tmp").exists() or list((case / ".tmp").iterdir()) == []


def test_case_files_are_private(case):
    for root, folders, names in os.walk(case):
        for name in folders:
            assert stat.S_IMODE(os.stat(Path(root, name)).st_mode) == 0o700, name
        for name in names:
            assert stat.S_IMODE(os.stat(Path(root, name)).st_mode) == 0o600, name
    assert stat.S_IMODE(os.stat(case).st_mode) == 0o700


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
    said = " ".join(audit.output.split())  # however the terminal width wrapped it
    assert f"{len(log)} entries" in said


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
