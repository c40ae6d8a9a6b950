"""Read JSON and NDJSON: one record per object, wherever the records sit in the document.

A top-level array gives its elements; several values one after the other (concatenated
JSON) give one record each; a lone object is searched for its tables of records, each
read as a source of its own named by its path: every list of objects in it
(``{"data": [...]}``) and every mapping of ids to records (``{"patients": {"-Mx01": {...},
...}}``, each member one record with its id in ``_key``); an object holding neither is
one record itself. Records are read as a stream, one value at a time, so a large file
never sits in memory whole; a damaged record is quarantined with its line and byte offset
and reading resumes at the next one, found by following strings and brackets
(:mod:`ariane.read.jsonscan`). NDJSON is read line by line; a line that does not decode as
one value is read as several. Rows are made by :mod:`ariane.read.jsonrows`.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import json
import re
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any, cast

import pyarrow.compute as pc

from ariane.errors import InputError
from ariane.read.archive import Blob
from ariane.read.delimited import (
    CHUNK,
    MAX_RECORD_BYTES,
    WIDE_ENCODINGS,
    WideText,
    decode_line,
    is_worth_reading_early,
    note_second_encoding,
    raw_lines,
    text_encoding,
)
from ariane.read.encodings import mixed_errors
from ariane.read.jsonrows import Records
from ariane.read.jsonscan import (
    DAMAGED,
    DECODER,
    EVIDENCE,
    SPACE_AND_COMMAS,
    Text,
    TooLong,
    boundary,
    lenient,
    skip_damaged,
)
from ariane.read.ndjsonbulk import BLOCK_BYTES, Bulk, bulk_rows
from ariane.read.sniff import guess_legacy_encoding, sniff_encoding
from ariane.read.store import Origin, SourceWriter, Store

#: A mapping is read as records keyed by id when this share of its values are objects.
KEYED_OBJECTS = 0.75
#: Objects within objects searched for tables of records.
MAX_TABLE_DEPTH = 16
#: A member name and its colon.
_NAME = re.compile(r'("[^"\\\n]*(?:\\.[^"\\\n]*)*")[ \t\r\n]*:[ \t\r\n]*')


def read_json(blob: Blob, store: Store, origin: Origin) -> list[SourceWriter]:
    """Read a JSON document or NDJSON file: one source, or one per table of records in it."""
    # JSON should be UTF-8; exports in a legacy code page exist and are read in it.
    if blob.format == "ndjson":
        tables = _read_ndjson(blob, store, origin)
    else:
        encoding, origin.member_sha256, fallback = _encoding_and_digest(blob)
        tables = _Tables(store, origin, blob.format, encoding)
        with blob.open() as stream:
            # Bytes UTF-8 rejects in a UTF-8 document are read in its second encoding.
            errors = mixed_errors(fallback) if fallback else "strict"
            text = Text(stream, encoding, byte=_bom_bytes(blob.sample, encoding), errors=errors)
            try:
                _document(text, tables)
            except UnicodeDecodeError:
                # One JSON document has no lines to set aside: refuse it rather than
                # read altered text.
                raise InputError(
                    f"{blob.where}: not valid {encoding} text after record {tables.all[-1].record}"
                ) from None
    for records in tables.all:
        records.close()
        records.writer.close()
    return [records.writer for records in tables.all]


def _read_ndjson(blob: Blob, store: Store, origin: Origin) -> _Tables:
    """Read NDJSON lines in the encoding chosen on all of them (:func:`text_encoding`).

    A large UTF-8 file is read as such while that choice is made beside (it hashes and
    validates, mostly outside the interpreter's lock), the reading kept if the choice is
    the same, UTF-8 without a second encoding, as for delimited files.
    """
    sniffed = sniff_encoding(blob.sample)
    early: _Tables | None = None
    source_id = None  # that of a reading thrown away, given to the next
    with ThreadPoolExecutor(max_workers=1) as beside:
        choosing = beside.submit(text_encoding, blob, sniffed)
        if sniffed == "utf-8" and is_worth_reading_early(blob, store, sniffed):
            early = _Tables(store, origin, blob.format, "utf-8")
            try:
                with blob.open() as stream:
                    _ndjson(stream, "utf-8", None, early.first)
            except Exception:  # noqa: BLE001 - read again below, where errors are told
                source_id = early.discard()
                early = None
        try:
            lines = choosing.result()
        except BaseException:
            if early is not None:
                early.discard()
            raise
    origin.member_sha256 = lines.sha256
    if early is not None:
        if (lines.encoding, lines.fallback) == ("utf-8", None):
            return early
        source_id = early.discard()
    tables = _Tables(store, origin, blob.format, lines.encoding, source_id)
    with blob.open() as stream:
        _ndjson(stream, lines.encoding, lines.fallback, tables.first)
    return tables


class _Tables:
    """The sources of one file: the first made at once, one more per further table."""

    def __init__(
        self, store: Store, origin: Origin, fmt: str, encoding: str, source_id: int | None = None
    ) -> None:
        self.store, self.origin, self.format, self.encoding = store, origin, fmt, encoding
        self.codec = "utf-8" if encoding in WIDE_ENCODINGS or encoding == "utf-8-sig" else encoding
        self.first = Records(
            store.writer(origin, fmt, encoding, [], source_id=source_id), self.codec
        )
        self.all = [self.first]
        self.named = 0

    def discard(self) -> int:
        """Forget what was read (to read the file again otherwise); the first source's id."""
        for records in self.all:
            records.writer.discard()
        return self.first.writer.source_id

    def table(self, path: tuple[str, ...]) -> Records:
        """The records of the table found at ``path`` (keys from the top of the document)."""
        if self.named:
            writer = self.store.writer(self.origin, self.format, self.encoding, [])
            self.all.append(Records(writer, self.codec))
        self.named += 1
        self.all[-1].writer.table_name = ".".join(path) or None
        return self.all[-1]


def _encoding_and_digest(blob: Blob) -> tuple[str, str, str | None]:
    """The encoding of a document, chosen on all its bytes, their SHA-256, and the code
    page of the bytes a UTF-8 document holds that are not UTF-8 (None when there are none).

    UTF-8 unless its invalid sequences outnumber its valid multi-byte characters. Memory
    stays bounded whatever the length of the lines (a minified document is one line).
    """
    sniffed = sniff_encoding(blob.sample)
    fixed = sniffed in WIDE_ENCODINGS or sniffed == "utf-8-sig"  # a BOM or NUL bytes told
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    valid = invalid = 0
    sample = bytearray()
    with blob.open() as stream:
        while block := stream.read(CHUNK):
            digest.update(block)
            if fixed or block.isascii():
                continue
            text = decoder.decode(block)
            bad = text.count("\ufffd")
            valid += len(block) - len(text)  # bytes beyond characters: multi-byte ones
            invalid += bad
            if bad and len(sample) < 65536:
                sample += block[:65536]
    if fixed:
        return sniffed, digest.hexdigest(), None
    legacy = guess_legacy_encoding(bytes(sample)) if invalid else None
    if valid >= invalid:
        return "utf-8", digest.hexdigest(), legacy
    return legacy or "cp1252", digest.hexdigest(), None


def _bom_bytes(sample: bytes, encoding: str) -> int:
    """Bytes of a byte order mark the decoder drops (offsets count from the file's start)."""
    if encoding not in ("utf-8-sig", "utf-16", "utf-32"):
        return 0
    for bom in (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF8, codecs.BOM_UTF16):
        if sample.startswith(bom):
            return len(bom)
    return 0


# -- NDJSON ------------------------------------------------------------------------------


def _ndjson(stream: IO[bytes], encoding: str, fallback: str | None, records: Records) -> None:
    lines = _Lines(encoding, fallback, records)
    if encoding in ("utf-8", "utf-8-sig") and fallback is None:
        _blocks(stream, lines)
    else:
        if encoding in WIDE_ENCODINGS:
            stream = io.BufferedReader(cast(Any, WideText(stream, encoding)))
        lines.read(stream)
    note_second_encoding(records.writer, lines.second)


def _blocks(stream: IO[bytes], lines: _Lines) -> None:
    """Blocks of whole lines, each read in bulk if it is clean NDJSON, else line by line.

    Each block is read from the file before the last one is stored, so that Arrow parses
    it in a thread meanwhile (:meth:`.Bulk.parse_ahead`).
    """
    with ThreadPoolExecutor(max_workers=1) as ahead:
        bulk = Bulk(ahead)
        pieces = _whole_lines(stream)
        piece = next(pieces, None)
        while piece is not None:
            following = next(pieces, None)
            if isinstance(piece, _Joined):
                # A line longer than the limit: the careful reader skips it, memory bounded.
                lines.read(cast(IO[bytes], piece))
                return
            _block(piece, bulk, lines, following if isinstance(following, bytes) else None)
            piece = following


def _whole_lines(stream: IO[bytes]) -> Iterator[bytes | _Joined]:
    """The stream in blocks of whole lines; then, if a line outgrows the limit, the rest of
    the stream from that line on (the last item)."""
    pending = b""
    while block := stream.read(BLOCK_BYTES):
        cut = block.rfind(b"\n") + 1
        if not cut:
            pending += block
            if len(pending) > MAX_RECORD_BYTES:
                yield _Joined(pending, stream)
                return
            continue
        # (The block is copied once, with the start of its first line, not twice.)
        yield pending + block[:cut] if pending else block[:cut]
        pending = block[cut:]
    if pending:
        yield pending


def _block(block: bytes, bulk: Bulk, lines: _Lines, following: bytes | None) -> None:
    records = lines.records
    body = block[3:] if lines.number == 0 and block.startswith(codecs.BOM_UTF8) else block
    found = bulk_rows(bulk, body, records.columns, records.overflowing)
    if following is not None:
        bulk.parse_ahead(following)  # with the types this block taught
    if found is None:
        lines.read(io.BytesIO(block))
        return
    new, values, numbers, chars, count = found
    records.add_rows(new, values, pc.add(numbers, lines.number + 1), chars)
    lines.number += count
    lines.offset += len(block)


class _Joined(io.RawIOBase):
    """Bytes already read, then the rest of a stream."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head, self._rest = head, rest

    def read(self, size: int | None = -1) -> bytes:
        if self._head:
            head, self._head = self._head, b""
            return head
        return self._rest.read(-1 if size is None else size)


class _Lines:
    """The careful reader: line by line, numbering lines, records and byte offsets."""

    def __init__(self, encoding: str, fallback: str | None, records: Records) -> None:
        self.codec = "utf-8" if encoding == "utf-8-sig" or encoding in WIDE_ENCODINGS else encoding
        self.fallback, self.records = fallback, records
        self.number = self.offset = self.second = 0

    def read(self, stream: IO[bytes]) -> None:
        """Every line of the stream (numbered after those already read)."""
        records, codec, fallback = self.records, self.codec, self.fallback
        for raw, too_long in raw_lines(stream):
            self.number += 1
            number = self.number
            body = raw[3:] if number == 1 and raw.startswith(b"\xef\xbb\xbf") else raw
            here = self.offset
            self.offset += len(raw)
            if not body.strip():
                continue
            if too_long:
                records.quarantine("line longer than the limit", raw, number, here)
                continue
            text, problem, other = decode_line(body, codec, fallback)
            if problem is not None:
                records.quarantine(problem, raw, number, here)
                continue
            self.second += other
            try:
                obj = DECODER.decode(text)
            except RecursionError:
                records.quarantine("nested too deeply", raw, number, here)
                continue
            except json.JSONDecodeError:
                # Several values on one line, or a damaged one: each value is a record.
                start = here + len(raw) - len(body)
                _values(Text(None, codec, text, line=number, byte=start), records)
                continue
            records.add(obj, number, here, text)


def _values(text: Text, records: Records) -> None:
    """Each value of the text, one after the other, a record."""
    while char := text.skip(SPACE_AND_COMMAS):
        if char in "]}":
            text.advance(text.pos + 1)  # a stray closing bracket: no record
        else:
            _record(text, records)


# -- JSON documents ----------------------------------------------------------------------


def _document(text: Text, tables: _Tables) -> None:
    """Every value at the top: arrays give their elements, a lone object its tables."""
    first = True
    while char := text.skip(SPACE_AND_COMMAS):
        if char == "[":
            _elements(text, tables.first)
        elif char == "{" and first and _alone(text):
            _lone_object(text, tables)
        elif char in "]}":
            text.advance(text.pos + 1)  # a stray closing bracket: no record
        else:
            _record(text, tables.first)
        first = False


def _elements(text: Text, records: Records) -> None:
    """The elements of the array at the position, each a record; a truncated array ends."""
    text.advance(text.pos + 1)
    while char := text.skip(SPACE_AND_COMMAS):
        if char == "]":
            text.advance(text.pos + 1)
            return
        if char == "}":
            text.advance(text.pos + 1)  # a stray closing bracket: no record
            continue
        _record(text, records)


def _record(
    text: Text,
    records: Records,
    key: str | None = None,
    at: tuple[int, int] | None = None,
) -> None:
    """The value at the position as one record: a row, or quarantined if damaged."""
    line, offset = at or (text.line, text.byte)
    start = text.pos
    try:
        value, end = text.decode()
    except (json.JSONDecodeError, RecursionError, TooLong) as exc:
        reason = _WHY.get(type(exc), "invalid JSON")
        raw, cut = skip_damaged(text)
        if cut:
            reason += f" (record cut to {EVIDENCE} characters)"
        records.quarantine(reason, raw, line, offset)
        return
    raw = "" if isinstance(value, dict) else text.buffer[start:end]
    text.advance(end)
    records.add(value, line, offset, raw, key)


_WHY: dict[type, str] = {RecursionError: "nested too deeply", TooLong: "longer than the limit"}


def _alone(text: Text) -> bool:
    """Whether the object at the position is the whole document (not one of several)."""
    window = text.window()
    try:
        _, end = DECODER.raw_decode(window)
    except (json.JSONDecodeError, RecursionError):
        found = boundary(window, 0, unclosed=False)
        if found is None:
            return True  # longer than a first look: a document, not a record
        end = found
    return not window[end:].strip()


def _lone_object(text: Text, tables: _Tables) -> None:
    """A document that is one object: its tables of records, or itself as one record."""
    sketch, end = lenient(text.window(), 0)
    too_long = False
    if end is None and not holds_records(sketch):
        # Longer than a first look, with no records in it: decoded whole, unless too
        # long (then searched as a stream) or damaged (then quarantined, one record).
        try:
            sketch, _ = text.decode()
        except TooLong:
            too_long = True
        except (json.JSONDecodeError, RecursionError):
            pass
    keyed, found = keyed_records(sketch), holds_records(sketch)
    del sketch  # many objects kept alive would slow every garbage collection after
    if keyed:
        _keyed(text, tables.table(()))
    elif not found and not too_long:
        _record(text, tables.first)
    else:
        at = (text.line, text.byte)
        evidence = text.window(EVIDENCE)
        _tables_in(text, tables, ())
        if not tables.named:
            reason = "object too long, and no list of records in it"
            tables.first.quarantine(reason, evidence, *at)


def _tables_in(text: Text, tables: _Tables, path: tuple[str, ...]) -> None:
    """Each member of the object at the position holding records becomes a table.

    A member is judged by a first look at the text in the window (a list of objects, a
    mapping of ids to records, or an object holding either deeper); others are passed.
    """
    text.advance(text.pos + 1)
    while char := text.skip(SPACE_AND_COMMAS):
        if char in "]}":
            text.advance(text.pos + 1)
            if char == "}":
                return
            continue
        key = member_name(text)
        if key is None:
            skip_damaged(text)  # a damaged member
            continue
        inner = (*path, key)
        char = text.skip()
        if char in "[{":
            sketch, end = lenient(text.window(), 0)
            if isinstance(sketch, list) and _objects(sketch):
                _elements(text, tables.table(inner))
                continue
            if isinstance(sketch, dict) and keyed_records(sketch):
                _keyed(text, tables.table(inner))
                continue
            deeper = len(inner) < MAX_TABLE_DEPTH and (end is None or holds_records(sketch))
            if char == "{" and deeper:
                _tables_in(text, tables, inner)
                continue
        if not _skip_value(text):
            skip_damaged(text)


def _objects(items: list[Any]) -> bool:
    """Whether a list holds records: objects, or damaged values only."""
    values = [v for v in items if v is not None]
    return any(isinstance(v, dict) for v in values) or (
        bool(values) and all(v is DAMAGED for v in values)
    )


def holds_records(value: Any) -> bool:
    """Whether a decoded object holds a list of objects or a mapping of ids to records."""
    if not isinstance(value, dict):
        return False
    return keyed_records(value) or any(
        (isinstance(inner, list) and _objects(inner)) or holds_records(inner)
        for inner in value.values()
    )


def keyed_records(mapping: dict[str, Any]) -> bool:
    """Whether a mapping holds records by id: mostly objects sharing most of their keys."""
    objects = [v for v in mapping.values() if isinstance(v, dict) and v]
    damaged = sum(1 for v in mapping.values() if v is DAMAGED)
    if len(objects) < 2 or len(objects) + damaged < KEYED_OBJECTS * len(mapping):
        return False
    counts = Counter(key for obj in objects for key in obj)
    shared = {key for key, n in counts.items() if n >= 2 and 2 * n >= len(objects)}
    overlap = sum(len(shared.intersection(obj)) / len(obj) for obj in objects)
    return overlap >= 0.5 * len(objects)


def _skip_value(text: Text) -> bool:
    """Pass over the value at the position; False if it does not decode."""
    try:
        _, end = text.decode()
    except (json.JSONDecodeError, RecursionError, TooLong):
        return False
    text.advance(end)
    return True


def _keyed(text: Text, records: Records) -> None:
    """The members of the object at the position, each a record keyed by its name."""
    text.advance(text.pos + 1)
    while char := text.skip(SPACE_AND_COMMAS):
        if char == "}":
            text.advance(text.pos + 1)
            return
        if char == "]":
            text.advance(text.pos + 1)  # a stray closing bracket: no record
            continue
        at = (text.line, text.byte)
        key = member_name(text)
        if key is None:
            raw, _ = skip_damaged(text)
            records.quarantine("invalid JSON member", raw, *at)
            continue
        _record(text, records, key, at)


def member_name(text: Text) -> str | None:
    """The member name at the position, moved past its colon; None if there is none."""
    text.fill()
    buffer = text.buffer
    found = _NAME.match(buffer, text.pos)
    if found is None:
        return None
    try:
        key = json.loads(found.group(1))
    except json.JSONDecodeError:
        return None
    text.advance(found.end())
    return cast(str, key)
