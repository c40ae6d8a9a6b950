"""Read SQL dumps: ``mysqldump``/``mariadb-dump`` and ``pg_dump`` plain format.

Every table of the dump becomes its own source. Rows come from ``INSERT`` statements
(extended or one row each, with or without a column list) and from PostgreSQL ``COPY ...
FROM stdin`` blocks; column names from the column list, else from ``CREATE TABLE``.
Each tuple (or COPY line) is a record; one with the wrong number of values, or a statement
that cannot be parsed, is quarantined with its line and byte offset.

String escaping differs by tool: MySQL strings use backslash escapes, PostgreSQL strings
double their quotes (``E'...'`` strings use backslashes), COPY text uses backslash escapes
and ``\\N`` for NULL.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

from ariane.read.archive import Blob
from ariane.read.delimited import raw_lines
from ariane.read.sniff import sniff_encoding
from ariane.read.store import Origin, SourceWriter, Store

_TOKEN = re.compile(
    r"""
    (?P<estr>[eE]'(?:[^'\\]|\\.|'')*')
  | (?P<str>'(?:[^'\\]|\\.|'')*')
  | (?P<pgstr>'(?:[^']|'')*')
  | (?P<ident>`(?:[^`]|``)*`|"(?:[^"]|"")*"|\[[^\]\n]*\])
  | (?P<punct>[(),;])
  | (?P<word>[^\s(),;'"`\[]+)
  | (?P<space>\s+)
  | (?P<open>['"`])
  """,
    re.VERBOSE | re.DOTALL,
)
# PostgreSQL strings never use backslash escapes (standard_conforming_strings = on).
_PG_TOKEN = re.compile(
    _TOKEN.pattern.replace(r"(?P<str>'(?:[^'\\]|\\.|'')*')", r"(?P<str>'(?:[^']|'')*')"),
    re.VERBOSE | re.DOTALL,
)
_MYSQL_ESCAPES = {
    "0": "\x00",
    "b": "\b",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "Z": "\x1a",
}
_MYSQL_ESCAPE = re.compile(r"\\(.)|''", re.DOTALL)
_COPY_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)", re.DOTALL)
#: An extended INSERT holds many records; dump tools keep one under 16 MiB by default.
MAX_STATEMENT_BYTES = 64 * 1024 * 1024
_COPY_SIMPLE = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_CONSTRAINT_WORDS = {
    "PRIMARY",
    "KEY",
    "UNIQUE",
    "CONSTRAINT",
    "INDEX",
    "FULLTEXT",
    "FOREIGN",
    "CHECK",
    "SPATIAL",
    "EXCLUDE",
    "LIKE",
    "PERIOD",
}


def unescape_mysql(body: str) -> str:
    """The value of a MySQL string literal's body (between the quotes)."""
    if "\\" not in body and "''" not in body:
        return body

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "''":
            return "'"
        char = match.group(1)
        return _MYSQL_ESCAPES.get(char, char)

    return _MYSQL_ESCAPE.sub(one, body)


def unescape_copy(field: str) -> str | None:
    """The value of one field of a PostgreSQL COPY text line (``\\N`` is NULL)."""
    if field == "\\N":
        return None
    if "\\" not in field:
        return field

    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        if code in _COPY_SIMPLE:
            return _COPY_SIMPLE[code]
        if code[0] == "x" and len(code) > 1:
            return chr(int(code[1:], 16))
        if code.isdigit() and all(c in "01234567" for c in code):
            return chr(int(code, 8) & 0xFF)
        return code

    return _COPY_ESCAPE.sub(one, field)


def _name(token: str) -> str:
    """An identifier without its quotes (backticks, double quotes, SQL Server brackets)."""
    if token[:1] == "[" and token[-1:] == "]":
        return token[1:-1]
    if token[:1] in '`"' and token[-1:] == token[:1]:
        quote = token[0]
        return token[1:-1].replace(quote * 2, quote)
    return token


def table_name(text: str) -> str:
    """``public."T"`` -> ``T``; ``db.`t``` -> ``db.t``: quotes and the ``public`` schema dropped."""
    parts = [
        _name(p) for p in re.findall(r'`(?:[^`]|``)*`|"(?:[^"]|"")*"|\[[^\]]*\]|[^.\s]+', text)
    ]
    if len(parts) > 1 and parts[0] in {"public", "dbo", "main"}:
        parts = parts[1:]
    return ".".join(parts)


@dataclass
class _Statement:
    text: str
    line: int
    offset: int
    raw: bytes


class _Dump:
    """The tables of one dump and their writers."""

    def __init__(self, store: Store, origin: Origin, encoding: str, postgres: bool) -> None:
        self.store = store
        self.origin = origin
        self.encoding = encoding
        self.postgres = postgres
        self.token = _PG_TOKEN if postgres else _TOKEN
        self.columns: dict[str, list[str]] = {}
        self.writers: dict[str, SourceWriter] = {}
        self.records: dict[str, int] = {}

    def writer(self, table: str, columns: list[str] | None) -> SourceWriter:
        if table not in self.writers:
            names = columns or self.columns.get(table) or []
            self.writers[table] = self.store.writer(
                self.origin,
                "sql",
                self.encoding,
                names,
                table_name=table or None,
                has_header=bool(names),
            )
            self.records[table] = 0
        return self.writers[table]

    def next_record(self, table: str) -> int:
        self.records[table] += 1
        return self.records[table]

    # -- statements --------------------------------------------------------------------

    def statement(self, stmt: _Statement) -> str | None:
        """Handle one statement; returns the table name when it opens a COPY block."""
        head = stmt.text.lstrip()[:32].upper()
        if head.startswith("CREATE TABLE"):
            self.create(stmt)
        elif head.startswith(("INSERT", "REPLACE")):
            self.insert(stmt)
        elif head.startswith("COPY"):
            return self.copy_header(stmt)
        return None

    def create(self, stmt: _Statement) -> None:
        match = re.match(
            r"\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(.+?)\s*\(", stmt.text, re.I | re.S
        )
        if not match:
            return
        table = table_name(match.group(1))
        body = stmt.text[match.end() :]
        names: list[str] = []
        for part in _top_level_parts(body, self.token):
            words = part.split(None, 1)
            if not words or words[0].upper().strip('`"') in _CONSTRAINT_WORDS:
                continue
            first = re.match(r'`(?:[^`]|``)*`|"(?:[^"]|"")*"|\S+', part)
            if first:
                names.append(_name(first.group(0)))
        self.columns[table] = names
        self.writer(table, names)

    def insert(self, stmt: _Statement) -> None:
        match = re.match(
            r"\s*(?:INSERT|REPLACE)\s+(?:IGNORE\s+)?(?:INTO\s+)?((?:`(?:[^`]|``)*`"
            r"|\"(?:[^\"]|\"\")*\"|\[[^\]]*\]|[^\s(`\"\[])+)\s*(\([^)]*\))?\s*VALUES\s*",
            stmt.text,
            re.I | re.S,
        )
        if not match:
            self.unparsed(stmt, "INSERT statement not understood")
            return
        table = table_name(match.group(1))
        columns = None
        if match.group(2):
            columns = [_name(c.strip()) for c in match.group(2)[1:-1].split(",")]
        writer = self.writer(table, columns)
        width = len(writer.columns)
        position = match.end()
        for values, line in self.tuples(stmt, position):
            record = self.next_record(table)
            if values is None:
                writer.quarantine(
                    record, "tuple not understood", stmt.raw, line=line, byte_offset=stmt.offset
                )
            elif width and len(values) != width:
                writer.quarantine(
                    record,
                    f"expected {width} values, found {len(values)}",
                    stmt.raw,
                    line=line,
                    byte_offset=stmt.offset,
                )
            else:
                if not width:
                    writer.add_columns([f"col_{i + 1}" for i in range(len(values))])
                    width = len(values)
                writer.row(values, record, line)

    def tuples(
        self, stmt: _Statement, position: int
    ) -> Iterator[tuple[list[str | None] | None, int]]:
        """Each ``(...)`` of a VALUES list, as values (None when damaged), with its line."""
        text = stmt.text
        line = stmt.line + text.count("\n", 0, position)
        values: list[str | None] | None = None
        depth = 0
        start_line = line
        for token in self.token.finditer(text, position):
            kind, value = token.lastgroup, token.group(0)
            if kind == "space":
                line += value.count("\n")
                continue
            if value == "(":
                depth += 1
                if depth == 1:
                    values, start_line = [], line
                continue
            if value == ")":
                depth -= 1
                if depth == 0 and values is not None:
                    yield values, start_line
                    values = None
                continue
            if depth == 0:
                if value in {",", ";"}:
                    continue
                break  # ON DUPLICATE KEY ... and the like
            if values is None or value == ",":
                continue
            if kind == "word" and (value in {"N", "n"} or value[:1] == "_" and value[1:].isalnum()):
                continue  # a string introducer: _binary 'abc', _utf8mb4 'abc', N'abc'
            line += value.count("\n")
            values.append(self.literal(kind or "", value))
        if values is not None:
            yield None, start_line

    def literal(self, kind: str, token: str) -> str | None:
        if kind == "str":
            return (
                unescape_mysql(token[1:-1]) if not self.postgres else token[1:-1].replace("''", "'")
            )
        if kind == "pgstr":
            return token[1:-1].replace("''", "'")
        if kind == "estr":
            return unescape_mysql(token[2:-1])
        if token.upper() == "NULL":
            return None
        return token

    def copy_header(self, stmt: _Statement) -> str | None:
        match = re.match(r"\s*COPY\s+(.+?)\s*(\([^)]*\))?\s+FROM\s+stdin", stmt.text, re.I | re.S)
        if not match:
            return None
        table = table_name(match.group(1))
        columns = None
        if match.group(2):
            columns = [_name(c.strip()) for c in match.group(2)[1:-1].split(",")]
        self.writer(table, columns)
        return table

    def copy_line(self, table: str, raw: bytes, text: str, line: int, offset: int) -> None:
        writer = self.writers[table]
        record = self.next_record(table)
        fields = text.rstrip("\r\n").split("\t") if text.rstrip("\r\n") else [""]
        width = len(writer.columns)
        if width and len(fields) != width:
            writer.quarantine(
                record,
                f"expected {width} fields, found {len(fields)}",
                raw,
                line=line,
                byte_offset=offset,
            )
            return
        if not width:
            writer.add_columns([f"col_{i + 1}" for i in range(len(fields))])
        writer.row([unescape_copy(f) for f in fields], record, line)

    def unparsed(self, stmt: _Statement, reason: str) -> None:
        writer = self.writer("", [])
        writer.quarantine(
            self.next_record(""), reason, stmt.raw, line=stmt.line, byte_offset=stmt.offset
        )


def _top_level_parts(body: str, token: re.Pattern[str]) -> list[str]:
    """Comma-separated parts of a CREATE TABLE body, up to its closing parenthesis."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for match in token.finditer(body):
        value = match.group(0)
        if value == "(":
            depth += 1
        elif value == ")":
            if depth == 0:
                break
            depth -= 1
        elif value == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(value)
    parts.append("".join(current).strip())
    return [p for p in parts if p]


def _complete(text: str, token: re.Pattern[str]) -> bool:
    """Whether ``text`` ends a statement: a ``;`` outside any string at its end."""
    if not text.rstrip().endswith(";"):
        return False
    last = None
    for match in token.finditer(text):
        if match.lastgroup == "open":
            return False  # a string still open: the ";" seen is inside it
        if match.lastgroup != "space":
            last = match
    return last is not None and last.group(0) == ";"


def read_sql(blob: Blob, store: Store, origin: Origin) -> list[SourceWriter]:
    """Read every table of a SQL dump into its own source."""
    encoding = sniff_encoding(blob.sample)
    if encoding not in {"utf-8", "utf-8-sig"}:
        encoding = encoding if encoding.startswith("utf") else "utf-8"
    head = blob.sample.decode("utf-8", errors="replace")
    postgres = bool(
        # PostgreSQL and SQLite strings double their quotes and never use backslash escapes.
        re.search(
            r"PostgreSQL database dump|standard_conforming_strings|FROM stdin;"
            r"|PRAGMA foreign_keys|^BEGIN TRANSACTION;|\[dbo\]|^SET ANSI_NULLS|^GO\s*$",
            head,
            re.M,
        )
    )
    digest = hashlib.sha256()
    with blob.open() as stream:
        while block := stream.read(1 << 22):
            digest.update(block)
    origin.member_sha256 = digest.hexdigest()
    dump = _Dump(store, origin, encoding, postgres)
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    with blob.open() as stream:
        _read(stream, dump, codec)
    writers = list(dump.writers.values())
    for writer in writers:
        writer.close()
    return writers


def _read(stream: object, dump: _Dump, codec: str) -> None:
    copy_table: str | None = None
    pending: list[tuple[bytes, str]] = []
    pending_size = 0
    start_line = start_offset = 0
    offset = 0
    lines = raw_lines(stream, limit=MAX_STATEMENT_BYTES)  # type: ignore[arg-type]
    for number, (raw, too_long) in enumerate(lines, start=1):
        here = offset
        offset += len(raw)
        text = raw.decode(codec, errors="replace")
        if number == 1:
            text = text.lstrip("\ufeff")
        if copy_table is not None:
            if text.rstrip("\r\n") == "\\.":
                copy_table = None
            elif too_long:
                writer = dump.writers[copy_table]
                writer.quarantine(
                    dump.next_record(copy_table),
                    "line longer than the limit",
                    raw,
                    line=number,
                    byte_offset=here,
                )
            else:
                dump.copy_line(copy_table, raw, text, number, here)
            continue
        if not pending:
            stripped = text.strip()
            if (
                not stripped
                or stripped.startswith(("--", "#", "\\"))  # comments, psql meta-commands
                or (stripped.startswith("/*") and stripped.rstrip(";").endswith("*/"))
            ):
                continue
            start_line, start_offset = number, here
        pending.append((raw, text))
        pending_size += len(raw)
        if too_long or pending_size > MAX_STATEMENT_BYTES:
            statement = _Statement("", start_line, start_offset, b"".join(r for r, _ in pending))
            dump.unparsed(statement, "statement longer than the limit")
            pending, pending_size = [], 0
            continue
        joined = "".join(t for _, t in pending)
        if _complete(joined, dump.token):
            statement = _Statement(
                joined, start_line, start_offset, b"".join(r for r, _ in pending)
            )
            pending, pending_size = [], 0
            copy_table = dump.statement(statement)
    if pending:
        joined = "".join(t for _, t in pending)
        statement = _Statement(joined, start_line, start_offset, b"".join(r for r, _ in pending))
        if joined.lstrip()[:6].upper() in {"INSERT", "REPLAC"}:
            dump.insert(statement)  # a dump cut short: read the tuples that are whole
        elif joined.strip():
            dump.unparsed(statement, "statement cut short at the end of the dump")
