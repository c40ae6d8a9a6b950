"""What a spreadsheet does to a leak's values when it saves them, and undoing it where certain.

A CSV opened and saved again in Excel (French Excel above all: ``;`` between fields, a
comma for decimals, Windows-1252) loses what made its numbers identifiers:

* long numbers are rounded to their first digits and written in scientific notation:
  a NIR ``285057512345678`` becomes ``2,85057E+14``; written out again it reads
  ``285057000000000``. The lost digits cannot be recovered: such a NIR still says that a
  NIR leaked, but it identifies nobody and must never link two records;
* leading zeros go: FINESS numbers and postal codes of départements 01 to 09 lose their
  first ``0`` (``010001234`` -> ``10001234``, ``01000`` -> ``1000``), and so do phone
  numbers (``0612345678`` -> ``612345678``). Put back, the number is certain when a check
  confirms it: the FINESS Luhn key, a postal code of the geographic referential, a number
  ``phonenumbers`` holds valid;
* dates become serial numbers, days since 1900-01-00 with the 1900 leap-year bug of Lotus
  1-2-3 (``31458`` is 1986-02-14).

Each ``*_restored`` function returns the repaired value, or None when the value is not
damaged that way or its repair is not certain.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from stdnum import luhn

from ariane import geo
from ariane.resolve.phones import is_valid_french

#: A number in scientific notation, with a decimal point or comma: ``2,85057E+14``.
_SCIENTIFIC = re.compile(r"^([+-]?\d+)(?:[.,](\d*))?[eE]\+?(\d{1,3})$")
#: A NIR's sex digit, then a year and a month (01-12, or 20 and over for unknown months).
_NIR_START = re.compile(r"^[1278](?:\d{2}(?:0[1-9]|1[0-2]|[2-9]\d)?)?$")
#: A NIR written out after its digits were rounded: its order number (digits 11-13), never
#: 000 in a real NIR, is zeros, and so is its key when it has one.
_NIR_ROUNDED = re.compile(r"^[1278]\d{2}(?:0[1-9]|1[0-2]|[2-9]\d)\d{5}000(?:00)?$")
_SEPARATORS = re.compile(r"[\s.\-/]")

#: Day 0 of Excel's 1900 date system, for serial numbers after its false 1900-02-29 (60).
_EXCEL_EPOCH = date(1899, 12, 30)
#: Serial numbers read as dates: 4 or 5 digits, 1902-09-26 (1000) to 2064-04-08 (60000).
_SERIAL = re.compile(r"^[1-9]\d{3,4}$")
_SERIAL_LAST = 60000


def scientific_digits(value: str) -> tuple[str, int] | None:
    """The significant digits kept and the number of digits of the integer, for a number
    in scientific notation (``2,85057E+14`` -> ``('285057', 15)``), else None."""
    found = _SCIENTIFIC.match(value.strip())
    if found is None:
        return None
    whole, decimals, exponent = found.group(1).lstrip("+-"), found.group(2) or "", found.group(3)
    return whole + decimals, len(whole) + int(exponent)


def nir_digits_lost(value: str) -> bool:
    """A NIR whose digits a spreadsheet rounded away: ``2,85057E+14``, ``2.85057E+14``, or
    the same written out (``285057000000000``). Such a value names no one."""
    found = scientific_digits(value)
    if found is not None:
        kept, width = found
        return width in (13, 15) and _NIR_START.match(kept[:5]) is not None
    return _NIR_ROUNDED.match(_SEPARATORS.sub("", value)) is not None


def _digits(value: str) -> str:
    return _SEPARATORS.sub("", value.strip())


def finess_restored(value: str) -> str | None:
    """A FINESS number that lost its leading zero (8 digits), with it put back when the
    Luhn key of the nine digits holds."""
    text = _digits(value)
    if len(text) != 8 or not text.isdigit() or text[0] == "0":
        return None
    restored = "0" + text
    return restored if luhn.is_valid(restored) else None


def postal_code_restored(value: str) -> str | None:
    """A postal code of département 01-09 that lost its leading zero (4 digits), with it
    put back when the five digits are a postal code of the referential."""
    text = value.strip().replace(" ", "")
    if len(text) != 4 or not text.isdigit() or text[0] == "0":
        return None
    restored = "0" + text
    return restored if geo.is_postal_code(restored) else None


def phone_restored(value: str) -> str | None:
    """A French phone number that lost its leading zero (9 digits, 1-9 first), with it put
    back when ``phonenumbers`` holds the ten digits a valid French number (overseas too)."""
    text = _digits(value)
    if len(text) != 9 or not text.isdigit() or text[0] == "0":
        return None
    restored = "0" + text
    return restored if is_valid_french(restored) else None


def serial_date(value: str) -> date | None:
    """The date of an Excel serial number (1900 date system), else None.

    Excel counts 1900-02-29, a day that never was (serial 60): serials after it are one day
    ahead of the calendar, which the epoch 1899-12-30 makes up for. Only 4 or 5 digits are
    read (1902 to 2064): a serial date is no shorter, and longer numbers are something else.
    """
    text = value.strip()
    if not _SERIAL.match(text):
        return None
    serial = int(text)
    return _EXCEL_EPOCH + timedelta(days=serial) if serial <= _SERIAL_LAST else None


def serial_date_sql(column: str) -> str:
    """SQL twin of :func:`serial_date`: a DATE from a VARCHAR column, else NULL."""
    return (
        f"CASE WHEN regexp_full_match({column}, '[1-9][0-9]{{3,4}}') "
        f"AND TRY_CAST({column} AS INTEGER) <= {_SERIAL_LAST} "
        f"THEN DATE '{_EXCEL_EPOCH.isoformat()}' + TRY_CAST({column} AS INTEGER) END"
    )


def nir_digits_lost_sql(column: str) -> str:
    """SQL twin of :func:`nir_digits_lost` on a NIR compacted upper case (separators gone,
    the decimal point too): any number in scientific notation identifies no one."""
    return (
        f"(regexp_full_match({column}, '[0-9][0-9.,]*E[+]?[0-9]{{1,3}}') "
        f"OR regexp_full_match({column}, '{_NIR_ROUNDED.pattern[1:-1]}'))"
    )
