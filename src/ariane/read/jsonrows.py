"""Turn JSON records into rows: nested objects flattened to dotted names, in bounded batches.

A list of objects each saying what it is under a key of :data:`KIND_KEYS` (``{"system":
"NIR", "value": ...}``, FHIR's identifiers and telecoms, a lab's typed identifiers) is
flattened by that kind: ``identifiers.NIR.value``, so that every person's NIR lands in one
column whatever the order of the list. A list of texts is its texts one after the other
(``["Marie", "Claire"]``: ``Marie Claire``, as a person writes given names or address
lines); other lists stay JSON text.

Each record's keys become columns as they appear, up to :data:`MAX_COLUMNS`; keys met after
that are kept, as one JSON object, in the column ``_more_keys``, so a file whose every
record brings new keys (ids used as keys) neither grows the table without end nor slows
down with its width. Rows are buffered and written in Arrow batches bounded in rows and
in text, the table widened only when a new key comes after it was first written.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa

from ariane.read.store import SourceWriter

MAX_DEPTH = 32
#: Columns named after keys; more keys go to :data:`MORE_KEYS`.
MAX_COLUMNS = 512
MORE_KEYS = "_more_keys"
#: A batch is written once it holds this many rows, values (rows x columns) or bytes.
BATCH_ROWS = 50_000
BATCH_CELLS = 4_000_000
BATCH_BYTES = 64 << 20
#: Bytes of a Python string besides its characters (counted towards BATCH_BYTES).
VALUE_OVERHEAD = 64
#: Keys naming what an item of a list is. A key's name, not its values: a list's items
#: hold values of many kinds (the NIR, the lab's number), only this key says which is which.
KIND_KEYS = ("system", "type", "kind", "use", "typ", "scheme", "authority", "code_system")
#: A kind longer than this, or a list longer than this, is no small set of typed items.
_KIND_CHARS = 80
_KIND_ITEMS = 16


def flatten(value: Any, prefix: str = "", depth: int = 0) -> list[tuple[str, str | None]]:
    """(dotted name, text) pairs of a JSON object; deeper than MAX_DEPTH stays JSON text."""
    if isinstance(value, dict) and value and depth < MAX_DEPTH:
        pairs: list[tuple[str, str | None]] = []
        _flatten_into(value, prefix, depth, pairs)
        return pairs
    return [(prefix or "value", list_text(value) if isinstance(value, list) else as_text(value))]


def _flatten_into(
    obj: dict[str, Any], prefix: str, depth: int, pairs: list[tuple[str, str | None]]
) -> None:
    # The hot loop of the reader: plain types tested inline, nested objects recursed.
    for key, inner in obj.items():
        name = f"{prefix}.{key}" if prefix else key
        kind = type(inner)
        if kind is str or inner is None:
            pairs.append((name, inner))
        elif kind is dict and inner and depth + 1 < MAX_DEPTH:
            _flatten_into(inner, name, depth + 1, pairs)
        elif kind is list and depth + 2 < MAX_DEPTH and (key_of := kind_key(inner)):
            for item in inner:
                rest = {k: v for k, v in item.items() if k != key_of}
                _flatten_into(rest, f"{name}.{item[key_of]}", depth + 2, pairs)
        elif kind is list:
            pairs.append((name, list_text(inner)))
        else:
            pairs.append((name, as_text(inner)))


def list_text(items: list[Any]) -> str | None:
    """A list as the text stored: texts one after the other, anything else as JSON."""
    if items and all(type(item) is str for item in items):
        return " ".join(items)
    return as_text(items)


def kind_key(items: list[Any]) -> str | None:
    """The key saying what each item of a list of objects is, if one does for every item.

    Its values must be short texts, distinct from item to item (two home phones would share
    a column), and every item must hold something besides it.
    """
    if not items or len(items) > _KIND_ITEMS or not all(type(i) is dict for i in items):
        return None
    for key in KIND_KEYS:
        kinds = [item.get(key) for item in items]
        if (
            all(type(k) is str and 0 < len(k.strip()) <= _KIND_CHARS for k in kinds)
            and len(set(kinds)) == len(kinds)
            and all(len(item) > 1 for item in items)
        ):
            return key
    return None


def as_text(value: Any) -> str | None:
    """A JSON value as the text stored: strings as they are, others as JSON, null as NULL."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    # default=str: lists read from typed files (Parquet) may hold dates; JSON never does.
    return json.dumps(value, ensure_ascii=False, default=str)


class Records:
    """Numbers the records of one source and makes each a row or a quarantined record."""

    def __init__(self, writer: SourceWriter, codec: str = "utf-8") -> None:
        self.writer = writer
        self.codec = codec
        self.record = 0
        self._index: dict[str, int] = {}
        self._more: int | None = None  # index of the MORE_KEYS column once made
        self._rows: list[list[str | None]] = []
        self._numbers: list[int] = []
        self._lines: list[int | None] = []
        self._chars = 0
        # Rows waiting to be written as Arrow pieces (values by column index, records,
        # lines): read in bulk, or read one by one before rows read in bulk.
        self._pieces: list[tuple[dict[int, pa.ChunkedArray | pa.Array], pa.Array, pa.Array]] = []
        self._pending = 0  # rows in the pieces

    def add(
        self, obj: Any, line: int | None, offset: int | None, raw: str, key: str | None = None
    ) -> None:
        """One record: a row if it is an object (``key``, if given, in column ``_key``)."""
        self.record += 1
        if not isinstance(obj, dict):
            self.quarantine("not a JSON object", raw, line, offset, counted=True)
            return
        pairs = flatten(obj)
        if key is not None:
            pairs.insert(0, ("_key", key))
        self._row(pairs, line)

    def quarantine(
        self,
        reason: str,
        raw: str | bytes,
        line: int | None,
        offset: int | None,
        *,
        counted: bool = False,
    ) -> None:
        """One record that cannot be a row (``counted``: already numbered by :meth:`add`)."""
        if not counted:
            self.record += 1
        data = raw if isinstance(raw, bytes) else raw.encode(self.codec, "replace")
        self.writer.quarantine(self.record, reason, data, line=line, byte_offset=offset)

    def add_rows(
        self,
        new: list[tuple[int, str]],
        values: dict[str, pa.ChunkedArray | pa.Array],
        lines: pa.Array,
        chars: np.ndarray,
    ) -> None:
        """Records read in bulk (:mod:`.ndjsonbulk`), stored as :meth:`add` would store them.

        ``new``: the columns they add, each with the row where :meth:`add` would add it, in
        its order; ``values`` by column name; ``lines``; ``chars``: the text each row counts
        towards a batch. Batches are cut at the very rows :meth:`add` cuts them, and columns
        added before or after each, so the stored table is laid out the same.
        """
        count = len(lines)
        self._rows_piece()
        base = len(self.writer.columns)
        firsts = np.array([row for row, _ in new], dtype=np.int64)
        total_chars = np.cumsum(chars, dtype=np.int64)
        start = added = 0
        while start < count:
            rows = np.arange(start, count, dtype=np.int64)
            held = self._pending + (rows - start + 1)
            width = base + np.searchsorted(firsts, rows, side="right")
            text = self._chars + total_chars[start:] - (total_chars[start - 1] if start else 0)
            full = np.flatnonzero(
                (held * width >= BATCH_CELLS) | (text >= BATCH_BYTES) | (held >= BATCH_ROWS)
            )
            end = start + int(full[0]) + 1 if len(full) else count
            upto = int(np.searchsorted(firsts, end - 1, side="right"))
            if upto > added:
                self._add_columns([name for _, name in new[added:upto]])
                added = upto
            piece = {
                self._index[name]: array.slice(start, end - start)
                for name, array in values.items()
                if name in self._index
            }
            first = self.record + start + 1
            numbers = pa.array(range(first, first + end - start), pa.int64())
            self._pieces.append((piece, numbers, lines.slice(start, end - start)))
            self._pending += end - start
            self._chars = int(text[end - start - 1])
            if len(full):
                self._flush()
            start = end
        self.record += count

    @property
    def columns(self) -> dict[str, int]:
        """Column index of each name made from the keys (keys past the limit not in it)."""
        return self._index

    @property
    def overflowing(self) -> bool:
        """Whether keys past :data:`MAX_COLUMNS` were met (kept in :data:`MORE_KEYS`)."""
        return self._more is not None

    def close(self) -> None:
        """Write the rows still buffered."""
        self._flush()

    def _row(self, pairs: list[tuple[str, str | None]], line: int | None) -> None:
        index = self._index
        new = [name for name, _ in pairs if name not in index]
        if new:
            self._add_columns(list(dict.fromkeys(new)))
        values: list[str | None] = [None] * len(self.writer.columns)
        more: dict[str, str | None] = {}
        chars = 0
        for name, text in pairs:
            at = index.get(name)
            if at is None:
                more[name] = text
            else:
                values[at] = text
            if text is not None:
                chars += len(text) + VALUE_OVERHEAD
        if more:
            assert self._more is not None
            values[self._more] = json.dumps(more, ensure_ascii=False)
        self._rows.append(values)
        self._numbers.append(self.record)
        self._lines.append(line)
        self._chars += chars
        held = len(self._rows) + self._pending
        if held * len(values) >= BATCH_CELLS or self._chars >= BATCH_BYTES or held >= BATCH_ROWS:
            self._flush()

    def _add_columns(self, names: list[str]) -> None:
        room = MAX_COLUMNS - len(self._index)
        if len(names) > room and self._more is None:
            self._more = len(self.writer.columns)
            self.writer.add_columns([MORE_KEYS])
        names = names[: max(room, 0)]
        if not names:
            return
        start = len(self.writer.columns)
        self.writer.add_columns(names)
        for i, name in enumerate(names):
            self._index[name] = start + i

    def _rows_piece(self) -> None:
        """The rows read one by one, made an Arrow piece (still waiting to be written)."""
        if not self._rows:
            return
        width = len(self.writer.columns)
        for values in self._rows:
            if len(values) < width:
                values.extend([None] * (width - len(values)))
        columns = zip(*self._rows, strict=True)
        piece = {i: pa.array(column, pa.string()) for i, column in enumerate(columns)}
        numbers = pa.array(self._numbers, pa.int64())
        self._pieces.append((piece, numbers, pa.array(self._lines, pa.int64())))
        self._pending += len(self._rows)
        self._rows, self._numbers, self._lines = [], [], []

    def _flush(self) -> None:
        self._rows_piece()
        if not self._pieces:
            return
        width = len(self.writer.columns)
        arrays = []
        for at in range(width):
            parts = []
            for piece, numbers, _ in self._pieces:
                part = piece.get(at)
                if part is None:
                    part = pa.nulls(len(numbers), pa.string())
                elif isinstance(part, pa.ChunkedArray):
                    part = part.combine_chunks()
                parts.append(part)
            arrays.append(parts[0] if len(parts) == 1 else pa.concat_arrays(parts))
        numbers = pa.concat_arrays([numbers for _, numbers, _ in self._pieces])
        lines = pa.concat_arrays([lines for _, _, lines in self._pieces])
        table = pa.Table.from_arrays(arrays, names=[str(i) for i in range(width)])
        self.writer.arrow(table, numbers, lines)
        self._pieces, self._pending, self._chars = [], 0, 0
