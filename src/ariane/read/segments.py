"""What HL7 v2 and HPRIM share: segments read as a stream, one record's values gathered.

Both formats write a message as segments (``PID|...``, ``OBX|...``) ended by a carriage
return, a line feed or both, sometimes framed by MLLP (``0x0B`` ... ``0x1C 0x0D``) when
a log records what went over the wire. :func:`segments` yields each segment with its
line number and byte offset, reading the file block by block so that a log of any size
keeps memory bounded; :class:`Fields` gathers one record's columns, several values of a
column (repetitions, several OBX) joined in order.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from ariane.read.delimited import CHUNK, MAX_RECORD_BYTES

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


def segments(stream: IO[bytes], *, skip_bom: bool = True) -> Iterator[Segment]:
    """The non-blank segments of a stream, each with its line (CR, LF, CRLF end a line)."""
    pending = b""
    base = 0  # byte offset of ``pending`` in the file
    line = 1
    first = skip_bom
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
            elif piece.strip():
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

    def row(self) -> dict[str, str]:
        """The record as one text per column."""
        return {name: JOIN.join(values) for name, values in self.values.items() if values}


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
