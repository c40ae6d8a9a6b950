"""A spreadsheet's damage to a labelled column (:mod:`ariane.excel`): flagged, and counted.

Two outcomes, both written beside the column's label in ``classify_columns``:

* ``damage``: what makes the column unusable to link persons, though its label still says
  what leaked: ``digits lost`` for a NIR column rounded to scientific notation
  (``2,85057E+14``). The resolve stage never compares a damaged column;
* ``repaired``: how many values of the whole column the later stages read repaired
  (a FINESS, a postal code or a phone number given back its leading zero, a date read
  from its serial number), each repair certain (see :mod:`ariane.excel`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ariane import excel
from ariane.classify.columns import ColumnSample

if TYPE_CHECKING:
    from ariane.engine import Engine

#: Share of a NIR column's values rounded by a spreadsheet from which the whole column is
#: damaged (below it, resolve still leaves each rounded value aside: see ``excel``).
DAMAGED_SHARE = 0.5
DIGITS_LOST = "digits lost"

#: Label -> (a value needing the repair, in SQL over a VARCHAR column ``v``; its repair in
#: Python, None where the value is not damaged so; whether the SQL alone counts). Phone
#: numbers are counted as resolve repairs them (nine digits, 1-7 or 9 first), dates by
#: their serial number; FINESS numbers and postal codes by their repair (few distinct).
_DIGITS = "regexp_replace(v, '[\\s.\\-/]', '', 'g')"
_SERIAL = f"{excel.serial_date_sql('trim(v)')} IS NOT NULL"
_REPAIRS: dict[str, tuple[str, Callable[[str], object], bool]] = {
    "provider.finess": (
        f"regexp_full_match({_DIGITS}, '[1-9][0-9]{{7}}')",
        excel.finess_restored,
        False,
    ),
    "contact.postal_code": (
        "regexp_full_match(replace(v, ' ', ''), '[1-9][0-9]{3}')",
        excel.postal_code_restored,
        False,
    ),
    "contact.phone": (
        f"regexp_full_match({_DIGITS}, '[1-79][0-9]{{8}}')",
        excel.phone_restored,
        True,
    ),
    "person.birth_date": (_SERIAL, excel.serial_date, True),
    "health.visit_date": (_SERIAL, excel.serial_date, True),
}


def damage_of(label: str, sample: ColumnSample) -> str | None:
    """What makes a column unusable to link persons, or None."""
    if label == "id.nir" and sample.rates.get("nir_digits_lost", 0.0) >= DAMAGED_SHARE:
        return DIGITS_LOST
    return None


def repaired_values(
    engine: Engine, table: str, column: str, label: str, sample: ColumnSample
) -> int:
    """How many values of the column are read repaired (0 when no sampled value needs it)."""
    if label not in _REPAIRS:
        return 0
    where, repair, counted_in_sql = _REPAIRS[label]
    if not any(repair(v) is not None for v in sample.values):
        return 0
    quoted = '"' + column.replace('"', '""') + '"'
    values = f'SELECT CAST({quoted} AS VARCHAR) AS v FROM "{table}" WHERE {quoted} IS NOT NULL'
    if counted_in_sql:
        return int(engine.fetch(f"SELECT count(*) FROM ({values}) WHERE {where}")[0][0])
    rows = engine.fetch(f"SELECT v, count(*) FROM ({values}) WHERE {where} GROUP BY v")
    return sum(int(count) for value, count in rows if repair(str(value)) is not None)
