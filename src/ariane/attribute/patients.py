"""Controllers' own patient lists (``--controller-patients ID=FILE``) as evidence.

When a leak names no lab, each lab can hand over its patient list: records whose person
fields (normalised like the leak's) match a list belong to that lab. A record found in
several labs' lists is evidence for none of them.

The lists are CSV files with a header row; their columns are recognised by header name.
"""

from __future__ import annotations

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


def gather_evidence(engine: Engine, lists: dict[str, Path], known: set[str]) -> None:
    """Add ``patient list`` evidence to ``attribute_evidence``."""
    if not engine.has_table("resolve_records"):
        return
    engine.execute(
        "CREATE OR REPLACE TABLE attribute_patients (controller_id VARCHAR, nir VARCHAR, "
        "last_name VARCHAR, first_name VARCHAR, birth_date DATE)"
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
        WITH found AS (
            SELECT DISTINCT r.source_id, r._record, p.controller_id
            FROM resolve_records r JOIN attribute_patients p
              ON (r.nir IS NOT NULL AND r.nir = p.nir)
              OR (r.birth_date = p.birth_date AND r.last_name = p.last_name
                  AND r.first_name = p.first_name)
        )
        SELECT source_id, _record, controller_id,
               0.9 / count(*) OVER (PARTITION BY source_id, _record), 'patient list', {ROW}
        FROM found
        """
    )
    engine.execute("DROP TABLE attribute_patients")


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
    if "nir" not in fields and not {"last_name", "first_name", "birth_date"} <= fields.keys():
        raise ConfigError(
            f"{path} line 1: a patient list needs a NIR column, or last name, first name "
            "and birth date columns"
        )

    def column(field: str) -> str:
        return quote(fields[field]) if field in fields else "CAST(NULL AS VARCHAR)"

    birth = n.birth_date(n.parse_date("bd_text", n.DAY_FIRST, date.today()), date.today())
    engine.execute(
        f"""
        INSERT INTO attribute_patients
        SELECT ?, {n.nir("nir_c")}, {n.birth_name(n.name("ln"))}, {n.name("fn")}, {birth}
        FROM (SELECT {n.nir_compact(column("nir"))} AS nir_c, {column("last_name")} AS ln,
                     {column("first_name")} AS fn,
                     {n.date_text(column("birth_date"))} AS bd_text
              FROM {view})
        """,
        [controller_id],
    )
    engine.execute(f"DROP VIEW {view}")
