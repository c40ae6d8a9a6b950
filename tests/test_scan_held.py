"""`scan`'s throw-away database: rows held as Arrow tables, the sample, untrimmed statistics.

A scan keeps what it reads as Arrow tables instead of inserting them (within half its
memory bound), samples the rows whose record numbers hash lowest, and trims only the
columns in which the reader saw a value ``trim`` would change. Each test builds its
expectation from its own input.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ariane import pipeline
from ariane.case import Case
from ariane.classify.profile import SAMPLE_ROWS, profile_source
from ariane.engine.duckdb import HELD_SHARE, DuckDBEngine
from ariane.read.store import TRIMMED, padded

#: Characters around the edges that matter: the 17 DuckDB trims, and their look-alikes in
#: UTF-8 (the same first or last byte: à ends in A0, ’ and € begin with E2, ‑ is E2 80 91).
_CHARACTERS = [t.decode() for t in TRIMMED] + ["a", "é", "à", "’", "€", "‑", "\t", "\n", "ぁ"]


def _duckdb_says_padded(values: list[str | None]) -> bool:
    found = duckdb.sql(
        "SELECT coalesce(bool_or(trim(v) <> v), false) FROM (SELECT unnest(?::VARCHAR[]) AS v)",
        params=[values],
    ).fetchone()
    assert found is not None
    return bool(found[0])


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.lists(st.sampled_from(_CHARACTERS), max_size=4).map("".join)),
        max_size=12,
    ),
    st.integers(0, 4),
)
def test_padded_says_what_trim_would_change(values, cut):
    """Read from bytes, the verdict is DuckDB's own: some value ``trim`` changes."""
    array = pa.array(values, pa.string())
    assert padded(array) == _duckdb_says_padded(values)
    # A slice sees its own values only, wherever its offsets start.
    assert padded(array.slice(cut)) == _duckdb_says_padded(values[cut:])
    assert padded(pa.chunked_array([array[:cut], array[cut:]], pa.string())) == padded(array)
    assert padded(array.cast(pa.large_string())) == padded(array)


def _rows(count: int, start: int = 1) -> pa.Table:
    return pa.table(
        {
            "name": [f"name {i % 97}" for i in range(start, start + count)],
            "_record": pa.array(range(start, start + count), pa.int64()),
        }
    )


def test_a_throw_away_database_holds_rows_and_queries_see_them():
    engine = DuckDBEngine(None, memory_limit="1GiB")
    bound = engine.fetch("SELECT current_setting('memory_limit')")[0][0]
    first, second = _rows(3000), _rows(2000, start=3001)
    assert engine.hold("raw_1", first)
    assert engine.hold("raw_1", second)
    assert engine.has_table("raw_1")
    assert engine.fetch("SELECT count(*), min(_record), max(_record) FROM raw_1") == [
        (5000, 1, 5000)
    ]
    # Nothing was inserted: DuckDB has no table of that name, and its bound is the rest.
    assert engine.fetch("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'raw_1'") == [(0,)]
    assert engine.fetch("SELECT current_setting('memory_limit')")[0][0] != bound
    with engine.beside() as twin:  # a query from another thread sees them too
        assert twin.fetch("SELECT count(*) FROM raw_1") == [(5000,)]
    engine.close()


def test_a_statement_changing_a_held_table_stores_it_first_in_order():
    engine = DuckDBEngine(None, memory_limit="1GiB")
    for start in range(1, 5001, 1000):
        assert engine.hold("raw_1", _rows(1000, start))
    engine.execute('UPDATE "raw_1" SET name = upper(name) WHERE _record % 2 = 0')
    stored = engine.fetch("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'raw_1'")
    assert stored == [(1,)]
    rows = engine.fetch("SELECT _record, name FROM raw_1")
    assert [r[0] for r in rows] == list(range(1, 5001))  # insertion order kept
    assert sum(r[1].startswith("NAME") for r in rows) == 2500
    # Once stored, later rows are appended (a hold declines them).
    assert not engine.hold("raw_1", _rows(10, 5001))
    engine.append("raw_1", _rows(10, 5001))
    assert engine.fetch("SELECT count(*) FROM raw_1") == [(5010,)]
    engine.close()


def test_rows_beyond_the_held_share_are_stored_after_those_held():
    engine = DuckDBEngine(None, memory_limit="200MB")
    small = _rows(1000)
    big = pa.table(
        {
            "name": pa.array(["x" * 1000] * 120_000),
            "_record": pa.array(range(1001, 121_001), pa.int64()),
        }
    )
    assert big.nbytes > HELD_SHARE * 200e6 - small.nbytes
    assert engine.hold("raw_1", small)
    assert not engine.hold("raw_1", big)  # no room: what was held is stored first
    engine.append("raw_1", big)
    records = [r[0] for r in engine.fetch("SELECT _record FROM raw_1")]
    assert records == list(range(1, 121_001))
    engine.close()


def test_a_case_store_never_holds(tmp_path):
    case = Case.create(tmp_path / "case")
    assert not case.engine().hold("raw_1", _rows(10))
    case.close()


def _samples(engine: DuckDBEngine) -> list[list[str]]:
    return [sample.values for sample, _ in profile_source(engine, "raw_1", ["name", "code"])]


def test_the_sample_is_the_same_however_the_rows_were_written():
    """One insert, many small appends, rows held: the same sampled rows and labels."""
    count = 3 * SAMPLE_ROWS + 17
    table = pa.table(
        {
            "name": [f"Jeanne Martin {i}" for i in range(count)],
            "code": [f"{i * 7919 % 100000:05d}" for i in range(count)],
            "_record": pa.array(range(1, count + 1), pa.int64()),
        }
    )
    once = DuckDBEngine(None)
    once.append("raw_1", table)
    pieces = DuckDBEngine(None)
    for start in range(0, count, 333):
        pieces.append("raw_1", table.slice(start, 333))
    held = DuckDBEngine(None)
    for start in range(0, count, 1000):
        assert held.hold("raw_1", table.slice(start, 1000))
    expected = _samples(once)
    assert len(expected[0]) == SAMPLE_ROWS
    assert _samples(pieces) == expected
    assert _samples(held) == expected


@pytest.mark.parametrize("held", [True, False])
def test_statistics_count_padded_values_as_trimmed(tmp_path, held, monkeypatch):
    """A column with values padded by any of the 17 characters counts them trimmed (an
    all-space value is missing); its unpadded neighbour gives the same figures untrimmed."""
    if not held:
        monkeypatch.setattr(DuckDBEngine, "hold", lambda self, name, table: False)
    spaces = [t.decode() for t in TRIMMED]
    rows = 600
    padded_values = [
        f"{spaces[i % 17]}Dupont{i % 3}" if i % 5 else spaces[i % 17] * 2 for i in range(rows)
    ]
    plain_values = [f"Durand{i % 4}" if i % 5 else "" for i in range(rows)]
    path = tmp_path / "leak.csv"
    path.write_text(
        "nom;autre\n"
        + "".join(f"{a};{b}\n" for a, b in zip(padded_values, plain_values, strict=True)),
        encoding="utf-8",
    )
    by_name = {c.name: c for c in pipeline.scan([path]).columns}
    filled = rows - rows // 5  # every fifth value is spaces only (or empty)
    for name, distinct in (("nom", 3), ("autre", 4)):
        assert by_name[name].null_rate == round(1 - filled / rows, 4)
        assert by_name[name].uniqueness == round(distinct / filled, 4)
