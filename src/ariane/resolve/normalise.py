"""Person fields in canonical form, as DuckDB SQL expressions (vectorised over every row).

Each function takes a SQL expression (a column) and returns a SQL expression. What SQL
cannot do well (splitting whole names, overseas phone numbers, communes) is mapped over
*distinct* values in Python by :mod:`ariane.resolve.names`, :mod:`~.phones` and
:mod:`~.addresses`.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from ariane import excel

# Birth dates outside these bounds are typing errors, not people.
EARLIEST_BIRTH = date(1890, 1, 1)

# Separators people put in numbers; the NIR module strips the same ones.
_NIR_SEPARATORS = r"[\s.\-_/]"
_NIR_SHAPE = r"[1278][0-9]{4}([0-9]{2}|2A|2B)[0-9]{6}"
# Words that join a birth name and a usage name in one field ("MARTIN NEE DUPONT").
_USAGE_MARKERS = "NEE|NE|EPOUSE|EPSE|EP|VEUVE|VVE|DITE|DIT"
_FIRST_BORN = "EPOUSE|EPSE|EP|VEUVE|VVE"  # "DUPONT EPOUSE MARTIN": birth name first

# French and English month names (accents stripped, lower case) -> month number.
_MONTHS = {
    "janvier": 1, "janv": 1, "january": 1, "jan": 1,
    "fevrier": 2, "fevr": 2, "fev": 2, "february": 2, "feb": 2,
    "mars": 3, "march": 3, "mar": 3,
    "avril": 4, "avr": 4, "april": 4, "apr": 4,
    "mai": 5, "may": 5,
    "juin": 6, "june": 6, "jun": 6,
    "juillet": 7, "juil": 7, "july": 7, "jul": 7,
    "aout": 8, "august": 8, "aug": 8,
    "septembre": 9, "sept": 9, "september": 9, "sep": 9,
    "octobre": 10, "october": 10, "oct": 10,
    "novembre": 11, "november": 11, "nov": 11,
    "decembre": 12, "december": 12, "dec": 12,
}  # fmt: skip

#: Orders of day and month: French day first; a column whose dates parse better month
#: first (12/25/1980) reads month first.
DAY_FIRST = ("%d", "%m")
MONTH_FIRST = ("%m", "%d")


def text(column: str) -> str:
    """Trimmed text, NULL when empty or a usual placeholder for nothing."""
    return (
        f"CASE WHEN lower(trim({column})) IN ('', 'null', 'none', 'nan', 'n/a', 'na', '-', "
        f"'?', 'inconnu', 'unknown', '\\n', 'nr') THEN NULL ELSE trim({column}) END"
    )


def name(column: str) -> str:
    """Upper case, no accents, letters and single spaces only: ``'Le Gall-Hervé'`` -> ``'LE
    GALL HERVE'``."""
    folded = f"replace(replace(upper(strip_accents({text(column)})), 'Œ', 'OE'), 'Æ', 'AE')"
    return f"nullif(trim(regexp_replace({folded}, '[^A-Z]+', ' ', 'g')), '')"


def birth_name(normalised: str) -> str:
    """From a normalised last name holding two names, the birth name (else the name)."""
    return (
        f"CASE WHEN regexp_matches({normalised}, ' ({_FIRST_BORN}) ') "
        f"THEN nullif(trim(regexp_extract({normalised}, '^(.*?) ({_USAGE_MARKERS}) ', 1)), '') "
        f"WHEN regexp_matches({normalised}, ' ({_USAGE_MARKERS}) ') "
        f"THEN nullif(trim(regexp_extract({normalised}, ' ({_USAGE_MARKERS}) (.*)$', 2)), '') "
        f"ELSE {normalised} END"
    )


def other_name(normalised: str) -> str:
    """From a normalised last name holding two names, the usage name (else NULL)."""
    return (
        f"CASE WHEN regexp_matches({normalised}, ' ({_FIRST_BORN}) ') "
        f"THEN nullif(trim(regexp_extract({normalised}, ' ({_USAGE_MARKERS}) (.*)$', 2)), '') "
        f"WHEN regexp_matches({normalised}, ' ({_USAGE_MARKERS}) ') "
        f"THEN nullif(trim(regexp_extract({normalised}, '^(.*?) ({_USAGE_MARKERS}) ', 1)), '') "
        "ELSE NULL END"
    )


def name_key(normalised: str) -> str:
    """A name without spaces, for comparison: particles glued (``LE GALL`` = ``LEGALL``)."""
    return f"nullif(replace({normalised}, ' ', ''), '')"


def date_text(column: str) -> str:
    """A date as digits separated by '/', times dropped (month names: :func:`date_words`)."""
    folded = f"lower(strip_accents({text(column)}))"
    # "1980-03-12 00:00:00", "1980-03-12T00:00:00.000Z": keep the date part.
    no_time = f"regexp_replace({folded}, '[ t]\\d{{1,2}}:\\d{{2}}.*$', '')"
    return f"trim(regexp_replace({no_time}, '[^0-9]+', '/', 'g'), '/')"


def has_words(column: str) -> str:
    """Whether a date field holds letters (month names): those go to :func:`date_words`."""
    return f"regexp_matches({column}, '[A-Za-z]{{3}}')"


_MONTH_WORD = re.compile(r"\b(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?\b")
_TIME = re.compile(r"[ t]\d{1,2}:\d{2}.*$")


def date_words(value: str | None) -> str | None:
    """Python twin of :func:`date_text` for dates written with month names ('12 mars
    1980' -> '12/3/1980'); run over distinct values only, they are rare."""
    if not value:
        return None
    decomposed = unicodedata.normalize("NFKD", value.strip().lower())
    folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    named = _MONTH_WORD.sub(lambda m: f"/{_MONTHS[m.group(1)]}/", folded)
    return re.sub(r"[^0-9]+", "/", _TIME.sub("", named)).strip("/") or None


def _past(parsed: str, today: date) -> str:
    # A two-digit year names the latest such year not after today ('75' -> 1975).
    return (
        f"(SELECT CASE WHEN d > DATE '{today.isoformat()}' "
        f"THEN CAST(d - INTERVAL 100 YEAR AS DATE) ELSE d END FROM (SELECT {parsed} AS d))"
    )


def parse_date(digits: str, order: tuple[str, str], today: date) -> str:
    """A DATE from :func:`date_text` output (day and month in ``order`` when ambiguous);
    the shape picks the format: year first or last, two-digit years, compact digits, Excel
    serial numbers."""
    first, second = order
    dm = f"'{first}/{second}/%Y', '{second}/{first}/%Y'"
    dm_short = f"'{first}/{second}/%y', '{second}/{first}/%y'"
    compact_short = f"CAST(try_strptime({digits}, '{first}{second}%y') AS DATE)"
    return (
        "CASE "
        f"WHEN regexp_full_match({digits}, '[0-9]{{4}}/[0-9]{{1,2}}/[0-9]{{1,2}}') "
        f"THEN CAST(try_strptime({digits}, '%Y/%m/%d') AS DATE) "
        f"WHEN regexp_full_match({digits}, '[0-9]{{1,2}}/[0-9]{{1,2}}/[0-9]{{4}}') "
        f"THEN CAST(try_strptime({digits}, [{dm}]) AS DATE) "
        f"WHEN regexp_full_match({digits}, '[0-9]{{1,2}}/[0-9]{{1,2}}/[0-9]{{2}}') "
        f"THEN {_past(f'CAST(try_strptime({digits}, [{dm_short}]) AS DATE)', today)} "
        f"WHEN regexp_full_match({digits}, '(19|20)[0-9]{{6}}') "
        f"THEN CAST(try_strptime({digits}, ['%Y%m%d', '{first}{second}%Y']) AS DATE) "
        f"WHEN regexp_full_match({digits}, '[0-9]{{8}}') "
        f"THEN CAST(try_strptime({digits}, '{first}{second}%Y') AS DATE) "
        f"WHEN regexp_full_match({digits}, '[0-9]{{6}}') "
        f"THEN {_past(compact_short, today)} "
        f"ELSE {excel.serial_date_sql(digits)} END"
    )


def birth_date(parsed: str, today: date) -> str:
    """A plausible birth date (not before 1890, not after today), else NULL."""
    return (
        f"CASE WHEN {parsed} BETWEEN DATE '{EARLIEST_BIRTH.isoformat()}' "
        f"AND DATE '{today.isoformat()}' THEN {parsed} END"
    )


def nir_compact(column: str) -> str:
    """A NIR without separators, upper case (input of :func:`nir`)."""
    return f"upper(regexp_replace({text(column)}, '{_NIR_SEPARATORS}', '', 'g'))"


def nir(n: str) -> str:
    """From a :func:`nir_compact` column, the canonical 15-character NIR when its key
    checks (a 13-character body gets its key computed), else NULL."""
    numeric = f"TRY_CAST(replace(replace(substr({n}, 1, 13), '2A', '19'), '2B', '18') AS BIGINT)"
    key = f"(97 - ({numeric} % 97))"
    month = f"TRY_CAST(substr({n}, 4, 2) AS INTEGER)"
    return (
        f"CASE WHEN NOT regexp_full_match({n}, '{_NIR_SHAPE}([0-9]{{2}})?') THEN NULL "
        f"WHEN {month} = 0 OR ({month} > 12 AND {month} < 20) THEN NULL "
        f"WHEN length({n}) = 13 THEN {n} || lpad(CAST({key} AS VARCHAR), 2, '0') "
        f"WHEN {key} = TRY_CAST(substr({n}, 14, 2) AS INTEGER) THEN {n} END"
    )


def nir_is_own(nir_sql: str, sex_sql: str, birth_sql: str) -> str:
    """Whether a NIR agrees with its record's sex and birth date (see ``nir.nir_agrees``).

    A NIR that disagrees is usually the insured parent's or spouse's number, shared by the
    family: it must not make two people one.
    """
    month = f"CAST(substr({nir_sql}, 4, 2) AS INTEGER)"
    return (
        f"({nir_sql} IS NOT NULL "
        f"AND ({sex_sql} IS NULL OR (substr({nir_sql}, 1, 1) IN ('1', '7')) = ({sex_sql} = '1')) "
        f"AND ({birth_sql} IS NULL OR (substr({nir_sql}, 2, 2) = strftime({birth_sql}, '%y') "
        f"AND ({month} > 12 OR {month} = month({birth_sql})))))"
    )


def sex_of_nir(nir_sql: str) -> str:
    """'1' or '2' from a NIR's first digit."""
    return (
        f"CASE substr({nir_sql}, 1, 1) WHEN '1' THEN '1' WHEN '7' THEN '1' "
        f"WHEN '2' THEN '2' WHEN '8' THEN '2' END"
    )


def email(column: str) -> str:
    """Lower-case email address when it has the shape of one, else NULL."""
    lowered = f"lower(regexp_replace({text(column)}, '\\s+', '', 'g'))"
    return (
        f"CASE WHEN regexp_full_match({lowered}, "
        f"'[a-z0-9._%+''-]+@[a-z0-9-]+(\\.[a-z0-9-]+)*\\.[a-z]{{2,}}') THEN {lowered} END"
    )


def postal_code(column: str) -> str:
    """Five-digit postal code: from '35000', '35 000', 'F-35000', or '1000' (a lost zero)."""
    digits = f"regexp_replace({text(column)}, '[^0-9]', '', 'g')"
    return (
        f"CASE WHEN length({digits}) = 5 THEN {digits} "
        f"WHEN length({digits}) = 4 THEN '0' || {digits} END"
    )


def postal_code_in_address(column: str) -> str:
    """The last five-digit group of a whole address ('12 rue X 35000 Rennes')."""
    found = f"regexp_extract({text(column)}, '.*\\b([0-9]{{2}} ?[0-9]{{3}})\\b', 1)"
    return f"nullif(replace({found}, ' ', ''), '')"


def city_in_address(column: str) -> str:
    """The words after the postal code of a whole address."""
    found = f"regexp_extract({text(column)}, '\\b[0-9]{{2}} ?[0-9]{{3}}\\s*,?\\s+([^0-9,]+)', 1)"
    return f"nullif(trim({found}), '')"


def street(column: str) -> str:
    """A street line folded like a name, digits kept: ``'12, Rue de l'Église'`` ->
    ``'12 RUE DE L EGLISE'``."""
    folded = f"upper(strip_accents({text(column)}))"
    return f"nullif(trim(regexp_replace({folded}, '[^A-Z0-9]+', ' ', 'g')), '')"
