"""SQL dumps written by the real tools (mariadb-dump, pg_dump) read back value for value."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid

import pytest

from ariane.case import Case
from ariane.read import load
from ariane.read.sqldump import unescape_copy, unescape_mysql

REQUIRE = os.environ.get("ARIANE_REQUIRE_SERVICES") == "1"

# Values that break naive readers: quotes, backslashes, newlines, tabs, NULL, accents, emoji.
TRICKY = [
    "plain",
    "O'Brien \"dit\" l'Ancien",
    "back\\slash \\N \\n literal",
    "ligne 1\nligne 2\r\nligne 3",
    "tab\there, comma, semi; pipe|",
    "Hélène Ñúñez Ærøskøbing — ½ € 🧬",
    "",
    None,
    "),(', 'fake', NULL);",
    "\\",
    "'",
]


def _server(command: list[str], what: str) -> None:
    binary = shutil.which(command[0])
    reason = f"{what} not reachable"
    if binary:
        try:
            done = subprocess.run(command, capture_output=True, timeout=10)
            if done.returncode == 0:
                return
            reason = f"{what} not reachable ({done.stderr.decode(errors='replace').strip()[:80]})"
        except subprocess.TimeoutExpired:
            reason = f"{what} timed out"
    else:
        reason = f"{command[0]} client not installed"
    if REQUIRE:
        pytest.fail(f"{reason}; ARIANE_REQUIRE_SERVICES=1 requires it")
    pytest.skip(reason)


MARIADB = ["mariadb", "-h127.0.0.1", "-P3306", "-uroot", "test"]
PSQL = [
    "psql",
    "-h",
    "127.0.0.1",
    "-p",
    "5432",
    "-U",
    "postgres",
    "-d",
    "test",
    "-v",
    "ON_ERROR_STOP=1",
    "-q",
]


@pytest.fixture()
def mariadb_tables():
    _server([*MARIADB, "-e", "SELECT 1"], "MariaDB at 127.0.0.1:3306")
    names = [f"ariane_t_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    yield names
    drop = ";".join(f"DROP TABLE IF EXISTS `{n}`" for n in names)
    subprocess.run([*MARIADB, "-e", drop], check=False, capture_output=True)


@pytest.fixture()
def postgres_tables():
    _server([*PSQL, "-c", "SELECT 1"], "PostgreSQL at 127.0.0.1:5432")
    names = [f"ariane_t_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    yield names
    drop = ";".join(f'DROP TABLE IF EXISTS "{n}"' for n in names)
    subprocess.run([*PSQL, "-c", drop], check=False, capture_output=True)


def _mysql_text(value: str | None) -> str:
    if value == "":
        return "''"
    return "NULL" if value is None else f"CONVERT(0x{value.encode().hex()} USING utf8mb4)"


def _pg_text(value: str | None) -> str:
    return "NULL" if value is None else f"convert_from('\\x{value.encode().hex()}'::bytea, 'UTF8')"


def _expected() -> list[tuple[str, str | None, str | None]]:
    return [(str(i + 1), v, f"{i}.50") for i, v in enumerate(TRICKY)]


def _read(tmp_path, dump: bytes, name: str):
    path = tmp_path / name
    path.write_bytes(dump)
    with Case.ephemeral() as case:
        engine = case.engine()
        summary = load(engine, [path])
        tables = {}
        for source in summary.sources:
            cols = ", ".join(f'"{c}"' for c in source.columns)
            tables[source.table_name] = (
                source,
                engine.fetch(f"SELECT {cols} FROM {source.data_table} ORDER BY _record"),
            )
    return tables


@pytest.mark.server
@pytest.mark.parametrize(
    "options", [[], ["--skip-extended-insert", "--complete-insert"]], ids=["extended", "complete"]
)
def test_mariadb_dump_reads_back_every_value(tmp_path, mariadb_tables, options):
    first, second = mariadb_tables
    rows = ",".join(f"({i}, {_mysql_text(v)}, {n})" for i, v, n in _expected())
    script = (
        f"CREATE TABLE `{first}` (id INT PRIMARY KEY, note TEXT, amount DECIMAL(6,2)) "
        "CHARACTER SET utf8mb4;"
        f"INSERT INTO `{first}` VALUES {rows};"
        f"CREATE TABLE `{second}` (`nom de famille` VARCHAR(40), ville VARCHAR(40), "
        "PRIMARY KEY (`nom de famille`)) CHARACTER SET utf8mb4;"
        f"INSERT INTO `{second}` VALUES ('Dupont','Rennes'),('Le Gall','Brest');"
    )
    subprocess.run([*MARIADB, "-e", script], check=True, capture_output=True)
    dump = subprocess.run(
        ["mariadb-dump", "-h127.0.0.1", "-uroot", *options, "test", first, second],
        check=True,
        capture_output=True,
    ).stdout
    tables = _read(tmp_path, dump, "dump.sql")
    source, got = tables[first]
    assert source.columns == ["id", "note", "amount"]
    assert got == _expected()
    assert (source.rows, source.quarantined) == (len(TRICKY), 0)
    source, got = tables[second]
    assert source.columns == ["nom de famille", "ville"]
    assert got == [("Dupont", "Rennes"), ("Le Gall", "Brest")]


@pytest.mark.server
@pytest.mark.parametrize(
    "options", [[], ["--inserts"], ["--column-inserts"]], ids=["copy", "inserts", "column-inserts"]
)
def test_pg_dump_reads_back_every_value(tmp_path, postgres_tables, options):
    first, second = postgres_tables
    rows = ",".join(f"({i}, {_pg_text(v)}, {n})" for i, v, n in _expected())
    script = (
        f'CREATE TABLE "{first}" (id INT PRIMARY KEY, note TEXT, amount NUMERIC(6,2));'
        f'INSERT INTO "{first}" VALUES {rows};'
        f'CREATE TABLE "{second}" ("Nom de famille" TEXT, ville TEXT);'
        f"INSERT INTO \"{second}\" VALUES ('Dupont','Rennes'),('Le Gall',NULL);"
    )
    subprocess.run([*PSQL, "-c", script], check=True, capture_output=True)
    dump = subprocess.run(
        [
            "pg_dump",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            *options,
            "-t",
            first,
            "-t",
            second,
            "test",
        ],
        check=True,
        capture_output=True,
    ).stdout
    tables = _read(tmp_path, dump, "dump.sql")
    source, got = tables[first]
    assert source.columns == ["id", "note", "amount"]
    assert got == _expected()
    source, got = tables[second]
    assert source.columns == ["Nom de famille", "ville"]
    assert got == [("Dupont", "Rennes"), ("Le Gall", None)]


def test_damaged_tuples_are_quarantined(tmp_path):
    dump = (
        b"-- MySQL dump 10.13\n"
        b"CREATE TABLE `p` (\n  `id` int NOT NULL,\n  `nom` varchar(20),\n"
        b"  PRIMARY KEY (`id`)\n);\n"
        b"INSERT INTO `p` VALUES (1,'a'),(2,'b','extra'),(3,'c');\n"
        b"INSERT INTO `p` VALUES (4,'d'),(5,'unterminated\n"
    )
    tables = _read(tmp_path, dump, "cut.sql")
    source, got = tables["p"]
    assert got == [("1", "a"), ("3", "c"), ("4", "d")]
    assert source.quarantined == 2


def test_unescape_rules():
    assert unescape_mysql(r"a\'b\\c\nd\0\Z''") == "a'b\\c\nd\x00\x1a'"
    assert unescape_copy(r"\N") is None
    assert unescape_copy(r"a\tb\\N\x41\101") == "a\tb\\NAA"


@pytest.mark.parametrize(
    ("dump", "table"),
    [
        (  # sqlite3 .dump: quotes doubled, backslashes literal
            b"PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\nCREATE TABLE p(id INTEGER, nom TEXT);\n"
            b"INSERT INTO p VALUES(1,'C:\\dossier\\');\nINSERT INTO p VALUES(2,'l''x');\nCOMMIT;\n",
            "p",
        ),
        (  # SQL Server script: brackets, N'' strings, no INTO
            b"INSERT [dbo].[p] ([id], [nom]) VALUES (1, N'C:\\dossier\\')\n;\n"
            b"INSERT [dbo].[p] ([id], [nom]) VALUES (2, N'l''x');\n",
            "p",
        ),
        (  # phpMyAdmin: one INSERT over several lines
            b"-- phpMyAdmin SQL Dump\nINSERT INTO `p` (`id`, `nom`) VALUES\n"
            b"(1, 'C:\\\\dossier\\\\'),\n(2, 'l\\'x');\n",
            "p",
        ),
    ],
    ids=["sqlite", "sqlserver", "phpmyadmin"],
)
def test_other_dump_tools(tmp_path, dump, table):
    tables = _read(tmp_path, dump, "other.sql")
    source, got = tables[table]
    assert source.columns == ["id", "nom"]
    assert got == [("1", "C:\\dossier\\"), ("2", "l'x")]
