"""Text of two encodings: UTF-8 with lines (or parts of lines) in a single-byte code page.

Files joined, or edited by hand on another machine, hold lines of two encodings; a line
edited in Excel may even hold both (one field typed again in Windows-1252 beside UTF-8
ones). Where the bytes are unambiguous each is read in its own encoding: a well-formed
UTF-8 sequence is UTF-8 (a single-byte code page almost never forms one), and a byte that
is no UTF-8 is read in the file's single-byte code page, provided it is a printable
character there. Only what no encoding reads (a byte undefined in the code page, a C1
control) is left to the reader to quarantine.

:func:`mixed_errors` names a codec error handler doing this, so incremental decoders
(JSON documents) read such text as well as line readers do.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable

#: A well-formed UTF-8 multi-byte character (overlong forms and surrogates excluded).
UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
    rb"|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)
_C1_CONTROL = re.compile("[\x80-\x9f]")
#: Latin-1 prints nothing in 0x80-0x9F: Windows-1252, its superset, reads the same text.
_PRINTABLE_TWIN = {"latin_1": "cp1252", "latin-1": "cp1252", "iso8859-1": "cp1252"}


def single_byte(encoding: str | None) -> str:
    """The code page second-encoding bytes are read in (Windows-1252 when none is known)."""
    if not encoding or encoding.lower().startswith("utf"):
        return "cp1252"
    name = codecs.lookup(encoding).name
    return _PRINTABLE_TWIN.get(name, name)


def readable(text: str) -> bool:
    """Whether text decoded from a code page is printable (no C1 control codes)."""
    return _C1_CONTROL.search(text) is None


def mixed_errors(encoding: str | None) -> str:
    """The name of a codec error handler that reads bytes UTF-8 rejects in ``encoding``.

    Use as ``data.decode("utf-8", errors=mixed_errors("cp1252"))``; a byte the code page
    does not define, or reads as a C1 control, still raises :class:`UnicodeDecodeError`.
    """
    codec = single_byte(encoding)
    name = f"ariane-utf8-else-{codec}"
    try:
        codecs.lookup_error(name)
    except LookupError:
        codecs.register_error(name, _handler(codec))
    return name


def _handler(codec: str) -> Callable[[UnicodeError], tuple[str, int]]:
    def handle(error: UnicodeError) -> tuple[str, int]:
        if not isinstance(error, UnicodeDecodeError):
            raise error
        chunk = bytes(error.object[error.start : error.end])
        try:
            text = chunk.decode(codec)
        except UnicodeDecodeError:
            raise error from None
        if not readable(text):
            raise error
        return text, error.end

    return handle


def decode_mixed(line: bytes, encoding: str | None) -> str | None:
    """A line of UTF-8 and ``encoding`` bytes read each in its own encoding, else None.

    A line without any UTF-8 character is read wholly in the code page (a pair of its
    bytes may look like UTF-8 by chance only where UTF-8 is seen elsewhere in the line).
    """
    codec = single_byte(encoding)
    try:
        if UTF8_SEQUENCE.search(line) is None:
            text = line.decode(codec)
            return text if readable(text) else None
        return line.decode("utf-8", errors=mixed_errors(codec))
    except UnicodeDecodeError:
        return None
