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

#: Characters kept decoded ahead of the position (more are read for a longer value).
WINDOW = 64 * 1024
CHUNK = 64 * 1024
#: The longest value decoded whole; a longer one is quarantined.
LONGEST = MAX_RECORD_BYTES
#: Characters looked at to see where the records of a document are.
FIRST_LOOK = 256 * 1024
#: Consumed text dropped from the buffer once this long: a decoding error costs time in
#: proportion to the text before it (:class:`json.JSONDecodeError` counts its lines).
_COMPACT = 256 * 1024
#: Characters of a damaged value kept as evidence (the store keeps 64 KiB anyway).
EVIDENCE = 64 * 1024

#: Control characters inside strings (a raw tab or line break, as careless exports write
#: them) are kept as they are: no reason to lose the record.
DECODER = json.JSONDecoder(strict=False)
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
        errors: str = "strict",
    ) -> None:
        self.stream = stream
        self.decoder = codecs.getincrementaldecoder(encoding)(errors)
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
        if self.pos > _COMPACT:
            self.buffer, self.pos = self.buffer[self.pos :], 0
        while not self.eof and len(self.buffer) - self.pos < ahead:
            assert self.stream is not None
            block = self.stream.read(max(CHUNK, ahead - len(self.buffer) + self.pos))
            self.eof = not block
            self.buffer = self.buffer[self.pos :] + self.decoder.decode(block, final=self.eof)
            self.pos = 0

    def window(self, size: int | None = None) -> str:
        """The next ``size`` (default :data:`FIRST_LOOK`) characters, to take a first look."""
        size = FIRST_LOOK if size is None else size
        self.fill(size)
        return self.buffer[self.pos : self.pos + size]

    def advance(self, to: int) -> None:
        """Move the position to ``to``, counting the lines and bytes passed."""
        span = self.buffer[self.pos : to]
        self.line += span.count("\n")
        if self._encoder is None or (self._encoder == "utf-8" and span.isascii()):
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

    def decode(self) -> tuple[Any, int]:
        """The value at the position and where it ends.

        More text is read while the value may go on past what is read, up to LONGEST;
        raises :class:`json.JSONDecodeError` if it does not decode, :class:`TooLong`.
        """
        ahead = WINDOW
        while True:
            self.fill(ahead)
            buffer = self.buffer
            try:
                value, end = DECODER.raw_decode(buffer, self.pos)
            except json.JSONDecodeError as exc:
                cut_short = exc.pos >= len(buffer) - 8 or exc.msg.startswith("Unterminated")
                if self.eof or not cut_short:
                    raise
                if ahead >= LONGEST:
                    raise TooLong(f"longer than {LONGEST} characters") from None
            else:
                # A number at the very end may go on in the text not read yet.
                if self.eof or end < len(buffer):
                    return value, end
                if ahead >= LONGEST:
                    raise TooLong(f"longer than {LONGEST} characters")
            ahead = min(ahead * 4, LONGEST)


class TooLong(ValueError):
    """A value longer than :data:`LONGEST`: it is not decoded whole."""


class Scan:
    """Where a damaged value ends, found by following its strings and brackets."""

    def __init__(self, *, unclosed: bool = True) -> None:
        # ``unclosed``: a value where a key is due ends an object never closed (records
        # end there); False to follow brackets only (where a whole document ends).
        self.unclosed = unclosed
        self.stack: list[str] = []
        self.previous = ""
        self.began = False

    def boundary(self, buffer: str, start: int) -> tuple[int | None, int]:
        """(end of the value or None if ``buffer`` ends first, position scanned to).

        The end is the first comma or closing bracket outside the value, the point where
        its own opening bracket closes, or where a new value begins where none may (an
        object never closed, followed by the next record). Call again with more text
        from the position scanned to.
        """
        stack = self.stack
        i = start
        while True:
            found = _TOKEN.search(buffer, i)
            if found is None:
                return None, len(buffer)
            token, at = found.group(), found.start()
            char = token[0]
            if token == '"' and buffer.find("\n", at) < 0 and at > start:
                return None, at  # a string that may close in text not read yet
            if char in "{[":
                if self.began and not stack:
                    return at, at  # a value begins after the damaged text
                if self.unclosed and stack and stack[-1] == "{" and self.previous != ":":
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
            self.previous = char
            self.began = True
            i = found.end()


def boundary(buffer: str, start: int, *, unclosed: bool = True) -> int | None:
    """Where the damaged value at ``start`` ends, if it does within ``buffer``."""
    return Scan(unclosed=unclosed).boundary(buffer, start)[0]


def skip_damaged(text: Text) -> tuple[str, bool]:
    """Consume a damaged value; its text (cut to EVIDENCE) and whether it was cut."""
    kept: list[str] = []
    size = total = 0
    scan = Scan()
    ahead = WINDOW
    while True:
        text.fill(ahead)
        end, scanned = scan.boundary(text.buffer, text.pos)
        stop = end if end is not None else scanned
        if end == text.pos and not scan.began:
            stop = end + 1  # a stray comma or bracket: the damage is that character
        if end is None and text.eof:
            stop = len(text.buffer)
        if size < EVIDENCE:
            kept.append(text.buffer[text.pos : min(stop, text.pos + EVIDENCE - size)])
            size += len(kept[-1])
        total += stop - text.pos
        # Stopped at a quote: the string may close further on, read more to see it.
        at_quote = end is None and stop < len(text.buffer)
        ahead = min(ahead * 4, LONGEST) if at_quote else WINDOW
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
    hold what was read so far, a value cut short is None). Used on one window of text
    only, to find the records.
    """
    try:
        return DECODER.raw_decode(buffer, start)
    except (json.JSONDecodeError, RecursionError):
        pass
    opening = buffer[start : start + 1]
    if opening not in ("{", "[") or depth > 8:
        end = boundary(buffer, start)
        return (DAMAGED if end is not None else None), end  # None: not all read
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
                end = boundary(buffer, i)
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
