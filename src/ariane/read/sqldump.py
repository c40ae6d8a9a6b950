"""Read SQL dumps: ``mysqldump``/``mariadb-dump``, ``pg_dump`` plain format and the like.

Every table of the dump becomes its own source. Rows come from ``INSERT`` statements
(extended or one row each, with or without a column list) and from PostgreSQL ``COPY ...
FROM stdin`` blocks. A table's columns come from its ``CREATE TABLE``, else from the first
column list met; each ``INSERT`` or ``COPY`` that names its columns puts its values under
those names (a column not named is NULL; a name never seen adds a column).

Each tuple (or COPY line) is a record. One with the wrong number of values, a quote never
closed or text that is not SQL is quarantined with its line and byte offset, and reading
goes on at the next tuple or line (see :mod:`ariane.read.sqlscan` for how damage is read
again, carefully, in linear time). Stretches of damage that start no tuple of their own
are one record, quoted as evidence.

String escaping differs by tool: MySQL strings use backslash escapes, PostgreSQL strings
double their quotes (``E'...'`` strings use backslashes), COPY text uses backslash escapes
and ``\\N`` for NULL.
"""

from __future__ import annotations

import hashlib
import io
import re
from typing import IO, Any, cast

from ariane.read.archive import Blob
from ariane.read.delimited import WIDE_ENCODINGS, WideText
from ariane.read.sniff import sniff_encoding
from ariane.read.sqlscan import MAX_RECORD_BYTES, QUOTE_BYTES, Scanner, Token
from ariane.read.store import Origin, SourceWriter, Store

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
_COPY_SIMPLE = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_CONSTRAINT_WORDS = {
    b"PRIMARY",
    b"KEY",
    b"UNIQUE",
    b"CONSTRAINT",
    b"INDEX",
    b"FULLTEXT",
    b"FOREIGN",
    b"CHECK",
    b"SPATIAL",
    b"EXCLUDE",
    b"LIKE",
    b"PERIOD",
}
#: Words that start a statement: met where a tuple should be, the ";" before was lost.
_STATEMENT_WORDS = {
    b"INSERT",
    b"REPLACE",
    b"CREATE",
    b"COPY",
    b"DROP",
    b"ALTER",
    b"LOCK",
    b"UNLOCK",
    b"SET",
    b"SELECT",
    b"BEGIN",
    b"COMMIT",
    b"START",
    b"GO",
    b"USE",
    b"TRUNCATE",
    b"UPDATE",
    b"DELETE",
}
#: No table has more columns (MySQL's limit is 4,096, PostgreSQL's 1,600): a longer tuple
#: is damage, and holding its values would cost far more memory than its bytes.
MAX_VALUES = 4096
_TABLE_KINDS = {b"OR", b"REPLACE", b"GLOBAL", b"LOCAL", b"TEMPORARY", b"TEMP", b"UNLOGGED"}
_INSERT_WORDS = {b"LOW_PRIORITY", b"DELAYED", b"HIGH_PRIORITY", b"IGNORE", b"INTO"}
_STRINGS = {"str", "pgstr", "estr", "dollar"}
_NAMES = {"word", "ident", "dq"}
_OPEN, _CLOSE, _COMMA, _SEMICOLON = b"(", b")", b",", b";"


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


def _parts(text: str) -> list[str]:
    """The parts of a dotted name, unquoted: ``"a"."b.c"`` -> ``["a", "b.c"]``."""
    found = re.findall(r'`(?:[^`]|``)*`|"(?:[^"]|"")*"|\[[^\]]*\]|[^.\s]+', text)
    return [_name(p) for p in found] or [text]


def table_name(text: str) -> str:
    """``public."T"`` -> ``T``; ``db.`t``` -> ``db.t``: quotes and the ``public`` schema dropped."""
    parts = _parts(text)
    if len(parts) > 1 and parts[0] in {"public", "dbo", "main"}:
        parts = parts[1:]
    return ".".join(parts)


class _Damaged(Exception):
    """A statement's head holds a quote never closed: read it again, or skip its line."""


class _BadRecord(Exception):
    """A tuple that cannot be read; ``skip`` when reading must look for the next one."""

    def __init__(self, reason: str, skip: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.skip = skip


class _Table:
    """One table of the dump: its writer, its columns by name, its positional order."""

    def __init__(self, writer: SourceWriter, names: list[str]) -> None:
        self.writer = writer
        self.records = 0
        self._exact: dict[str, int] = {}
        self._folded: dict[str, int] = {}
        self._register(names, 0)
        #: Where the values of a tuple without a column list go (CREATE TABLE's order).
        self.order: list[int] = list(range(len(names)))

    def _register(self, names: list[str], first: int) -> None:
        for i, name in enumerate(names, start=first):
            self._exact.setdefault(name, i)
            self._folded.setdefault(name.casefold(), i)

    def position(self, name: str) -> int | None:
        """Index of a column by its name (SQL names are matched without case if need be)."""
        found = self._exact.get(name)
        return found if found is not None else self._folded.get(name.casefold())

    def positions(self, names: list[str]) -> list[int]:
        """Where each named column's values go; names never seen become new columns."""
        new = [n for n in dict.fromkeys(names) if self.position(n) is None]
        if new:
            first = len(self.writer.columns)
            self.writer.add_columns(new)
            self._register(new, first)
        return [cast(int, self.position(n)) for n in names]

    def declare(self, names: list[str]) -> None:
        """A ``CREATE TABLE``: its order is the one of tuples without a column list."""
        if names:  # CREATE TABLE t (LIKE u) names none: the order known stays
            self.order = self.positions(names)

    def add(
        self,
        values: list[str | None],
        positions: list[int] | None,
        record: int,
        line: int | None,
        offset: int,
        raw: bytes,
    ) -> bool:
        """Store one record as a row (values placed by name), or quarantine it."""
        if positions is None:
            if not self.order and not self.writer.columns:
                self.order = self.positions([f"col_{i + 1}" for i in range(len(values))])
            positions = self.order
        if len(values) != len(positions):
            self.writer.quarantine(
                record,
                f"expected {len(positions)} values, found {len(values)}",
                raw,
                line=line,
                byte_offset=offset,
            )
            return False
        width = len(self.writer.columns)
        if len(positions) != width or positions != list(range(width)):
            row: list[str | None] = [None] * width
            for position, value in zip(positions, values, strict=True):
                row[position] = value
            values = row
        self.writer.row(values, record, line)
        return True


class _Dump:
    """The statements of one dump, read from a :class:`Scanner` into one source per table."""

    def __init__(
        self, scan: Scanner, store: Store, origin: Origin, encoding: str, codec: str
    ) -> None:
        self.scan = scan
        self.store = store
        self.origin = origin
        self.encoding = encoding
        self.codec = codec
        self.postgres = scan.postgres
        self.tables: dict[str, _Table] = {}
        #: The bytes of the last INSERT's head up to VALUES, its table and column positions.
        self.last_head: tuple[bytes, _Table | None, list[int] | None] = (b"", None, None)

    def table(self, name: str, names: list[str] | None) -> _Table:
        """The table of that name, its writer opened when first met."""
        if name not in self.tables:
            writer = self.store.writer(
                self.origin,
                "sql",
                self.encoding,
                list(names or []),
                table_name=name or None,
                has_header=bool(names),
            )
            self.tables[name] = _Table(writer, list(names or []))
        return self.tables[name]

    def text(self, raw: bytes) -> str:
        """Bytes of the dump as text (a value in another encoding read as Windows-1252)."""
        try:
            return raw.decode(self.codec)
        except UnicodeDecodeError:
            return raw.decode("cp1252", errors="replace")

    def quote(self, start: int) -> bytes:
        """Evidence for a damaged record: its bytes from ``start`` to the read position."""
        if start < self.scan.base:
            return b""  # over the limit, its bytes already let go
        return self.scan.span(start, min(self.scan.pos, start + QUOTE_BYTES))

    # -- statements ----------------------------------------------------------------------

    def run(self) -> None:
        """Read every statement to the end of the dump."""
        scan = self.scan
        while (token := scan.significant()) is not None:
            kind, start, end, closed = token
            scan.set_mark(start)
            word = scan.span(start, end).upper() if kind == "word" else b""
            try:
                if not closed:
                    raise _Damaged
                if word.startswith(b"\\") or word == b"DELIMITER":
                    scan.skip_line()  # a psql meta-command, a mysql client command
                elif word in {b"INSERT", b"REPLACE"}:
                    self.insert(start)
                elif word == b"CREATE":
                    self.create()
                elif word == b"COPY":
                    self.copy()
                elif word != b"GO" and scan.span(start, end) != _SEMICOLON:
                    self.skip_statement()
            except _Damaged:
                if not scan.careful(start) and scan.mark == start:
                    scan.rewind()
                    continue
                if word in {b"INSERT", b"REPLACE"}:
                    self.unparsed(start, "statement not understood (a quote never closed)")
                else:
                    scan.skip_line()

    def next(self) -> Token | None:
        """The next significant token of a statement's head."""
        scan = self.scan
        token = scan.significant()
        if token is not None and not token[3]:
            raise _Damaged
        if scan.mark is not None and scan.pos - scan.mark > MAX_RECORD_BYTES:
            scan.drop_mark()  # too long to read again: let its bytes go
        return token

    def word(self, token: Token | None) -> bytes:
        """The token as an upper-case keyword (empty when it is not a bare word)."""
        if token is None or token[0] != "word":
            return b""
        return self.scan.span(token[1], token[2]).upper()

    def punct(self, token: Token | None) -> bytes:
        """The punctuation the token is, else empty."""
        if token is None or token[0] != "punct":
            return b""
        return self.scan.span(token[1], token[2])

    def skip_statement(self) -> None:
        """Go past the statement's ``;`` (its tokens unread)."""
        scan = self.scan
        while (token := self.next()) is not None:
            if token[0] == "punct" and scan.span(token[1], token[2]) == _SEMICOLON:
                return

    def skip_clause(self, start: int) -> None:
        """Go past the statement's end from ``start``; a quote left open is read again."""
        scan = self.scan
        scan.set_mark(start)
        try:
            self.skip_statement()
            return
        except _Damaged:
            if not scan.careful(start):
                scan.rewind()
                scan.significant()
                try:
                    self.skip_statement()
                    return
                except _Damaged:
                    pass
        scan.skip_line()

    def dotted_name(self, first: Token) -> str:
        """A possibly schema-qualified, possibly quoted name, from its first token on."""
        scan = self.scan
        parts = [scan.span(first[1], first[2])]
        end = first[2]
        while (token := scan.token()) is not None and token[0] in _NAMES and token[1] == end:
            if not token[3]:
                raise _Damaged
            parts.append(scan.span(token[1], token[2]))
            end = token[2]
        if token is not None:
            scan.push(token)
        return self.text(b"".join(parts))

    def target(self, first: Token) -> tuple[str, list[str] | None, Token | None]:
        """The table an INSERT or COPY names, from its first token, with the column list that
        may follow; and the token after them."""
        name = table_name(self.dotted_name(first))
        columns = None
        token = self.next()
        if self.punct(token) == _OPEN:
            columns = self.name_list()
            token = self.next()
        return name, columns, token

    def name_list(self) -> list[str]:
        """The names of a ``(a, "b", `c`)`` list, its "(" already read."""
        names: list[str] = []
        while (token := self.next()) is not None:
            mark = self.punct(token)
            if mark == _CLOSE:
                return names
            if mark != _COMMA:
                names.append(_parts(self.dotted_name(token))[-1])
        return names

    def create(self) -> None:
        """``CREATE TABLE``: the table's columns and their order."""
        token = self.next()
        while self.word(token) in _TABLE_KINDS:
            token = self.next()
        if self.word(token) != b"TABLE":
            if token is not None:
                self.scan.push(token)
            self.skip_statement()
            return
        token = self.next()
        if self.word(token) == b"IF":
            for _ in range(3):  # IF NOT EXISTS name
                token = self.next()
        if token is None or token[0] not in _NAMES:
            self.skip_statement()
            return
        table = table_name(self.dotted_name(token))
        if self.punct(self.next()) != _OPEN:
            self.skip_statement()
            return
        names: list[str] = []
        depth, first = 1, True
        while depth and (token := self.next()) is not None:
            mark = self.punct(token)
            if mark == _OPEN:
                depth += 1
            elif mark == _CLOSE:
                depth -= 1
            elif mark == _COMMA and depth == 1:
                first = True
            elif first and depth == 1:
                first = False
                if self.word(token) not in _CONSTRAINT_WORDS:
                    names.append(_name(self.text(self.scan.span(token[1], token[2]))))
        self.skip_statement()
        if table in self.tables:
            self.tables[table].declare(names)
        else:
            self.table(table, names)

    def copy(self) -> None:
        """``COPY table (columns) FROM stdin;`` and its data lines, up to ``\\.``."""
        token = self.next()
        if token is None or token[0] not in _NAMES:
            self.skip_statement()
            return
        name, columns, token = self.target(token)
        source = self.next() if self.word(token) == b"FROM" else None
        if self.word(source) != b"STDIN":
            if source is not None:
                self.scan.push(source)
            self.skip_statement()
            return
        self.skip_statement()
        self.scan.skip_line()
        self.copy_lines(self.table(name, columns), columns)

    def copy_lines(self, table: _Table, columns: list[str] | None) -> None:
        """Each line of a COPY block as a record, tab-separated, up to ``\\.``."""
        scan = self.scan
        scan.drop_mark()
        positions = table.positions(columns) if columns else None
        line = 0
        while (found := scan.copy_line()) is not None:
            start, raw, too_long = found
            line = line + 1 if line else scan.line_at(start) or 0
            text = raw.rstrip(b"\r\n")
            if text == b"\\.":
                return
            table.records += 1
            if too_long:
                table.writer.quarantine(
                    table.records,
                    f"line longer than {MAX_RECORD_BYTES // 1024**2} MiB",
                    raw,
                    line=line,
                    byte_offset=start,
                )
                continue
            values = [unescape_copy(self.text(field)) for field in text.split(b"\t")]
            table.add(values, positions, table.records, line, start, raw)

    def insert(self, start: int) -> None:
        """An ``INSERT``: its table, its column list, then each tuple as a record."""
        scan = self.scan
        head, table, positions = self.last_head
        if head and table is not None and scan.buf.startswith(head, start - scan.base):
            after = scan.span(start + len(head), start + len(head) + 1)
            if after and after in b" \t\r\n(":
                # One INSERT a row repeats the same head: read it once (a third of the time).
                scan.pos = start + len(head)
                self.tuples(table, positions)
                return
        token = self.next()
        while self.word(token) in _INSERT_WORDS:
            token = self.next()
        if token is None or token[0] not in _NAMES:
            self.unparsed(start, "INSERT statement not understood")
            return
        name, columns, token = self.target(token)
        table = self.table(name, columns)
        while self.word(token) in {b"OVERRIDING", b"SYSTEM", b"USER"}:
            token = self.next()
            if self.word(token) == b"VALUE" and self.word(following := self.next()) == b"VALUES":
                token = following
        if columns is None and self.word(token) == b"SET":
            self.assignments(table, start)
            return
        if token is None or self.word(token) not in {b"VALUES", b"VALUE"}:
            self.unparsed(start, "INSERT form not read (no VALUES list)", table)
            return
        positions = table.positions(columns) if columns else None
        self.last_head = (scan.span(start, token[2]), table, positions)
        self.tuples(table, positions)

    def assignments(self, table: _Table, start: int) -> None:
        """MySQL's ``INSERT INTO t SET a = 1, b = 'x'``: one record."""
        scan = self.scan
        names: list[str] = []
        values: list[str | None] = []
        parts: list[Token] | None = None  # None: "=" not met yet in this assignment
        depth = 0
        while True:
            token = self.next()
            mark = self.punct(token)
            at_end = token is None or mark == _SEMICOLON or self.word(token) == b"ON"
            if at_end or mark == _COMMA and not depth:
                if not parts or len(names) != len(values) + 1:
                    ended = mark == _SEMICOLON
                    self.unparsed(start, "INSERT ... SET not understood", table, ended)
                    return
                values.append(self.value(parts))
                parts = None
                if at_end:
                    break
                continue
            assert token is not None
            if parts is not None:
                depth += (mark == _OPEN) - (mark == _CLOSE)
                parts.append(token)
                continue
            # The name, "=" and the value's start may share a word: a=1, a= 1, a =1, a = 1.
            text = scan.span(token[1], token[2])
            equals = text.find(b"=") if token[0] == "word" else -1
            if len(names) == len(values):
                names.append(_parts(self.text(text if equals < 0 else text[:equals]))[-1])
            elif equals != 0:
                names = []  # two names in a row: not an assignment
            if equals >= 0:
                rest = token[1] + equals + 1
                parts = [("word", rest, token[2], True)] if rest < token[2] else []
        if token is not None and mark != _SEMICOLON:
            self.skip_clause(token[1])  # ON DUPLICATE KEY UPDATE ...
        table.records += 1
        line = scan.line_at(start)
        table.add(values, table.positions(names), table.records, line, start, self.quote(start))

    def tuples(self, table: _Table, positions: list[int] | None) -> None:
        """Each ``(...)`` of a VALUES list as a record, up to the statement's end."""
        scan = self.scan
        damaged = False  # text that is no tuple, just after damage, belongs to the damage
        while (token := scan.significant()) is not None:
            mark = self.punct(token) if token[3] else b""
            if mark == _OPEN:
                damaged = not self.record(table, positions, token[1])
                continue
            if mark == _COMMA:
                continue
            if mark == _SEMICOLON:
                return
            word = self.word(token)
            if word in {b"ON", b"RETURNING", b"AS"}:  # ON DUPLICATE KEY ..., ON CONFLICT ...
                self.skip_clause(token[1])
                return
            if word in _STATEMENT_WORDS:
                scan.push(token)  # its ";" was lost: the next statement starts here
                return
            scan.set_mark(token[1])
            if not token[3] and not scan.careful(token[1]):
                scan.rewind()  # a quote left open between tuples: read it again carefully
                continue
            scan.skip_to_boundary()
            if not damaged:
                table.records += 1
                table.writer.quarantine(
                    table.records,
                    "text between tuples not understood",
                    self.quote(token[1]),
                    line=scan.line_at(token[1]),
                    byte_offset=token[1],
                )
                damaged = True

    def record(self, table: _Table, positions: list[int] | None, start: int) -> bool:
        """One tuple, its "(" read: a row, or quarantined. True when it is a row."""
        scan = self.scan
        scan.set_mark(start)
        table.records += 1
        line = scan.line_at(start)
        expected = len(positions if positions is not None else table.order)
        failure: _BadRecord | None = None
        simple = scan.simple_tuple(start)
        if simple is not None and (not expected or len(simple) == expected):
            values = [self.simple_value(body, bare) for body, bare in simple]
            return table.add(values, positions, table.records, line, start, self.quote(start))
        if simple is not None:
            scan.pos = start + 1  # the wrong number of values: read token by token
        try:
            values = self.values(start, expected)
        except _BadRecord as bad:
            failure = bad
        if failure is not None and scan.pos > scan.careful_until:
            # A lost quote shows as a bad tuple further on: read the same bytes again,
            # carefully, so that the damage stays in its own tuple. A tuple begun in
            # bytes already read carefully is read again only when it ran past them.
            scan.rewind()
            scan.significant()  # its "("
            try:
                values = self.values(start, expected)
                failure = None
            except _BadRecord as again:
                failure = again
        if failure is None:
            return table.add(values, positions, table.records, line, start, self.quote(start))
        table.writer.quarantine(
            table.records, failure.reason, self.quote(start), line=line, byte_offset=start
        )
        if failure.skip:
            scan.skip_to_boundary()
        return False

    def values(self, start: int, expected: int) -> list[str | None]:
        """The values of one tuple up to its ")" (raises :class:`_BadRecord`).

        ``expected`` is the number of values the tuple should hold (0: not known yet).
        """
        scan = self.scan
        values: list[str | None] = []
        parts: list[Token] = []
        depth = 1
        while True:
            token = scan.token()
            if token is None:
                raise _BadRecord("record cut short at the end of the dump", skip=False)
            kind, first, end, closed = token
            if end - start > MAX_RECORD_BYTES:
                raise _BadRecord(f"record longer than {MAX_RECORD_BYTES // 1024**2} MiB")
            if not closed:
                raise _BadRecord("quote never closed")
            if kind == "space" or kind == "comment":
                continue
            if kind == "punct":
                mark = scan.span(first, end)
                if mark == _CLOSE:
                    depth -= 1
                    if not depth:
                        if parts:
                            values.append(self.value(parts))
                        elif values:
                            raise _BadRecord("empty value")
                        if expected and len(values) != expected:
                            raise _BadRecord(
                                f"expected {expected} values, found {len(values)}", skip=False
                            )
                        return values
                elif mark == _OPEN:
                    depth += 1
                elif mark == _COMMA and depth == 1:
                    if not parts:
                        raise _BadRecord("empty value")
                    values.append(self.value(parts))
                    parts = []
                    if len(values) >= MAX_VALUES:
                        raise _BadRecord(f"more than {MAX_VALUES} values")
                    continue
                elif mark == _SEMICOLON:
                    raise _BadRecord("statement ends inside a tuple")
            elif parts and depth == 1 and not self.continues(parts[-1], token):
                raise _BadRecord("a value where a comma should be")
            if len(parts) >= MAX_VALUES:
                raise _BadRecord(f"a value of more than {MAX_VALUES} parts")
            parts.append(token)

    def continues(self, previous: Token, token: Token) -> bool:
        """Whether ``token`` may follow ``previous`` within one value at the tuple's level.

        After a string only another string ('a' 'b') or a cast ('x'::date) may follow: a
        word there is the sign of a quote lost earlier, closed by the next value's quote.
        """
        if self.is_string(previous):
            return self.is_string(token) or (
                token[0] == "word" and self.scan.span(token[1], token[1] + 2) in {b"::", b"||"}
            )
        if self.is_string(token):  # an introducer: _utf8mb4 'x', N'x', X'41'
            return previous[0] == "word" and _introducer(self.scan.span(previous[1], previous[2]))
        return True  # an expression: now(), 1 + 2

    def is_string(self, token: Token) -> bool:
        """Whether the token is a string literal (MySQL reads double quotes as strings)."""
        return token[0] in _STRINGS or (token[0] == "dq" and not self.postgres)

    def value(self, parts: list[Token]) -> str | None:
        """One value: a literal, NULL, or the text of an expression."""
        scan = self.scan
        kind, start, end, _ = parts[0]
        if len(parts) == 1:
            raw = scan.span(start, end)
            if kind == "word":
                return None if raw.upper() == b"NULL" else self.text(raw)
            if self.is_string(parts[0]):
                return self.literal(kind, raw)
        else:
            strings = [p for p in parts if self.is_string(p)]
            words = [scan.span(p[1], p[2]) for p in parts if not self.is_string(p)]
            if strings and all(_introducer(w) for w in words):
                text = "".join(self.literal(p[0], scan.span(p[1], p[2])) for p in strings)
                if words and words[0].upper() == b"X":
                    return self.text(bytes.fromhex(text)) if _is_hex(text) else text
                return text
        return self.text(scan.span(start, parts[-1][2])).strip()

    def simple_value(self, body: bytes, bare: bytes) -> str | None:
        """A value read by :meth:`Scanner.simple_tuple`."""
        if bare:
            return None if bare.upper() == b"NULL" else bare.decode("ascii")
        text = self.text(body)
        if self.postgres:
            return text.replace("''", "'") if "'" in text else text
        return unescape_mysql(text)

    def literal(self, kind: str, raw: bytes) -> str:
        """The value of a string literal."""
        if kind == "dollar":
            tag = raw[: raw.index(b"$", 1) + 1]
            return self.text(raw[len(tag) : -len(tag)])
        if kind == "estr":
            return unescape_mysql(self.text(raw[2:-1]))
        if kind == "pgstr":
            return self.text(raw[1:-1]).replace("''", "'")
        if kind == "dq":
            return unescape_mysql(self.text(raw[1:-1]).replace('""', '"'))
        return unescape_mysql(self.text(raw[1:-1]))

    def unparsed(
        self, start: int, reason: str, table: _Table | None = None, ended: bool = False
    ) -> None:
        """A statement that may hold records but cannot be read: one quarantined record.

        ``ended`` when its ";" has been read already.
        """
        if table is None:
            table = self.table("", [])
        table.records += 1
        line = self.scan.line_at(start)
        try:
            if not ended:
                self.skip_statement()
        except _Damaged:
            self.scan.skip_line()
        table.writer.quarantine(
            table.records, reason, self.quote(start), line=line, byte_offset=start
        )


def _introducer(word: bytes) -> bool:
    """``_utf8mb4``, ``N``, ``X``, ``B`` before a string, or a ``::type`` cast after one."""
    upper = word.upper()
    return upper in {b"N", b"X", b"B"} or upper[:1] == b"_" or upper.startswith(b"::")


def _is_hex(text: str) -> bool:
    return len(text) % 2 == 0 and all(c in "0123456789abcdefABCDEF" for c in text)


def read_sql(blob: Blob, store: Store, origin: Origin) -> list[SourceWriter]:
    """Read every table of a SQL dump into its own source."""
    encoding = sniff_encoding(blob.sample)
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
    with blob.open() as raw:
        source: IO[bytes] = raw
        codec = encoding
        if encoding in WIDE_ENCODINGS:
            # UTF-16/32 read as UTF-8: SQL syntax is then ASCII bytes, cut before decoding.
            source = io.BufferedReader(cast(Any, WideText(raw, encoding)))
            codec = "utf-8"
        elif encoding == "utf-8-sig":
            codec = "utf-8"
        scan = Scanner(source, postgres)
        scan.skip_bom()
        dump = _Dump(scan, store, origin, encoding, codec)
        dump.run()
    writers = [t.writer for t in dump.tables.values()]
    for writer in writers:
        writer.close()
    return writers
