"""Controllers' own patient lists (``--controller-patients ID=FILE``) as evidence.

When a leak names no lab, each lab can hand over its patient list: records whose person
fields (normalised like the leak's) match a list belong to that lab. A record found in
several labs' lists is evidence for none of them.

The lists are CSV files with a header row; their columns are recognised by header name.
A list may give one row per visit with its date ('Date de prélèvement'): a person in
several labs' lists is then placed by the date of the record's visit.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from ariane.errors import ConfigError
from ariane.resolve import normalise as n
from ariane.resolve.fields import quote

if TYPE_CHECKING:
    from ariane.engine import Engine

ROW = 1
# Header words -> the person field a column holds (folded: lower case, no accents).
_HEADER_HINTS: tuple[tuple[str, str], ...] = (
    (r"nir|secu|insee|ins\b|ssn|social", "nir"),
    (r"prenom|first|given|forename", "first_name"),
    (r"(^|[_ ])nom|surname|last|^name", "last_name"),
    (r"naiss|birth|dob|ddn", "birth_date"),
    (r"visit|passage|prelev|sample|analyse|venue", "visit_date"),
)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def columns_of(header: list[str]) -> dict[str, str]:
    """Person field -> header column, from the header's words."""
    found: dict[str, str] = {}
    for column in header:
        folded = _fold(column)
        for pattern, field in _HEADER_HINTS:
            if field not in found and re.search(pattern, folded):
                found[field] = column
                break
    return found


def check_list(path: Path) -> None:
    """Refuse, before any leak is read, a patient list whose header names no usable column."""
    from ariane.read.sniff import decode_sample, sniff_dialect, sniff_encoding

    try:
        with open(path, "rb") as handle:
            sample = handle.read(65536)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the patient list ({type(exc).__name__})") from None
    text = decode_sample(sample, sniff_encoding(sample)).lstrip("\ufeff")
    dialect = sniff_dialect(text, truncated=True)
    # The list is read with a header row whatever the sniffer thinks: check that row.
    first = next(csv.reader(text.splitlines()[dialect.preamble :], delimiter=dialect.delimiter), [])
    _require_person_columns(path, columns_of(dialect.header_fields or first))


def _require_person_columns(path: Path, fields: dict[str, str]) -> None:
    if "nir" not in fields and not {"last_name", "first_name", "birth_date"} <= fields.keys():
        raise ConfigError(
            f"{path} line 1: a patient list needs a NIR column, or last name, first name "
            "and birth date columns"
        )


def gather_evidence(engine: Engine, lists: dict[str, Path], known: set[str]) -> None:
    """Add ``patient list`` evidence to ``attribute_evidence``."""
    if not engine.has_table("resolve_records"):
        return
    engine.execute(
        "CREATE OR REPLACE TABLE attribute_patients (controller_id VARCHAR, nir VARCHAR, "
        "last_name VARCHAR, first_name VARCHAR, birth_date DATE, visit_date DATE)"
    )
    for controller_id, path in sorted(lists.items()):
        if controller_id not in known:
            raise ConfigError(f"{path}: controller {controller_id} is not in the registry")
        if not path.is_file():
            raise ConfigError(f"{path}: patient list not found")
        _load(engine, controller_id, path)
    engine.execute(
        f"""
        INSERT INTO attribute_evidence
        WITH visits AS ({_visits_sql(engine)}),
        found AS (
            SELECT r.source_id, r._record, p.controller_id,
                   coalesce(bool_or(p.visit_date = v.visit_date), false) AS on_visit
            FROM resolve_records r JOIN attribute_patients p
              ON (r.nir IS NOT NULL AND r.nir = p.nir)
              OR (r.birth_date = p.birth_date AND r.last_name = p.last_name
                  AND r.first_name = p.first_name)
            LEFT JOIN visits v ON v.source_id = r.source_id AND v._record = r._record
            GROUP BY ALL
        ), kept AS (
            -- A person in several labs' lists: the list holding the record's visit date
            -- says which lab this record is from.
            SELECT * FROM found
            QUALIFY on_visit OR NOT bool_or(on_visit) OVER (PARTITION BY source_id, _record)
        )
        SELECT source_id, _record, controller_id,
               0.9 / count(*) OVER (PARTITION BY source_id, _record),
               CASE WHEN on_visit THEN 'patient list, visit date' ELSE 'patient list' END, {ROW}
        FROM kept
        """
    )
    engine.execute("DROP TABLE attribute_patients")


def _visits_sql(engine: Engine) -> str:
    """Every record's visit dates (columns classify labelled ``health.visit_date``)."""
    from ariane.attribute.records import labelled_columns

    parsed = n.parse_date("visit_text", n.DAY_FIRST, date.today())
    parts = [
        f"SELECT CAST({source_id} AS INTEGER) AS source_id, CAST(_record AS BIGINT) AS _record, "
        f"{parsed} AS visit_date FROM (SELECT _record, {n.date_text(quote(column))} AS visit_text "
        f"FROM {quote(table)})"
        for source_id, table, column in labelled_columns(engine, "health.visit_date")
    ]
    return " UNION ALL ".join(parts) or (
        "SELECT CAST(NULL AS INTEGER) AS source_id, CAST(NULL AS BIGINT) AS _record, "
        "CAST(NULL AS DATE) AS visit_date LIMIT 0"
    )


def _load(engine: Engine, controller_id: str, path: Path) -> None:
    view = "attribute_patient_list"
    escaped = str(path).replace("'", "''")
    try:
        engine.execute(
            f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT * FROM read_csv('{escaped}', "
            "all_varchar = true, header = true)"
        )
        header = [row[0] for row in engine.fetch(f"SELECT column_name FROM (DESCRIBE {view})")]
    except Exception as exc:  # DuckDB's errors quote data lines: keep only their kind
        raise ConfigError(f"{path}: cannot read the patient list ({type(exc).__name__})") from None
    fields = columns_of(header)
    _require_person_columns(path, fields)

    def column(field: str) -> str:
        return quote(fields[field]) if field in fields else "CAST(NULL AS VARCHAR)"

    birth = n.birth_date(n.parse_date("bd_text", n.DAY_FIRST, date.today()), date.today())
    visit = n.parse_date("visit_text", n.DAY_FIRST, date.today())
    engine.execute(
        f"""
        INSERT INTO attribute_patients
        SELECT ?, {n.nir("nir_c")}, {n.birth_name(n.name("ln"))}, {n.name("fn")}, {birth},
               {visit}
        FROM (SELECT {n.nir_compact(column("nir"))} AS nir_c, {column("last_name")} AS ln,
                     {column("first_name")} AS fn,
                     {n.date_text(column("birth_date"))} AS bd_text,
                     {n.date_text(column("visit_date"))} AS visit_text
              FROM {view})
        """,
        [controller_id],
    )
    engine.execute(f"DROP VIEW {view}")
