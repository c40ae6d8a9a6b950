"""Read JSON arrays and NDJSON: one record per object, nested objects flattened to dotted names.

Arrays are read element by element with :meth:`json.JSONDecoder.raw_decode` over a sliding
text buffer, so a large file never sits in memory whole; a damaged element is quarantined
and reading resumes at the next object. Lists inside a record are kept as JSON text.
"""

from __future__ import annotations

import codecs
import io
import json
import re
from collections.abc import Iterator
from typing import IO, Any, cast

from ariane.errors import InputError
from ariane.read.archive import Blob
from ariane.read.delimited import (
    MAX_RECORD_BYTES,
    WIDE_ENCODINGS,
    WideText,
    line_problem,
    prescan,
    raw_lines,
)
from ariane.read.sniff import sniff_encoding
from ariane.read.store import Origin, SourceWriter, Store

MAX_DEPTH = 32
CHUNK = 1 << 20
_DECODER = json.JSONDecoder()
_WHITESPACE = re.compile(r"[\s,]*")


def flatten(value: Any, prefix: str = "", depth: int = 0) -> Iterator[tuple[str, str | None]]:
    """(dotted name, text) pairs of a JSON object; deeper than MAX_DEPTH stays JSON text."""
    if isinstance(value, dict) and value and depth < MAX_DEPTH:
        for key, inner in value.items():
            yield from flatten(inner, f"{prefix}.{key}" if prefix else str(key), depth + 1)
        return
    yield prefix or "value", as_text(value)


def as_text(value: Any) -> str | None:
    """A JSON value as the text stored: strings as they are, others as JSON, null as NULL."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


class _Records:
    """Turns flattened objects into rows of a writer whose columns grow as keys appear."""

    def __init__(self, writer: SourceWriter) -> None:
        self.writer = writer
        self.index: dict[str, int] = {}
        self.record = 0

    def add(self, obj: Any, line: int | None, raw: bytes, offset: int | None) -> None:
        self.record += 1
        if not isinstance(obj, dict):
            self.writer.quarantine(
                self.record, "not a JSON object", raw, line=line, byte_offset=offset
            )
            return
        try:
            pairs = list(flatten(obj))
        except RecursionError:
            self.writer.quarantine(self.record, "nested too deeply", raw, line=line)
            return
        new = [name for name, _ in pairs if name not in self.index]
        if new:
            new = list(dict.fromkeys(new))
            start = len(self.writer.columns)
            self.writer.add_columns(new)
            for i, name in enumerate(new):
                self.index[name] = start + i
        values: list[str | None] = [None] * len(self.writer.columns)
        for name, text in pairs:
            values[self.index[name]] = text
        self.writer.row(values, self.record, line)


def read_json(blob: Blob, store: Store, origin: Origin) -> list[SourceWriter]:
    """Read a JSON array (or an object holding one) or NDJSON file into one source."""
    # JSON should be UTF-8; exports in a legacy code page exist and are read in it.
    scan = prescan(blob, sniff_encoding(blob.sample))  # chooses by the whole file, and hashes
    encoding = scan.encoding
    origin.member_sha256 = scan.sha256
    writer = store.writer(origin, blob.format, encoding, [])
    records = _Records(writer)
    with blob.open() as stream:
        if blob.format == "ndjson":
            _ndjson(stream, encoding, records)
        else:
            try:
                _array(stream, encoding, records, blob.where)
            except UnicodeDecodeError:
                # One JSON document has no records to set aside: refuse it rather than
                # read altered text.
                raise InputError(
                    f"{blob.where}: not valid {encoding} text after record {records.record}"
                ) from None
    writer.close()
    return [writer]


def _ndjson(stream: IO[bytes], encoding: str, records: _Records) -> None:
    offset = 0
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    if encoding in WIDE_ENCODINGS:
        stream = io.BufferedReader(cast(Any, WideText(stream, encoding)))
        codec = "utf-8"
    legacy = not codec.startswith("utf")
    for number, (raw, too_long) in enumerate(raw_lines(stream), start=1):
        body = raw[3:] if number == 1 and raw.startswith(b"\xef\xbb\xbf") else raw
        here = offset
        offset += len(raw)
        if not body.strip():
            continue
        if too_long:
            records.record += 1
            records.writer.quarantine(
                records.record, "line longer than the limit", raw, line=number, byte_offset=here
            )
            continue
        problem = line_problem(body, codec, legacy)
        if problem is not None:
            records.record += 1
            records.writer.quarantine(records.record, problem, raw, line=number, byte_offset=here)
            continue
        try:
            obj = json.loads(body.decode(codec))
        except (json.JSONDecodeError, RecursionError) as exc:
            records.record += 1
            reason = "nested too deeply" if isinstance(exc, RecursionError) else "invalid JSON"
            records.writer.quarantine(records.record, reason, raw, line=number, byte_offset=here)
            continue
        records.add(obj, number, raw, here)


def _array(stream: IO[bytes], encoding: str, records: _Records, where: str) -> None:
    """Elements of a top-level array (or of the first array inside a top-level object)."""
    text = _Text(stream, encoding)
    text.more()
    text.buffer = text.buffer.lstrip("\ufeff")
    while not text.buffer.strip() and text.more():
        pass
    first = text.buffer.lstrip()[:1]
    if first == "{":
        _object_file(text, records, where)
        return
    text.position = text.buffer.index("[") + 1
    line = 1 + text.buffer.count("\n", 0, text.position)
    while True:
        skip = _WHITESPACE.match(text.buffer, text.position)
        end = skip.end() if skip else text.position
        line += text.buffer.count("\n", text.position, end)
        text.position = end
        if text.position >= len(text.buffer):
            if text.more():
                continue
            raise InputError(f"{where}: JSON array not closed at line {line}")
        buffer, position = text.buffer, text.position
        if buffer[position] == "]":
            return
        try:
            obj, end = _DECODER.raw_decode(buffer, position)
        except json.JSONDecodeError:
            if len(buffer) - position < MAX_RECORD_BYTES and text.more():
                continue
            end = _resync(buffer, position)
            records.record += 1
            records.writer.quarantine(
                records.record, "invalid JSON element", buffer[position:end].encode(), line=line
            )
        except RecursionError:
            end = _resync(buffer, position)
            records.record += 1
            records.writer.quarantine(
                records.record, "nested too deeply", buffer[position:end].encode(), line=line
            )
        else:
            records.add(obj, line, buffer[position:end].encode(), None)
        line += buffer.count("\n", position, end)
        text.position = end


class _Text:
    """Decoded text read on demand, dropping what has been consumed."""

    def __init__(self, stream: IO[bytes], encoding: str) -> None:
        self.stream = stream
        self.decoder = codecs.getincrementaldecoder(encoding)()
        self.buffer = ""
        self.position = 0
        self.eof = False

    def more(self) -> bool:
        """Read one more chunk; False at the end of the stream."""
        if self.eof:
            return False
        block = self.stream.read(CHUNK)
        self.eof = not block
        self.buffer = self.buffer[self.position :] + self.decoder.decode(block, final=self.eof)
        self.position = 0
        return True


def _resync(buffer: str, position: int) -> int:
    """Where the next element may start after a damaged one: the next line opening ``{``."""
    found = re.compile(r"\n\s*,?\s*\{").search(buffer, position + 1)
    if found is None:
        tail = buffer.rfind("]")
        return tail if tail > position else len(buffer)
    return found.start() + 1


def _object_file(text: _Text, records: _Records, where: str) -> None:
    """A single top-level object: the records are its first list of objects, else itself."""
    while text.more():
        if len(text.buffer) > 64 * MAX_RECORD_BYTES:
            raise InputError(f"{where}: JSON object too large to read whole; use NDJSON")
    try:
        document = json.loads(text.buffer)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: invalid JSON at line {exc.lineno}") from None
    except RecursionError:
        raise InputError(f"{where}: JSON nested too deeply") from None
    items = _first_list(document)
    if items is None:
        records.add(document, 1, b"", None)
        return
    records.writer.table_name = items[0]
    for item in items[1]:
        records.add(item, None, json.dumps(item, ensure_ascii=False).encode(), None)


def _first_list(document: Any, path: str = "") -> tuple[str, list[Any]] | None:
    if isinstance(document, list):
        return path, document
    if isinstance(document, dict):
        for key, value in document.items():
            if isinstance(value, list) and any(isinstance(v, dict) for v in value):
                return (f"{path}.{key}" if path else str(key)), value
        for key, value in document.items():
            found = _first_list(value, f"{path}.{key}" if path else str(key))
            if found is not None:
                return found
    return None
