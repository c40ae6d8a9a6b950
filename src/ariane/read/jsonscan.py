"""Find where JSON values begin and end in streamed text, damaged or not.

:class:`Text` holds a window of decoded text ahead of the reading position and knows the
line and byte offset of that position, so a large file never sits in memory whole.
Well-formed values are decoded at C speed (:meth:`json.JSONDecoder.raw_decode`); a damaged
one is skipped by :func:`skip_damaged`, which follows strings and the nesting of brackets
to the next value boundary, so reading resumes at the next element even inside one line.
:func:`lenient` decodes the start of a document with its damaged parts marked, enough to
see where its records are before they are streamed.
"""

from __future__ import annotations

import codecs
import json
import re
from typing import IO, Any

from ariane.read.delimited import MAX_RECORD_BYTES, WIDE_ENCODINGS

#: Characters kept decoded ahead of the position: the longest value decoded whole.
WINDOW = MAX_RECORD_BYTES
CHUNK = 4 << 20
#: Characters of a damaged value kept as evidence (the store keeps 64 KiB anyway).
EVIDENCE = 64 * 1024

DECODER = json.JSONDecoder()
SPACE = re.compile(r"[ \t\r\n\ufeff]*")
SPACE_AND_COMMAS = re.compile(r"[ \t\r\n\ufeff,]*")
#: What matters for nesting: a string (one line at most: JSON strings hold no raw newline,
#: so a quote left open ends with its line), a lone quote, a bracket, a colon or a comma.
_TOKEN = re.compile(r'"[^"\\\n]*(?:\\.[^"\\\n]*)*"|["\[\]{}:,]')
_PAIRS = {"]": "[", "}": "{"}


class Text:
    """Decoded text read on demand, dropping what has been consumed."""

    def __init__(
        self,
        stream: IO[bytes] | None,
        encoding: str,
        initial: str = "",
        *,
        line: int = 1,
        byte: int = 0,
    ) -> None:
        self.stream = stream
        self.decoder = codecs.getincrementaldecoder(encoding)()
        self.buffer = initial
        self.pos = 0
        self.eof = stream is None
        self.line = line
        self.byte = byte
        codec = codecs.lookup(encoding).name
        # Bytes per character are counted only where they vary.
        self._encoder = None
        if codec.startswith("utf"):
            self._encoder = "utf-16-le" if encoding in WIDE_ENCODINGS else "utf-8"
            if codec.startswith("utf-32"):
                self._encoder = "utf-32-le"

    def fill(self, ahead: int | None = None) -> None:
        """Read until ``ahead`` (default :data:`WINDOW`) characters lie past the position."""
        ahead = WINDOW if ahead is None else ahead
        while not self.eof and len(self.buffer) - self.pos < ahead:
            assert self.stream is not None
            block = self.stream.read(CHUNK)
            self.eof = not block
            self.buffer = self.buffer[self.pos :] + self.decoder.decode(block, final=self.eof)
            self.pos = 0

    def advance(self, to: int) -> None:
        """Move the position to ``to``, counting the lines and bytes passed."""
        span = self.buffer[self.pos : to]
        self.line += span.count("\n")
        if self._encoder is None or span.isascii():
            self.byte += len(span)
        else:
            self.byte += len(span.encode(self._encoder, "surrogatepass"))
        self.pos = to

    def skip(self, pattern: re.Pattern[str] = SPACE) -> str:
        """Skip what ``pattern`` matches; the next character ('' at the end)."""
        while True:
            self.fill(1)
            found = pattern.match(self.buffer, self.pos)
            end = found.end() if found else self.pos
            self.advance(end)
            if end < len(self.buffer):
                return self.buffer[end]
            if self.eof:
                return ""
            self.fill(CHUNK)

    def decode(self) -> tuple[Any, int] | None:
        """The value at the position and where it ends, or None if it does not decode."""
        self.fill()
        try:
            return DECODER.raw_decode(self.buffer, self.pos)
        except (json.JSONDecodeError, RecursionError):
            return None


def boundary(buffer: str, start: int, depth: int = 0) -> tuple[int | None, int]:
    """Where a damaged value starting at ``start`` ends: (end, position scanned to).

    The end is the first comma or closing bracket outside the value, the point where its
    own opening bracket closes, or where a new value begins where none may (an object
    never closed, followed by the next record). None when ``buffer`` ends first.
    """
    stack: list[str] = []
    previous = ""
    i = start
    while True:
        found = _TOKEN.search(buffer, i)
        if found is None:
            return None, len(buffer)
        token, at = found.group(), found.start()
        char = token[0]
        if token == '"' and "\n" not in buffer[at:] and at > start:
            return None, at  # a string that may close in text not read yet
        if char in "{[":
            if at > start and not stack:
                return at, at  # a value begins after the damaged text
            if stack and stack[-1] == "{" and previous != ":":
                return at, at  # a key was due: the open object was never closed
            stack.append(char)
        elif char in "]}":
            if not stack:
                return at, at
            if _PAIRS[char] in stack:
                while stack.pop() != _PAIRS[char]:
                    pass
            if not stack:
                return found.end(), found.end()
        elif char == "," and not stack:
            return at, at
        previous = char
        i = found.end()


def skip_damaged(text: Text) -> tuple[str, bool]:
    """Consume a damaged value; its text (cut to EVIDENCE) and whether it was cut."""
    kept: list[str] = []
    size = total = 0
    while True:
        text.fill()
        end, scanned = boundary(text.buffer, text.pos)
        stop = end if end is not None else scanned
        if end == text.pos:
            stop = end + 1  # a stray comma or bracket: the damage is that character
        if text.eof and end is None:
            stop = len(text.buffer)
        if stop == text.pos and end is None:
            stop = len(text.buffer)  # a lone quote at the start: take what is there
        if size < EVIDENCE:
            kept.append(text.buffer[text.pos : min(stop, text.pos + EVIDENCE - size)])
            size += len(kept[-1])
        total += stop - text.pos
        text.advance(stop)
        if end is not None or text.eof:
            return "".join(kept), total > EVIDENCE


# -- a first look at a document ---------------------------------------------------------


class Damaged:
    """A part of a document that does not decode (in :func:`lenient` results)."""

    def __repr__(self) -> str:
        return "<damaged>"


DAMAGED = Damaged()
_STRING = re.compile(r'"[^"\\\n]*(?:\\.[^"\\\n]*)*"')


def lenient(buffer: str, start: int, depth: int = 0) -> tuple[Any, int | None]:
    """Decode the value at ``start`` as far as ``buffer`` goes, damaged parts marked.

    Returns the value and its end (None when the buffer ends inside it: then containers
    hold what was read so far). Used on one window of text only, to find the records.
    """
    try:
        return DECODER.raw_decode(buffer, start)
    except (json.JSONDecodeError, RecursionError):
        pass
    opening = buffer[start : start + 1]
    if opening not in ("{", "[") or depth > 8:
        end, _ = boundary(buffer, start)
        return DAMAGED, end
    items: list[Any] = []
    members: dict[str, Any] = {}
    i = start + 1
    closing = "}" if opening == "{" else "]"
    while True:
        i = SPACE_AND_COMMAS.match(buffer, i).end()  # type: ignore[union-attr]
        if i >= len(buffer):
            return (members if opening == "{" else items), None
        if buffer[i] == closing:
            return (members if opening == "{" else items), i + 1
        if buffer[i] in "]}":
            i += 1
            continue
        key = None
        if opening == "{":
            found = _STRING.match(buffer, i)
            after = SPACE.match(buffer, found.end()).end() if found else i  # type: ignore[union-attr]
            if found is None or buffer[after : after + 1] != ":":
                end, _ = boundary(buffer, i)
                members[f"\0{i}"] = DAMAGED
                if end is None:
                    return members, None
                i = max(end, i + 1)
                continue
            key = json.loads(found.group())
            i = SPACE.match(buffer, after + 1).end()  # type: ignore[union-attr]
        value, end = lenient(buffer, i, depth + 1)
        if key is None:
            items.append(value)
        else:
            members.setdefault(key, value)
        if end is None:
            return (members if opening == "{" else items), None
        i = max(end, i + 1)
