"""Archive member names are personal data: kept in the store as provenance, shown nowhere else.

A leak's files are often named after the patient (``DUPONT_Jean_<NIR>_VIH_positif.csv``).
Every output outside the encrypted store (scan text and JSON, run and summary output, the
report's HTML, JSON and PDF, error lines) names a member by its number only.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ariane.case import Case
from ariane.cli import app
from layout_leaks import archive

runner = CliRunner()

PATIENT_FILE = "DUPONT_Jean_185057512345678_VIH_positif"
OTHER_FILE = "MARTIN_Zoe_297031412345678_grossesse"
#: Parts of the names above that nothing else in an output could hold.
NAME_PARTS = ["DUPONT", "Jean_", "185057512345678", "VIH_positif", "MARTIN_Zoe", "297031412345678"]


def _leaks(text: str) -> list[str]:
    return [part for part in NAME_PARTS if part.lower() in text.lower()]


@pytest.fixture(scope="module")
def leak(tmp_path_factory) -> tuple[Path, Path, int]:
    """Per-lab CSVs (only their folders name the lab) renamed after a patient, plus a PDF."""
    folder = tmp_path_factory.mktemp("names")
    layout = archive(folder, "tar", rows=400)
    path = folder / "leak.zip"
    rows = 0
    with tarfile.open(layout.files[0]) as source, zipfile.ZipFile(path, "w") as bundle:
        for n, info in enumerate(m for m in source.getmembers() if m.isfile()):
            data = source.extractfile(info).read()  # type: ignore[union-attr]
            rows += data.count(b"\n") - 1
            lab_folder = info.name.rsplit("/", 1)[0]
            bundle.writestr(f"{lab_folder}/{PATIENT_FILE}_{n}.csv", data)
        bundle.writestr(f"scans/{OTHER_FILE}.pdf", b"%PDF-1.4 a scanned prescription")
    assert layout.registry is not None
    return path, layout.registry, rows


def test_scan_names_members_by_number_only(leak):
    path, _, rows = leak
    text = runner.invoke(app, ["scan", str(path)], terminal_width=200)
    assert text.exit_code == 0, text.output
    assert f"{rows:,} rows read, 1 quarantined" in text.output
    assert "member 1" in text.output
    assert _leaks(text.output) == []
    document = runner.invoke(app, ["scan", str(path), "--json"])
    assert document.exit_code == 0
    assert _leaks(document.stdout) == []
    parsed = json.loads(document.stdout)
    members = sorted(f["member"] for f in parsed["files"])
    assert members == list(range(1, len(parsed["files"]) + 1))
    assert {f["inner_path"] for f in parsed["files"]} == {f"member {n}" for n in members}


def test_run_summary_and_report_name_no_member(leak, tmp_path):
    path, registry, rows = leak
    case = tmp_path / "case"
    run = runner.invoke(app, ["run", str(path), "--case", str(case), "--registry", str(registry)])
    assert run.exit_code == 0, run.output
    summary = runner.invoke(app, ["summary", str(case), "--json"])
    report = runner.invoke(app, ["report", str(case)])
    assert report.exit_code == 0, report.output
    outputs = [run.output, summary.stdout, report.output]
    written = sorted(p for p in (case / "report").rglob("*") if p.is_file())
    assert any(p.suffix == ".html" for p in written)
    for file in written:
        if file.suffix in {".html", ".json", ".txt", ".csv"}:
            outputs.append(file.read_text(encoding="utf-8"))
        elif file.suffix == ".pdf" and shutil.which("pdftotext"):
            pdf = subprocess.run(["pdftotext", str(file), "-"], capture_output=True, text=True)
            outputs.append(pdf.stdout)
    assert [part for text in outputs for part in _leaks(text)] == []
    index = (case / "report" / "v1" / "index.html").read_text(encoding="utf-8")
    assert "member 1 of leak.zip" in index
    # Attribution still reads the members' folders, from the store.
    parsed = json.loads(summary.stdout)
    assert parsed["rows"] == rows and parsed["unattributed_records"] == 0
    with Case.open(case) as opened:
        inner = {r[0] for r in opened.engine().fetch("SELECT inner_path FROM read_sources")}
    assert f"scans/{OTHER_FILE}.pdf" in inner  # provenance kept, inside the store


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, data in members.items():
            bundle.writestr(name, data)
    return out.getvalue()


def test_error_lines_name_no_member(tmp_path):
    damaged = bytearray(_zip({f"{PATIENT_FILE}.csv": b"nir;nom\n" * 20_000}))
    damaged[120:180] = b"\x00" * 60
    bomb = _zip({f"{PATIENT_FILE}.zip": _zip({f"{OTHER_FILE}.csv": bytes(300 << 20)})})
    deep = b"nir;nom\n1;2\n"
    for level in range(6):
        deep = _zip({f"{PATIENT_FILE}_{level}.zip" if level else f"{OTHER_FILE}.csv": deep})
    nested_damage = _zip({f"{PATIENT_FILE}.zip": b"PK\x03\x04" + b"\x00" * 100})
    for name, data in {
        "damaged.zip": bytes(damaged),
        "bomb.zip": bomb,
        "deep.zip": deep,
        "nested.zip": nested_damage,
    }.items():
        (tmp_path / name).write_bytes(data)
        result = runner.invoke(app, ["scan", str(tmp_path / name)])
        assert result.exit_code == 2, (name, result.output)
        assert name in result.output and "Traceback" not in result.output
        assert _leaks(result.output) == [], (name, result.output)
