"""Read XLSX workbooks (and old XLS) sheet by sheet, in bounded memory: one source per sheet.

An XLSX file is a zip of XML parts. Each sheet is streamed with a pull parser, row by row,
so memory does not grow with the sheet; shared strings (the text cells point into) are kept
packed, and refused beyond :data:`MAX_SHARED_STRINGS_BYTES` before any is read. Old binary
XLS files (at most 65,536 rows) are read with python-calamine within
:data:`MAX_XLS_BYTES`.

Cells become text as a person would read them: whole numbers without ``.0``, dates in ISO
8601, booleans ``true``/``false``. Entirely empty rows are not records. Any failure is one
line naming the file and the sheet's number (a sheet's name may come from the data).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import posixpath
import re
import zipfile
from array import array
from collections.abc import Iterable, Iterator
from typing import IO, Any
from xml.etree.ElementTree import Element, ParseError, iterparse, parse

from ariane.errors import InputError, UnsafeInputError
from ariane.read.archive import Blob, Limits
from ariane.read.sniff import column_names, find_preamble, looks_like_header
from ariane.read.store import Origin, SourceWriter, Store

#: Shared strings are held in memory (packed): a workbook with more must be exported to CSV.
MAX_SHARED_STRINGS_BYTES = 256 * 1024 * 1024
#: Old XLS workbooks are read whole by calamine.
MAX_XLS_BYTES = 128 * 1024 * 1024
#: Rows looked at to find the header (and a title above it).
HEADER_ROWS = 50

_DATE_FORMAT_IDS = {*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)}
_NOT_DATE_PARTS = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]|_.|\*.')


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


def read_xlsx(blob: Blob, store: Store, origin: Origin) -> list[SourceWriter]:
    """Read every sheet of a workbook into its own source."""
    origin.member_sha256 = _digest(blob)
    if blob.format == "xls":
        return _read_xls(blob, store, origin)
    writers: list[SourceWriter] = []
    with blob.open() as stream:
        try:
            archive = zipfile.ZipFile(stream)
        except (zipfile.BadZipFile, OSError) as exc:
            raise InputError(f"{blob.where}: damaged workbook ({type(exc).__name__})") from None
        with archive:
            book = _Workbook(archive, blob.where)
            for number, (name, part) in enumerate(book.sheets, start=1):
                where = f"{blob.where}: sheet {number}"
                sheet = _Sheet(store, origin, blob.format, name)
                try:
                    with archive.open(part) as xml:
                        for row in book.rows(xml):
                            sheet.add(row)
                except KeyError:
                    raise InputError(f"{where} is missing from the workbook") from None
                except (ParseError, zipfile.BadZipFile, OSError, EOFError) as exc:
                    raise InputError(f"{where} cannot be read ({type(exc).__name__})") from None
                writers.append(sheet.close())
    return writers


def _digest(blob: Blob) -> str:
    digest = hashlib.sha256()
    with blob.open() as stream:
        while block := stream.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


class _Workbook:
    """The parts of a workbook a sheet's cells need: names, shared strings, date styles."""

    def __init__(self, archive: zipfile.ZipFile, where: str) -> None:
        self.archive = archive
        self.where = where
        self._check_limits()
        try:
            book_part = self._main_part()
            targets = self._relations(book_part)
            root = self._parse(book_part)
        except (ParseError, KeyError, zipfile.BadZipFile, OSError, EOFError) as exc:
            raise InputError(f"{where}: damaged workbook ({type(exc).__name__})") from None
        self.date1904 = any(
            _local(e.tag) == "workbookPr" and e.get("date1904") in {"1", "true"} for e in root
        )
        relation = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
        self.sheets: list[tuple[str, str]] = []
        for element in root.iter():
            if _local(element.tag) == "sheet":
                target = targets.get(element.get(relation) or element.get("id") or "")
                if target is not None:
                    self.sheets.append((element.get("name") or "", target))
        by_type = {kind: path for path, kind in targets.values_with_types()}
        self.strings = self._shared_strings(by_type.get("sharedStrings"))
        self.date_styles = self._date_styles(by_type.get("styles"))

    def _check_limits(self) -> None:
        limits = Limits()
        total = 0
        for info in self.archive.infolist():
            total += info.file_size
            cap = max(int(info.compress_size * limits.max_ratio), limits.ratio_floor)
            if info.file_size > cap or total > limits.max_total:
                raise UnsafeInputError(f"{self.where}: workbook expands too much; refused")

    def _parse(self, part: str) -> Element:
        with self.archive.open(part) as xml:
            return _parse_whole(xml)

    def _main_part(self) -> str:
        try:
            rels = self._parse("_rels/.rels")
        except KeyError:
            return "xl/workbook.xml"
        for rel in rels:
            if (rel.get("Type") or "").endswith("/officeDocument"):
                return (rel.get("Target") or "xl/workbook.xml").lstrip("/")
        return "xl/workbook.xml"

    def _relations(self, part: str) -> _Targets:
        folder, name = posixpath.split(part)
        targets = _Targets()
        try:
            rels = self._parse(posixpath.join(folder, "_rels", f"{name}.rels"))
        except KeyError:
            return targets
        for rel in rels:
            target = rel.get("Target") or ""
            path = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
            kind = (rel.get("Type") or "").rsplit("/", 1)[-1]
            targets.add(rel.get("Id") or "", posixpath.normpath(path), kind)
        return targets

    def _shared_strings(self, part: str | None) -> _SharedStrings:
        strings = _SharedStrings()
        if part is None or part not in self.archive.namelist():
            return strings
        if self.archive.getinfo(part).file_size > MAX_SHARED_STRINGS_BYTES:
            raise InputError(
                f"{self.where}: more than {MAX_SHARED_STRINGS_BYTES >> 20} MiB of shared "
                "strings; export the workbook to CSV to read it"
            )
        try:
            with self.archive.open(part) as xml:
                root: Element | None = None
                for event, element in iterparse(xml, events=("start", "end")):
                    if root is None:
                        root = element
                    elif event == "end" and _local(element.tag) == "si":
                        strings.add(_rich_text(element))
                        root.clear()  # keeps memory flat: the text is packed already
        except (ParseError, zipfile.BadZipFile, OSError, EOFError) as exc:
            raise InputError(
                f"{self.where}: damaged shared strings ({type(exc).__name__})"
            ) from None
        return strings

    def _date_styles(self, part: str | None) -> set[int]:
        """Indexes of the cell styles that show a number as a date or a time."""
        if part is None or part not in self.archive.namelist():
            return set()
        try:
            root = self._parse(part)
        except (ParseError, zipfile.BadZipFile, OSError, EOFError):
            return set()  # styles only change how numbers read: the data is still there
        custom = {}
        for element in root.iter():
            if _local(element.tag) == "numFmt":
                code = _NOT_DATE_PARTS.sub("", element.get("formatCode") or "")
                custom[element.get("numFmtId")] = bool(re.search(r"[dmyhs]", code, re.I))
        dates = set()
        for section in root:
            if _local(section.tag) == "cellXfs":
                for index, xf in enumerate(section):
                    fmt = xf.get("numFmtId") or "0"
                    if custom.get(fmt) or (fmt.isdigit() and int(fmt) in _DATE_FORMAT_IDS):
                        dates.add(index)
        return dates

    def rows(self, xml: IO[bytes]) -> Iterator[list[str]]:
        """The rows of one sheet as text cells, streamed (cleared once read)."""
        rows: Element | None = None
        for event, element in iterparse(xml, events=("start", "end")):
            tag = _local(element.tag)
            if event == "start":
                if tag == "sheetData":
                    rows = element
                continue
            if tag != "row":
                continue
            cells: list[str] = []
            for cell in element:
                if _local(cell.tag) != "c":
                    continue
                column = _column(cell.get("r"), len(cells))
                if column >= len(cells):
                    cells.extend([""] * (column + 1 - len(cells)))
                cells[column] = self._value(cell)
            yield cells
            (rows if rows is not None else element).clear()

    def _value(self, cell: Element) -> str:
        kind = cell.get("t") or "n"
        if kind == "inlineStr":
            inline = next((c for c in cell if _local(c.tag) == "is"), None)
            return _rich_text(inline) if inline is not None else ""
        value = next((c.text or "" for c in cell if _local(c.tag) == "v"), "")
        if kind == "s":
            return self.strings.get(value)
        if kind == "b":
            return "true" if value.strip() in {"1", "true"} else "false"
        if kind == "n" and value:
            try:
                number = float(value)
            except ValueError:
                return value
            style = cell.get("s")
            if style and style.isdigit() and int(style) in self.date_styles:
                return cell_text(_serial_date(number, self.date1904))
            return cell_text(number)
        if kind == "d" and value:
            try:
                return cell_text(dt.datetime.fromisoformat(value))
            except ValueError:
                return value
        if kind == "e":
            return ""  # an error such as #N/A holds no data (as calamine reads it)
        return value  # str: a formula's text result


class _Targets(dict[str, str]):
    """Relationship id -> part path, with each relation's type."""

    def __init__(self) -> None:
        super().__init__()
        self._kinds: dict[str, str] = {}

    def add(self, rel_id: str, path: str, kind: str) -> None:
        self[rel_id] = path
        self._kinds[rel_id] = kind

    def values_with_types(self) -> Iterable[tuple[str, str]]:
        return ((path, self._kinds[rel_id]) for rel_id, path in self.items())


class _SharedStrings:
    """Every shared string packed in one UTF-8 buffer: no Python object per string."""

    def __init__(self) -> None:
        self._data = bytearray()
        self._ends = array("Q")

    def add(self, text: str) -> None:
        self._data += text.encode("utf-8", "surrogatepass")
        self._ends.append(len(self._data))

    def get(self, index: str) -> str:
        try:
            i = int(index)
        except ValueError:
            return ""
        if not 0 <= i < len(self._ends):
            return ""  # a dangling reference reads as an empty cell
        start = self._ends[i - 1] if i else 0
        return self._data[start : self._ends[i]].decode("utf-8", "surrogatepass")


def _parse_whole(xml: IO[bytes]) -> Element:
    """A small part (workbook, relations, styles) as a tree."""
    return parse(xml).getroot()


def _rich_text(element: Element) -> str:
    """The text of a string item: its runs, without phonetic guides."""
    parts = []
    for child in element:
        tag = _local(child.tag)
        if tag == "t":
            parts.append(child.text or "")
        elif tag == "r":
            parts.extend(t.text or "" for t in child if _local(t.tag) == "t")
    return "".join(parts)


def _column(reference: str | None, following: int) -> int:
    """0-based column of a cell reference (``AB12`` -> 27); the next one when absent."""
    if not reference:
        return following
    number = 0
    for char in reference:
        if "A" <= char <= "Z":
            number = number * 26 + ord(char) - 64
        elif "a" <= char <= "z":
            number = number * 26 + ord(char) - 96
        else:
            break
    return number - 1 if number else following


def _serial_date(serial: float, date1904: bool) -> dt.datetime | dt.time:
    """An Excel date serial as a date and time (a time alone below 1)."""
    seconds = round(serial * 86400)
    if 0 <= seconds < 86400 and not date1904:
        return (dt.datetime.min + dt.timedelta(seconds=seconds)).time()
    base = dt.datetime(1904, 1, 1) if date1904 else dt.datetime(1899, 12, 30)
    try:
        return base + dt.timedelta(seconds=seconds)
    except OverflowError:
        return dt.datetime.max


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
    import io

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
