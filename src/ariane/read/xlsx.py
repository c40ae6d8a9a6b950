"""Read XLSX workbooks (and old XLS) sheet by sheet, in bounded memory: one source per sheet.

XLSX sheets are streamed row by row (``ooxml``), so memory does not grow with a sheet and
no native parser can abort the process. Old binary XLS files (at most 65,536 rows a sheet)
are read with python-calamine within :data:`MAX_XLS_BYTES`.

Cells become text as a person would read them: whole numbers without ``.0``, dates in ISO
8601, booleans ``true``/``false``. Entirely empty rows are not records. Any failure is one
line naming the file and the sheet's number (a sheet's name may come from the data).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import zipfile
from typing import Any

from ariane.errors import InputError
from ariane.read.archive import Blob
from ariane.read.ooxml import MAX_SHARED_STRINGS_BYTES, PART_ERRORS, Workbook
from ariane.read.sniff import column_names, find_preamble, looks_like_header
from ariane.read.store import Origin, SourceWriter, Store

__all__ = ["MAX_SHARED_STRINGS_BYTES", "MAX_XLS_BYTES", "cell_text", "read_xlsx"]

#: Old XLS workbooks are read whole by calamine.
MAX_XLS_BYTES = 128 * 1024 * 1024
#: Rows looked at to find the header (and a title above it).
HEADER_ROWS = 50


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
    if isinstance(value, bytes):  # a database's blob: its text when it is UTF-8, else hex
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value.hex()
    return "" if value is None else str(value)


def read_xlsx(blob: Blob, store: Store, origin: Origin) -> list[SourceWriter]:
    """Read every sheet of a workbook into its own source."""
    origin.member_sha256 = _digest(blob)
    if blob.format == "xls":
        return _read_xls(blob, store, origin)
    writers: list[SourceWriter] = []
    with blob.open() as stream:  # seekable: the archive walk spills what is not
        try:
            archive = zipfile.ZipFile(stream)
        except (zipfile.BadZipFile, OSError) as exc:
            raise InputError(f"{blob.where}: damaged workbook ({type(exc).__name__})") from None
        with archive:
            book = Workbook(archive, blob.where, cell_text)
            for number, (name, part) in enumerate(book.sheets, start=1):
                sheet = _Sheet(store, origin, blob.format, name)
                try:
                    for row in book.rows(part):
                        sheet.add(row)
                except PART_ERRORS as exc:
                    raise InputError(
                        f"{blob.where}: sheet {number} cannot be read ({type(exc).__name__})"
                    ) from None
                writers.append(sheet.close())
    return writers


def _digest(blob: Blob) -> str:
    digest = hashlib.sha256()
    with blob.open() as stream:
        while block := stream.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


class _Sheet:
    """Writes one sheet's rows as they come; the first rows decide the header."""

    def __init__(self, store: Store, origin: Origin, fmt: str, name: str) -> None:
        self.store, self.origin, self.format, self.name = store, origin, fmt, name
        self.top: list[list[str]] = []
        self.writer: SourceWriter | None = None
        self.record = 0

    def add(self, row: list[str]) -> None:
        """One row of the sheet, in order (empty rows are not records)."""
        while row and not row[-1].strip():
            row.pop()  # trailing empty cells are formatting, not data
        if not row:
            return
        if self.writer is None:
            self.top.append(row)
            if len(self.top) >= HEADER_ROWS:
                self._start()
        else:
            self._write(row)

    def _start(self) -> None:
        width = max((len(r) for r in self.top), default=0)
        top = [r + [""] * (width - len(r)) for r in self.top]
        header = bool(top) and looks_like_header(top[0], top[1:])
        # A report title above the header: kept aside as records, never dropped silently.
        preamble = 0 if header or not top else find_preamble(top, width)
        header = header or preamble > 0
        names = column_names(top[preamble] if header else [], width)
        writer = self.store.writer(
            self.origin, self.format, None, names, table_name=self.name, has_header=header
        )
        self.writer = writer
        for row in top[:preamble]:
            self.record += 1
            writer.quarantine(self.record, "above the header row (a title)", _raw(row))
        for row in top[preamble + 1 :] if header else top:
            self._write(row)
        self.top = []

    def _write(self, row: list[str]) -> None:
        assert self.writer is not None
        width = len(self.writer.columns)
        if len(row) > width:  # a row wider than any before: its extra columns are added
            self.writer.add_columns([""] * (len(row) - width))
            width = len(row)
        self.record += 1
        self.writer.row([*row, *[""] * (width - len(row))], self.record, None)

    def close(self) -> SourceWriter:
        """Write what remains; the sheet's writer, closed."""
        if self.writer is None:
            self._start()
        assert self.writer is not None
        self.writer.close()
        return self.writer


def _raw(row: list[str]) -> bytes:
    return "\t".join(row).encode("utf-8", "surrogatepass")


def _read_xls(blob: Blob, store: Store, origin: Origin) -> list[SourceWriter]:
    """An old binary workbook, with calamine (the format caps a sheet at 65,536 rows)."""
    from python_calamine import CalamineWorkbook

    with blob.open() as stream:
        data = stream.read(MAX_XLS_BYTES + 1)
    if len(data) > MAX_XLS_BYTES:
        raise InputError(
            f"{blob.where}: XLS workbook larger than {MAX_XLS_BYTES >> 20} MiB; export it to CSV"
        )
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:  # calamine's own errors share no base class we can import
        raise InputError(f"{blob.where}: damaged workbook ({type(exc).__name__})") from None
    writers = []
    for number, name in enumerate(workbook.sheet_names, start=1):
        sheet = _Sheet(store, origin, blob.format, name)
        try:
            for row in workbook.get_sheet_by_name(name).iter_rows():
                sheet.add([cell_text(v) for v in row])
        except Exception as exc:  # a damaged sheet: say which
            raise InputError(
                f"{blob.where}: sheet {number} cannot be read ({type(exc).__name__})"
            ) from None
        writers.append(sheet.close())
    return writers
