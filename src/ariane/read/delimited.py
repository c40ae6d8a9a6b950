"""Read delimited text (CSV, TSV, ``;`` or ``|`` separated) into a source, record by record.

Two paths give the same rows:

* a fast path, pyarrow's streaming CSV reader, taken only when a first pass over the bytes
  (:func:`prescan`, which also hashes them) proves the file clean: one encoding throughout,
  no control bytes, no blank lines, no lone carriage returns, balanced quotes (a large
  file is read by it while the prescan runs, and the reading kept only if so);
* a careful path, line by line with Python's csv module, that quarantines each damaged
  record (bad encoding, binary bytes, wrong field count, broken quoting, gigantic lines)
  with its line and byte offset, and keeps reading after it.

The fast path hands over to the careful one as soon as it meets anything unexpected.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import os
import re
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO, Any, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ariane.read.archive import Blob
from ariane.read.encodings import UTF8_SEQUENCE, decode_mixed, single_byte
from ariane.read.sniff import (
    SAMPLE_BYTES,
    Dialect,
    decode_sample,
    guess_legacy_encoding,
    sniff_dialect,
    sniff_encoding,
    split_open_quote,
)
from ariane.read.store import PROVENANCE_FIELDS, Origin, SourceWriter, Store

CHUNK = 4 * 1024 * 1024
#: A line or record longer than this is quarantined, never held whole in memory.
MAX_RECORD_BYTES = 8 * 1024 * 1024

_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NOT_CONTROL = bytes(b for b in range(256) if not _CONTROL.match(bytes([b])))
_ASCII = bytes(range(128))
_NEWLINE_BYTE = 10
#: Every byte but UTF-8's continuation bytes (0x80-0xBF), which ``translate`` keeps.
_NOT_CONTINUATION = bytes(range(0x80)) + bytes(range(0xC0, 0x100))
#: The code pages :func:`guess_legacy_encoding` may choose: one byte is one character,
#: whatever its neighbours, so text decodes when each of its byte values does.
_SINGLE_BYTE = frozenset({"cp1252", "latin_1", "cp850", "mac_roman"})
WIDE_ENCODINGS = {"utf-16", "utf-16-le", "utf-16-be", "utf-32"}


@dataclass
class Prescan:
    """What one pass over the bytes found."""

    sha256: str
    size: int
    lines: int
    clean: bool  # the fast path may read it
    encoding: str
    balanced_quotes: bool = True  # an even number of '"' in the file
    stray_lines: int = 0  # non-ASCII lines not in the chosen encoding (approximately)
    kept_lines: int = 0  # UTF-8 evidence for the chosen encoding
    end: int = -1  # bytes holding records: a DOS end-of-file mark (0x1A) and after excluded
    paired_quotes: bool = True  # every quote opening a field has one closing a field
    fallback: str | None = None  # single-byte encoding of the lines that are not UTF-8


#: A DOS end-of-file mark (CP/M pads with several) and what follows it: no record.
_EOF_MARK = re.compile(rb"\x1a+[\r\n\x1a]*\Z")
# A quote opening a field (after a delimiter or a line start, before text), one closing
# a field (after text, before a delimiter or a line end), and one inside text, which
# strict CSV never has. The delimiter is not known yet: any of them counts.
_OPENING_QUOTE = re.compile(rb'"(?<=[,;\t|\n]")(?=[^,;\t|\r\n"])')
_CLOSING_QUOTE = re.compile(rb'"(?<=[^,;\t|\n"]")(?=[,;\t|\r\n]|\Z)')
_INNER_QUOTE = re.compile(rb'"(?<=[^,;\t|\r\n"]")(?=[^,;\t|\r\n"])')


def prescan(blob: Blob, encoding: str, *, pair_quotes: bool = True) -> Prescan:
    """Hash the bytes, choose the encoding, and check whether the fast path reads them exactly.

    ``encoding`` is the sniffed one; unless a BOM or UTF-16/32 fixed it, the choice between
    UTF-8 and a legacy code page is made on the whole file: UTF-8 unless most non-ASCII
    lines are not UTF-8. The careful path reads the minority lines in the other encoding.
    ``pair_quotes=False`` skips pairing CSV quotes (``paired_quotes`` then stays True): JSON
    holds quotes in every line, and pairing them is most of the pass.
    """
    digest = hashlib.sha256()
    size = lines = quotes = 0
    structure_clean = encoding not in WIDE_ENCODINGS
    good = bad = 0
    bad_sample = bytearray()
    high: set[int] = set()  # byte values >= 0x80 of the text UTF-8 did not read whole
    carry = b""
    previous_last = b"\n"  # as if a line ended just before the file: a leading blank line
    eof_marks = 0  # 0x1A bytes seen, the only control byte allowed (at the very end)
    # The file's last block and the 4 KiB before it (the DOS end-of-file mark is looked
    # for there), kept without copying every block.
    before = last = b""
    quote_balance, inner_quotes = 0, False
    for block in _hashed_blocks(blob, digest):
        size += len(block)
        before, last = (before + last[-4096:])[-4096:], block
        if encoding in WIDE_ENCODINGS:
            continue
        lines += block.count(b"\n")
        quotes += block.count(b'"')
        first = (
            block[3:4] if size == len(block) and block.startswith(b"\xef\xbb\xbf") else block[:1]
        )
        edge = previous_last + first
        previous_last = block[-1:]
        crs = block.count(b"\r")
        controls = block.translate(None, _NOT_CONTROL)  # what is left are control bytes
        eof_marks += controls.count(b"\x1a")
        if structure_clean and (
            b"\n\n" in block
            or (crs and (b"\n\r\n" in block or _lone_cr(block, crs)))
            or edge in (b"\n\n", b"\n\r")
            or controls.strip(b"\x1a")
        ):
            structure_clean = False
        # Decode whole lines only, so a character cut by the chunk edge is not an error.
        text = carry + block
        cut = text.rfind(b"\n") + 1
        carry, text = text[cut:], text[:cut]
        g, b = _utf8_lines(text, bad_sample, high)
        good, bad = good + g, bad + b
        if pair_quotes and b'"' in text:
            balance, inner = _quote_pairs(text)
            quote_balance, inner_quotes = quote_balance + balance, inner_quotes or inner
    if pair_quotes and b'"' in carry:
        balance, inner = _quote_pairs(carry)
        quote_balance, inner_quotes = quote_balance + balance, inner_quotes or inner
    g, b = _utf8_lines(carry, bad_sample, high)
    good, bad = good + g, bad + b
    tail = before + last
    mark = _EOF_MARK.search(tail) if eof_marks else None
    end = size - (len(mark.group()) if mark else 0)
    if eof_marks and (mark is None or mark.group().count(b"\x1a") != eof_marks):
        structure_clean = False  # a 0x1A inside the text: binary damage, read carefully
    if tail[: len(tail) - (size - end)].endswith(b"\r"):
        structure_clean = False  # a carriage return alone ends the text
    found = Prescan(digest.hexdigest(), size, lines, structure_clean, encoding, quotes % 2 == 0)
    found.end = end
    found.paired_quotes = quote_balance == 0 and not inner_quotes
    if encoding in WIDE_ENCODINGS or encoding == "utf-8-sig":
        found.stray_lines, found.kept_lines = bad, good
        found.fallback = _single_byte_encoding(bytes(bad_sample)) if bad else None
        return found
    if not bad:
        found.encoding, found.kept_lines = "utf-8", good
        return found
    legacy = _single_byte_encoding(bytes(bad_sample))
    if good >= bad:
        found.clean, found.encoding, found.fallback = False, "utf-8", legacy
        found.stray_lines, found.kept_lines = bad, good
        return found
    # With no UTF-8 line, every byte >= 0x80 of the file is in ``high``: for a single-byte
    # code page, they tell without reading the file again whether it decodes whole.
    decodes = (
        _reads_as(bytes(sorted(high)), legacy) if legacy in _SINGLE_BYTE else _decodes(blob, legacy)
    )
    found.clean = structure_clean and not good and decodes
    found.encoding, found.stray_lines, found.kept_lines = legacy, good, bad
    return found


def _single_byte_encoding(lines: bytes) -> str:
    """The code page of lines that are not UTF-8, judged on the lines Windows-1252 reads:
    one line of binary damage must not turn a Windows file into Latin-1."""
    readable = [line for line in lines.split(b"\n") if _reads_as(line, "cp1252")]
    return guess_legacy_encoding(b"\n".join(readable) if readable else lines)


def _reads_as(line: bytes, encoding: str) -> bool:
    try:
        line.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _quote_pairs(text: bytes) -> tuple[int, bool]:
    """Quotes opening fields minus quotes closing them, and whether a quote sits in text.

    In strictly quoted CSV each opening quote has its closing one and no other quote
    stands alone inside text; otherwise a quote left open could join lines in pyarrow,
    and only the careful path tells a note over several lines from a broken quote.
    """
    # A line starts the text: its first quote may open a field. (Counted apart rather
    # than by putting a line break before the text, a copy of the whole block; the other
    # two patterns need a character before the quote other than a line break.)
    opened = len(_OPENING_QUOTE.findall(text)) + _opens_at_start(text)
    closed = len(_CLOSING_QUOTE.findall(text))
    return opened - closed, _INNER_QUOTE.search(text) is not None


def _opens_at_start(text: bytes) -> int:
    """1 when the text's first byte is a quote opening a field, as after a line break."""
    return int(text[:1] == b'"' and len(text) > 1 and text[1] not in b',;\t|\r\n"')


def _decodes(blob: Blob, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    with blob.open() as stream:
        try:
            while block := stream.read(CHUNK):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def _lone_cr(block: bytes, crs: int) -> bool:
    """A carriage return not followed by a line feed (``crs``: the block's count of them)."""
    return crs != block.count(b"\r\n") + (1 if block.endswith(b"\r") else 0)


def _utf8_lines(text: bytes, bad_sample: bytearray, high: set[int]) -> tuple[int, int]:
    """UTF-8 evidence in whole lines: (multi-byte characters if all valid, invalid lines).

    The byte values >= 0x80 of a text that is not all UTF-8 are added to ``high``.
    """
    if not text or text.isascii():
        return 0, 0
    head = text[: text.find(b"\n", 1 << 16) + 1]  # whole lines: a cut character is no error
    if (not head or _reads_as(head, "utf-8")) and is_utf8(text):
        # (The head first: a legacy block fails there at once, Arrow would check it all.)
        # Bytes beyond characters (each character has one lead byte, the rest are
        # continuation bytes): a cheap measure of how much UTF-8 the text holds, counted
        # without decoding it into a string (Arrow validates, ``translate`` counts).
        return len(text.translate(None, _NOT_CONTINUATION)), 0
    # Values already seen are deleted first: after the first blocks, little is left.
    high.update(text.translate(None, _ASCII + bytes(sorted(high))))
    return _lines_read_as_utf8(text, bad_sample)


def _lines_read_as_utf8(text: bytes, bad_sample: bytearray) -> tuple[int, int]:
    """(non-ASCII lines UTF-8 reads, lines it does not), the latter added to ``bad_sample``
    (up to 64 KiB, each with its line break).

    Array operations (outside the interpreter's lock, beside the reading) find the lines
    UTF-8 cannot read whatever follows: a continuation byte after an ASCII one, a lead
    byte not followed by a continuation byte, a byte no UTF-8 holds. In a legacy text that
    is nearly every line holding a byte >= 0x80; only the others are decoded one by one.
    """
    data = np.frombuffer(text, dtype=np.uint8)
    breaks = np.flatnonzero(data == _NEWLINE_BYTE)
    high = np.flatnonzero(data >= 0x80)
    before = data[np.maximum(high - 1, 0)]
    before[high == 0] = 0  # (the text's first byte follows a line break)
    after = np.append(data, np.uint8(0))[high + 1]  # (the last is followed by nothing)
    byte = data[high]
    broken = (
        ((byte < 0xC0) & (before < 0x80))
        | ((byte >= 0xC0) & ((after < 0x80) | (after >= 0xC0)))
        | (byte == 0xC0)
        | (byte == 0xC1)
        | (byte >= 0xF5)
    )
    line_of = np.searchsorted(breaks, high)  # a byte's line: the breaks before it
    holds_high = np.zeros(len(breaks) + 1, dtype=bool)
    holds_high[line_of] = True
    bad = np.zeros(len(breaks) + 1, dtype=bool)
    bad[line_of[broken]] = True
    starts = np.concatenate(([0], breaks + 1))
    ends = np.append(breaks, len(data))
    good = 0
    for line in np.flatnonzero(holds_high & ~bad).tolist():
        try:
            text[starts[line] : ends[line]].decode("utf-8")
            good += 1
        except UnicodeDecodeError:
            bad[line] = True
    for line in np.flatnonzero(bad).tolist():
        if len(bad_sample) >= 65536:
            break
        bad_sample.extend(text[starts[line] : ends[line]] + b"\n")
    return good, int(bad.sum())


@dataclass
class TextEncoding:
    """What readers of lines that are not delimited records need of :func:`prescan`."""

    encoding: str
    sha256: str
    fallback: str | None  # single-byte encoding of the lines that are not UTF-8


def text_encoding(blob: Blob, encoding: str) -> TextEncoding:
    """:func:`prescan`'s encoding, digest and fallback; one cheap pass when all is UTF-8.

    ``encoding`` is the sniffed one. Text that is valid UTF-8 throughout is UTF-8 with no
    fallback, whatever the sample suggested (:func:`prescan` finds no line that is not):
    that is told by hashing and validating whole-line blocks in C, without decoding them
    into Python strings (a third of the work). Any other text, a byte order mark, a wide
    encoding, goes through :func:`prescan`, whose verdict is then the same as before.
    """
    if encoding not in WIDE_ENCODINGS and encoding != "utf-8-sig":
        digest = _utf8_digest(blob)
        if digest is not None:
            return TextEncoding("utf-8", digest, None)
    scan = prescan(blob, encoding, pair_quotes=False)
    return TextEncoding(scan.encoding, scan.sha256, scan.fallback)


def _utf8_digest(blob: Blob) -> str | None:
    """The SHA-256 of bytes that are valid UTF-8 throughout; None if they are not."""
    digest = hashlib.sha256()
    carry = b""
    for block in _hashed_blocks(blob, digest):
        # Whole lines only: a character cut by the block's edge is no error.
        text = carry + block
        cut = text.rfind(b"\n") + 1
        carry, text = text[cut:], text[:cut]
        if not is_utf8(text) or len(carry) > MAX_RECORD_BYTES:
            return None  # (a line this long: prescan, whose memory is its own)
    return digest.hexdigest() if is_utf8(carry) else None


def _hashed_blocks(blob: Blob, digest: Any) -> Iterator[bytes]:
    """The blob's blocks in order, each hashed into ``digest`` in a thread while the caller
    checks it (hashlib releases the GIL); a block is hashed only once the one before it is
    (the digest is of the bytes in order), and the last before the blocks run out."""
    hashed: Future[None] | None = None
    with blob.open() as stream, ThreadPoolExecutor(max_workers=1) as hasher:
        while block := stream.read(CHUNK):
            if hashed is not None:
                hashed.result()
            hashed = hasher.submit(digest.update, block)
            yield block
        if hashed is not None:
            hashed.result()


def is_utf8(data: bytes) -> bool:
    """Whether ``data`` is valid UTF-8, as Python's strict decoder tells, told by Arrow's
    validator (several times faster than decoding: no string is made)."""
    if data.isascii():
        return True
    if len(data) >= 2**31:
        return _reads_as(data, "utf-8")
    text = pa.Array.from_buffers(
        pa.string(),
        1,
        [None, pa.py_buffer(np.array([0, len(data)], dtype=np.int32)), pa.py_buffer(data)],
    )
    try:
        text.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def read_delimited(blob: Blob, store: Store, origin: Origin, *, fast: bool = True) -> SourceWriter:
    """Read one delimited text file into a new source; returns its (closed) writer.

    ``fast=False`` skips the pyarrow path (tests compare both paths on the same bytes).
    """
    sniffed = sniff_encoding(blob.sample)
    early: tuple[SourceWriter, Dialect, bool] | None = None
    with ThreadPoolExecutor(max_workers=1) as beside:
        # The prescan runs in Python, pyarrow and DuckDB mostly outside the interpreter's
        # lock: a large file is read by the fast path meanwhile, kept only if the prescan
        # then chooses that very reading.
        scanning = beside.submit(prescan, blob, sniffed)
        if fast and is_worth_reading_early(blob, store, sniffed):
            early = _read_early(blob, store, origin, sniffed)
        try:
            scan = scanning.result()
        except BaseException:
            if early is not None:
                early[0].discard()
            raise
    encoding = scan.encoding
    origin.member_sha256 = scan.sha256
    records = _Records(blob, scan.end)
    sample, truncated = dialect_sample(records)
    dialect = sniff_dialect(decode_sample(sample, encoding, scan.fallback), truncated)
    # pyarrow skips the header as one physical line: a header spanning lines needs care.
    simple_header = dialect.header_lines <= 1
    # Quotes matter only where they quote: there, each one left open needs care.
    clean = scan.clean and ((scan.balanced_quotes and scan.paired_quotes) or not dialect.quoting)
    chosen = fast and clean and simple_header
    if early is not None:
        writer, early_dialect, read = early
        # The same bytes, dialect and encoding the fast path would be given now.
        same = early_dialect == dialect and encoding == sniffed and scan.end == scan.size
        if same and chosen and read:
            writer.close()
            return writer
        writer.discard()
        if same:
            chosen = False  # the fast path would refuse these bytes again
        else:
            writer = _writer(store, origin, dialect, encoding, writer.source_id)
    else:
        writer = _writer(store, origin, dialect, encoding)
    if chosen and _fast(records, dialect, encoding, writer):
        writer.close()
        return writer
    writer.discard()
    _careful(records, dialect, encoding, scan.fallback, writer)
    writer.close()
    return writer


def _writer(
    store: Store, origin: Origin, dialect: Dialect, encoding: str, source_id: int | None = None
) -> SourceWriter:
    return store.writer(
        origin,
        _format_name(dialect),
        encoding,
        dialect.columns,
        has_header=dialect.has_header,
        source_id=source_id,
    )


#: Files given from this size are read by the fast path while the prescan runs (below it
#: the prescan is quick, and a reading it may waste is not worth starting).
EARLY_BYTES = 8 * CHUNK


def is_worth_reading_early(blob: Blob, store: Store, encoding: str) -> bool:
    """A large file given as such (not an archive's member, never opened twice at once),
    of a byte encoding, not sharing a transaction with other small sources."""
    if blob.inner_path is not None or store.shared_transaction or encoding in WIDE_ENCODINGS:
        return False
    try:
        return os.path.getsize(blob.path) >= EARLY_BYTES
    except OSError:
        return False


def _read_early(
    blob: Blob, store: Store, origin: Origin, encoding: str
) -> tuple[SourceWriter, Dialect, bool] | None:
    """The fast path on the sniffed encoding and the whole file (no end-of-file mark), as
    if the prescan had found them: the writer, its dialect and whether it read the file.
    None when it could not start (:func:`read_delimited` then reads as before)."""
    records = _Records(blob, -1)
    try:
        sample, truncated = dialect_sample(records)
        dialect = sniff_dialect(decode_sample(sample, encoding, None), truncated)
    except Exception:  # noqa: BLE001 - sniffed again, on the prescan's encoding, after it
        return None
    if dialect.header_lines > 1:
        return None
    writer = _writer(store, origin, dialect, encoding)
    return writer, dialect, _fast(records, dialect, encoding, writer)


class _Records:
    """Opens the bytes of a file that hold records: a DOS end-of-file mark is left out."""

    def __init__(self, blob: Blob, end: int) -> None:
        self.blob = blob
        self.end = end

    def open(self) -> IO[bytes]:
        """A binary stream of the bytes before ``end`` (all of them when ``end`` < 0)."""
        stream = self.blob.open()
        if self.end < 0:
            return stream
        return cast(IO[bytes], io.BufferedReader(_Upto(stream, self.end), buffer_size=CHUNK))


class _Upto(io.RawIOBase):
    """The first ``end`` bytes of a stream."""

    def __init__(self, inner: IO[bytes], end: int) -> None:
        self._inner = inner
        self._left = end

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._left <= 0:
            return 0
        data = self._inner.read(min(len(buffer), self._left))
        self._left -= len(data)
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._inner.close()
        super().close()


#: Records a sample must hold for the dialect to be judged (a header and rows under it).
SAMPLE_RECORDS = 3


def dialect_sample(records: _Records) -> tuple[bytes, bool]:
    """The bytes to sniff the dialect from, and whether they stop before the file's end.

    Usually the blob's sample; a header wider than the sample (thousands of columns) is
    read on, up to a few records or twice the record limit, so it is never cut.
    """
    sample = records.blob.sample
    end = records.end if records.end >= 0 else None
    if end is not None and len(sample) >= end:
        return sample[:end], False
    if len(sample) < SAMPLE_BYTES:
        return sample, False
    if sample.count(b"\n") >= SAMPLE_RECORDS:
        return sample, True
    more = bytearray()
    with records.open() as stream:
        while len(more) < 2 * MAX_RECORD_BYTES and more.count(b"\n") < SAMPLE_RECORDS:
            block = stream.read(CHUNK)
            if not block:
                return bytes(more), False
            more += block
    return bytes(more), True


def _format_name(dialect: Dialect) -> str:
    return {"\t": "tsv", ",": "csv"}.get(dialect.delimiter, "csv")


# -- fast path ---------------------------------------------------------------------------


class _Refused(Exception):
    """The fast path met something only the careful path reads exactly."""


def _fast(records: _Records, dialect: Dialect, encoding: str, writer: SourceWriter) -> bool:
    """Read with pyarrow; False (after writing nothing final) if the file needs care."""

    def refuse(_row: object) -> str:
        return "error"  # pyarrow then raises; the careful path quarantines the record

    codec = {"utf-8": "utf8", "utf-8-sig": "utf8"}.get(encoding, encoding)
    names = writer.columns
    try:
        with records.open() as stream:
            reader = pacsv.open_csv(
                stream,
                read_options=pacsv.ReadOptions(
                    column_names=names,
                    skip_rows=dialect.hint_lines + (1 if dialect.has_header else 0),
                    encoding=codec,
                    block_size=MAX_RECORD_BYTES,
                    use_threads=True,
                ),
                parse_options=pacsv.ParseOptions(
                    delimiter=dialect.delimiter,
                    quote_char='"' if dialect.quoting else False,
                    double_quote=True,
                    newlines_in_values=True,
                    ignore_empty_lines=False,
                    invalid_row_handler=refuse,
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types={n: pa.string() for n in names},
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                    null_values=[],
                    check_utf8=True,
                ),
            )
            provenance = _Provenance(dialect, writer.source_id)
            schema = pa.schema([(n, pa.string()) for n in names] + PROVENANCE_FIELDS)
            writer.stream(schema, provenance.batches(reader))
            writer.rows = provenance.record - 1
    except Exception:  # noqa: BLE001 - any failure here only means "read it carefully"
        return False
    return True


class _Provenance:
    """Adds record and line numbers to pyarrow's batches; refuses what needs care."""

    def __init__(self, dialect: Dialect, source_id: int) -> None:
        self.header = dialect.header_fields if dialect.has_header else None
        self.source_id = source_id
        self.record = 1
        self.line = 1 + dialect.hint_lines + dialect.header_lines

    def batches(self, reader: pacsv.CSVStreamingReader) -> Iterator[pa.RecordBatch]:
        last_span = 1
        for batch in reader:
            count = batch.num_rows
            if not count:
                continue
            spans = np.ones(count, dtype=np.int64)
            sizes = np.zeros(count, dtype=np.int64)
            for column in batch.columns:
                if _may_hold_newline(column):
                    spans += pc.count_substring(column, "\n").to_numpy(zero_copy_only=False)
                sizes += pc.binary_length(column).to_numpy(zero_copy_only=False)
            if int(sizes.max()) + batch.num_columns > MAX_RECORD_BYTES:
                raise _Refused  # the careful path quarantines gigantic records
            if self.header is not None and _repeats_header(batch, self.header):
                raise _Refused  # the careful path quarantines repeated header rows
            starts = self.line + np.concatenate(([0], np.cumsum(spans[:-1])))
            records = np.arange(self.record, self.record + count, dtype=np.int64)
            yield pa.RecordBatch.from_arrays(
                [
                    *batch.columns,
                    pa.array(np.full(count, self.source_id, dtype=np.int32)),
                    pa.array(records),
                    pa.array(starts),
                ],
                schema=pa.schema(list(batch.schema) + PROVENANCE_FIELDS),
            )
            self.record += count
            self.line += int(spans.sum())
            last_span = int(spans[-1])
        if last_span > 1:
            # pyarrow accepts a quote left open at the end of the file, swallowing the
            # lines after it; only the careful path tells that from a long note.
            raise _Refused


def _may_hold_newline(column: pa.Array) -> bool:
    """False when no value of a string column holds a line break (counting them is slower).

    The whole character buffer is searched (a C ``memchr``), which may reach past a sliced
    array's values: a False is then still exact, a True only means "count them".
    """
    data = column.buffers()[2]
    return data is not None and data.to_pybytes().find(b"\n") >= 0


def _repeats_header(batch: pa.RecordBatch, header: list[str]) -> bool:
    if len(header) != batch.num_columns:
        return False
    same = pc.equal(batch.column(0), header[0])
    if not pc.any(same).as_py():
        return False  # the common case, decided on the first column alone
    for column, name in zip(batch.columns[1:], header[1:], strict=True):
        same = pc.and_(same, pc.equal(column, name))
    return bool(pc.any(same).as_py())


# -- careful path ------------------------------------------------------------------------


@dataclass
class _Line:
    number: int
    offset: int
    raw: bytes
    text: str
    problem: str | None


class _RecordTooLong(Exception):
    pass


def raw_lines(
    stream: IO[bytes], newline: bytes = b"\n", limit: int | None = None
) -> Iterator[tuple[bytes, bool]]:
    """Lines with their terminator; one over ``limit`` bytes comes cut, flagged True.

    Memory stays bounded whatever the input: the rest of an over-long line is skipped.
    """
    limit = limit or MAX_RECORD_BYTES
    pending = b""
    skipping = False
    while True:
        block = stream.read(CHUNK)
        if not block:
            break
        pending += block
        start = 0
        while True:
            end = pending.find(newline, start)
            if end < 0:
                break
            end += len(newline)
            if skipping:
                skipping = False
            elif end - start > limit:
                yield pending[start : start + limit], True  # it ended within the last block
            else:
                yield pending[start:end], False
            start = end
        pending = pending[start:]
        if len(pending) > limit:
            if not skipping:
                yield pending[:limit], True
            skipping = True
            pending = b""
    if pending and not skipping:
        yield pending, False


class WideText(io.RawIOBase):
    """UTF-16/32 bytes re-encoded as UTF-8, so every later step sees one byte encoding."""

    def __init__(self, inner: IO[bytes], encoding: str) -> None:
        self._inner = inner
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._buffer:
            block = self._inner.read(CHUNK)
            self._buffer = self._decoder.decode(block, final=not block).encode("utf-8")
            if not block:
                break
        data, self._buffer = self._buffer[: len(buffer)], self._buffer[len(buffer) :]
        buffer[: len(data)] = data
        return len(data)


def decode_line(line: bytes, encoding: str, fallback: str | None) -> tuple[str, str | None, bool]:
    """A line's text, why it cannot be read (None when it can), and whether it was read
    in a second encoding (a repair the reader counts).

    Files joined or edited by hand hold lines of two encodings (:mod:`.encodings`). A line
    of valid UTF-8 is UTF-8; in a UTF-8 file, any other line is read byte by byte, UTF-8
    characters as such and the rest in ``fallback`` (Windows-1252 when unknown); in a file
    of a single-byte ``encoding``, a line holding UTF-8 characters is read the same way.
    Only a line that no encoding reads, or that holds control bytes, has a problem.
    """
    binary = "binary bytes in text" if _CONTROL.search(line) else None
    if line.isascii():
        return line.decode("ascii"), binary, False
    try:
        return line.decode("utf-8"), binary, encoding != "utf-8"
    except UnicodeDecodeError:
        pass
    if encoding == "utf-8":
        text = decode_mixed(line, fallback)
        if text is None:
            tried = f"{encoding} or {single_byte(fallback)}"
            return line.decode(encoding, errors="replace"), f"not valid {tried} text", False
        return text, binary, True
    if UTF8_SEQUENCE.search(line) and (text := decode_mixed(line, encoding)) is not None:
        return text, binary, True
    try:
        return line.decode(encoding), binary, False
    except UnicodeDecodeError:
        return line.decode(encoding, errors="replace"), f"not valid {encoding} text", False


class _Careful:
    """Line-by-line reading that quarantines exactly the damaged records."""

    def __init__(
        self, dialect: Dialect, encoding: str, fallback: str | None, writer: SourceWriter
    ) -> None:
        self.dialect = dialect
        self.encoding = encoding
        self.fallback = fallback
        self.writer = writer
        self.width = len(writer.columns)
        self.pending: deque[_Line] = deque()
        self.current: list[_Line] = []
        self.record = 0
        self.header_seen = not dialect.has_header
        self.header: list[str] | None = None
        self.preamble = dialect.preamble
        self.second_encoding = 0  # lines read (whole or in part) in a second encoding

    def lines(self, stream: io.BufferedReader[Any]) -> Iterator[_Line]:
        """Numbered lines with their byte offset and, if damaged, why."""
        offset = 0
        peek = stream.peek(SAMPLE_BYTES)
        newline = b"\r" if b"\n" not in peek and b"\r" in peek else b"\n"  # classic Mac
        for number, (raw, too_long) in enumerate(raw_lines(stream, newline), start=1):
            if number <= self.dialect.hint_lines:
                offset += len(raw)
                continue  # Excel's "sep=;" names the delimiter: no record
            body = raw[3:] if offset == 0 and raw.startswith(b"\xef\xbb\xbf") else raw
            if too_long:
                text = body.decode(self.encoding, errors="replace")
                problem: str | None = f"line longer than {MAX_RECORD_BYTES // 1024**2} MiB"
            else:
                text, problem, second = decode_line(body, self.encoding, self.fallback)
                self.second_encoding += second and problem is None
            yield _Line(number, offset, raw, text, problem)
            offset += len(raw)

    def feed(self, source: Iterator[_Line]) -> Iterator[str]:
        size = 0
        while True:
            if self.pending:
                line = self.pending.popleft()
            else:
                found = next(source, None)
                if found is None:
                    return
                line = found
            if not self.current:
                size = 0  # a new record starts
            self.current.append(line)
            size += len(line.raw)
            if line.problem and line.problem.startswith("line longer"):
                raise _RecordTooLong
            if size > MAX_RECORD_BYTES:
                raise _RecordTooLong
            yield line.text

    def run(self, stream: io.BufferedReader[Any]) -> None:
        source = self.lines(stream)
        while True:
            self.current = []
            reader = csv.reader(
                self.feed(source),
                delimiter=self.dialect.delimiter,
                quotechar='"',
                quoting=csv.QUOTE_MINIMAL if self.dialect.quoting else csv.QUOTE_NONE,
                strict=False,
            )
            try:
                for fields in reader:
                    self.take(fields)
                    self.current = []
                if not self.pending:
                    return
            except _RecordTooLong:
                self.overflow()
            except csv.Error as exc:
                self.broken(f"bad quoting ({str(exc).split(' - ')[0]})")

    def take(self, fields: list[str]) -> None:
        lines = self.current
        if not fields:
            return  # a blank line: no record
        quote_left_open = False
        if self.dialect.quoting and not self.quotes_close(lines):
            # A quote that runs past the end of its line without closing properly into a
            # whole record joins records: its line is read alone, the next ones again.
            self.pending.extendleft(reversed(lines[1:]))
            lines = self.current = lines[:1]
            fields = split_open_quote(lines[0].text, self.dialect.delimiter)
            quote_left_open = True
        if self.preamble:
            # A title above the header is no row, yet nothing is dropped silently.
            self.preamble -= 1
            self.keep_aside(lines, "above the header row (a title)")
            return
        if not self.header_seen:
            self.header_seen = True
            self.header = fields
            return
        problem = next((ln.problem for ln in lines if ln.problem), None)
        if problem is None and fields == self.header:
            problem = "header row repeated (files joined end to end?)"
        if problem is None and len(fields) != self.width:
            problem = (
                "unterminated quote"
                if quote_left_open
                else f"expected {self.width} fields, found {len(fields)}"
            )
        if problem is None:
            self.record += 1
            self.writer.row(fields, self.record, lines[0].number)  # type: ignore[arg-type]
            return
        self.keep_aside(lines, problem)

    def quotes_close(self, lines: list[_Line]) -> bool:
        """Whether a record's quotes close where they should.

        On one line: before its end. Over several lines (a note with line breaks): each
        quote closes strictly (before a delimiter or a line end), and the record has the
        table's width, or else no line it took in between its first and last would be a
        whole record alone (then it is one damaged record, kept aside whole, not pieces).
        """
        if len(lines) == 1 and lines[0].text.count('"') % 2 == 0:
            return True  # no quote left open (a stray one inside a field stays as it was)
        text = "".join(ln.text for ln in lines)
        delimiter = self.dialect.delimiter
        try:
            records = list(
                csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
            )
        except csv.Error as exc:
            return len(lines) == 1 and "unexpected end of data" not in str(exc)
        if len(lines) == 1 or (len(records) == 1 and len(records[0]) == self.width):
            return True
        return not any(
            len(split_open_quote(ln.text, delimiter)) == self.width for ln in lines[1:-1]
        )

    def overflow(self) -> None:
        """A record grew past the limit: a line too long, or a quote that never closed."""
        lines = self.current
        self.current = []
        if not lines:
            return
        self.pending.extendleft(reversed(lines[1:]))
        first = lines[0]
        if len(lines) == 1:
            reason = first.problem or f"record longer than {MAX_RECORD_BYTES // 1024**2} MiB"
            if not self.header_seen:
                self.header_seen = True  # a damaged header is still the header
            self.keep_aside([first], reason)
            return
        if first.problem is None:
            self.current = [first]
            self.take(split_open_quote(first.text, self.dialect.delimiter) or [""])
            self.current = []
            return
        if not self.header_seen:
            self.header_seen = True  # a damaged header is still the header
        self.keep_aside([first], first.problem)

    def broken(self, reason: str) -> None:
        """Quarantine a damaged record; after a structural break, re-read the lines after it."""
        lines = self.current
        self.current = []
        if not lines:
            return
        damaged_line = next((ln for ln in lines if ln.problem), None)
        if damaged_line is None and len(lines) > 1:
            # A broken quote swallows the records after it: keep only the first line aside
            # and read the following lines again as records of their own.
            self.pending.extendleft(reversed(lines[1:]))
            lines = lines[:1]
        if not self.header_seen:
            self.header_seen = True  # a damaged header is still the header
            if damaged_line is None:
                return
        self.keep_aside(lines, reason)

    def keep_aside(self, lines: list[_Line], reason: str) -> None:
        """Quarantine the record made of ``lines``, with its number, first line and offset."""
        first = lines[0]
        self.record += 1
        self.writer.quarantine(
            self.record,
            reason,
            b"".join(ln.raw for ln in lines),
            line=first.number,
            byte_offset=first.offset,
        )


def _careful(
    records: _Records,
    dialect: Dialect,
    encoding: str,
    fallback: str | None,
    writer: SourceWriter,
) -> None:
    csv.field_size_limit(MAX_RECORD_BYTES)
    with records.open() as raw:
        inner: io.RawIOBase | IO[bytes] = raw
        if encoding in WIDE_ENCODINGS:
            inner = WideText(raw, encoding)
            encoding, fallback = "utf-8", None
        if encoding == "utf-8-sig":
            encoding = "utf-8"  # the BOM is stripped from line 1 only, never from others
        stream = io.BufferedReader(cast(Any, inner), buffer_size=CHUNK)
        careful = _Careful(dialect, encoding, fallback, writer)
        careful.run(stream)
    note_second_encoding(writer, careful.second_encoding)


def note_second_encoding(writer: SourceWriter, lines: int) -> None:
    """Say in the source's note how many lines were read in a second encoding (a repair)."""
    if lines:
        said = f"{lines} line{'s' if lines > 1 else ''} in a second encoding, read as such"
        note = writer.origin.note
        writer.origin.note = f"{note}; {said}" if note else said
