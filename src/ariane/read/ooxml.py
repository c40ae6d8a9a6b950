"""The parts of an XLSX workbook, streamed: sheets row by row, shared strings packed.

An XLSX file is a zip of XML parts: ``xl/workbook.xml`` lists the sheets, relations say
which part holds each, ``sharedStrings.xml`` holds the text cells point into and
``styles.xml`` says which numbers are dates. Sheets and shared strings are read with expat
callbacks, chunk by chunk, so that memory does not grow with a sheet; shared strings are
packed in one buffer (no Python object per string) and refused beyond
:data:`MAX_SHARED_STRINGS_BYTES` before any is read. Expat refuses entity expansion bombs.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
import zipfile
from array import array
from collections.abc import Callable, Iterator
from typing import IO
from xml.etree.ElementTree import Element, ParseError, parse
from xml.parsers.expat import ExpatError, ParserCreate

from ariane.errors import InputError, UnsafeInputError
from ariane.read.archive import Limits

#: Shared strings are held in memory (packed): a workbook with more must be exported to CSV.
MAX_SHARED_STRINGS_BYTES = 256 * 1024 * 1024

#: What a damaged part raises while it is read.
PART_ERRORS = (ParseError, ExpatError, KeyError, zipfile.BadZipFile, OSError, EOFError)

_DATE_FORMAT_IDS = {*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)}
_NOT_DATE_PARTS = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]|_.|\*.')
_RELATION_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_CHUNK = 1 << 16
MAX_COLUMNS = 16_384


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


class _Names(dict[str, str]):
    """Expanded element names -> local names, computed once per name met."""

    def __missing__(self, name: str) -> str:
        self[name] = local = _local(name)
        return local


class Workbook:
    """A workbook's sheets and what their cells need to read as text."""

    def __init__(self, archive: zipfile.ZipFile, where: str, text: Callable[[object], str]):
        self.archive = archive
        self.where = where
        self._text = text  # how a number or a date reads as text
        self._check_limits()
        try:
            book_part = self._main_part()
            targets = self._relations(book_part)
            root = self._parse(book_part)
        except PART_ERRORS as exc:
            raise InputError(f"{where}: damaged workbook ({type(exc).__name__})") from None
        self.date1904 = any(
            _local(e.tag) == "workbookPr" and e.get("date1904") in {"1", "true"} for e in root
        )
        self.sheets: list[tuple[str, str]] = []  # (name, part)
        for element in root.iter():
            if _local(element.tag) == "sheet":
                target = targets.get(element.get(_RELATION_ID) or element.get("id") or "")
                if target is not None:
                    self.sheets.append((element.get("name") or "", target[0]))
        by_kind = {kind: path for path, kind in targets.values()}
        self.strings = self._shared_strings(by_kind.get("sharedStrings"))
        self.date_styles = self._date_styles(by_kind.get("styles"))

    def _check_limits(self) -> None:
        limits = Limits()
        total = 0
        for info in self.archive.infolist():
            total += info.file_size
            cap = max(int(info.compress_size * limits.max_ratio), limits.ratio_floor)
            if info.file_size > cap or total > limits.max_total:
                raise UnsafeInputError(f"{self.where}: workbook expands too much; refused")

    def _parse(self, part: str) -> Element:
        """A small part (workbook, relations, styles) as a tree."""
        with self.archive.open(part) as xml:
            return parse(xml).getroot()

    def _main_part(self) -> str:
        try:
            rels = self._parse("_rels/.rels")
        except KeyError:
            return "xl/workbook.xml"
        for rel in rels:
            if (rel.get("Type") or "").endswith("/officeDocument"):
                return (rel.get("Target") or "xl/workbook.xml").lstrip("/")
        return "xl/workbook.xml"

    def _relations(self, part: str) -> dict[str, tuple[str, str]]:
        """Relation id -> (part path, kind of relation) of one part."""
        folder, name = posixpath.split(part)
        try:
            rels = self._parse(posixpath.join(folder, "_rels", f"{name}.rels"))
        except KeyError:
            return {}
        targets = {}
        for rel in rels:
            target = rel.get("Target") or ""
            path = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
            kind = (rel.get("Type") or "").rpartition("/")[2]
            targets[rel.get("Id") or ""] = (posixpath.normpath(path), kind)
        return targets

    def _shared_strings(self, part: str | None) -> SharedStrings:
        strings = SharedStrings()
        if part is None or part not in self.archive.namelist():
            return strings
        if self.archive.getinfo(part).file_size > MAX_SHARED_STRINGS_BYTES:
            raise InputError(
                f"{self.where}: more than {MAX_SHARED_STRINGS_BYTES >> 20} MiB of shared "
                "strings; export the workbook to CSV to read it"
            )
        items = _TextItems("si", strings.add)
        try:
            with self.archive.open(part) as xml:
                items.feed(xml)
        except PART_ERRORS as exc:
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
        except PART_ERRORS:
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

    def rows(self, part: str) -> Iterator[list[str]]:
        """The rows of one sheet as text cells, streamed chunk by chunk."""
        reader = _SheetRows(self)
        with self.archive.open(part) as xml:
            parser = reader.parser
            while chunk := xml.read(_CHUNK):
                parser.Parse(chunk, False)
                yield from reader.done
                reader.done.clear()
            parser.Parse(b"", True)
            yield from reader.done

    def value(self, kind: str, text: str, style: str | None) -> str:
        """One cell as text, from its type, its raw value and its style."""
        if kind == "s":
            return self.strings.get(text)
        if kind == "n" and text:
            try:
                number = float(text)
            except ValueError:
                return text
            if style and style.isdigit() and int(style) in self.date_styles:
                return self._text(serial_date(number, self.date1904))
            return self._text(number)
        if kind == "b":
            return "true" if text.strip() in {"1", "true"} else "false"
        if kind == "d" and text:
            try:
                return self._text(dt.datetime.fromisoformat(text))
            except ValueError:
                return text
        if kind == "e":
            return ""  # an error such as #N/A holds no data (as calamine reads it)
        return text  # inline strings, and a formula's text result


class _SheetRows:
    """Expat callbacks turning a sheet's XML into rows of text cells."""

    def __init__(self, book: Workbook) -> None:
        self.book = book
        self.done: list[list[str]] = []
        self.cells: list[str] = []
        self.kind, self.column = "n", 0
        self.style: str | None = None
        self.parts: list[str] = []
        self.collecting = False
        self.phonetic = False
        self.names = _Names()
        parser = ParserCreate(namespace_separator="}")
        parser.buffer_text = True
        parser.StartElementHandler = self.start
        parser.EndElementHandler = self.end
        parser.CharacterDataHandler = self.data
        self.parser = parser

    def start(self, name: str, attrs: dict[str, str]) -> None:
        tag = self.names[name]
        if tag == "c":
            self.kind = attrs.get("t") or "n"
            self.style = attrs.get("s")
            self.column = column_index(attrs.get("r"), len(self.cells))
            self.parts = []
        elif tag == "v" or (tag == "t" and not self.phonetic):
            self.collecting = True
        elif tag == "rPh":
            self.phonetic = True  # a reading guide over the text, not the text
        elif tag == "row":
            self.cells = []

    def end(self, name: str) -> None:
        tag = self.names[name]
        if tag in {"v", "t"}:
            self.collecting = False
        elif tag == "rPh":
            self.phonetic = False
        elif tag == "c":
            cells = self.cells
            if self.column >= len(cells):
                cells.extend([""] * (self.column + 1 - len(cells)))
            cells[self.column] = self.book.value(self.kind, "".join(self.parts), self.style)
        elif tag == "row":
            self.done.append(self.cells)
            self.cells = []

    def data(self, text: str) -> None:
        if self.collecting:
            self.parts.append(text)


class _TextItems:
    """Expat callbacks collecting the text of each ``item`` element (runs joined)."""

    def __init__(self, item: str, found: Callable[[str], None]) -> None:
        self.item, self.found = item, found
        self.parts: list[str] = []
        self.collecting = self.phonetic = False
        self.names = _Names()

    def feed(self, xml: IO[bytes]) -> None:
        parser = ParserCreate(namespace_separator="}")
        parser.buffer_text = True
        parser.StartElementHandler = self.start
        parser.EndElementHandler = self.end
        parser.CharacterDataHandler = self.data
        while chunk := xml.read(_CHUNK):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)

    def start(self, name: str, attrs: dict[str, str]) -> None:
        tag = self.names[name]
        if tag == self.item:
            self.parts = []
        elif tag == "t" and not self.phonetic:
            self.collecting = True
        elif tag == "rPh":
            self.phonetic = True

    def end(self, name: str) -> None:
        tag = self.names[name]
        if tag == "t":
            self.collecting = False
        elif tag == "rPh":
            self.phonetic = False
        elif tag == self.item:
            self.found("".join(self.parts))

    def data(self, text: str) -> None:
        if self.collecting:
            self.parts.append(text)


class SharedStrings:
    """Every shared string packed in one UTF-8 buffer: no Python object per string."""

    def __init__(self) -> None:
        self._data = bytearray()
        self._ends = array("Q")

    def add(self, text: str) -> None:
        """Append the next string."""
        self._data += text.encode("utf-8", "surrogatepass")
        self._ends.append(len(self._data))

    def get(self, index: str) -> str:
        """The string a cell's value points to ("" for a dangling reference)."""
        try:
            i = int(index)
        except ValueError:
            return ""
        if not 0 <= i < len(self._ends):
            return ""
        start = self._ends[i - 1] if i else 0
        return self._data[start : self._ends[i]].decode("utf-8", "surrogatepass")


def column_index(reference: str | None, following: int) -> int:
    """0-based column of a cell reference (``AB12`` -> 27); the next one when absent."""
    if not reference:
        return following
    number = 0
    for char in reference.upper():
        if "A" <= char <= "Z":
            number = number * 26 + ord(char) - 64
        else:
            break
    # Beyond Excel's last column (XFD) a reference is damaged: it must not grow a row.
    return number - 1 if 0 < number <= MAX_COLUMNS else following


def serial_date(serial: float, date1904: bool) -> dt.datetime | dt.time:
    """An Excel date serial as a date and time (a time alone below 1)."""
    seconds = round(serial * 86400)
    if 0 <= seconds < 86400 and not date1904:
        return (dt.datetime.min + dt.timedelta(seconds=seconds)).time()
    base = dt.datetime(1904, 1, 1) if date1904 else dt.datetime(1899, 12, 30)
    try:
        return base + dt.timedelta(seconds=seconds)
    except OverflowError:
        return dt.datetime.max
