"""Read XLSX (and old XLS) workbooks with python-calamine: one source per sheet.

Cells become text as a person would read them: whole numbers without ``.0``, dates in ISO
8601, booleans ``true``/``false``. Entirely empty rows are not records. The workbook's zip
is checked against the archive limits before calamine inflates it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import zipfile
from typing import Any

from ariane.errors import InputError, UnsafeInputError
from ariane.read.archive import Blob, Limits
from ariane.read.sniff import column_names, find_preamble, looks_like_header
from ariane.read.store import Origin, SourceWriter, Store

#: Workbooks are read whole by calamine; larger ones must be exported to CSV first.
MAX_WORKBOOK_BYTES = 512 * 1024 * 1024


def cell_text(value: Any) -> str:
    """A cell as text: ``75001.0`` -> ``75001``, dates ISO 8601, booleans lower case."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ") if value.time() != dt.time() else value.date().isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    return "" if value is None else str(value)


def _check_limits(data: bytes, where: str, limits: Limits) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        total = 0
        for info in archive.infolist():
            cap = max(int(info.compress_size * limits.max_ratio), limits.ratio_floor)
            total += info.file_size
            if info.file_size > cap or total > limits.max_total:
                raise UnsafeInputError(f"{where}: workbook expands too much; refused")


def read_xlsx(blob: Blob, store: Store, origin: Origin) -> list[SourceWriter]:
    """Read every sheet of a workbook into its own source."""
    from python_calamine import CalamineWorkbook

    with blob.open() as stream:
        data = stream.read(MAX_WORKBOOK_BYTES + 1)
    if len(data) > MAX_WORKBOOK_BYTES:
        raise InputError(f"{blob.where}: workbook larger than 512 MiB; export it to CSV")
    origin.member_sha256 = hashlib.sha256(data).hexdigest()
    try:
        if blob.format == "xlsx":
            _check_limits(data, blob.where, Limits())
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise InputError(f"{blob.where}: damaged workbook ({type(exc).__name__})") from None
    except Exception as exc:  # calamine's own errors share no base class we can import
        if isinstance(exc, InputError):
            raise
        raise InputError(f"{blob.where}: damaged workbook ({type(exc).__name__})") from None
    writers = []
    for name in workbook.sheet_names:
        try:
            rows = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
        except Exception as exc:  # a damaged sheet: say which, keep the others
            raise InputError(
                f"{blob.where}: sheet {name!r} cannot be read ({type(exc).__name__})"
            ) from None
        writers.append(_sheet(rows, name, store, origin, blob.format))
    return writers


def _sheet(
    rows: list[list[Any]], name: str, store: Store, origin: Origin, fmt: str
) -> SourceWriter:
    texts = [[cell_text(v) for v in row] for row in rows]
    filled = [(i, r) for i, r in enumerate(texts, start=1) if any(c.strip() for c in r)]
    width = max((len(r) for _, r in filled), default=0)
    while width and all(len(r) < width or not r[width - 1].strip() for _, r in filled):
        width -= 1  # trailing columns empty everywhere are formatting, not data
    top = [(r + [""] * width)[:width] for _, r in filled[:50]]
    header = bool(filled) and looks_like_header(top[0], top[1:])
    # A report title above the header: kept aside as records, never dropped silently.
    preamble = 0 if header or not filled else find_preamble(top, width)
    header = header or preamble > 0
    names = column_names(top[preamble] if header else [], width)
    writer = store.writer(origin, fmt, None, names, table_name=name, has_header=header)
    for record, (_, row) in enumerate(filled[:preamble], start=1):
        raw = "\t".join(row).encode("utf-8")
        writer.quarantine(record, "above the header row (a title)", raw)
    data = filled[preamble + 1 :] if header else filled
    for record, (_, row) in enumerate(data, start=preamble + 1):
        values = (row + [""] * width)[:width]
        writer.row(values, record, None)  # type: ignore[arg-type]
    writer.close()
    return writer
