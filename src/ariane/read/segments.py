"""What HL7 v2 and HPRIM share: segments read as a stream, one record's values gathered.

Both formats write a message as segments (``PID|...``, ``OBX|...``) ended by a carriage
return, a line feed or both, sometimes framed by MLLP (``0x0B`` ... ``0x1C 0x0D``) when
a log records what went over the wire. :func:`segments` yields each segment with its
line number and byte offset, reading the file block by block so that a log of any size
keeps memory bounded; :class:`Fields` gathers one record's columns, several values of a
column (repetitions, several OBX) joined in order.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any, cast

from ariane.read.archive import Blob
from ariane.read.delimited import (
    CHUNK,
    MAX_RECORD_BYTES,
    WIDE_ENCODINGS,
    WideText,
    text_encoding,
)
from ariane.read.jsonrows import Records
from ariane.read.sniff import sniff_encoding
from ariane.read.store import Origin, SourceWriter, Store

#: Segment ends: CR, LF, CRLF; MLLP's start and end bytes also end a segment.
_END = re.compile(rb"\r\n|\r|\n|\x0b|\x1c")
#: Values of one column within one record are joined with this.
JOIN = " | "


@dataclass
class Segment:
    """One segment as read: its bytes (no terminator), first line, byte offset."""

    raw: bytes
    line: int
    offset: int
    too_long: bool = False  # cut at MAX_RECORD_BYTES, the rest skipped


def segments(stream: IO[bytes], *, blank: bool = False) -> Iterator[Segment]:
    """The segments of a stream, each with its line (CR, LF, CRLF end a line).

    Blank ones only with ``blank`` (where lines count by their place); a BOM is skipped.
    """
    pending = b""
    base = 0  # byte offset of ``pending`` in the file
    line = 1
    first = True
    skipping = False  # inside an over-long segment, its start already yielded
    while True:
        block = stream.read(CHUNK)
        eof = not block
        if first and block.startswith(b"\xef\xbb\xbf"):
            block, base = block[3:], 3
        first = False
        pending += block
        start = 0
        for found in _END.finditer(pending):
            if found.group() == b"\r" and found.end() == len(pending) and not eof:
                break  # a CR at the end of a block may be the first half of a CRLF
            piece = pending[start : found.start()]
            if skipping:
                skipping = False
            elif piece.strip() or (blank and found.group() != b"\x1c"):  # MLLP end: no line
                yield Segment(piece, line, base + start)
            if found.group() not in (b"\x0b", b"\x1c"):
                line += 1
            start = found.end()
        pending, base = pending[start:], base + start
        if len(pending) > MAX_RECORD_BYTES and not skipping:
            yield Segment(pending[:MAX_RECORD_BYTES], line, base, too_long=True)
            skipping = True
        if skipping and len(pending) > MAX_RECORD_BYTES:
            base += len(pending)
            pending = b""
        if eof:
            if pending.strip() and not skipping:
                yield Segment(pending, line, base)
            return


@contextmanager
def open_as_text(blob: Blob, origin: Origin) -> Iterator[tuple[IO[bytes], str, str]]:
    """The file's bytes (UTF-16/32 given as UTF-8), its encoding and the codec to decode
    them; the encoding is chosen on the whole file, whose digest goes to ``origin``."""
    scan = text_encoding(blob, sniff_encoding(blob.sample))
    origin.member_sha256 = scan.sha256
    wide = scan.encoding in WIDE_ENCODINGS
    codec = "utf-8" if wide else scan.encoding.replace("-sig", "")
    with blob.open() as raw:
        stream = io.BufferedReader(cast(Any, WideText(raw, scan.encoding))) if wide else raw
        yield stream, scan.encoding, codec


def read_segments(
    blob: Blob, store: Store, origin: Origin, fmt: str, make: Callable[[Records, str], Gathered]
) -> list[SourceWriter]:
    """Read a file of segments as one source: ``make(records, encoding)`` gives the reader
    of its format, which is handed every line, told the file ended, then that every row
    is written."""
    with open_as_text(blob, origin) as (stream, encoding, codec):
        writer = store.writer(origin, fmt, encoding, [])
        records = Records(writer, codec)
        reader = make(records, encoding)
        for segment in segments(stream, blank=reader.blank):
            reader.line(segment)
    reader.end()
    records.close()
    reader.close()
    writer.close()
    return [writer]


class Gathered:
    """The segments of one record being gathered, then decoded or quarantined whole.

    Memory stays bounded: past :data:`MAX_RECORD_BYTES` segments are no longer kept and
    the record is quarantined as too long (its first segments kept as evidence). A format's
    reader subclasses it: :meth:`line` for every line, :meth:`end` when the file ends,
    :meth:`close` once its rows are written.
    """

    #: Whether blank lines are handed to :meth:`line` (where lines count by their place).
    blank = False

    def __init__(self, records: Records, codec: str, separator: bytes = b"\n") -> None:
        self.records = records
        self.codec = codec
        self.separator = separator  # between segments in a quarantined record's bytes
        self.lines: list[Segment] = []
        self.size = 0
        self.overflow = False

    def line(self, segment: Segment) -> None:
        """One line (segment) of the file."""
        raise NotImplementedError

    def end(self) -> None:
        """Make the record gathered so far (also called when the file ends)."""
        raise NotImplementedError

    def close(self) -> None:
        """Every row of the file is written: what needs them all (HL7 merges) is done."""

    def append(self, segment: Segment) -> None:
        """Add a segment to the record."""
        self.overflow |= segment.too_long or self.size + len(segment.raw) > MAX_RECORD_BYTES
        if not self.overflow or not self.lines:
            self.lines.append(segment)
            self.size += len(segment.raw)

    def extend_last(self, data: bytes, too_long: bool = False) -> None:
        """The last segment goes on (a continuation line)."""
        self.overflow |= too_long or self.size + len(data) > MAX_RECORD_BYTES
        if not self.overflow:
            self.lines[-1].raw += data
            self.size += len(data)

    def take(self, where: str = "") -> tuple[list[str], Segment, bytes] | None:
        """The record's segments decoded, its first, its bytes; None (quarantined with
        ``where`` before the reason) when they cannot be read, or nothing was gathered."""
        lines, overflow = self.lines, self.overflow
        self.lines, self.size, self.overflow = [], 0, False
        if not lines:
            return None
        first = lines[0]
        raw = self.separator.join(s.raw for s in lines)
        if overflow:
            reason = "longer than the limit"
        else:
            try:
                return [s.raw.decode(self.codec).strip() for s in lines], first, raw
            except UnicodeDecodeError:
                reason = f"not valid {self.codec} text"
        self.records.quarantine(where + reason, raw, first.line, first.offset)
        return None


class Fields:
    """The columns of one record, in the order first met; a column's values kept in order."""

    def __init__(self) -> None:
        self.values: dict[str, list[str]] = {}

    def add(self, name: str, value: str | None) -> None:
        """Add a value to a column (blank values and repeats of a value are not kept)."""
        if value is None:
            return
        value = value.strip()
        if not value:
            return
        kept = self.values.setdefault(name, [])
        if value not in kept:
            kept.append(value)

    def add_each(self, name: str, value: str) -> None:
        """Add a value to a column, even one already there (two results alike are two)."""
        if value:
            self.values.setdefault(name, []).append(value)

    def doctor(self, column: str, components: list[str]) -> None:
        """A doctor written ``id^family^given^...^prefix`` (XCN): name and id columns."""
        self.add(column, person(components, 2))
        self.add(f"{column}_id", at(components, 1))

    def row(self) -> dict[str, str]:
        """The record as one text per column."""
        return {name: JOIN.join(values) for name, values in self.values.items() if values}


class Escapes:
    """HL7 and HPRIM escape sequences (``\\F\\ \\S\\ \\T\\ \\R\\ \\E\\ \\X..\\ \\.br\\``) undone.

    Written here because python-hl7's ``unescape`` logs the field's text on a sequence it
    does not know (personal data in a log) and drops such sequences; here they are kept.
    """

    def __init__(self, field: str, repetition: str, component: str, sub: str, esc: str) -> None:
        self.esc = esc
        self.map = {
            "F": field,
            "R": repetition,
            "S": component,
            "T": sub,
            "E": esc,
            ".br": "\n",
            "H": "",
            "N": "",
        }
        self.pattern = re.compile(
            re.escape(esc) + r"([^" + re.escape(esc) + r"]{1,64})" + re.escape(esc)
        )

    def __call__(self, text: str) -> str:
        if self.esc not in text:
            return text
        return self.pattern.sub(self._one, text)

    def _one(self, found: re.Match[str]) -> str:
        sequence = found.group(1)
        if sequence in self.map:
            return self.map[sequence]
        if sequence[0] == "X" and re.fullmatch(r"(?:[0-9A-Fa-f]{2})+", sequence[1:]):
            data = bytes.fromhex(sequence[1:])
            try:
                return data.decode("utf-8")
            except UnicodeDecodeError:
                return data.decode("latin-1")
        return found.group(0)  # unknown: kept as written


class Parsed:
    """A parsed segment: field ``n`` as repetitions of components of subcomponents."""

    #: Added to HL7's field numbers (HPRIM counts the record's name as its field 1).
    shift = 0
    #: The segment's (record's) name: ``PID``, ``OBX``, ``P``...
    name = ""

    def field(self, number: int) -> list[list[list[str]]]:
        """Field ``number`` (1-based as in the standards), unescaped."""
        raise NotImplementedError

    def reps(self, number: int) -> list[list[str]]:
        """Field ``number``'s repetitions, each as its components' text (made once)."""
        made = self.__dict__.setdefault("_reps", {})
        if number not in made:
            made[number] = [
                [" ".join(p for p in parts if p) for parts in rep] for rep in self.field(number)
            ]
        return cast(list[list[str]], made[number])

    def text(self, number: int, component: int = 1) -> str:
        """Component ``component`` of the first repetition of a field ('' if absent)."""
        reps = self.reps(number)
        return at(reps[0], component) if reps else ""

    def obx_result(self) -> str:
        """An OBX segment (the same in HL7 and HPRIM Santé) as ``code label = value unit
        (flag)``: test OBX-3, value(s) OBX-5, unit OBX-6, abnormal flag OBX-8."""
        n = self.shift
        test = (self.reps(3 + n) or [[]])[0]
        value = ", ".join(v for v in (coded_value(r) for r in self.reps(5 + n)) if v)
        unit = self.text(6 + n) or self.text(6 + n, 2)
        return result_text(at(test, 1), at(test, 2), value, unit, self.text(8 + n))


def at(components: list[str], number: int) -> str:
    """Component ``number`` (1-based) of a list of components ('' if absent)."""
    return components[number - 1] if len(components) >= number else ""


def coded_value(components: list[str]) -> str:
    """A result's value: a coded one (code^text^system) as its text, others as written."""
    if len(components) >= 2 and components[1]:
        return components[1]
    return " ".join(p for p in components if p)


def person(components: list[str], start: int = 1) -> str:
    """A name from components beginning at ``start`` (family, given...): prefix given family."""
    family, given = at(components, start), at(components, start + 1)
    prefix = at(components, start + 4)
    return " ".join(p for p in (prefix, given, family) if p)


def result_text(code: str, label: str, value: str, unit: str, flag: str = "") -> str:
    """One result as read by a person: ``GLU Glucose = 5.2 mmol/L (H)``."""
    test = " ".join(part for part in (code, label) if part)
    measured = " ".join(part for part in (value, unit) if part)
    text = f"{test} = {measured}" if test and measured else test or measured
    return f"{text} ({flag})" if flag and text else text


def hl7_date(value: str) -> str:
    """An HL7/HPRIM timestamp (``198503121030+0100``) written ISO (``1985-03-12 10:30``)."""
    found = _TIMESTAMP.fullmatch(value.strip())
    if found is None:
        return value  # not a timestamp: kept as written
    year, month, day, hour, minute, second = found.groups()
    text = f"{year}-{month}-{day}"
    if hour is not None:
        text += f" {hour}:{minute}" + (f":{second}" if second else "")
    return text


_TIMESTAMP = re.compile(r"(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?(?:\.\d+)?(?:[+-]\d{4})?")
