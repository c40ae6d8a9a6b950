"""SQLite databases and Parquet files read value for value; damaged ones quarantined where
the damage is, with the counts known from how each file was built."""

from __future__ import annotations

import datetime as dt
import gzip
import sqlite3
import zipfile

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ariane.case import Case
from ariane.read import load


@pytest.fixture
def engine():
    with Case.ephemeral() as case:
        yield case.engine()


def _database(path, page_size: int = 4096) -> None:
    connection = sqlite3.connect(path)
    connection.execute(f"PRAGMA page_size = {page_size}")
    connection.execute("CREATE TABLE patients (num INTEGER PRIMARY KEY, nom TEXT, cp TEXT)")
    connection.execute("CREATE TABLE analyses (id INTEGER PRIMARY KEY, patient INTEGER, "
                       "libelle TEXT, valeur REAL, brut BLOB)")  # fmt: skip
    connection.execute("CREATE VIEW vue AS SELECT * FROM patients")
    connection.execute("CREATE VIRTUAL TABLE notes USING fts5(texte)")
    connection.executemany(
        "INSERT INTO patients VALUES (?, ?, ?)",
        [(i, f'Nom\'{i} "é"', "01000" if i % 2 else None) for i in range(1, 41)],
    )
    connection.executemany(
        "INSERT INTO analyses VALUES (?, ?, ?, ?, ?)",
        [(i, i % 40 + 1, "Glycémie", 5.0 if i % 2 else 5.25, b"\xff\x00" if i == 1 else b"ok")
         for i in range(1, 301)],
    )  # fmt: skip
    connection.execute("INSERT INTO notes VALUES ('texte indexé')")
    connection.commit()
    connection.close()


def _rows(engine, source) -> list[dict]:
    return engine.fetch_arrow(f'SELECT * FROM "{source.data_table}" ORDER BY _record').to_pylist()


def test_sqlite_every_table_once_values_as_written(engine, tmp_path):
    path = tmp_path / "labo.db"  # the name says nothing: the content does
    _database(path)
    before = path.read_bytes()
    summary = load(engine, [path])
    assert path.read_bytes() == before  # opened read-only: not a byte written
    by_name = {s.table_name: s for s in summary.sources}
    # Tables only: not the view (its rows are the patients'), not the full-text index
    # nor the tables behind it, not sqlite_sequence.
    assert set(by_name) == {"patients", "analyses"}
    patients, analyses = by_name["patients"], by_name["analyses"]
    assert (patients.format, patients.rows, patients.quarantined) == ("sqlite", 40, 0)
    assert analyses.rows == 300
    assert analyses.columns == ["id", "patient", "libelle", "valeur", "brut"]
    first, second = _rows(engine, analyses)[:2]
    assert (first["id"], first["patient"], first["valeur"], first["brut"]) == (
        "1",
        "2",
        "5",
        "ff00",
    )
    assert (second["valeur"], second["brut"]) == ("5.25", "ok")
    rows = _rows(engine, patients)
    assert rows[0]["nom"] == 'Nom\'1 "é"' and rows[1]["cp"] is None
    assert [r["_record"] for r in rows] == list(range(1, 41))


def test_sqlite_inside_archives_is_read_in_memory(engine, tmp_path):
    database = tmp_path / "x.db"
    _database(database)
    archive = tmp_path / "leak.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(database, "dump/base")
    gz = tmp_path / "base.gz"
    gz.write_bytes(gzip.compress(database.read_bytes()))
    summary = load(engine, [archive, gz])
    assert [(s.table_name, s.rows) for s in summary.sources] == [
        ("patients", 40), ("analyses", 300), ("patients", 40), ("analyses", 300)
    ]  # fmt: skip


def _page_of(path, table: str) -> tuple[int, int]:
    connection = sqlite3.connect(path)
    root = connection.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", [table])
    page_size = connection.execute("PRAGMA page_size").fetchone()[0]
    number = root.fetchone()[0]
    connection.close()
    return number, page_size


def test_damaged_sqlite_table_is_quarantined_others_read(engine, tmp_path):
    path = tmp_path / "damaged.db"
    _database(path, page_size=1024)
    number, size = _page_of(path, "analyses")
    data = bytearray(path.read_bytes())
    # The table's root page (an interior page over 300 rows) made garbage.
    data[(number - 1) * size + 8 : number * size] = b"\xa5" * (size - 8)
    path.write_bytes(bytes(data))
    summary = load(engine, [path])
    by_name = {s.table_name: s for s in summary.sources}
    assert (by_name["patients"].rows, by_name["patients"].quarantined) == (40, 0)
    damaged = by_name["analyses"]
    assert damaged.quarantined == 1
    reason = engine.fetch(
        "SELECT reason FROM read_quarantine WHERE source_id = ?", [damaged.source_id]
    )[0][0]
    assert "cannot be read" in reason and "malformed" in reason


def test_sqlite_with_a_damaged_header_is_one_clear_error(engine, tmp_path):
    from ariane.errors import InputError

    path = tmp_path / "broken.db"
    _database(path)
    data = bytearray(path.read_bytes())
    data[16:4096] = b"\x00" * (4096 - 16)  # page size and schema gone, magic kept
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match="broken.db: damaged SQLite database"):
        load(engine, [path])


def _nested_table(start: int, count: int) -> pa.Table:
    ids = list(range(start, start + count))
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "patient": pa.array(
                [{"nom": f"N{i}", "adresse": {"cp": "35000", "ville": "Rennes"}} for i in ids]
            ),
            "codes": pa.array([[i, i + 1] if i % 2 else None for i in ids]),
            "prelevement": pa.array([dt.datetime(2021, 1, 2, 10, 30)] * count),
            "naissance": pa.array([dt.datetime(1980, 5, 17)] * count),
            "poids": pa.array([72.0] * count),
            "groupe": pa.array(["A+"] * count).dictionary_encode(),
        }
    )


def test_parquet_structs_flattened_as_json_lists_as_json_text(engine, tmp_path):
    path = tmp_path / "export.bin"
    pq.write_table(_nested_table(1, 250), path, row_group_size=100)
    [source] = load(engine, [path]).sources
    assert (source.format, source.rows, source.quarantined) == ("parquet", 250, 0)
    assert source.columns == [
        "id", "patient.nom", "patient.adresse.cp", "patient.adresse.ville", "codes",
        "prelevement", "naissance", "poids", "groupe",
    ]  # fmt: skip
    rows = _rows(engine, source)
    assert [r["_record"] for r in rows] == list(range(1, 251))
    first, second = rows[0], rows[1]
    assert first["patient.adresse.ville"] == "Rennes" and first["patient.nom"] == "N1"
    assert first["codes"] == "[1, 2]" and second["codes"] is None  # as the JSON reader keeps lists
    assert first["prelevement"] == "2021-01-02 10:30:00"
    assert first["naissance"] == "1980-05-17"  # midnight timestamps are dates
    assert (first["poids"], first["groupe"], first["id"]) == ("72", "A+", "1")


def test_damaged_parquet_row_group_quarantined_others_read(engine, tmp_path):
    path = tmp_path / "damaged.parquet"
    pq.write_table(_nested_table(1, 300), path, row_group_size=100, write_page_checksum=True)
    chunk = pq.ParquetFile(path).metadata.row_group(1).column(0)
    data = bytearray(path.read_bytes())
    start = chunk.data_page_offset + 20  # inside the first page of row group 2
    data[start : start + 40] = b"\x5a" * 40
    path.write_bytes(bytes(data))
    [source] = load(engine, [path]).sources
    assert (source.rows, source.quarantined) == (200, 100)
    records, reasons = zip(
        *engine.fetch("SELECT record, reason FROM read_quarantine ORDER BY record"), strict=True
    )
    assert list(records) == list(range(101, 201))
    assert set(reasons) == {f"row group 2 of 3 cannot be read ({reasons[0].split('(')[1]}"}
    ids = [r["id"] for r in _rows(engine, source)]
    assert ids == [str(i) for i in [*range(1, 101), *range(201, 301)]]


def test_a_text_table_starting_with_the_parquet_magic_is_text(engine, tmp_path):
    path = tmp_path / "codes.csv"
    path.write_text("PAR1;PAR2\n1;2\n3;4\n", encoding="utf-8")
    [source] = load(engine, [path]).sources
    assert (source.format, source.rows, source.columns) == ("csv", 2, ["PAR1", "PAR2"])
