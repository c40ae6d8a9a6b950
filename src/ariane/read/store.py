"""Write what is read into the case store: rows, quarantined records, one line per source.

Every reader hands its records to a :class:`SourceWriter`; the writer batches them as Arrow
tables into ``raw_<source_id>`` (all VARCHAR, plus provenance), keeps quarantined records
in ``read_quarantine`` and, when closed, describes the source in ``read_sources``.
Nothing touches disk outside the engine, whose store and spill files are encrypted.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from ariane.read.sniff import column_names

if TYPE_CHECKING:
    from ariane.engine import Engine

BATCH_ROWS = 50_000
#: Batches (of up to 8 MiB of text each) inserted per statement by :meth:`SourceWriter.stream`.
STREAM_GROUP_BATCHES = 16
#: Bytes of a quarantined record kept as evidence (the rest is cut, its length noted).
QUARANTINE_RAW_BYTES = 64 * 1024

QUARANTINE_SCHEMA = pa.schema(
    [
        ("source_id", pa.int32()),
        ("record", pa.int64()),
        ("line", pa.int64()),
        ("byte_offset", pa.int64()),
        ("reason", pa.string()),
        ("raw", pa.binary()),
    ]
)

SOURCES_DDL = (
    "CREATE TABLE IF NOT EXISTS read_sources (source_id INTEGER, path VARCHAR, "
    "inner_path VARCHAR, table_name VARCHAR, format VARCHAR, encoding VARCHAR, "
    "sha256 VARCHAR, has_header BOOLEAN, columns VARCHAR[], rows BIGINT, "
    "quarantined BIGINT, data_table VARCHAR, member_sha256 VARCHAR, member INTEGER, "
    "note VARCHAR, linked_to INTEGER, linked BIGINT DEFAULT 0, unpadded VARCHAR[])"
)
#: The characters DuckDB's ``trim`` removes (Unicode's space separators), UTF-8 encoded.
TRIMMED = tuple(
    chr(c).encode() for c in (0x20, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000)
)
_FIRST_BYTES = np.isin(np.arange(256), [t[0] for t in TRIMMED])
_LAST_BYTES = np.isin(np.arange(256), [t[-1] for t in TRIMMED])


@dataclass
class Origin:
    """Where a source comes from: the file given, the path inside archives, its digest."""

    path: str
    inner_path: str | None
    sha256: str  # of the file given
    member_sha256: str | None = None  # of the bytes read for this source (inside archives)
    member: int | None = None  # number of the file inside the file given (neutral name)
    note: str | None = None  # why it adds no records, when it adds none (a tar link)


class Store:
    """Allocates source ids and holds the engine for the writers."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        engine.execute(SOURCES_DDL)
        # Stores made before these columns existed.
        for column in (
            "member INTEGER",
            "note VARCHAR",
            "linked_to INTEGER",
            "linked BIGINT",
            "unpadded VARCHAR[]",
        ):
            engine.execute(f"ALTER TABLE read_sources ADD COLUMN IF NOT EXISTS {column}")
        if not engine.has_table("read_quarantine"):
            engine.append("read_quarantine", QUARANTINE_SCHEMA.empty_table())
        row = engine.fetch("SELECT coalesce(max(source_id), 0) FROM read_sources")
        self._next_id = int(row[0][0]) + 1
        #: Set while small sources share one transaction (``dispatch``): then no statement
        #: may fail, or every source of the transaction would be lost.
        self.shared_transaction = False

    def writer(
        self,
        origin: Origin,
        fmt: str,
        encoding: str | None,
        columns: list[str],
        *,
        table_name: str | None = None,
        has_header: bool = False,
        source_id: int | None = None,
    ) -> SourceWriter:
        """A writer for one new logical table (``source_id``: that of a writer discarded
        because the same table is to be read again otherwise)."""
        if source_id is None:
            source_id = self._next_id
            self._next_id += 1
        writer = SourceWriter(
            self.engine, source_id, origin, fmt, encoding, columns, table_name, has_header
        )
        writer.shared_transaction = self.shared_transaction
        return writer


@dataclass
class SourceWriter:
    """Collects the rows and quarantined records of one source and writes them in batches."""

    engine: Engine
    source_id: int
    origin: Origin
    format: str
    encoding: str | None
    columns: list[str]
    table_name: str | None = None
    has_header: bool = False
    rows: int = 0
    quarantined: int = 0
    _buffer: list[list[str | None]] = field(default_factory=list)
    _records: list[int] = field(default_factory=list)
    _lines: list[int | None] = field(default_factory=list)
    _quarantine: list[tuple[int, int | None, int | None, str, bytes]] = field(default_factory=list)
    _created: bool = False
    _quarantine_written: bool = False
    shared_transaction: bool = False  # written with other small sources in one transaction
    #: Columns some value of which starts or ends with a character ``trim`` removes; None
    #: once values were written by other means (SQL over the table): then it is unknown.
    padded: set[str] | None = field(default_factory=set)

    def __post_init__(self) -> None:
        self.columns = column_names(self.columns, len(self.columns))
        self._buffer = [[] for _ in self.columns]

    @property
    def data_table(self) -> str:
        """Name of the table holding this source's rows."""
        return f"raw_{self.source_id}"

    def add_columns(self, names: list[str]) -> list[str]:
        """Widen the source with new columns (JSON keys met late); returns their stored names."""
        merged = column_names(self.columns + names, len(self.columns) + len(names))
        added = merged[len(self.columns) :]
        if self._created:
            for name in added:
                self.engine.execute(
                    f'ALTER TABLE "{self.data_table}" ADD COLUMN "{_ident(name)}" VARCHAR'
                )
        count = len(self._records)
        for _ in added:
            self._buffer.append([None] * count)
        self.columns = merged
        return added

    def row(self, values: list[str | None], record: int, line: int | None = None) -> None:
        """Add one row (one value per column, in order)."""
        for column, value in zip(self._buffer, values, strict=True):
            column.append(value)
        self._records.append(record)
        self._lines.append(line)
        self.rows += 1
        if len(self._records) >= BATCH_ROWS:
            self.flush()

    def arrow(self, table: pa.Table, records: pa.Array, lines: pa.Array | None) -> None:
        """Add a whole Arrow batch of rows (VARCHAR columns named as :attr:`columns`)."""
        self.flush()
        count = table.num_rows
        arrays = [*table.columns]
        arrays.append(pa.array([self.source_id] * count, pa.int32()))
        arrays.append(records.cast(pa.int64()))
        arrays.append(lines.cast(pa.int64()) if lines is not None else pa.nulls(count, pa.int64()))
        self._append(pa.Table.from_arrays(arrays, names=[*self.columns, *_PROVENANCE]))
        self.rows += count

    def stream(self, schema: pa.Schema, batches: Iterator[pa.RecordBatch]) -> None:
        """Store a stream of batches (columns + provenance), a few statements in all.

        An ``INSERT`` over a stream lets DuckDB insert in parallel, several times faster
        than appending batch by batch; cutting the stream into groups bounds the memory a
        single transaction holds. The caller counts the rows.
        """
        if self._records:  # an empty flush would create the table only to replace it
            self.flush()
        batches = self._noting_padding(batches)
        for batch in batches:
            # Kept as they are while the engine holds them; the rest is inserted.
            if not self.engine.hold(self.data_table, pa.Table.from_batches([batch], schema)):
                batches = itertools.chain([batch], batches)
                break
            self._created = True
        else:
            return
        view = f"__stream_{self.source_id}"
        done = False

        def group() -> Iterator[pa.RecordBatch]:
            nonlocal done
            for _ in range(STREAM_GROUP_BATCHES):
                batch = next(batches, None)
                if batch is None:
                    done = True
                    return
                yield batch

        while not done:
            source: Iterator[pa.RecordBatch] | list[pa.RecordBatch] = group()
            if self.shared_transaction:
                # A reader's error raised inside DuckDB would abort the transaction other
                # sources share: a small source's batches are drawn here first.
                source = list(source)
            reader = pa.RecordBatchReader.from_batches(schema, source)
            self.engine.register(view, reader)  # a stream: DuckDB reads it batch by batch
            try:
                if self._created:
                    self.engine.execute(f'INSERT INTO "{self.data_table}" SELECT * FROM "{view}"')
                else:
                    self.engine.materialise(self.data_table, f'SELECT * FROM "{view}"')
                    self._created = True
            finally:
                self.engine.unregister(view)

    def _noting_padding(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            self._note_padding(batch.columns)
            yield batch

    def _note_padding(self, arrays: list[pa.Array] | list[pa.ChunkedArray]) -> None:
        """Add to :attr:`padded` the columns of these arrays (in :attr:`columns` order) that
        hold a value ``trim`` would change: classify trims only those."""
        if self.padded is None:
            return
        for name, array in zip(self.columns, arrays, strict=False):
            if name not in self.padded and padded(array):
                self.padded.add(name)

    def quarantine(
        self,
        record: int,
        reason: str,
        raw: bytes,
        *,
        line: int | None = None,
        byte_offset: int | None = None,
    ) -> None:
        """Keep one record that could not be read, with why and where."""
        if len(raw) > QUARANTINE_RAW_BYTES:
            raw = raw[:QUARANTINE_RAW_BYTES]
            reason = f"{reason} (record cut to {QUARANTINE_RAW_BYTES} bytes)"
        self._quarantine.append((record, line, byte_offset, reason, raw))
        self.quarantined += 1
        if len(self._quarantine) >= BATCH_ROWS:
            self._flush_quarantine()

    def flush(self) -> None:
        """Write buffered rows."""
        if not self._records and self._created:
            return
        count = len(self._records)
        arrays: list[pa.Array] = [pa.array(col, pa.string()) for col in self._buffer]
        arrays.append(pa.array([self.source_id] * count, pa.int32()))
        arrays.append(pa.array(self._records, pa.int64()))
        arrays.append(pa.array(self._lines, pa.int64()))
        self._append(pa.Table.from_arrays(arrays, names=[*self.columns, *_PROVENANCE]))
        self._buffer = [[] for _ in self.columns]
        self._records = []
        self._lines = []

    def _append(self, table: pa.Table) -> None:
        self._note_padding(table.columns)
        if not self.engine.hold(self.data_table, table):
            self.engine.append(self.data_table, table)
        self._created = True

    def _flush_quarantine(self) -> None:
        if not self._quarantine:
            return
        record, line, offset, reason, raw = zip(*self._quarantine, strict=True)
        table = pa.Table.from_arrays(
            [
                pa.array([self.source_id] * len(record), pa.int32()),
                pa.array(record, pa.int64()),
                pa.array(line, pa.int64()),
                pa.array(offset, pa.int64()),
                pa.array(reason, pa.string()),
                pa.array(raw, pa.binary()),
            ],
            schema=QUARANTINE_SCHEMA,
        )
        self.engine.append("read_quarantine", table)
        self._quarantine = []
        self._quarantine_written = True

    def discard(self) -> None:
        """Forget everything written so far (a faster reader gave up; a careful one restarts)."""
        if self._created:
            self.engine.execute(f'DROP TABLE IF EXISTS "{self.data_table}"')
        if self._quarantine_written:
            self.engine.execute("DELETE FROM read_quarantine WHERE source_id = ?", [self.source_id])
        self._created = self._quarantine_written = False
        self._buffer = [[] for _ in self.columns]
        self._records, self._lines, self._quarantine = [], [], []
        self.rows = self.quarantined = 0
        self.padded = set()

    def close(self) -> None:
        """Write what remains and describe the source in ``read_sources``."""
        self.flush()
        self._flush_quarantine()
        self.engine.execute(
            "INSERT INTO read_sources VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, 0, ?)",
            [
                self.source_id,
                self.origin.path,
                self.origin.inner_path,
                self.table_name,
                self.format,
                self.encoding,
                self.origin.sha256 or self.origin.member_sha256,
                self.has_header,
                self.columns,
                self.rows,
                self.quarantined,
                self.data_table,
                self.origin.member_sha256 or self.origin.sha256,
                self.origin.member,
                self.origin.note,
                None if self.padded is None else [c for c in self.columns if c not in self.padded],
            ],
        )


def padded(array: pa.Array | pa.ChunkedArray) -> bool:
    """Whether some string starts or ends with a character of :data:`TRIMMED`.

    Read from the bytes: each value's first and last byte first (a whole column in a few
    array operations), the characters themselves only where those bytes could begin or end
    one. Any other type, and a value an array's slicing would hide, count as padded.
    """
    chunks = array.chunks if isinstance(array, pa.ChunkedArray) else [array]
    for chunk in chunks:
        if len(chunk) == 0 or chunk.null_count == len(chunk):
            continue
        if chunk.type not in (pa.string(), pa.large_string()):
            return True
        _, offsets_buffer, data_buffer = chunk.buffers()
        if data_buffer is None or data_buffer.size == 0:
            continue
        width = np.int32 if chunk.type == pa.string() else np.int64
        offsets = np.frombuffer(offsets_buffer, width)[
            chunk.offset : chunk.offset + len(chunk) + 1
        ].astype(np.int64, copy=False)
        data = np.frombuffer(data_buffer, np.uint8)
        # (An empty or null value reads a neighbour's byte here: at worst a needless look.)
        starts, stops = offsets[:-1], offsets[1:]
        first = np.flatnonzero(_FIRST_BYTES[data.take(starts, mode="clip")])
        last = np.flatnonzero(_LAST_BYTES[data.take(stops - 1, mode="clip")])
        if (len(first) and _begin_with(data, starts[first], stops[first])) or (
            len(last) and _begin_with(data, stops[last], starts[last], backwards=True)
        ):
            return True
    return False


def _begin_with(
    data: np.ndarray, at: np.ndarray, bound: np.ndarray, *, backwards: bool = False
) -> bool:
    """Whether some value holds a character of :data:`TRIMMED` right from ``at`` (or right
    before it, ``backwards``) without crossing its other end ``bound``."""
    for character in TRIMMED:
        size = len(character)
        where = (at - size if backwards else at)[(at - bound if backwards else bound - at) >= size]
        for i, byte in enumerate(character):
            where = where[data[where + i] == byte]
        if len(where):
            return True
    return False


_PROVENANCE = ["_source_id", "_record", "_line"]
PROVENANCE_FIELDS = [
    pa.field("_source_id", pa.int32()),
    pa.field("_record", pa.int64()),
    pa.field("_line", pa.int64()),
]


def _ident(name: str) -> str:
    return name.replace('"', '""')
