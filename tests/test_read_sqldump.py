"""SQL dumps read back value for value: written by the real tools (mariadb-dump, pg_dump)
and built by hand, whole or damaged at known places, with the counts known from the build.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import uuid
from dataclasses import dataclass

import pytest

from ariane.case import Case
from ariane.read import load
from ariane.read.sqldump import unescape_copy, unescape_mysql
from ariane.read.sqlscan import BLOCK, MAX_RECORD_BYTES, Scanner
from measure import (
    assert_linear,
    assert_linear_steps,
    linear_sizes,
    loading_seconds,
    reading_steps,
)

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


@dataclass
class Table:
    """What was read from one table: its source, rows (record first) and quarantine."""

    columns: list[str]
    rows: list[tuple]
    quarantine: list[tuple]  # (record, line, byte_offset, reason)

    @property
    def values(self) -> list[tuple]:
        return [row[1:] for row in self.rows]


def _read_all(tmp_path, dump: bytes, name: str = "dump.sql") -> dict[str | None, Table]:
    path = tmp_path / name
    path.write_bytes(dump)
    with Case.ephemeral() as case:
        engine = case.engine()
        summary = load(engine, [path])
        tables = {}
        for source in summary.sources:
            cols = "".join(f', "{c}"' for c in source.columns)
            rows = engine.fetch(f"SELECT _record{cols} FROM {source.data_table} ORDER BY _record")
            quarantine = engine.fetch(
                "SELECT record, line, byte_offset, reason FROM read_quarantine "
                f"WHERE source_id = {source.source_id} ORDER BY record"
            )
            assert (source.rows, source.quarantined) == (len(rows), len(quarantine))
            tables[source.table_name] = Table(source.columns, rows, quarantine)
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


# -- column lists ----------------------------------------------------------------------------

NIR = [f"1{i:02d}0575123{i:03d}{i % 97:02d}" for i in range(20)]


def test_each_insert_places_its_values_by_its_own_column_list(tmp_path):
    dump = (
        "-- MySQL dump 10.13\n"
        "CREATE TABLE `patient` (`id` int NOT NULL, `nir` varchar(15), `nom` varchar(40),"
        " PRIMARY KEY (`id`), KEY `k` (`nom`));\n"
        f"INSERT INTO `patient` (`id`, `nir`, `nom`) VALUES (1,'{NIR[1]}','Dupont'),"
        f"(2,'{NIR[2]}','Martin');\n"
        f"INSERT INTO `patient` (`nom`, `id`, `nir`) VALUES ('Le Gall',3,'{NIR[3]}');\n"
        f"INSERT INTO patient (nir) VALUES ('{NIR[4]}');\n"
        f"INSERT INTO patient VALUES (5,'{NIR[5]}','Morel');\n"
        f'INSERT INTO "patient" ("nom", "nir", "id") VALUES (\'Roux\',\'{NIR[6]}\',6);\n'
        f"INSERT INTO patient (NIR, Id) VALUES ('{NIR[7]}', 7);\n"
    ).encode()
    table = _read_all(tmp_path, dump)["patient"]
    assert table.columns == ["id", "nir", "nom"]
    assert table.values == [
        ("1", NIR[1], "Dupont"),
        ("2", NIR[2], "Martin"),
        ("3", NIR[3], "Le Gall"),
        (None, NIR[4], None),  # only some columns named: the others NULL
        ("5", NIR[5], "Morel"),
        ("6", NIR[6], "Roux"),
        ("7", NIR[7], None),  # names matched without case, as SQL does
    ]
    assert [row[0] for row in table.rows] == [1, 2, 3, 4, 5, 6, 7]
    assert table.quarantine == []


def test_tables_without_create_take_lists_by_name_and_schemas_apart(tmp_path):
    dump = (
        "-- PostgreSQL database dump\n"
        f"INSERT INTO public.patient (id, nir) VALUES (1, '{NIR[1]}');\n"
        f"INSERT INTO \"public\".\"patient\" (nir, id, ville) VALUES ('{NIR[2]}', 2, 'Brest');\n"
        f"INSERT INTO patient VALUES (3, '{NIR[3]}');\n"
        "INSERT INTO archive.patient (id) VALUES (9);\n"
    ).encode()
    tables = _read_all(tmp_path, dump)
    assert tables["patient"].columns == ["id", "nir", "ville"]
    assert tables["patient"].values == [
        ("1", NIR[1], None),
        ("2", NIR[2], "Brest"),
        ("3", NIR[3], None),  # no list: the order of the first list
    ]
    assert tables["archive.patient"].values == [("9",)]


def test_copy_columns_placed_by_name_after_create_table(tmp_path):
    dump = (
        "-- PostgreSQL database dump\n"
        "CREATE TABLE public.patient (\n    id integer,\n    nir text,\n    nom text\n);\n"
        "COPY public.patient (nom, id, nir) FROM stdin;\n"
        f"Dupont\t1\t{NIR[1]}\n\\N\t2\t{NIR[2]}\nO\\\\Brien\\ttab\t3\t{NIR[3]}\n\\.\n"
        "COPY public.patient (id) FROM stdin;\n4\n\\.\n"
    ).encode()
    table = _read_all(tmp_path, dump)["patient"]
    assert table.columns == ["id", "nir", "nom"]
    assert table.values == [
        ("1", NIR[1], "Dupont"),
        ("2", NIR[2], None),
        ("3", NIR[3], "O\\Brien\ttab"),
        ("4", None, None),
    ]
    assert [row[0] for row in table.rows] == [1, 2, 3, 4]


def _mysql_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")
    return f"'{escaped}'"


NOTES = ["a;b(c)d)", "it's 'quoted'", "back\\slash", "ligne 1\nligne 2", "),('x', NULL);", ""]


def test_mysql_syntax_comments_escapes_and_expressions(tmp_path):
    tuples = ",\n".join(f"({i}, {_mysql_string(note)}, -{i})" for i, note in enumerate(NOTES))
    dump = (
        "-- MySQL dump 10.13\n/*!40101 SET NAMES utf8mb4 */;\n# a hash comment\n"
        "CREATE TABLE `db`.`t` (`id` int, `note` text, `n` int) ;\n"
        "/* a block comment; with ( and ' */\n"
        f"INSERT INTO `db`.`t` VALUES {tuples}, -- between tuples\n"
        "(10, 'it''s doubled', NULL), (11, _utf8mb4'intro', +5), (12, N'nat', now()),\n"
        "(13, \"double \\\"quoted\\\"\", 0x41), (14, 'raw\nnewline', 'a' 'b'),\n"
        "(15, X'4869', b'0101');\n"
    ).encode()
    table = _read_all(tmp_path, dump)["db.t"]
    assert table.values == [
        *((str(i), note, f"-{i}") for i, note in enumerate(NOTES)),
        ("10", "it's doubled", None),
        ("11", "intro", "+5"),
        ("12", "nat", "now()"),
        ("13", 'double "quoted"', "0x41"),
        ("14", "raw\nnewline", "ab"),
        ("15", "Hi", "0101"),
    ]
    assert table.quarantine == []


def test_postgres_syntax_strings_and_identifiers(tmp_path):
    dump = (
        b"-- PostgreSQL database dump\nSET standard_conforming_strings = on;\n"
        b"CREATE FUNCTION f() RETURNS text AS $body$ SELECT 'x;y'; INSERT INTO t VALUES (1); "
        b"$body$ LANGUAGE sql;\n"
        b'CREATE TABLE public."Patient" ("Nom de famille" text, note text);\n'
        b"INSERT INTO public.\"Patient\" VALUES ('C:\\dossier\\', E'tab\\there\\''),\n"
        b"  ('l''x', 'ligne 1\nligne 2;'), ('$$', $$dollar ' quoted$$), (NULL, '');\n"
    )
    tables = _read_all(tmp_path, dump)
    assert set(tables) == {"Patient"}  # nothing read from the function's body
    assert tables["Patient"].columns == ["Nom de famille", "note"]
    assert tables["Patient"].values == [
        ("C:\\dossier\\", "tab\there'"),
        ("l'x", "ligne 1\nligne 2;"),
        ("$$", "dollar ' quoted"),
        (None, ""),
    ]


def test_statement_forms_and_clauses(tmp_path):
    dump = (
        b"-- MySQL dump\nCREATE TABLE t (id int, nom text);\n"
        b"INSERT IGNORE INTO t VALUES (1,'a') ON DUPLICATE KEY UPDATE nom = 'x;y';\n"
        b"REPLACE INTO t (id, nom) VALUES (2,'b') AS new ON DUPLICATE KEY UPDATE nom = new.nom;\n"
        b"INSERT INTO t VALUES (3,'c')\n"  # its ";" lost
        b"INSERT INTO t VALUES (4,'d');\n"
        b"INSERT INTO t SELECT * FROM u;\n"
        b"LOCK TABLES `t` WRITE;\nDELIMITER ;;\nDELIMITER ;\nUNLOCK TABLES;\n"
        b"INSERT INTO t VALUES (5,'e');\n"
    )
    table = _read_all(tmp_path, dump)["t"]
    assert table.rows == [(1, "1", "a"), (2, "2", "b"), (3, "3", "c"), (4, "4", "d"), (6, "5", "e")]
    start = dump.index(b"INSERT INTO t SELECT")
    assert table.quarantine == [(5, 7, start, "INSERT form not read (no VALUES list)")]


def test_insert_set_form_is_one_record(tmp_path):
    dump = (
        b"-- MySQL dump\nCREATE TABLE p (id int, nir varchar(15), nom text);\n"
        b"INSERT INTO p SET id=1, nom='Dupont', nir = '185';\n"
        b"INSERT INTO p SET `nom` ='a,b', id= -2;\n"
        b"INSERT INTO p SET id =3, nom=concat('a', 'b') ON DUPLICATE KEY UPDATE nom='x;';\n"
        b"INSERT INTO p SET id 4;\n"
        b"INSERT INTO p VALUES (5,'x','y');\n"
    )
    table = _read_all(tmp_path, dump)["p"]
    assert table.rows == [
        (1, "1", "185", "Dupont"),
        (2, "-2", None, "a,b"),
        (3, "3", None, "concat('a', 'b')"),
        (5, "5", "x", "y"),
    ]
    start = dump.index(b"INSERT INTO p SET id 4")
    assert table.quarantine == [(4, 6, start, "INSERT ... SET not understood")]


# -- damage at known places ------------------------------------------------------------------


def _record(i: int, damage: str | None) -> str:
    nir, nom = f"'{NIR[i % 20]}'", f"'Nom {i}'"
    if damage == "closing":  # the closing quote of the last value lost
        nom = nom[:-1]
    elif damage == "opening":  # the opening quote of a value lost
        nir = nir[1:]
    elif damage == "count":
        nom += ", 'extra'"
    return f"({i}, {nir}, {nom})"


def _build(layout: str, count: int, damage: dict[int, str], name: str = "t", before: bytes = b""):
    """A dump of ``count`` records (1-based) with ``damage`` at known records.

    Returns the bytes (after ``before``), the rows expected (record, id, nir, nom) and
    where each damaged record starts (record, line, byte offset), all known from how the
    dump is built.
    """
    out = bytearray(before)
    out += (
        f"-- MySQL dump 10.13\nCREATE TABLE `{name}` (`id` int, `nir` text, `nom` text);\n".encode()
    )
    insert = f"INSERT INTO `{name}` VALUES".encode()
    starts = {}
    for i in range(1, count + 1):
        if layout == "statements":
            out += insert + b" "
        elif i == 1 or layout == "extended" and i % 5 == 1:  # extended: 5 records a line
            out += insert + (b"\n" if layout == "lines" else b" ")
        starts[i] = (out.count(b"\n") + 1, len(out))
        out += _record(i, damage.get(i)).encode()
        last = layout == "statements" or i == count or layout == "extended" and i % 5 == 0
        out += b";\n" if last else b",\n" if layout == "lines" else b","
    rows = [(i, str(i), NIR[i % 20], f"Nom {i}") for i in range(1, count + 1) if i not in damage]
    return bytes(out[len(before) :]), rows, [(i, *starts[i]) for i in sorted(damage)]


LAYOUTS = ["extended", "lines", "statements"]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    "damage",
    [{3: "closing"}, {4: "opening"}, {2: "count"}, {3: "closing", 8: "opening", 11: "count"}],
    ids=["closing", "opening", "count", "three"],
)
def test_damaged_records_alone_are_quarantined(tmp_path, layout, damage):
    dump, rows, damaged = _build(layout, 14, damage)
    table = _read_all(tmp_path, dump)["t"]
    assert table.rows == rows
    assert [q[:3] for q in table.quarantine] == damaged
    for (record, *_), reason in zip(damaged, (q[3] for q in table.quarantine), strict=True):
        if damage[record] == "count":
            assert reason == "expected 3 values, found 4"
        else:
            assert reason in {"quote never closed", "a value where a comma should be"}


def test_damage_anywhere_stays_in_its_records(tmp_path):
    """200 tables one after the other, each damaged at random places known in advance."""
    dump = b""
    expected = {}
    for seed in range(200):
        draw = random.Random(seed)
        count = draw.randint(1, 25)
        places = draw.sample(range(1, count + 1), draw.randint(0, min(count, 4)))
        damage = {k: draw.choice(["closing", "opening", "count"]) for k in places}
        part, rows, damaged = _build(draw.choice(LAYOUTS), count, damage, f"t{seed}", dump)
        dump += part
        expected[f"t{seed}"] = (rows, damaged)
    tables = _read_all(tmp_path, dump)
    assert {name: (t.rows, [q[:3] for q in t.quarantine]) for name, t in tables.items()} == expected


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_record_missing_a_quote(tmp_path, layout):
    damage = {i: ("closing", "opening")[i % 2] for i in range(1, 1001)}
    dump, rows, damaged = _build(layout, 1000, damage)
    table = _read_all(tmp_path, dump)["t"]
    assert rows == [] and table.rows == []
    assert [q[:3] for q in table.quarantine] == damaged


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_quote_open_to_the_end_quarantines_the_rest(tmp_path, layout):
    dump, rows, damaged = _build(layout, 9, {9: "closing"})
    dump += b"trailing text\nwith lines ( and ; but no quote\n" * 50
    table = _read_all(tmp_path, dump)["t"]
    assert table.rows == rows
    # the text after the open quote starts no tuple: it is the damaged record's evidence
    assert [q[:3] for q in table.quarantine] == damaged


def test_a_dump_cut_inside_a_tuple(tmp_path):
    dump, rows, _ = _build("extended", 7, {})
    start = dump.rindex(b"(7,")
    table = _read_all(tmp_path, dump[: start + len(b"(7, '1")])["t"]
    assert table.rows == rows[:6]
    assert table.quarantine == [(7, 4, start, "quote never closed")]  # line 4: records 6, 7


def test_text_between_tuples_is_one_record(tmp_path):
    dump = (
        b"-- MySQL dump\nCREATE TABLE t (id int, nom text);\n"
        b"INSERT INTO t VALUES (1,'a'),\n2,'b'),\n(3,'c');\n"
    )
    table = _read_all(tmp_path, dump)["t"]
    assert table.values == [("1", "a"), ("3", "c")]
    start = dump.index(b"2,'b'")
    assert table.quarantine == [(2, 4, start, "text between tuples not understood")]


def test_a_tuple_over_the_shipped_limit_is_quarantined_and_reading_goes_on(tmp_path):
    big = b"x" * (MAX_RECORD_BYTES + 1024)
    dump = (
        b"-- MySQL dump\nCREATE TABLE t (id int, nom text);\n"
        b"INSERT INTO t VALUES (1,'a'),(2,'" + big + b"'),(3,'c');\n"
        b"INSERT INTO t VALUES (4,'d');\n"
    )
    table = _read_all(tmp_path, dump)["t"]
    assert table.values == [("1", "a"), ("3", "c"), ("4", "d")]
    start = dump.index(b"(2,")
    assert [q[:3] for q in table.quarantine] == [(2, 3, start)]
    assert "longer than" in table.quarantine[0][3]


# -- real dumps of one table before and after its columns moved -----------------------------

PEOPLE = [("1", NIR[1], "Dupont"), ("2", NIR[2], "Martin")]
LATER = ("3", NIR[3], "Le Gall")


def _mariadb_dump(*options: str) -> bytes:
    command = ["mariadb-dump", "-h127.0.0.1", "-uroot", *options]
    return subprocess.run(command, check=True, capture_output=True).stdout


@pytest.mark.server
@pytest.mark.parametrize(
    "options",
    [["--no-create-info", "--complete-insert"], ["--skip-complete-insert"]],
    ids=["column-lists", "create-table"],
)
def test_mariadb_dumps_before_and_after_columns_moved(tmp_path, mariadb_tables, options):
    name = mariadb_tables[0]
    rows = ",".join(f"({i}, '{nir}', '{nom}')" for i, nir, nom in PEOPLE)
    script = (
        f"CREATE TABLE `{name}` (id INT PRIMARY KEY, nir VARCHAR(15), nom VARCHAR(40));"
        f"INSERT INTO `{name}` VALUES {rows};"
    )
    subprocess.run([*MARIADB, "-e", script], check=True, capture_output=True)
    before = _mariadb_dump("--complete-insert", "test", name)
    i, nir, nom = LATER
    script = (
        f"ALTER TABLE `{name}` MODIFY nom VARCHAR(40) AFTER id;"  # now id, nom, nir
        f"INSERT INTO `{name}` (id, nom, nir) VALUES ({i}, '{nom}', '{nir}');"
    )
    subprocess.run([*MARIADB, "-e", script], check=True, capture_output=True)
    after = _mariadb_dump(*options, "test", name)
    assert b"`nom`, `nir`" in after or b"`nom` varchar(40) DEFAULT NULL,\n  `nir`" in after
    table = _read_all(tmp_path, before + after)[name]
    assert table.columns == ["id", "nir", "nom"]
    assert table.values == [*PEOPLE, *PEOPLE, LATER]
    assert table.quarantine == []


@pytest.mark.server
@pytest.mark.parametrize(
    "options",
    [["--data-only"], ["--data-only", "--column-inserts"], ["--inserts"]],
    ids=["copy", "column-inserts", "create-table"],
)
def test_pg_dumps_before_and_after_columns_moved(tmp_path, postgres_tables, options):
    name = postgres_tables[0]
    rows = ",".join(f"({i}, '{nir}', '{nom}')" for i, nir, nom in PEOPLE)
    script = (
        f'CREATE TABLE "{name}" (id INT, nir TEXT, nom TEXT); INSERT INTO "{name}" VALUES {rows};'
    )
    subprocess.run([*PSQL, "-c", script], check=True, capture_output=True)
    dump = ["pg_dump", "-h", "127.0.0.1", "-U", "postgres", "-t", name]
    before = subprocess.run([*dump, "--column-inserts", "test"], check=True, capture_output=True)
    i, nir, nom = LATER
    cases = " ".join(f"WHEN {i} THEN '{nir}'" for i, nir, _ in PEOPLE)
    script = (  # PostgreSQL cannot reorder columns: drop and add one, it comes last
        f'ALTER TABLE "{name}" DROP COLUMN nir; ALTER TABLE "{name}" ADD COLUMN nir TEXT;'
        f'UPDATE "{name}" SET nir = CASE id {cases} END;'
        f"INSERT INTO \"{name}\" (id, nom, nir) VALUES ({i}, '{nom}', '{nir}');"
    )
    subprocess.run([*PSQL, "-c", script], check=True, capture_output=True)
    after = subprocess.run([*dump, *options, "test"], check=True, capture_output=True)
    table = _read_all(tmp_path, before.stdout + after.stdout)[name]
    assert table.columns == ["id", "nir", "nom"]
    assert table.values[:2] == PEOPLE
    assert sorted(table.values[2:]) == [*PEOPLE, LATER]  # UPDATE moved rows on disk
    assert table.quarantine == []


# -- linear time: twice the input, at most ~twice the time --------------------------------------


def _row(i: int) -> str:
    return f"({i},'{NIR[i % 20]}','Nom {i} l\\'x','a; b (c)',NULL)"


HEAD = "-- MySQL dump\nCREATE TABLE t (id int, nir text, nom text, note text, vide text);\n"


def _one_row_a_line(n: int) -> tuple[bytes, int, int]:
    text = HEAD + "INSERT INTO t VALUES\n" + ",\n".join(_row(i) for i in range(n)) + ";\n"
    return text.encode(), n, 0


def _one_insert_a_line(n: int) -> tuple[bytes, int, int]:
    return (HEAD + "".join(f"INSERT INTO t VALUES {_row(i)};\n" for i in range(n))).encode(), n, 0


def _extended(n: int) -> tuple[bytes, int, int]:
    return (
        (HEAD + "INSERT INTO t VALUES " + ",".join(_row(i) for i in range(n)) + ";\n").encode(),
        n,
        0,
    )


def _copy(n: int) -> tuple[bytes, int, int]:
    lines = "".join(f"{i}\t{NIR[i % 20]}\tNom {i}\ta\\tb\t\\N\n" for i in range(n))
    head = "-- PostgreSQL database dump\nCOPY public.t (id, nir, nom, note, vide) FROM stdin;\n"
    return (head + lines + "\\.\n").encode(), n, 0


def _never_closed(n: int) -> tuple[bytes, int, int]:
    """One row, then a string opened and never closed over ``n`` lines of text."""
    text = HEAD + "INSERT INTO t VALUES " + _row(1) + ",(2,'" + "texte (x), y; z\n" * n
    return text.encode(), 1, 1


GROWING_DUMPS = pytest.mark.parametrize(
    ("build", "n"),
    [
        (_never_closed, 100_000),
        (_one_row_a_line, 30_000),
        (_one_insert_a_line, 20_000),
        (_extended, 30_000),
        (_copy, 60_000),
    ],
    ids=["never-closed", "one-row-a-line", "one-insert-a-line", "extended", "copy"],
)


def _dumps(folder, build, n):
    """The dumps of sizes ``linear_sizes(n)``, with the rows and quarantined each holds."""
    dumps = []
    for size in linear_sizes(n):
        dump, rows, quarantined = build(size)
        dumps.append((folder / f"{size}.sql", rows, quarantined))
        dumps[-1][0].write_bytes(dump)
    return dumps


@GROWING_DUMPS
def test_reading_time_grows_linearly(tmp_path, build, n):
    dumps = _dumps(tmp_path, build, n)
    paths = [path for path, _, _ in dumps]
    seconds, summaries = loading_seconds(paths)
    for summary, (_, rows, quarantined) in zip(summaries, dumps, strict=True):
        assert (summary.rows, summary.quarantined) == (rows, quarantined)
    assert_linear(seconds, lambda: loading_seconds(paths)[0])


@GROWING_DUMPS
def test_reading_steps_grow_linearly(tmp_path, build, n):
    dumps = _dumps(tmp_path, build, n // 16)
    steps, summaries = reading_steps([path for path, _, _ in dumps])
    for summary, (_, rows, quarantined) in zip(summaries, dumps, strict=True):
        assert (summary.rows, summary.quarantined) == (rows, quarantined)
    assert_linear_steps(steps)


@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [("utf-8", b"\xef\xbb\xbf"), ("utf-16", b""), ("cp1252", b"")],
    ids=["utf-8-bom", "utf-16", "cp1252"],
)
def test_encodings(tmp_path, encoding, prefix):
    text = (
        "-- MySQL dump 10.13\nCREATE TABLE `t` (`nom` text, `ville` text);\n"
        "INSERT INTO `t` VALUES ('Hélène Œuvray','Saint-Étienne'),('Ærø; (x)','Brest');\n"
    )
    table = _read_all(tmp_path, prefix + text.encode(encoding))["t"]
    assert table.columns == ["nom", "ville"]
    assert table.values == [("Hélène Œuvray", "Saint-Étienne"), ("Ærø; (x)", "Brest")]
    assert table.quarantine == []


def test_memory_holds_a_block_not_the_dump(tmp_path, monkeypatch):
    held = []
    fill = Scanner._fill

    def spy(self):
        more = fill(self)
        held.append(len(self.buf))
        return more

    monkeypatch.setattr(Scanner, "_fill", spy)
    dump = _extended(80_000)[0] + _one_insert_a_line(20_000)[0]
    assert len(dump) > 5 * BLOCK
    table = _read_all(tmp_path, dump)["t"]
    assert len(table.rows) == 100_000
    assert max(held) <= 2 * BLOCK
