"""Text from outside, made safe to show on a terminal, in a log line or in a report.

A leaked file and its name are written by someone else: a header, a table name, an archive
member or a lab's name may hold Rich markup (``[/]`` crashes the renderer, ``[link=...]``
forges a link), terminal escape sequences (ESC ``]0;`` retitles the window, ESC ``[2J``
clears the screen), other control characters, bidirectional overrides that reorder what is
read, or a newline that forges a second ``error:`` line in a log. Every such string passes
through :func:`printable` before it is shown: the character stays visible as an escape
(``\\x1b``, ``\\n``, ``\\u202e``), so nothing is hidden and nothing is obeyed.

Rich renderables take :func:`text` (a ``Text`` is never parsed as markup); a string that must
sit inside markup takes :func:`markup`.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.text import Text

# Categories a terminal may act on or that hide what follows: controls (C0, C1, DEL, ESC),
# format characters (bidi overrides and isolates, zero-width joiners, BOM), lone surrogates
# (undecodable bytes of a file name, which would also crash a UTF-8 stream), private use,
# unassigned code points, and line/paragraph separators.
_HIDDEN = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
#: The characters worth a closer look: all but printable ASCII and the Latin letters and
#: signs of U+00A0-U+02FF (every one assigned and visible, but the soft hyphen U+00AD).
_SUSPECT = re.compile(r"[^\x20-\x7e\xa0-\xac\xae-\u02ff]")


def printable(value: object, *, keep_lines: bool = False) -> str:
    """``value`` as one line of inert text: controls, bidi overrides, newlines made visible.

    ``keep_lines`` keeps line feeds and tabs, for a document (a report) where they are
    layout; a terminal line or a log line never keeps them.
    """
    text = str(value)
    if text.isprintable():  # the common case, checked at C speed
        return text
    kept = "\n\t" if keep_lines else ""
    return _SUSPECT.sub(lambda m: m[0] if m[0] in kept else _visible(m[0]), text)


def finalize(value: object) -> object:
    """Jinja2's ``finalize``: every plain string a template prints, made inert (not Markup)."""
    if isinstance(value, str) and not hasattr(value, "__html__"):
        return printable(value, keep_lines=True)
    return value


def _visible(ch: str) -> str:
    if ch == " " or unicodedata.category(ch) not in _HIDDEN:
        return ch
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def json_text(document: str) -> str:
    """JSON text with every hidden character written as a ``\\u`` escape: the same JSON value.

    ``json.dumps(..., ensure_ascii=False)`` escapes C0 controls but leaves C1 controls, bidi
    overrides and lone surrogates raw; those can only sit inside strings, where an escape
    means the same thing.
    """
    return _SUSPECT.sub(
        lambda m: m[0] if m[0] == "\n" or _visible(m[0]) == m[0] else json.dumps(m[0])[1:-1],
        document,
    )


class InertFormatter(logging.Formatter):
    """A log formatter whose every record is one printable line, whatever its arguments."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as the base formatter writes it, then made printable."""
        return printable(super().format(record))


def markup(value: object) -> str:
    """``value`` safe to place inside a Rich markup string: printable, brackets escaped."""
    from rich.markup import escape

    return escape(printable(value))


def text(value: object, style: str = "") -> Text:
    """``value`` as a Rich ``Text`` (never read as markup), made printable."""
    from rich.text import Text

    return Text(printable(value), style=style)
