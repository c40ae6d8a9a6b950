"""Read Parquet files with pyarrow, one row group at a time, batch by batch: one source.

Columns become text as the JSON reader makes them (:mod:`~.jsonrows`): nested structs are
flattened to dotted names (``adresse.ville``), a list of structs that say what each item is
flattened by kind (``identifiants.NIR.valeur``, :func:`~.jsonrows.kind_key`), other lists
and maps kept as JSON text; numbers
are written as a person reads them (``75001``, not ``75001.0``), dates in ISO 8601, a
timestamp at midnight as its date.

Records are numbered in the file's order. A row group that cannot be read (a damaged page,
a bad checksum) is quarantined record by record with the reason — the file's footer says
how many rows it holds — and the other row groups are read. A file whose footer cannot be
read is an :class:`~ariane.errors.InputError`.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ariane.errors import InputError
from ariane.read.archive import Blob
from ariane.read.jsonrows import as_text, flatten, list_text
from ariane.read.store import Origin, SourceWriter, Store
from ariane.read.xlsx import cell_text

#: Rows converted and written at a time.
BATCH_ROWS = 50_000
#: Columns one list of structs may make by kind; past it (kinds that are data, not a
#: small set: one per row), the list's further values are kept as JSON text.
MAX_KIND_COLUMNS = 128
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
        # Lists of structs make their columns as their items come (kinds are data).
        fixed = [n for n, kind in names if not _is_item_list(kind)]
        writer = store.writer(origin, "parquet", "utf-8", fixed, has_header=True)
        stored = dict(zip(fixed, writer.columns, strict=True))
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
                    writer.arrow(text_table(batch, writer, stored), numbers, None)
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


def flat_names(schema: pa.Schema) -> list[tuple[str, pa.DataType]]:
    """Column names and types once structs are flattened to dotted names (as JSON's are)."""
    names: list[tuple[str, pa.DataType]] = []

    def visit(field: pa.Field, prefix: str) -> None:
        name = f"{prefix}.{field.name}" if prefix else field.name
        if pa.types.is_struct(field.type) and field.type.num_fields:
            for child in field.type:
                visit(child, name)
        else:
            names.append((name, field.type))

    for field in schema:
        visit(field, "")
    return names


def text_table(batch: pa.RecordBatch, writer: SourceWriter, stored: dict[str, str]) -> pa.Table:
    """A batch as the VARCHAR columns of ``writer``, widened with the columns its lists of
    structs make; ``stored``: the writer's name of each flattened name, kept up to date."""
    table = pa.Table.from_batches([batch])
    while any(_is_struct(c.type) for c in table.columns):
        table = table.flatten()
    columns: dict[str, pa.Array] = {}
    for (name, _), column in zip(flat_names(batch.schema), table.columns, strict=True):
        array = column.combine_chunks()
        if _is_item_list(array.type):
            by_kind = _items_by_kind(name, array)
            made = sum(1 for n in stored if n.startswith(f"{name}."))
            fresh = sum(1 for n in by_kind if n not in stored)
            if made + fresh <= MAX_KIND_COLUMNS:
                columns.update(by_kind)
            else:
                columns[name] = _text(array)
        else:
            columns[name] = _text(array)
    new = [name for name in columns if name not in stored]
    if new:
        stored.update(zip(new, writer.add_columns(new), strict=True))
    by_stored = {stored[name]: array for name, array in columns.items()}
    count = batch.num_rows
    arrays = [by_stored.get(name, pa.nulls(count, pa.string())) for name in writer.columns]
    return pa.Table.from_arrays(arrays, names=writer.columns)


def _is_item_list(kind: pa.DataType) -> bool:
    """A list (of any length) whose items are structs: flattened by kind where they say it."""
    listed = pa.types.is_list(kind) or pa.types.is_large_list(kind)
    return listed and _is_struct(kind.value_type)


def _items_by_kind(name: str, array: pa.Array) -> dict[str, pa.Array]:
    """The columns a list of structs makes, row by row as the JSON reader makes them."""
    values: dict[str, list[str | None]] = {}
    rows = array.to_pylist()
    for row, items in enumerate(rows):
        for column, text in flatten({name: _plain(items)}):
            values.setdefault(column, [None] * len(rows))[row] = text
    return {column: pa.array(texts, pa.string()) for column, texts in values.items()}


def _plain(value: Any) -> Any:
    """A value of a list as JSON holds it: dates as ISO text (at midnight, the date)."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, datetime):
        midnight = value.tzinfo is None and value.time() == time()
        return value.date().isoformat() if midnight else value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return cell_text(value)
    return value


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
    listed = (
        pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind)
    )
    if listed:
        return pa.array(
            [None if v is None else list_text(_plain(v)) for v in array.to_pylist()], pa.string()
        )
    nested = (
        pa.types.is_map(kind) or pa.types.is_struct(kind)  # an empty struct
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
