"""Read clean NDJSON in blocks with Arrow's JSON parser, rows as the careful reader makes them.

The careful reader (:func:`ariane.read.jsonfile.read_json`) decodes, flattens and builds
each row in Python. Most NDJSON files are clean: one object per line, every key of one
type. Such a block of whole lines is parsed here by ``pyarrow.json`` at once, its structs
flattened to dotted names, and stored with the same values, columns, column order, record
numbers and lines as the careful reader gives. A block this path cannot read exactly is
handed back (:func:`bulk_rows` returns None) and read line by line: a line that is not one
object, a key whose type changes, a number with a fraction (Arrow keeps its value, not its
text), an empty object, a control byte, a byte order mark within the text, a carriage
return alone, a key whose dotted name another one also gives, nesting too deep, too many
columns.

Arrow cannot tell a key missing from a key set to ``null``; the careful reader makes a
column for both. Where that decides a new column's place (or whether a struct's name is a
column at all), the rows concerned are decoded in Python, only those.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from concurrent.futures import Executor, Future
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from ariane.read.jsonrows import MAX_COLUMNS, MAX_DEPTH, VALUE_OVERHEAD, flatten, list_text
from ariane.read.jsonscan import DECODER

#: Bytes of whole lines parsed at once (memory stays a few times this).
BLOCK_BYTES = 16 << 20
#: Arrow's own parallel chunk: a line longer than this makes the block fall back.
_ARROW_BLOCK = 4 << 20

# Bytes other than the control bytes the careful reader quarantines ("binary bytes in text").
_NOT_CONTROL = bytes(b for b in range(256) if not (b < 32 and b not in (9, 10, 13) or b == 127))
_EMPTY_OBJECT = re.compile(rb"\{[ \t]*\}")
_NEWLINE, _CR, _OPEN, _CLOSE, _SPACE, _TAB = b"\n\r{} \t"


@dataclass
class _Leaf:
    name: str
    values: pa.ChunkedArray


class _Unfit(Exception):
    """The block holds something this path cannot read exactly."""


class Bulk:
    """Arrow's reading of blocks, with the types learnt so far (dates kept as text).

    Given a thread (``ahead``), the next block can be parsed there while the last one is
    being stored (:meth:`parse_ahead`): Arrow and DuckDB both run outside the interpreter's
    lock. A parse made ahead is used only for that very block and with the types it was
    made with, so the rows are the same either way.
    """

    def __init__(self, ahead: Executor | None = None) -> None:
        self.schema: pa.Schema | None = None
        self._ahead = ahead
        self._parsed: tuple[bytes, pa.Schema | None, Future[_Parsed]] | None = None

    def parse_ahead(self, block: bytes) -> None:
        """Start parsing ``block`` with the types known now (when a thread was given)."""
        if self._ahead is not None:
            self._parsed = (block, self.schema, self._ahead.submit(_parse, block, self.schema))

    def parse(self, block: bytes) -> tuple[pa.Table, pa.Array, int] | None:
        """The block as an Arrow table of its text, the line of each row within the block
        (0 for the first) and the block's count of lines, or None if it is not clean
        NDJSON."""
        ahead, self._parsed = self._parsed, None
        if ahead is not None and ahead[0] is block and ahead[1] is self.schema:
            parsed = ahead[2].result()
        else:
            parsed = _parse(block, self.schema)
        found, self.schema = parsed
        return found

    def learn(self, table: pa.Table) -> None:
        """Keep the types of a block read in full (later blocks are read with them)."""
        kept = [f for f in (_kept(f) for f in table.schema) if f is not None]
        known = {f.name: f for f in kept}
        if self.schema is not None:
            for field in self.schema:
                known.setdefault(field.name, field)
        self.schema = pa.schema(list(known.values())) if known else None


#: A block's table, the line of each row and the block's count of lines (or None: not
#: clean NDJSON), and the types to read the next blocks with (learnt even when the block
#: is refused, as before).
_Parsed = tuple[tuple[pa.Table, pa.Array, int] | None, pa.Schema | None]


def _parse(block: bytes, schema: pa.Schema | None) -> _Parsed:
    """:meth:`Bulk.parse` without its state: the same block and types, the same result."""
    found = object_lines(block)
    if found is None:
        return None, schema
    lines, count = found
    try:
        table = _read(block, schema)
        if _has_timestamp(table.schema):
            # Arrow reads ISO dates as timestamps: read them again as the text they are.
            schema = _as_text(table.schema)
            table = _read(block, schema)
    except pa.ArrowException:
        return None, schema
    if _has_timestamp(table.schema) or table.num_rows != len(lines):
        return None, schema  # as many rows as lines: one object on each (see object_lines)
    return (table, lines, count), schema


def _read(block: bytes, schema: pa.Schema | None) -> pa.Table:
    options = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="infer")
    read = pj.ReadOptions(block_size=_ARROW_BLOCK)
    return pj.read_json(io.BytesIO(block), read_options=read, parse_options=options)


def bulk_rows(
    bulk: Bulk, block: bytes, index: dict[str, int], more: bool
) -> (
    tuple[list[tuple[int, str]], dict[str, pa.ChunkedArray | pa.Array], pa.Array, np.ndarray, int]
    | None
):
    """The rows of a block of whole lines, read by Arrow, or None when the block must be
    read line by line: the columns they add, each with the row (from 0) where the careful
    reader adds it, in its order; values by column name; the line of each row within the
    block (from 0); the text each row counts towards a batch (:class:`.jsonrows.Records`);
    the block's count of lines.

    ``index`` holds the columns known so far; ``more``: whether keys already overflow.
    """
    if more:
        return None
    parsed = bulk.parse(block)
    if parsed is None:
        return None
    table, lines, count = parsed
    try:
        leaves, nodes = _flattened(table)
        new = _new_columns(block, leaves, nodes, index, lines)
    except _Unfit:
        return None
    if len(index) + len(new) > MAX_COLUMNS:
        return None
    values = {leaf.name: _text(leaf.values) for leaf in leaves}
    texts = {name: text for name, text in values.items() if text is not None}
    if len(texts) != len(values):
        return None
    bulk.learn(table)
    return new, texts, lines, _row_chars(texts.values(), table.num_rows), count


def _row_chars(columns: Iterable[pa.ChunkedArray | pa.Array], rows: int) -> np.ndarray:
    """Per row, the characters of its values plus an overhead per value (as the careful
    reader counts them to bound its batches)."""
    chars = np.zeros(rows, dtype=np.int64)
    for column in columns:
        if column.null_count == len(column):
            continue
        length = pc.add(pc.utf8_length(column), VALUE_OVERHEAD).fill_null(0)
        chars += length.to_numpy()
    return chars


# -- flattening ----------------------------------------------------------------------------


def _flattened(table: pa.Table) -> tuple[list[_Leaf], list[_Leaf]]:
    """Leaves (dotted names as the careful reader makes them) and struct nodes."""
    leaves: list[_Leaf] = []
    nodes: list[_Leaf] = []
    for field, column in zip(table.schema, table.columns, strict=True):
        _walk(field.name, field.type, column, 0, leaves, nodes)
    names = [leaf.name for leaf in leaves] + [node.name for node in nodes]
    if len(set(names)) != len(names):
        raise _Unfit  # "a.b" as a key and as a path: the careful reader merges them
    return leaves, nodes


def _walk(
    name: str,
    kind: pa.DataType,
    values: pa.ChunkedArray,
    depth: int,
    leaves: list[_Leaf],
    nodes: list[_Leaf],
) -> None:
    if pa.types.is_struct(kind):
        if depth + 2 >= MAX_DEPTH or kind.num_fields == 0:
            raise _Unfit
        nodes.append(_Leaf(name, values))
        children = values.flatten()  # the struct's nulls carried into its fields
        for i in range(kind.num_fields):
            child = kind.field(i)
            _walk(f"{name}.{child.name}", child.type, children[i], depth + 1, leaves, nodes)
        return
    while pa.types.is_list(kind):
        kind, depth = kind.value_type, depth + 1
    if depth + 2 >= MAX_DEPTH:
        raise _Unfit  # the careful reader keeps deep structs as text, or finds no end
    leaves.append(_Leaf(name, values))


def _text(values: pa.ChunkedArray) -> pa.ChunkedArray | pa.Array | None:
    """A leaf's values as the careful reader's text (None: one it cannot match)."""
    kind = values.type
    if pa.types.is_string(kind):
        return values
    if pa.types.is_null(kind):
        return pa.nulls(len(values), pa.string())
    if pa.types.is_boolean(kind) or pa.types.is_int64(kind):
        return values.cast(pa.string())  # "true"/"false", digits: as json.dumps writes them
    if pa.types.is_list(kind) and _plain_items(kind.value_type):
        dumped = [None if v is None else list_text(v) for v in values.to_pylist()]
        return pa.array(dumped, pa.string())
    return None  # a number with a fraction: its text is lost; objects in lists: keys lost


def _plain_items(kind: pa.DataType) -> bool:
    """Whether list items come back from Arrow as the careful reader decodes them."""
    if pa.types.is_list(kind):
        return _plain_items(kind.value_type)
    return (
        pa.types.is_string(kind)
        or pa.types.is_null(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_int64(kind)
    )


# -- lines and new columns -----------------------------------------------------------------


def object_lines(block: bytes) -> tuple[pa.Array, int] | None:
    """The lines holding an object (numbered from 0) and the count of lines (a last one
    without its line break counted), if the block is strictly one object a line, else None.

    Every line must start with ``{`` and end with ``}`` (then a carriage return, if any),
    or be empty. No object can then span two lines: a line break inside one falls after
    a token that is not its last ``}`` or before one that is not ``{``, and JSON strings
    hold no raw line break (Arrow refuses one). Arrow giving as many rows as these lines
    then means one object on each, so rows and lines match one to one. Anything else (a
    blank line of spaces, ``null``, two objects on a line, an empty object, a control
    byte, a carriage return alone) is left to the careful reader.
    """
    if block.translate(None, _NOT_CONTROL):
        return None
    if b"\r" in block and block.count(b"\r") != block.count(b"\r\n"):
        return None
    data = np.frombuffer(block, np.uint8)
    size = len(data)
    if not size:
        return None
    breaks = np.flatnonzero(data == _NEWLINE)
    count = len(breaks) + (0 if block.endswith(b"\n") else 1)
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks, [size]))
    if block.endswith(b"\n"):
        starts, ends = starts[:-1], ends[:-1]
    crlf = (ends > starts) & (data[np.maximum(ends - 1, 0)] == _CR)
    ends = ends - crlf
    held = ends > starts
    if not (data[starts[held]] == _OPEN).all() or not (data[ends[held] - 1] == _CLOSE).all():
        return None
    braces = np.flatnonzero(data[:-1] == _OPEN)
    after = data[braces + 1]
    if (after == _CLOSE).any():
        return None  # {}: the careful reader keeps it as text, Arrow as nothing
    if ((after == _SPACE) | (after == _TAB)).any() and _EMPTY_OBJECT.search(block):
        return None
    return pa.array(np.flatnonzero(held), pa.int64()), count


def _new_columns(
    block: bytes,
    leaves: list[_Leaf],
    nodes: list[_Leaf],
    index: dict[str, int],
    lines: pa.Array,
) -> list[tuple[int, str]]:
    """Columns this block adds, in the order the careful reader adds them.

    The careful reader adds a key's column at its first line, in the order of the keys
    of that line; a struct's name is a column only if some line sets it to null. The
    first line with a value is known from Arrow; with no ``null`` in the block it is the
    first line holding the key. Otherwise the earlier lines where it may stand as null
    are decoded too.
    """
    if all(leaf.name in index for leaf in leaves) and all(node.name in index for node in nodes):
        return []  # (the usual case after the first block: no need to search for nulls)
    nulls = b"null" in block
    candidates: set[str] = set()
    rows: set[int] = set()
    for leaf in leaves:
        if leaf.name in index:
            continue
        candidates.add(leaf.name)
        first = _first_valid(leaf.values)
        if first is not None:
            rows.add(first)
        if nulls:
            rows.update(_null_rows(leaf.values, first))
    for node in nodes:
        if node.name in index or not nulls or node.values.null_count == 0:
            continue
        candidates.add(node.name)
        rows.update(_null_rows(node.values, None))
    texts = block.split(b"\n") if rows else []
    added: dict[str, int] = {}
    for row in sorted(rows):
        line = texts[lines[row].as_py()]
        obj = DECODER.decode(line.decode("utf-8"))
        for name, _ in flatten(obj):
            if name in index or name in added:
                continue
            if name not in candidates:
                raise _Unfit
            added[name] = row
    if any(leaf.name not in index and leaf.name not in added for leaf in leaves):
        raise _Unfit  # a key seen by Arrow and not on the lines decoded: never expected
    return [(row, name) for name, row in added.items()]


def _first_valid(values: pa.ChunkedArray) -> int | None:
    if values.null_count == len(values):
        return None
    return int(pc.index(pc.is_valid(values), True).as_py())


def _null_rows(values: pa.ChunkedArray, before: int | None) -> list[int]:
    """Rows where the value is null (before row ``before``, if given)."""
    if values.null_count == 0:
        return []
    head = values if before is None else values.slice(0, before)
    return [int(i) for i in pc.indices_nonzero(pc.is_null(head)).to_pylist()]


# -- types ---------------------------------------------------------------------------------


def _has_timestamp(schema: pa.Schema) -> bool:
    return any(_timestamp_in(field.type) for field in schema)


def _timestamp_in(kind: pa.DataType) -> bool:
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind) or pa.types.is_time(kind):
        return True
    if pa.types.is_list(kind):
        return _timestamp_in(kind.value_type)
    if pa.types.is_struct(kind):
        return any(_timestamp_in(kind.field(i).type) for i in range(kind.num_fields))
    return False


def _as_text(schema: pa.Schema) -> pa.Schema:
    """The schema with dates and times as strings (no other field changed)."""
    return pa.schema([pa.field(f.name, _text_type(f.type)) for f in schema])


def _text_type(kind: pa.DataType) -> pa.DataType:
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind) or pa.types.is_time(kind):
        return pa.string()
    if pa.types.is_list(kind):
        return pa.list_(_text_type(kind.value_type))
    if pa.types.is_struct(kind):
        return pa.struct(
            [
                pa.field(kind.field(i).name, _text_type(kind.field(i).type))
                for i in range(kind.num_fields)
            ]
        )
    return kind


def _kept(field: pa.Field) -> pa.Field | None:
    """A field worth telling Arrow for later blocks: not null-typed (a later block may
    give the key a type), structs keeping their typed fields."""
    kind = field.type
    if pa.types.is_null(kind):
        return None
    if pa.types.is_struct(kind):
        inner = [f for f in (_kept(kind.field(i)) for i in range(kind.num_fields)) if f is not None]
        return pa.field(field.name, pa.struct(inner)) if inner else None
    if pa.types.is_list(kind) and pa.types.is_null(kind.value_type):
        return None
    return pa.field(field.name, kind)
