"""The promise of read, as a property: every record is a row or quarantined, none invented.

Files of every input format are written by ``damaged_files`` with a known number of records
and damage at known places; the writer counts as it goes. For each file read through the
public path (:func:`ariane.read.load` into an encrypted throw-away store):

* the rows stored are exactly the valid records (each marker once, every value under its
  own column), so ``rows == valid``;
* the records set aside in ``read_quarantine`` are exactly the damaged ones, so
  ``rows + quarantined == records``.

Counts are taken from the store's tables and compared with the writer's, never with the
reader's own counters (those are only checked to agree with the store). Examples are
derandomized and bounded so the module stays well under a minute; a 5 s deadline per
example catches a reader that hangs on small inputs.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import damaged_files as gen
from ariane.case import Case
from ariane.errors import InputError
from ariane.read import load

BASE = settings(
    max_examples=12,
    deadline=timedelta(seconds=5),
    derandomize=True,
    database=None,
    # No shrinking: a failure is reported as generated, so a failing (xfail) test stays fast.
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def bounded(examples: int = 12) -> settings:
    """The settings above with ``examples`` examples."""
    return settings(BASE, max_examples=examples)


@pytest.fixture(scope="module")
def engine():
    with Case.ephemeral() as case:
        yield case.engine()


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def read_back(engine, folder: Path, built: gen.Built):
    """Load the file; return (rows by marker, quarantined count) as the store holds them."""
    path = folder / built.name
    path.write_bytes(built.data)
    summary = load(engine, [path])
    rows: dict[str, dict[str, str | None]] = {}
    quarantined = 0
    for source in summary.sources:
        kept = engine.fetch(
            "SELECT count(*) FROM read_quarantine WHERE source_id = ?", [source.source_id]
        )[0][0]
        assert kept == source.quarantined, "summary disagrees with the store's quarantine"
        quarantined += kept
        if not source.columns:
            assert source.rows == 0
            continue
        marker = next((c for c in ("marqueur", "col_1") if c in source.columns), None)
        stored = engine.fetch(
            f"SELECT {', '.join(_quoted(c) for c in source.columns)} FROM {source.data_table}"
        )
        assert len(stored) == source.rows, "summary disagrees with the store's rows"
        assert marker is not None or not stored, f"no marker column in {source.columns[:8]}"
        for values in stored:
            row = dict(zip(source.columns, values, strict=True))
            key = str(row[marker])
            assert key not in rows, f"record {key} stored twice"
            rows[key] = row
    return rows, quarantined


def assert_exact(engine, folder: Path, built: gen.Built) -> None:
    """Rows are exactly the valid records, value by value; the rest is quarantined."""
    rows, quarantined = read_back(engine, folder, built)
    counts = (len(rows), quarantined)
    assert counts == (len(built.valid), built.damaged), (
        f"{built.name}: read {counts[0]} rows + {counts[1]} quarantined; written "
        f"{len(built.valid)} valid + {built.damaged} damaged"
    )
    assert len(rows) + quarantined == built.records
    assert set(rows) == set(built.valid)
    for marker, expected in built.valid.items():
        got = {name: rows[marker].get(name, "<missing column>") for name in expected}
        assert got == expected, f"record {marker}: values under the wrong columns"


@st.composite
def plans(
    draw,
    kinds: tuple[str, ...] = (),
    tails: tuple[str, ...] = (),
    wide: bool = True,
    min_n: int = 6,
    max_n: int = 30,
) -> gen.Plan:
    """A plan of records with at most a quarter of them damaged (and maybe a cut tail)."""
    n = draw(st.integers(min_n, max_n))
    damage: dict[int, str] = {}
    if kinds:
        places = draw(st.lists(st.integers(0, n - 2), unique=True, max_size=n // 4))
        damage = {i: draw(st.sampled_from(kinds)) for i in places}
    if tails and draw(st.booleans()):
        damage[n - 1] = draw(st.sampled_from(tails))
    return gen.Plan(
        n,
        damage,
        seed=draw(st.integers(0, 2**16)),
        tricky=draw(st.booleans()),
        wide=wide and draw(st.booleans()),
        prefix=draw(st.sampled_from("ABCDEFGHJK")),
    )


# -- delimited text ----------------------------------------------------------------------


@bounded(40)
@given(
    plan=plans(gen.CSV_DAMAGE, ("truncated",)),
    delimiter=st.sampled_from([",", ";", "|", "\t"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "latin-1"]),
    header=st.booleans(),
    blank_lines=st.booleans(),
)
def test_delimited_text_reads_every_record_exactly(
    engine, tmp_path, plan, delimiter, encoding, header, blank_lines
):
    plan.wide = plan.wide and encoding.startswith("utf")
    built = gen.delimited(
        plan, delimiter=delimiter, encoding=encoding, header=header, blank_lines=blank_lines
    )
    assert_exact(engine, tmp_path, built)


@bounded(25)
@given(
    plan=plans(tuple(kind for kind in gen.CSV_DAMAGE if kind != "quote"), ("truncated",)),
    delimiter=st.sampled_from([",", ";", "|", "\t"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "latin-1"]),
    header=st.booleans(),
)
def test_delimited_text_damage_on_one_line_reads_exactly(
    engine, tmp_path, plan, delimiter, encoding, header
):
    """The part of the property main already keeps: no open quote, no multi-line record."""
    plan.tricky = False
    plan.wide = plan.wide and encoding.startswith("utf")
    built = gen.delimited(plan, delimiter=delimiter, encoding=encoding, header=header)
    assert_exact(engine, tmp_path, built)


def test_many_lines_opening_a_quote_never_closed(engine, tmp_path):
    """Each such line is one damaged record; the valid lines between them stay rows."""
    n = 120
    damage = {i: "quote" for i in range(n) if i % 12}  # 110 damaged, 10 valid
    built = gen.delimited(gen.Plan(n, damage, seed=3), delimiter=";")
    assert (len(built.valid), built.damaged) == (10, 110)
    assert_exact(engine, tmp_path, built)


# Excel's separator hint and a DOS end-of-file byte are not records; readable lines in a
# second encoding are read, not set aside.
@pytest.mark.parametrize(
    "decoration",
    ["sep_line", "eof_byte_line", "eof_byte_glued"],
)
def test_excel_and_dos_decorations_are_not_records(engine, tmp_path, decoration):
    built = gen.delimited(gen.Plan(20, {4: "too_few"}, seed=5), delimiter=";")
    if decoration == "sep_line":
        built.data = b"sep=;\r\n" + built.data
    elif decoration == "eof_byte_line":
        built.data += b"\x1a"
    else:
        built.data = built.data.rstrip(b"\n") + b"\x1a"
    assert_exact(engine, tmp_path, built)


@pytest.mark.parametrize(("main", "stray"), [("cp1252", "utf-8"), ("utf-8", "cp1252")])
def test_lines_in_a_second_encoding_are_read(engine, tmp_path, main, stray):
    plan = gen.Plan(40, seed=11)
    built = gen.delimited(plan, delimiter=";", encoding=main)
    other = gen.delimited(plan, delimiter=";", encoding=stray).data.splitlines(keepends=True)
    lines = built.data.splitlines(keepends=True)
    for i in (7, 19, 33):  # line i + 1 holds record i (no note spans lines: tricky is off)
        assert not lines[i + 1].isascii(), "the test needs non-ASCII lines to swap"
        lines[i + 1] = other[i + 1]
    built.data = b"".join(lines)
    assert_exact(engine, tmp_path, built)


# -- JSON ----------------------------------------------------------------------------------


@bounded()
@given(data=st.data())
@pytest.mark.parametrize("layout", ["pretty", "minified", "two_per_line", "wrapped"])
def test_json_array_reads_every_record_exactly(engine, tmp_path, layout, data):
    plan = data.draw(plans(gen.JSON_DAMAGE, ("truncated",)))
    assert_exact(engine, tmp_path, gen.json_array(plan, layout))


@bounded()
@given(plan=plans(gen.JSON_DAMAGE))
def test_pretty_json_array_with_damaged_elements_reads_exactly(engine, tmp_path, plan):
    """The part of the property main already keeps: one element per line block, no cut."""
    assert_exact(engine, tmp_path, gen.json_array(plan, "pretty"))


@bounded()
@given(plan=plans(max_n=40))
def test_json_keyed_by_patient_is_one_row_per_patient(engine, tmp_path, plan):
    assert_exact(engine, tmp_path, gen.json_array(plan, "keyed"))


@bounded(20)
@given(plan=plans(gen.JSON_DAMAGE, ("truncated",)), blank_lines=st.booleans())
def test_ndjson_reads_every_record_exactly(engine, tmp_path, plan, blank_lines):
    assert_exact(engine, tmp_path, gen.ndjson(plan, blank_lines=blank_lines))


# -- SQL dumps ----------------------------------------------------------------------------


@bounded()
@given(data=st.data())
@pytest.mark.parametrize("columns", gen.COLUMN_LISTS)
@pytest.mark.parametrize("dialect", ["mysql", "postgres"])
def test_sql_inserts_read_every_record_exactly(engine, tmp_path, dialect, columns, data):
    plan = data.draw(plans(gen.SQL_DAMAGE, gen.TAIL_DAMAGE))
    per_statement = data.draw(st.sampled_from([1, 2, 5, 1000]))
    built = gen.sql_inserts(plan, dialect=dialect, per_statement=per_statement, columns=columns)
    assert_exact(engine, tmp_path, built)


@bounded(15)
@given(plan=plans(gen.SQL_DAMAGE, ("truncated",)))
def test_pg_copy_reads_every_record_exactly(engine, tmp_path, plan):
    assert_exact(engine, tmp_path, gen.pg_copy(plan))


# -- workbooks -----------------------------------------------------------------------------


@bounded(8)
@given(plan=plans(), sheets=st.integers(1, 2), blank_rows=st.booleans())
def test_xlsx_reads_every_record_exactly(engine, tmp_path, plan, sheets, blank_rows):
    assert_exact(engine, tmp_path, gen.xlsx(plan, sheets=sheets, blank_rows=blank_rows))


def test_truncated_workbook_is_a_one_line_error(engine, tmp_path):
    built = gen.xlsx(gen.Plan(30, seed=2))
    path = tmp_path / built.name
    path.write_bytes(built.data[: len(built.data) * 2 // 3])
    with pytest.raises(InputError, match=built.name) as info:
        load(engine, [path])
    assert "\n" not in str(info.value)


# -- archives -------------------------------------------------------------------------------


@st.composite
def members(draw, prefix: str) -> gen.Built:
    """One file of any format, damaged in the ways its reader already handles on main.

    The archive layer is what this checks (every member found, counts summed, nothing
    read twice); the damage each reader still gets wrong is covered by the tests above.
    """
    kind = draw(st.sampled_from(["csv", "ndjson", "json", "mysql", "copy", "xlsx"]))
    if kind == "csv":
        plan = draw(plans(gen.CSV_DAMAGE, ("truncated",), max_n=15))
        plan.tricky = False
        plan.prefix = prefix
        return gen.delimited(plan, delimiter=draw(st.sampled_from([",", ";"])))
    if kind in {"ndjson", "json"}:
        plan = draw(plans(gen.JSON_DAMAGE, ("truncated",) if kind == "ndjson" else (), max_n=15))
        plan.prefix = prefix
        return gen.ndjson(plan) if kind == "ndjson" else gen.json_array(plan, "pretty")
    if kind == "mysql":
        plan = draw(plans(gen.SQL_DAMAGE, gen.TAIL_DAMAGE, max_n=15))
        plan.prefix = prefix
        return gen.sql_inserts(plan, per_statement=3)
    if kind == "copy":
        plan = draw(plans(gen.SQL_DAMAGE, ("truncated",), max_n=15))
        plan.prefix = prefix
        return gen.pg_copy(plan)
    plan = draw(plans(max_n=15))
    plan.prefix = prefix
    return gen.xlsx(plan)


@bounded(20)
@given(data=st.data(), container=st.sampled_from(["zip", "tar.gz", "gz"]))
def test_archives_read_every_record_of_every_member(engine, tmp_path, data, container):
    count = 1 if container == "gz" else data.draw(st.integers(1, 4))
    held = [data.draw(members("PQRS"[i])) for i in range(count)]
    assert_exact(engine, tmp_path, gen.archive(held, container))
