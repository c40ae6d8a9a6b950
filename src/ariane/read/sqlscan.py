"""Tokens of a SQL dump, read from a stream in one pass with bounded memory.

The :class:`Scanner` reads blocks of bytes and cuts them into tokens with one compiled
pattern (SQL syntax is ASCII, so bytes are cut before any decoding and offsets are byte
offsets). Memory holds the bytes from the oldest mark still needed (the start of the
record being read) to the read position; a token or a record is held up to
:data:`MAX_RECORD_BYTES`, never beyond: past that it is reported as too long.

Damage is read again once, carefully. When a record cannot be read (a quote never closed,
a value where a comma should be), the caller rewinds to the record's start and reads the
bytes up to where the first reading had got *carefully*: there a string may not run past a
line end or past ``),(`` between tuples, so a lost quote damages its own record only.
Careful reading goes forward only; a record begun there is read again only when it ran
past the careful bytes, so each byte is read a bounded number of times: linear time.
"""

from __future__ import annotations

import re
from typing import IO

#: A record (one tuple, one COPY line) or one token longer than this is quarantined.
MAX_RECORD_BYTES = 64 * 1024 * 1024
#: Tuples with more commas than this are read token by token (see ``sqldump.MAX_VALUES``).
MAX_SIMPLE_VALUES = 4096
#: Bytes of a damaged record kept to quote it in the quarantine.
QUOTE_BYTES = 64 * 1024
BLOCK = 1 << 20
#: The most read at once when a long token must be seen whole (reads grow geometrically).
MAX_READ = 16 * 1024 * 1024
#: Bytes kept ahead of the read position, so small tokens never straddle a block.
_LOOKAHEAD = 256

#: (kind, start, end, closed): offsets are absolute byte offsets in the stream.
Token = tuple[str, int, int, bool]

# The common tuple, read in one match: strings, NULL, numbers and bare words only.
_SIMPLE_BODY = {
    False: r"[^'\\]*+(?:(?:\\.|'')[^'\\]*+)*+",
    True: r"[^']*+(?:''[^']*+)*+",
}
_BARE = r"[A-Za-z0-9_.+:-]++"


def _simple(postgres: bool) -> tuple[re.Pattern[bytes], re.Pattern[bytes]]:
    value = rf"(?:'{_SIMPLE_BODY[postgres]}'|{_BARE})"
    tuple_ = re.compile(rf"\(\s*+{value}\s*+(?:,\s*+{value}\s*+)*+\)".encode(), re.DOTALL)
    parts = re.compile(rf"'({_SIMPLE_BODY[postgres]})'|({_BARE})".encode(), re.DOTALL)
    return tuple_, parts


_BOUNDARY = re.compile(rb"\n|\)[ \t]?,[ \t\r\n]{0,2}\(")
_NEWLINE = re.compile(rb"\n")


def _body(plain: str, escapes: str) -> str:
    """A quoted body as runs of plain bytes between escapes: one loop in C per run."""
    return rf"{plain}*+(?:(?:{escapes}){plain}*+)*+"


def _pattern(postgres: bool, careful: bool) -> re.Pattern[bytes]:
    """The token pattern: every alternative matches, so a token is always found."""
    nl = r"\n" if careful else ""
    # Careful reading: a string stops at a line end and at "),(" between tuples.
    rp = ")" if careful else ""
    tuple_end = r"|\)(?![ \t]?,[ \t\r\n]{0,2}\()" if careful else ""
    escaped = r"\\[^\n]" if careful else r"\\."
    backslash = _body(rf"[^'\\{nl}{rp}]", rf"{escaped}|''{tuple_end}")
    block = _body(rf"[^*{nl}]", r"\*(?!/)")
    backtick = _body(rf"[^`{nl}]", "``")
    if postgres:
        doubled = _body(rf"[^'{nl}{rp}]", rf"''{tuple_end}")
        quoted = _body(rf'[^"{nl}]', '""')
        strings = (
            rf"(?P<estr>[eE]'{backslash}(?P<e_end>')?)"
            rf"|(?P<pgstr>'{doubled}(?P<p_end>')?)"
            r"|(?P<dollar>\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$)"
            rf'|(?P<dq>"{quoted}(?P<d_end>")?)'
        )
        hash_comment = ""
    else:
        quoted = _body(rf'[^"\\{nl}]', rf'{escaped}|""')
        strings = rf"(?P<str>'{backslash}(?P<s_end>')?)" rf'|(?P<dq>"{quoted}(?P<d_end>")?)'
        hash_comment = r"|\#[^\n]*+"
    dollar = "$" if postgres else ""
    pattern = (
        r"(?P<space>\s++)"
        r"|(?P<punct>[(),;])"
        rf"|(?P<comment>--[^\n]*+{hash_comment}|/\*{block}(?P<c_end>\*/)?)"
        rf"|{strings}"
        rf"|(?P<ident>`{backtick}(?P<b_end>`)?|\[[^\]\n]*+(?P<k_end>\])?)"
        # A PostgreSQL "$" starts a dollar-quoted string only at the start of a token.
        rf"|(?P<word>(?:[^\s(),;'\"`\[{dollar}-]|-(?!-))(?:[^\s(),;'\"`\[-]|-(?!-))*+|\$)"
    )
    return re.compile(pattern.encode(), re.DOTALL)


#: The groups that match the closing quote of each kind of token that needs one.
_ENDS = {
    "str": ("s_end",),
    "estr": ("e_end",),
    "pgstr": ("p_end",),
    "dq": ("d_end",),
    "ident": ("b_end", "k_end"),
    "comment": ("c_end",),
}


class Scanner:
    """Tokens, COPY lines and raw bytes of one stream, with marks to read a record again."""

    def __init__(self, stream: IO[bytes], postgres: bool) -> None:
        self.stream = stream
        self.buf = b""
        self.base = 0  # absolute offset of buf[0]
        self.pos = 0
        self.eof = False
        self.mark: int | None = None  # bytes from here on stay in memory
        self.careful_until = 0
        self._mark_line = 1
        self._line_at = 0  # lines are counted lazily: line number at this offset
        self._line = 1
        self._pushed: Token | None = None
        self._normal = _pattern(postgres, careful=False)
        self._careful = _pattern(postgres, careful=True)
        self.postgres = postgres
        self._simple_tuple, self._simple_parts = _simple(postgres)

    # -- buffer --------------------------------------------------------------------------

    def _fill(self) -> bool:
        """Read one more block (bigger when a long token waits); False at the end."""
        if self.eof:
            return False
        low = self.pos if self.mark is None else min(self.mark, self.pos)
        if low > self.base:
            if self._line_at < low:
                self._line += self.buf.count(b"\n", self._line_at - self.base, low - self.base)
                self._line_at = low
            self.buf = self.buf[low - self.base :]
            self.base = low
        block = self.stream.read(min(max(BLOCK, len(self.buf)), MAX_READ))
        if not block:
            self.eof = True
            return False
        self.buf += block
        return True

    def _ahead(self, count: int) -> bool:
        """Whether ``count`` bytes past the position are in memory (reading if needed)."""
        while self.pos + count > self.base + len(self.buf):
            if not self._fill():
                return False
        return True

    def span(self, start: int, end: int) -> bytes:
        """Bytes between two absolute offsets (those no longer in memory left out)."""
        return self.buf[max(start - self.base, 0) : max(end - self.base, 0)]

    def skip_bom(self) -> None:
        """Go past a UTF-8 byte order mark at the start."""
        if self._ahead(3) and self.buf.startswith(b"\xef\xbb\xbf"):
            self.pos = 3

    def line_at(self, offset: int) -> int | None:
        """The 1-based line number of an offset (None once its bytes are let go)."""
        if offset < self.base:
            return None
        if offset >= self._line_at:
            self._line += self.buf.count(b"\n", self._line_at - self.base, offset - self.base)
        else:
            self._line -= self.buf.count(b"\n", offset - self.base, self._line_at - self.base)
        self._line_at = offset
        return self._line

    # -- marks ---------------------------------------------------------------------------

    def set_mark(self, offset: int) -> None:
        """Keep the bytes from ``offset`` (still in memory) on, to quote or read them again."""
        self.mark = offset
        self._mark_line = self.line_at(offset) or 1

    def drop_mark(self) -> None:
        """Let the bytes before the position go."""
        self.mark = None

    def careful(self, offset: int) -> bool:
        """Whether the bytes at ``offset`` are read carefully (they were damaged once)."""
        return offset < self.careful_until

    def rewind(self) -> None:
        """Go back to the mark and read carefully up to where reading had got."""
        assert self.mark is not None
        self.careful_until = max(self.careful_until, self.pos)
        self.pos = self.mark
        self._line_at, self._line = self.mark, self._mark_line
        self._pushed = None

    # -- tokens --------------------------------------------------------------------------

    def push(self, token: Token) -> None:
        """Give back one token: the next call to :meth:`token` returns it."""
        self._pushed = token

    def token(self) -> Token | None:
        """The next token, None at the end; ``closed`` is False for a string left open."""
        if self._pushed is not None:
            token, self._pushed = self._pushed, None
            return token
        while True:
            i = self.pos - self.base
            if len(self.buf) - i < _LOOKAHEAD and not self.eof:
                self._fill()
                continue
            if i >= len(self.buf):
                return None
            pattern = self._careful if self.pos < self.careful_until else self._normal
            match = pattern.match(self.buf, i)
            assert match is not None  # every byte starts some alternative
            end = match.end()
            kind = match.lastgroup or "word"
            closed = True
            if kind == "dollar":
                end, closed = self._dollar_end(match.group(0), end)
                if end < 0:
                    continue
            elif end == len(self.buf) and not self.eof and end - i <= MAX_RECORD_BYTES:
                self._fill()  # the token may go on in the next block
                continue
            elif kind in _ENDS:
                closed = self._closed(kind, match)
            start = self.pos
            self.pos = self.base + end
            return kind, start, self.pos, closed

    @staticmethod
    def _closed(kind: str, match: re.Match[bytes]) -> bool:
        if kind == "comment" and match.group(0)[:2] != b"/*":
            return True  # a line comment ends with its line
        return any(match.group(name) is not None for name in _ENDS[kind])

    def simple_tuple(self, start: int) -> list[tuple[bytes, bytes]] | None:
        """A tuple of plain literals starting at ``start``, read in one match, or None.

        Each value comes as (string body, "") or ("", bare word); the position moves past
        the ")". Anything less plain is left to :meth:`token`, one token at a time.
        """
        if start < self.careful_until:
            return None
        match = self._simple_tuple.match(self.buf, start - self.base)
        if match is None or match.end() >= len(self.buf) and not self.eof:
            return None
        if self.buf.count(b",", match.start(), match.end()) >= MAX_SIMPLE_VALUES:
            return None  # left to the token reader, which bounds the values of a tuple
        self.pos = self.base + match.end()
        self._pushed = None
        return self._simple_parts.findall(self.buf, match.start(), match.end())

    def _dollar_end(self, tag: bytes, body: int) -> tuple[int, bool]:
        """End of a PostgreSQL ``$tag$...$tag$`` string and whether it closed (-1: read more)."""
        found = self.buf.find(tag, body)
        if self.pos < self.careful_until:
            line_end = self.buf.find(b"\n", body)
            if line_end >= 0 and (found < 0 or found > line_end):
                return line_end, False  # careful reading: left open at the line end
        if found >= 0:
            return found + len(tag), True
        if not self.eof and len(self.buf) - body <= MAX_RECORD_BYTES and self._fill():
            return -1, False
        return len(self.buf), False

    def significant(self) -> Token | None:
        """The next token that is neither space nor a closed comment."""
        while True:
            token = self.token()
            if token is None or token[0] not in {"space", "comment"} or not token[3]:
                return token

    # -- raw skips -----------------------------------------------------------------------

    def skip_line(self) -> None:
        """Go past the next line end (a psql meta-command, damage)."""
        self._skip_to(_NEWLINE, keep_tail=0)

    def skip_to_boundary(self) -> None:
        """Go to the next line or the next tuple's ``(``, quotes ignored (after damage)."""
        self._skip_to(_BOUNDARY, keep_tail=8)

    def _skip_to(self, pattern: re.Pattern[bytes], keep_tail: int) -> None:
        self._pushed = None
        while True:
            i = self.pos - self.base
            match = pattern.search(self.buf, i)
            if match is not None:
                self.pos = self.base + match.end() - (match.group(0)[-1:] == b"(")
                return
            self.pos = self.base + max(i, len(self.buf) - keep_tail)
            if self.mark is not None and self.pos - self.mark > MAX_RECORD_BYTES:
                self.mark = None  # skipping is never undone: let the bytes go
            if not self._fill():
                self.pos = self.base + len(self.buf)
                return

    def copy_line(self) -> tuple[int, bytes, bool] | None:
        """The next line of a COPY block: (start, bytes, too long); None at the end.

        A line over the limit comes cut to its first :data:`QUOTE_BYTES`, the rest skipped.
        """
        start = self.pos
        searched = start
        while True:
            end = self.buf.find(b"\n", searched - self.base)
            if end >= 0:
                self.pos = self.base + end + 1
                return start, self.buf[start - self.base : end + 1], False
            searched = self.base + len(self.buf)
            if searched - start > MAX_RECORD_BYTES:
                head = self.span(start, start + QUOTE_BYTES)
                self.pos = searched
                self.skip_line()
                return start, head, True
            if not self._fill():
                if searched == start:
                    return None
                self.pos = searched
                return start, self.span(start, searched), False
