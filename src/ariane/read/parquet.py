"""Read Parquet files with pyarrow, one row group at a time, batch by batch: one source.

Columns become text as the JSON reader makes them (:mod:`~.jsonrows`): nested structs are
flattened to dotted names (``adresse.ville``), lists and maps are kept as JSON text; numbers
are written as a person reads them (``75001``, not ``75001.0``), dates in ISO 8601, a
timestamp at midnight as its date.

Records are numbered in the file's order. A row group that cannot be read (a damaged page,
a bad checksum) is quarantined record by record with the reason — the file's footer says
how many rows it holds — and the other row groups are read. A file whose footer cannot be
read is an :class:`~ariane.errors.InputError`.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from ariane.errors import InputError
from ariane.read.archive import Blob
from ariane.read.jsonrows import as_text
from ariane.read.store import Origin, SourceWriter, Store
from ariane.read.xlsx import cell_text

#: Rows converted and written at a time.
BATCH_ROWS = 50_000
#: Quarantined records of an unreadable row group keep no bytes: its pages are the damage.
_NO_BYTES = b""


def read_parquet(blob: Blob, store: Store, origin: Origin) -> list[SourceWriter]:
    """Read a Parquet file into one source."""
    import pyarrow.parquet as pq

    with blob.open() as stream:
        try:
            # Page checksums, when the writer stored them, catch damage a decoder would not.
            parquet = pq.ParquetFile(stream, page_checksum_verification=True)
        except (pa.ArrowException, OSError) as exc:
            raise InputError(f"{blob.where}: damaged Parquet file ({type(exc).__name__})") from None
        names = flat_names(parquet.schema_arrow)
        writer = store.writer(origin, "parquet", "utf-8", names, has_header=True)
        record = 0
        for group in range(parquet.num_row_groups):
            expected = parquet.metadata.row_group(group).num_rows
            done = 0
            try:
                for batch in parquet.iter_batches(
                    batch_size=BATCH_ROWS, row_groups=[group], use_threads=False
                ):
                    count = batch.num_rows
                    numbers = pa.array(range(record + done + 1, record + done + count + 1))
                    writer.arrow(text_table(batch, writer.columns), numbers, None)
                    done += count
            except (pa.ArrowException, OSError) as exc:
                reason = (
                    f"row group {group + 1} of {parquet.num_row_groups} cannot be read "
                    f"({type(exc).__name__})"
                )
                for number in range(record + done + 1, record + expected + 1):
                    writer.quarantine(number, reason, _NO_BYTES)
                done = max(done, expected)
            record += done
        writer.close()
    return [writer]


def flat_names(schema: pa.Schema) -> list[str]:
    """Column names once structs are flattened to dotted names (as JSON objects are)."""
    names: list[str] = []

    def visit(field: pa.Field, prefix: str) -> None:
        name = f"{prefix}.{field.name}" if prefix else field.name
        if pa.types.is_struct(field.type) and field.type.num_fields:
            for child in field.type:
                visit(child, name)
        else:
            names.append(name)

    for field in schema:
        visit(field, "")
    return names


def text_table(batch: pa.RecordBatch, names: list[str]) -> pa.Table:
    """A batch as VARCHAR columns named ``names`` (its flattened columns, in order)."""
    table = pa.Table.from_batches([batch])
    while any(_is_struct(c.type) for c in table.columns):
        table = table.flatten()
    arrays = [_text(column.combine_chunks()) for column in table.columns]
    return pa.Table.from_arrays(arrays, names=names)


def _is_struct(kind: pa.DataType) -> bool:
    return pa.types.is_struct(kind) and kind.num_fields > 0


def _text(array: pa.Array) -> pa.Array:
    kind = array.type
    if pa.types.is_dictionary(kind):
        return _text(array.dictionary_decode())
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return array.cast(pa.string())
    if pa.types.is_timestamp(kind):
        seconds = array.cast(pa.timestamp("s", kind.tz), safe=False)
        if kind.tz is None and _all_midnight(seconds):
            return seconds.cast(pa.date32()).cast(pa.string())
        return seconds.cast(pa.string())
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return pa.array(
            [None if v is None else cell_text(v) for v in array.to_pylist()], pa.string()
        )
    nested = (
        pa.types.is_list(kind)
        or pa.types.is_large_list(kind)
        or pa.types.is_fixed_size_list(kind)
        or pa.types.is_map(kind)
        or pa.types.is_struct(kind)  # an empty struct
    )
    if nested or pa.types.is_null(kind):
        return pa.array([as_text(v) for v in array.to_pylist()], pa.string())
    try:
        return array.cast(pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        return pa.array([as_text(v) for v in array.to_pylist()], pa.string())


def _all_midnight(seconds: pa.Array) -> bool:
    """Every timestamp falls at midnight: the column holds dates (birth dates, say)."""
    since_epoch = seconds.cast(pa.int64())
    day_start = pc.multiply(pc.floor(pc.divide(since_epoch.cast(pa.float64()), 86400.0)), 86400.0)
    return not pc.any(pc.not_equal(since_epoch.cast(pa.float64()), day_start)).as_py()
