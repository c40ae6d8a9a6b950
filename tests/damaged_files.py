"""Files of every input format with a known number of records and damage at known places.

Each writer takes a :class:`Plan` (how many records, which ones to damage and how) and
returns a :class:`Built`: the bytes, and what it counted while writing them: every record
(``records``), the damaged ones (``damaged``) and, for each valid record, the values a
reader must store under each column name (``valid``, keyed by the record's unique marker).
A reader is right when its rows are exactly ``valid`` and ``rows + quarantined ==
records``; nothing here asks the reader how many records there are.

What counts as damaged (one record each, the records around it stay valid):

``too_many``      one field or value more than the table has
``too_few``       one field or value less (the last one dropped)
``quote``         delimited text: a field opens a quote that no line closes (and the
                  last field is missing: damaged however the quote is taken)
``control``       binary control bytes in the record (outside JSON strings)
``broken``        a JSON element missing a colon (braces and quotes still balanced)
``truncated``     the file ends in the middle of its last record
``unclosed``      SQL: the last tuple opens a string and the dump ends inside it

Values are synthetic. Every record carries a marker (``A00017``) in its first field (column
``marqueur``, or ``col_1`` without a header), so a row read under the wrong column or a
record merged into another is seen at once.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
import tarfile
import zipfile
from dataclasses import dataclass, field

FIELDS = ("marqueur", "nom", "prenom", "code_postal", "naissance", "commentaire")

NOMS = ["Lefèvre", "Le Gall", "Dupont", "Nguyen", "Müller", "Çelik", "O'Brien", "Sánchez"]
PRENOMS = ["Zoé", "Jean", "Anaïs", "Noël", "Hélène", "Loïc", "Ægir", "Maëlle"]
WIDE = ["Łukasz", "Ωmega", "李", "Đặng"]  # only in files that can hold them (UTF-8)
PLAIN_NOTES = ["suivi normal", "bilan annuel", "contrôle à revoir", "résultat transmis"]
# Each starts with a letter, so a quote left open earlier never closes cleanly on one.
TRICKY_NOTES = [
    "suivi; contrôle, bilan|revu",
    'dit "très bien" hier',
    "l'état\\stable",
    "ligne 1\nligne 2",
    "tab\tdans le texte",
]

CSV_DAMAGE = ("too_many", "too_few", "quote", "control")
JSON_DAMAGE = ("broken", "control")
SQL_DAMAGE = ("too_many", "too_few")
TAIL_DAMAGE = ("truncated", "unclosed")


@dataclass
class Plan:
    """What to write: ``n`` records, ``damage`` {index: kind}, values drawn from ``seed``."""

    n: int
    damage: dict[int, str] = field(default_factory=dict)
    seed: int = 0
    tricky: bool = False  # notes holding delimiters, quotes, backslashes, newlines, tabs
    wide: bool = False  # characters beyond Latin-1 (UTF-8 files only)
    prefix: str = "A"  # first letter of the markers (distinct per member of an archive)


@dataclass
class Built:
    """A written file and what its writer counted."""

    name: str
    data: bytes
    records: int = 0
    damaged: int = 0
    valid: dict[str, dict[str, str | None]] = field(default_factory=dict)

    def keep(self, marker: str, values: dict[str, str | None]) -> None:
        """Count one valid record and the values expected for it."""
        self.records += 1
        self.valid[marker] = values

    def spoil(self) -> None:
        """Count one damaged record."""
        self.records += 1
        self.damaged += 1


def people(plan: Plan) -> list[dict[str, str]]:
    """The values of every record of the plan, by field name."""
    rng = random.Random(plan.seed)
    names = NOMS + (WIDE if plan.wide else [])
    notes = PLAIN_NOTES + (TRICKY_NOTES if plan.tricky else [])
    out = []
    for i in range(plan.n):
        out.append(
            {
                "marqueur": f"{plan.prefix}{i:05d}",
                "nom": rng.choice(names),
                "prenom": rng.choice(PRENOMS),
                "code_postal": f"{rng.randrange(1000, 97690):05d}",
                "naissance": f"{rng.randrange(1930, 2020)}-{rng.randrange(1, 13):02d}-"
                f"{rng.randrange(1, 29):02d}",
                "commentaire": rng.choice(notes),
            }
        )
    return out


# -- delimited text ----------------------------------------------------------------------


def delimited(
    plan: Plan,
    *,
    delimiter: str = ";",
    encoding: str = "utf-8",
    header: bool = True,
    blank_lines: bool = False,
) -> Built:
    """CSV/TSV/``;``/``|`` text, with or without a header row."""
    columns = list(FIELDS) if header else [f"col_{i}" for i in range(1, len(FIELDS) + 1)]
    built = Built(f"leak_{plan.prefix}.csv", b"")
    out = io.BytesIO()

    codec = "utf-8" if encoding == "utf-8-sig" else encoding

    def line(values: list[str]) -> bytes:
        text = io.StringIO(newline="")
        csv.writer(text, delimiter=delimiter, lineterminator="\n").writerow(values)
        return text.getvalue().encode(codec)

    if encoding == "utf-8-sig":
        out.write(b"\xef\xbb\xbf")
    if header:
        out.write(line(list(FIELDS)))
    records = people(plan)
    for i, person in enumerate(records):
        values = [person[f] for f in FIELDS]
        kind = plan.damage.get(i)
        if blank_lines and i % 5 == 2:
            out.write(b"\n")  # a blank line is not a record
        if kind is None:
            out.write(line(values))
            built.keep(person["marqueur"], dict(zip(columns, values, strict=True)))
            continue
        built.spoil()
        if kind == "too_many":
            out.write(line([*values, "EXTRA"]))
        elif kind == "too_few":
            out.write(line(values[:-1]))
        elif kind == "quote":
            # A quote opens before the fifth field and no line closes it; the last field is
            # missing, so the record is damaged whether the quote is taken as quoting or as
            # a character. The next line is a record of its own: merging them loses it.
            body = line(values[:4]).rstrip(b"\n")
            out.write(body + (delimiter + '"' + values[4] + "\n").encode(codec))
        elif kind == "control":
            values[1] = values[1][:2] + "\x00\x01" + values[1][2:]
            out.write(line(values))
        elif kind == "truncated":
            whole = line(values)
            # Cut inside the second field: the record lacks fields, it cannot pass as whole.
            cut = len(values[0].encode(codec)) + 1 + len(values[1][:2].encode(codec))
            out.write(whole[:cut])
        else:
            raise ValueError(kind)
    built.data = out.getvalue()
    return built


# -- JSON ----------------------------------------------------------------------------------


def _document(person: dict[str, str]) -> dict[str, object]:
    """The JSON object of a person: the postal code nested, as exports often do."""
    return {
        "marqueur": person["marqueur"],
        "nom": person["nom"],
        "prenom": person["prenom"],
        "adresse": {"code_postal": person["code_postal"]},
        "naissance": person["naissance"],
        "commentaire": person["commentaire"],
    }


def _flat(person: dict[str, str]) -> dict[str, str | None]:
    out: dict[str, str | None] = {f: person[f] for f in FIELDS if f != "code_postal"}
    out["adresse.code_postal"] = person["code_postal"]
    return out


def _element(person: dict[str, str], kind: str | None, pretty: bool) -> str:
    """One JSON object as text, damaged as ``kind`` says."""
    indent = 2 if pretty else None
    separators = (",", ": ") if pretty else (",", ":")
    text = json.dumps(_document(person), ensure_ascii=False, indent=indent, separators=separators)
    if kind == "broken":
        colon = '"nom": ' if pretty else '"nom":'
        return text.replace(colon, '"nom" ', 1)
    if kind == "control":
        first = text.index(",") + 1
        return text[:first] + "\x01\x02" + text[first:]
    if kind == "truncated":
        return text[: text.index('"nom"') + 9]
    return text


JSON_LAYOUTS = ("pretty", "minified", "two_per_line", "wrapped", "keyed")


def json_array(plan: Plan, layout: str = "pretty") -> Built:
    """A JSON array of objects laid out as ``layout`` (``keyed``: an object of objects)."""
    built = Built(f"leak_{plan.prefix}.json", b"")
    records = people(plan)
    parts: list[str] = []
    for i, person in enumerate(records):
        kind = plan.damage.get(i)
        if kind is None:
            built.keep(person["marqueur"], _flat(person))
        else:
            if layout == "keyed":
                raise ValueError("a keyed document is one JSON value: no damage to resync from")
            built.spoil()
        parts.append(_element(person, kind, pretty=layout == "pretty"))
    tail_cut = plan.damage.get(plan.n - 1) == "truncated"
    if layout == "keyed":
        body = ",\n".join(f'  "-Mx{i:06d}": {part}' for i, part in enumerate(parts, start=1))
        text = '{"patients": {\n' + body + "\n}}\n"
    elif layout == "minified":
        text = "[" + ",".join(parts) + ("" if tail_cut else "]")
    elif layout == "two_per_line":
        pairs = [", ".join(parts[i : i + 2]) for i in range(0, len(parts), 2)]
        text = "[\n" + ",\n".join(pairs) + ("" if tail_cut else "\n]\n")
    elif layout == "wrapped":
        text = '{"export": "labo", "patients": [\n' + ",\n".join(parts)
        text += "" if tail_cut else "\n]}\n"
    else:
        text = "[\n" + ",\n".join(parts) + ("" if tail_cut else "\n]\n")
    built.data = text.encode("utf-8")
    return built


def ndjson(plan: Plan, *, blank_lines: bool = False) -> Built:
    """One JSON object per line."""
    built = Built(f"leak_{plan.prefix}.ndjson", b"")
    lines = []
    for i, person in enumerate(people(plan)):
        kind = plan.damage.get(i)
        if kind is None:
            built.keep(person["marqueur"], _flat(person))
        else:
            built.spoil()
        if blank_lines and i % 5 == 2:
            lines.append("")
        lines.append(_element(person, kind, pretty=False))
    text = "\n".join(lines)
    if plan.damage.get(plan.n - 1) != "truncated":
        text += "\n"
    built.data = text.encode("utf-8")
    return built


# -- SQL dumps ------------------------------------------------------------------------------


def _mysql_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("'", "\\'").replace('"', '\\"')
    return "'" + escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\x00", "\\0") + "'"


def _pg_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


MYSQL_HEAD = """-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)
--
-- Host: localhost    Database: labo
-- ------------------------------------------------------
/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
/*!40101 SET NAMES utf8mb4 */;
/*!40103 SET TIME_ZONE='+00:00' */;

--
-- Table structure for table `patients`
--

DROP TABLE IF EXISTS `patients`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!50503 SET character_set_client = utf8mb4 */;
CREATE TABLE `patients` (
  `marqueur` varchar(16) NOT NULL,
  `nom` varchar(64) DEFAULT NULL,
  `prenom` varchar(64) DEFAULT NULL,
  `code_postal` char(5) DEFAULT NULL,
  `naissance` date DEFAULT NULL,
  `commentaire` text,
  PRIMARY KEY (`marqueur`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Dumping data for table `patients`
--

LOCK TABLES `patients` WRITE;
/*!40000 ALTER TABLE `patients` DISABLE KEYS */;
"""
MYSQL_TAIL = """/*!40000 ALTER TABLE `patients` ENABLE KEYS */;
UNLOCK TABLES;

-- Dump completed on 2021-02-23 10:00:00
"""
PG_HEAD = """--
-- PostgreSQL database dump
--

-- Dumped from database version 15.6
SET statement_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);

CREATE TABLE public.patients (
    marqueur character varying(16) NOT NULL,
    nom text,
    prenom text,
    code_postal character(5),
    naissance date,
    commentaire text
);


ALTER TABLE public.patients OWNER TO labo;

"""
PG_TAIL = """

ALTER TABLE ONLY public.patients
    ADD CONSTRAINT patients_pkey PRIMARY KEY (marqueur);

--
-- PostgreSQL database dump complete
--
"""

#: how INSERTs name their columns: not at all, in table order, shuffled per statement, or
#: only some of them (the others are NULL)
COLUMN_LISTS = ("none", "same", "shuffled", "subset")


def sql_inserts(
    plan: Plan,
    *,
    dialect: str = "mysql",
    per_statement: int = 1,
    columns: str = "none",
) -> Built:
    """A ``mysqldump`` or ``pg_dump --inserts`` dump of one table."""
    built = Built(f"dump_{plan.prefix}.sql", b"")
    quote = _mysql_string if dialect == "mysql" else _pg_string
    table = "`patients`" if dialect == "mysql" else "public.patients"
    ident = (lambda c: f"`{c}`") if dialect == "mysql" else (lambda c: c)
    rng = random.Random(plan.seed + 1)
    records = people(plan)
    statements: list[str] = []
    last = plan.n - 1
    for start in range(0, plan.n, per_statement):
        chunk = range(start, min(start + per_statement, plan.n))
        order = list(FIELDS)
        if columns == "shuffled":
            rng.shuffle(order)
        elif columns == "subset" and (start // per_statement) % 2:
            order = [f for f in FIELDS if f != "commentaire"]
        tuples = []
        for i in chunk:
            person = records[i]
            kind = plan.damage.get(i)
            values = [quote(person[f]) for f in order]
            if kind is None:
                expected: dict[str, str | None] = {f: person.get(f) for f in FIELDS}
                for f in FIELDS:
                    if f not in order:
                        expected[f] = None
                built.keep(person["marqueur"], expected)
                tuples.append("(" + ",".join(values) + ")")
                continue
            built.spoil()
            if kind == "too_many":
                tuples.append("(" + ",".join([*values, "'EXTRA'"]) + ")")
            elif kind == "too_few":
                tuples.append("(" + ",".join(values[:-1]) + ")")
            elif kind in TAIL_DAMAGE:
                if i != last:
                    raise ValueError(f"{kind} only on the last record")
                # Both end the dump inside the tuple: a string still open, or cut after a comma.
                opened = "'" + person["nom"][:3] if kind == "unclosed" else ""
                tuples.append("(" + ",".join(values[:1]) + "," + opened)
            else:
                raise ValueError(kind)
        listed = "" if columns == "none" else " (" + ", ".join(ident(c) for c in order) + ")"
        sep = "," if dialect == "mysql" else ",\n\t"
        statements.append(f"INSERT INTO {table}{listed} VALUES " + sep.join(tuples))
    if plan.damage.get(last) in TAIL_DAMAGE:
        body = ";\n".join(statements)  # the dump ends inside its last statement
        text = (MYSQL_HEAD if dialect == "mysql" else PG_HEAD) + body
    else:
        body = "".join(s + ";\n" for s in statements)
        text = (MYSQL_HEAD + body + MYSQL_TAIL) if dialect == "mysql" else PG_HEAD + body + PG_TAIL
    built.data = text.encode("utf-8")
    return built


def _copy_field(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("\t", "\\t")
    return escaped.replace("\n", "\\n").replace("\r", "\\r")


def pg_copy(plan: Plan) -> Built:
    """A ``pg_dump`` dump whose rows are a ``COPY ... FROM stdin`` block."""
    built = Built(f"copy_{plan.prefix}.sql", b"")
    lines = [f"COPY public.patients ({', '.join(FIELDS)}) FROM stdin;"]
    for i, person in enumerate(people(plan)):
        values = [_copy_field(person[f]) for f in FIELDS]
        kind = plan.damage.get(i)
        if kind is None:
            built.keep(person["marqueur"], {f: person[f] for f in FIELDS})
            lines.append("\t".join(values))
            continue
        built.spoil()
        if kind == "too_many":
            lines.append("\t".join([*values, "EXTRA"]))
        elif kind == "too_few":
            lines.append("\t".join(values[:-1]))
        elif kind == "truncated":
            lines.append(values[0] + "\t" + values[1][:2])
        else:
            raise ValueError(kind)
    if plan.damage.get(plan.n - 1) == "truncated":
        text = PG_HEAD + "\n".join(lines)
    else:
        text = PG_HEAD + "\n".join(lines) + "\n\\.\n" + PG_TAIL
    built.data = text.encode("utf-8")
    return built


# -- workbooks -----------------------------------------------------------------------------


def xlsx(plan: Plan, *, sheets: int = 1, blank_rows: bool = False) -> Built:
    """A workbook, header row on each sheet; records split over ``sheets`` sheets."""
    import xlsxwriter

    if plan.damage:
        raise ValueError("a cell holds any text: a workbook has no damaged records to write")
    built = Built(f"classeur_{plan.prefix}.xlsx", b"")
    out = io.BytesIO()
    workbook = xlsxwriter.Workbook(out, {"in_memory": True})
    pages = [workbook.add_worksheet(f"Feuille{s + 1}") for s in range(sheets)]
    for page in pages:
        page.write_row(0, 0, FIELDS)
    rows = [1] * sheets
    for i, person in enumerate(people(plan)):
        page_index = i % sheets
        page = pages[page_index]
        if blank_rows and i % 5 == 2:
            rows[page_index] += 1  # an empty row is not a record
        for c, name in enumerate(FIELDS):
            value = person[name]
            if name == "code_postal" and not value.startswith("0"):
                page.write_number(rows[page_index], c, int(value))  # read back as "35000"
            else:
                page.write_string(rows[page_index], c, value)
        rows[page_index] += 1
        built.keep(person["marqueur"], {f: person[f] for f in FIELDS})
    workbook.close()
    built.data = out.getvalue()
    return built


# -- archives ------------------------------------------------------------------------------


def archive(members: list[Built], kind: str) -> Built:
    """``zip``, ``tar.gz`` or (one member) ``gz`` holding ``members``; counts are their sums."""
    out = io.BytesIO()
    if kind == "zip":
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zipped:
            for member in members:
                zipped.writestr(f"labo/{member.name}", member.data)
        name = "leak.zip"
    elif kind == "tar.gz":
        with tarfile.open(fileobj=out, mode="w:gz") as tarred:
            for member in members:
                info = tarfile.TarInfo(f"labo/{member.name}")
                info.size = len(member.data)
                tarred.addfile(info, io.BytesIO(member.data))
        name = "leak.tar.gz"
    elif kind == "gz":
        (member,) = members
        out.write(gzip.compress(member.data))
        name = member.name + ".gz"
    else:
        raise ValueError(kind)
    built = Built(name, out.getvalue())
    for member in members:
        built.records += member.records
        built.damaged += member.damaged
        built.valid.update(member.valid)
    return built
