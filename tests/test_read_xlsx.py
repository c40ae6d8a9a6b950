"""XLSX: sheets, headers, cell types; workbooks built in code (no spreadsheet library)."""

from __future__ import annotations

import io
import textwrap
import zipfile
from xml.sax.saxutils import escape

import pytest

from ariane.case import Case
from ariane.errors import InputError
from ariane.read import load
from measure import (
    assert_linear,
    assert_linear_steps,
    in_child,
    linear_sizes,
    loading_seconds,
    reading_steps,
)


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
    assert (source.inner_path, source.format, source.rows) == ("member 1", "xlsx", 1)
    stored = engine.fetch("SELECT inner_path FROM read_sources")
    assert stored == [("lab07/export.xlsx",)]  # the member's name: in the store only


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


def test_headings_of_column_groups_above_the_header_are_a_title_too(engine, tmp_path):
    """Over the header, a title, a date line and a row of headings over merged cells
    ("Identité" over three columns, "Contact" over two): issue 15's second round found the
    header missed and all four rows read as records, every column ``col_N``."""
    path = tmp_path / "suivi.xlsx"
    path.write_bytes(
        workbook(
            {
                "Patients": [
                    ["Laboratoire - suivi des patients", "", "", "", "", ""],
                    ["Extraction du 14/03/2024", "", "", "", "", ""],
                    ["Identité", "", "", "Contact", "", ""],
                    ["Nom", "Prénom", "Né le", "Code postal", "Ville", "Médecin"],
                    ["Dupont", "Zoé", "12/03/1961", 35000, "Rennes", "Dr Le Goff"],
                    ["Martin", "Jean", "01/10/1980", 56100, "Lorient", "Dr Caradec"],
                    ["Le Bris", "Anne", "23/07/1955", 29200, "Brest", "Dr Le Goff"],
                ]
            }
        )
    )
    (source,) = load(engine, [path]).sources
    assert source.columns == ["Nom", "Prénom", "Né le", "Code postal", "Ville", "Médecin"]
    assert (source.rows, source.quarantined) == (3, 3)


def test_a_sparse_record_above_a_record_is_no_title(engine, tmp_path):
    """Headerless rows stay rows: one filling four of six cells is a record, not a title."""
    path = tmp_path / "sans_entete.xlsx"
    rows: list[list[object]] = [
        ["Dupont", "Zoé", "12/03/1961", 35000, "", ""],
        ["Martin", "Jean", "01/10/1980", 56100, "Lorient", "Dr Caradec"],
        ["Le Bris", "Anne", "23/07/1955", 29200, "Brest", "Dr Le Goff"],
    ]
    path.write_bytes(workbook({"Feuil1": rows}))
    (source,) = load(engine, [path]).sources
    assert (source.rows, source.quarantined) == (3, 0)


STYLES = (
    '<?xml version="1.0"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
    '2006/main"><numFmts count="1"><numFmt numFmtId="164" formatCode="dd/mm/yyyy\\ hh:mm"/>'
    '</numFmts><cellXfs count="4"><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="164"/>'
    '<xf numFmtId="4"/></cellXfs></styleSheet>'
)


def rich_workbook(rows: list[str], shared: list[str]) -> bytes:
    """A workbook as spreadsheet programs write it: shared strings, styles, sparse rows."""
    out = io.BytesIO()
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="rels" ContentType="application/vnd.openxml'
            'formats-package.relationships+xml"/><Default Extension="xml" ContentType='
            '"application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName'
            '="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-office'
            'document.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.shared'
            'Strings+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.'
            'openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>',
        )
        z.writestr(
            "_rels/.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            f'2006/relationships"><Relationship Id="rId1" Type="{rel}/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>',
        )
        z.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0"?><workbook {ns} xmlns:r="{rel}"><sheets><sheet name="Export" '
            'sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            f'2006/relationships"><Relationship Id="rId1" Type="{rel}/worksheet" Target='
            f'"worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{rel}/sharedStrings" '
            f'Target="sharedStrings.xml"/><Relationship Id="rId3" Type="{rel}/styles" '
            'Target="styles.xml"/></Relationships>',
        )
        z.writestr("xl/styles.xml", STYLES)
        items = "".join(f'<si><t xml:space="preserve">{escape(s)}</t></si>' for s in shared)
        z.writestr(
            "xl/sharedStrings.xml",
            f'<?xml version="1.0"?><sst {ns} count="{len(shared)}">{items}</sst>',
        )
        z.writestr(
            "xl/worksheets/sheet1.xml",
            f'<?xml version="1.0"?><worksheet {ns}><sheetData>{"".join(rows)}</sheetData>'
            "</worksheet>",
        )
    return out.getvalue()


def test_shared_strings_dates_and_types_read_as_calamine_reads_them(engine, tmp_path):
    """Calamine (an independent reader) is the oracle for the same bytes."""
    from python_calamine import CalamineWorkbook

    from ariane.read.xlsx import cell_text

    shared = ["Nom", "Né le", "Prélevé", "Montant", "Actif", "Dupont", "Lé<a>", "Ana\nMaria"]
    rows = [
        '<row r="1">'
        + "".join(f'<c r="{c}1" t="s"><v>{i}</v></c>' for i, c in enumerate("ABCDE"))
        + "</row>",
        '<row r="2"><c r="A2" t="s"><v>5</v></c><c r="B2" s="1"><v>30000</v></c>'
        '<c r="C2" s="2"><v>44197.5</v></c><c r="D2" s="3"><v>12.5</v></c>'
        '<c r="E2" t="b"><v>1</v></c></row>',
        '<row r="4"><c r="A4" t="s"><v>6</v></c><c r="C4" s="2"><v>44198.25</v></c>'
        '<c r="D4"><v>3</v></c><c r="E4" t="b"><v>0</v></c></row>',
        '<row r="5"><c r="A5" t="s"><v>7</v></c><c r="B5" t="str"><v>=texte</v></c>'
        '<c r="D5" t="e"><v>#N/A</v></c><c r="E5" t="inlineStr"><is><r><t xml:space="preserve">'
        "en </t></r><r><t>"
        "ligne</t></r></is></c></row>",
    ]
    path = tmp_path / "rich.xlsx"
    path.write_bytes(rich_workbook(rows, shared))
    (source,) = load(engine, [path]).sources
    got = engine.fetch(
        f"SELECT * EXCLUDE (_source_id, _record, _line) FROM {source.data_table} ORDER BY _record"
    )
    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Export")
    expected = [tuple(cell_text(v) for v in row) for row in sheet.to_python()]
    expected = [r for r in expected if any(r)]  # empty rows are not records
    assert source.columns == list(expected[0])
    assert got == expected[1:]
    assert got[0][1:3] == ("1982-02-18", "2021-01-01 12:00:00")  # a date and a date-time


def test_a_row_wider_than_the_first_ones_adds_columns(engine, tmp_path):
    rows = [["Nom", "Ville"]] + [["Nom" + str(i), "Rennes"] for i in range(60)]
    rows.append(["Late", "Brest", "", "extra"])
    path = tmp_path / "wide.xlsx"
    path.write_bytes(workbook({"S": rows}))
    (source,) = load(engine, [path]).sources
    assert source.rows == 61 and source.columns == ["Nom", "Ville", "col_3", "col_4"]
    last = engine.fetch(f'SELECT "Nom", col_4 FROM {source.data_table} WHERE _record = 61')
    assert last == [("Late", "extra")]


def test_too_many_shared_strings_is_one_line_before_reading(engine, tmp_path):
    """The shipped cap (256 MiB of shared strings), met by a stored part just over it."""
    from ariane.read.xlsx import MAX_SHARED_STRINGS_BYTES

    path = tmp_path / "huge.xlsx"
    path.write_bytes(rich_workbook(['<row r="1"><c r="A1" t="s"><v>0</v></c></row>'], ["x"]))
    # The same workbook with its shared strings part stored (not compressed) past the cap.
    rebuilt = tmp_path / "huge2.xlsx"
    with zipfile.ZipFile(path) as old, zipfile.ZipFile(rebuilt, "w") as new:
        for info in old.infolist():
            if info.filename != "xl/sharedStrings.xml":
                new.writestr(info, old.read(info))
        with new.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            part.write(b'<?xml version="1.0"?><sst>')
            item = b"<si><t>" + b"y" * 65_000 + b"</t></si>"
            for _ in range(MAX_SHARED_STRINGS_BYTES // len(item) + 1):
                part.write(item)
            part.write(b"</sst>")
    with pytest.raises(InputError, match=r"^[^\n]*huge2\.xlsx: more than 256 MiB of shared"):
        load(engine, [rebuilt])


def test_damaged_sheet_is_one_line_naming_its_number(engine, tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(rich_workbook(['<row r="1"><c r="A1"><v>1</v></c>'], []))
    with pytest.raises(InputError, match=r"broken\.xlsx: sheet 1 cannot be read") as info:
        load(engine, [path])
    assert "\n" not in str(info.value)


def big_workbook(path, rows: int) -> None:
    """``rows`` rows, each with its own shared string, written part by part."""
    base = rich_workbook(['<row r="1"><c r="A1"><v>1</v></c></row>'], ["x"])
    ns = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    with (
        zipfile.ZipFile(io.BytesIO(base)) as old,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as new,
    ):
        for info in old.infolist():
            if info.filename not in {"xl/sharedStrings.xml", "xl/worksheets/sheet1.xml"}:
                new.writestr(info, old.read(info))
        with new.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            part.write(b'<?xml version="1.0"?><sst ' + ns + b"><si><t>nom</t></si>")
            for i in range(rows):
                part.write(b"<si><t>PATIENT%08d</t></si>" % i)
            part.write(b"</sst>")
        with new.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            part.write(b'<?xml version="1.0"?><worksheet ' + ns + b"><sheetData>")
            part.write(b'<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="inlineStr">')
            part.write(b"<is><t>ville</t></is></c></row>")
            for i in range(rows):
                r = i + 2
                part.write(
                    b'<row r="%d"><c r="A%d" t="s"><v>%d</v></c><c r="B%d"><v>%d.5</v></c></row>'
                    % (r, r, i + 1, r, i)
                )
            part.write(b"</sheetData></worksheet>")


def _workbooks(folder, n):
    paths = []
    for rows in linear_sizes(n):
        paths.append(folder / f"rows{rows}.xlsx")
        big_workbook(paths[-1], rows)
    return paths


def test_xlsx_time_grows_linearly_with_rows(tmp_path):
    paths = _workbooks(tmp_path, 20_000)
    times, _ = loading_seconds(paths)
    assert_linear(times, lambda: loading_seconds(paths)[0])


def test_xlsx_steps_grow_linearly_with_rows(tmp_path):
    paths = _workbooks(tmp_path, 4000)
    steps, summaries = reading_steps(paths)
    assert [s.rows for s in summaries] == list(linear_sizes(4000))
    assert_linear_steps(steps)


MEMORY_PROBE = textwrap.dedent(
    """
    import resource, sys
    from pathlib import Path
    from ariane.case import Case
    from ariane.read import load
    with Case.ephemeral() as case:
        engine = case.engine()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        (source,) = load(engine, [Path(sys.argv[1])]).sources
        last = engine.fetch(f"SELECT nom FROM {source.data_table} WHERE _record = {source.rows}")
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(source.rows, last[0][0], (after - before) // 1024)
    """
)


def _peak_growth_mib(path) -> tuple[int, str, int]:
    rows, last, grown = in_child(MEMORY_PROBE, str(path))
    return int(rows), last, int(grown)


def test_xlsx_memory_does_not_grow_with_the_sheet(tmp_path):
    """Four times the rows (and shared strings): peak memory grows by a few MiB, not with the
    sheet (read whole, 150,000 more rows took about 95 MiB more)."""
    growth = []
    for rows in (50_000, 200_000):
        path = tmp_path / f"rows{rows}.xlsx"
        big_workbook(path, rows)
        read, last, grown = _peak_growth_mib(path)
        assert (read, last) == (rows, f"PATIENT{rows - 1:08d}")
        growth.append(grown)
    assert growth[1] - growth[0] < 48, growth
