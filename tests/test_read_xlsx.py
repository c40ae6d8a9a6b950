"""XLSX: sheets, headers, cell types; workbooks built in code (no spreadsheet library)."""

from __future__ import annotations

import io
import zipfile
from xml.sax.saxutils import escape

import pytest

from ariane.case import Case
from ariane.read import load


def _cell(ref: str, value: object) -> str:
    if isinstance(value, int | float):
        return f'<c r="{ref}"><v>{value}</v></c>'
    return (
        f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(str(value))}</t></is></c>'
    )


def workbook(sheets: dict[str, list[list[object]]]) -> bytes:
    """A minimal valid XLSX with inline strings."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            for i in range(1, len(sheets) + 1)
        )
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats'
            '-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.sheet.main+xml"/>' + overrides + "</Types>",
        )
        z.writestr(
            "_rels/.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>",
        )
        entries = "".join(
            f'<sheet name="{escape(n)}" sheetId="{i}" r:id="rId{i}"/>'
            for i, n in enumerate(sheets, start=1)
        )
        z.writestr(
            "xl/workbook.xml",
            '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
            '2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
            f'relationships"><sheets>{entries}</sheets></workbook>',
        )
        rels = "".join(
            f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/'
            f'2006/relationships/worksheet" Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, len(sheets) + 1)
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            f'2006/relationships">{rels}</Relationships>',
        )
        for i, rows in enumerate(sheets.values(), start=1):
            body = "".join(
                f'<row r="{r}">'
                + "".join(_cell(f"{chr(65 + c)}{r}", v) for c, v in enumerate(row) if v != "")
                + "</row>"
                for r, row in enumerate(rows, start=1)
            )
            z.writestr(
                f"xl/worksheets/sheet{i}.xml",
                '<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/'
                f'spreadsheetml/2006/main"><sheetData>{body}</sheetData></worksheet>',
            )
    return out.getvalue()


@pytest.fixture()
def engine():
    with Case.ephemeral() as case:
        yield case.engine()


def test_every_sheet_is_a_source_with_its_values(engine, tmp_path):
    path = tmp_path / "export.data"  # the name says nothing: content decides
    path.write_bytes(
        workbook(
            {
                "Patients": [
                    ["Nom", "Prénom", "Code postal", "Montant"],
                    ["Dupont", "Zoé", 35000, 12.5],
                    ["", "", "", ""],
                    ['L\'Hôte "x"', "Ana\nMaria", 29200, 3],
                ],
                "Sans entête": [["Martin", "Jean", 56100], ["Guen", "Léa", 22000]],
            }
        )
    )
    summary = load(engine, [path])
    first, second = summary.sources
    assert (first.format, first.table_name, first.columns) == (
        "xlsx",
        "Patients",
        ["Nom", "Prénom", "Code postal", "Montant"],
    )
    rows = engine.fetch(
        f"SELECT * EXCLUDE (_source_id, _line) FROM {first.data_table} ORDER BY _record"
    )
    assert rows == [
        ("Dupont", "Zoé", "35000", "12.5", 1),
        ('L\'Hôte "x"', "Ana\nMaria", "29200", "3", 2),
    ]
    assert second.columns == ["col_1", "col_2", "col_3"] and second.rows == 2


def test_workbook_inside_an_archive(engine, tmp_path):
    inner = workbook({"Feuil1": [["nir", "nom"], ["1600275123456", "Dupont"]]})
    path = tmp_path / "labs.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("lab07/export.xlsx", inner)
    (source,) = load(engine, [path]).sources
    assert (source.inner_path, source.format, source.rows) == ("lab07/export.xlsx", "xlsx", 1)


def test_title_rows_above_the_header_are_quarantined(engine, tmp_path):
    """A report title over the table: the header under it is found, the title kept aside."""
    path = tmp_path / "rapport.xlsx"
    path.write_bytes(
        workbook(
            {
                "Export": [
                    ["Résultats du laboratoire", "", "", ""],
                    ["", "", "", ""],
                    ["Nom", "Prénom", "Code postal", "Commentaire"],
                    ["Dupont", "Zoé", 35000, "RAS"],
                    ["Martin", "Jean", 56100, "à jeun"],
                ]
            }
        )
    )
    (source,) = load(engine, [path]).sources
    assert source.columns == ["Nom", "Prénom", "Code postal", "Commentaire"]
    assert (source.rows, source.quarantined) == (2, 1)
    rows = engine.fetch(f'SELECT "Nom", _record FROM {source.data_table} ORDER BY _record')
    assert rows == [("Dupont", 2), ("Martin", 3)]
    reasons = engine.fetch(
        "SELECT record, reason FROM read_quarantine WHERE source_id = ?", [source.source_id]
    )
    assert reasons == [(1, "above the header row (a title)")]
