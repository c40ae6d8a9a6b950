"""What the leak exposes about each record and each person, as :class:`Exposure` bitmasks.

A record's exposure is the set of labelled columns that are non-empty in it (from the raw
tables and the labels of ``classify_columns``), the person fields ``resolve`` normalised,
the special-category mentions of ``classify_mentions``, whether the record belongs to a
health establishment's file (``attribute``), and whether the person is a minor. Bitmasks
keep the per-person work in SQL; only the few distinct masks are graded in Python.

Writes ``assess_exposure`` (source_id, _record, person_id, controller_id, exposure BIGINT).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import TYPE_CHECKING

from ariane.assess.enisa import CATEGORY_BITS, LABEL_BITS, Exposure

if TYPE_CHECKING:
    from ariane.engine import Engine

# Blank, or a placeholder some dump tools write for "no value" (RE2, case-insensitive).
_EMPTY = r"\s*(?i:null|\\n|na|n/a|none|nan|-)?\s*"


def _present(column: str) -> str:
    quoted = '"' + column.replace('"', '""') + '"'
    # A regular expression is several times faster here than upper(trim(...)) NOT IN (...).
    return f"coalesce(NOT regexp_full_match(CAST({quoted} AS VARCHAR), '{_EMPTY}'), false)"


def _mask(bits: dict[int, list[str]]) -> str:
    """SQL summing one bit per kind of data whose condition holds."""
    if not bits:
        return "0"
    terms = [
        f"(CASE WHEN {' OR '.join(conditions)} THEN {bit} ELSE 0 END)"
        for bit, conditions in sorted(bits.items())
    ]
    return " | ".join(terms)


def _raw_exposure_sql(engine: Engine) -> str | None:
    """One SELECT per read source giving each record's mask from its labelled columns."""
    if not (engine.has_table("read_sources") and engine.has_table("classify_columns")):
        return None
    labels: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for source_id, column, label in engine.fetch(
        "SELECT source_id, column_name, label FROM classify_columns"
    ):
        if label in LABEL_BITS:
            labels[int(source_id)].append((column, label))
    stored = set(engine.tables())
    selects = []
    from ariane.read import record_sources_sql

    records = record_sources_sql(engine)
    for source_id, data_table in engine.fetch(f"SELECT source_id, data_table FROM ({records})"):
        if data_table not in stored or not labels.get(int(source_id)):
            continue
        # Only columns the raw table really has: a label never makes the query fail.
        present = {
            row[0]
            for row in engine.fetch(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = ? AND table_catalog = current_database()",
                [data_table],
            )
        }
        bits: dict[int, list[str]] = defaultdict(list)
        for column, label in labels[int(source_id)]:
            if column in present:
                bits[int(LABEL_BITS[label])].append(_present(column))
        selects.append(
            f"SELECT {int(source_id)}::INTEGER AS source_id, _record, "
            f'({_mask(bits)})::BIGINT AS exposure FROM "{data_table}"'
        )
    return " UNION ALL ".join(selects) if selects else None


def build_exposure(engine: Engine, reference: date) -> None:
    """Materialise ``assess_exposure``; ``reference`` dates the minor test (18 years)."""
    raw = _raw_exposure_sql(engine)
    ctes = [
        f"raw AS ({raw})"
        if raw
        else "raw AS (SELECT NULL::INTEGER AS source_id, NULL::BIGINT AS _record, "
        "0::BIGINT AS exposure WHERE false)"
    ]
    if engine.has_table("classify_mentions"):
        cases = " ".join(f"WHEN '{name}' THEN {int(bit)}" for name, bit in CATEGORY_BITS.items())
        ctes.append(
            "mentions AS (SELECT source_id, _record, "
            f"bit_or(CASE lower(category) {cases} ELSE 0 END)::BIGINT AS exposure "
            "FROM classify_mentions GROUP BY source_id, _record)"
        )
    else:
        ctes.append("mentions AS (SELECT * FROM raw WHERE false)")
    if engine.has_table("attribute_records"):
        finess = (
            "coalesce(trim(c.finess), '') <> ''"
            if engine.has_table("attribute_controllers")
            else "false"
        )
        join = (
            "LEFT JOIN attribute_controllers c USING (controller_id)"
            if engine.has_table("attribute_controllers")
            else ""
        )
        ctes.append(
            "attributed AS (SELECT a.source_id, a._record, a.controller_id, "
            f"{finess} AS health FROM attribute_records a {join})"
        )
    else:
        ctes.append(
            "attributed AS (SELECT NULL::INTEGER AS source_id, NULL::BIGINT AS _record, "
            "NULL::VARCHAR AS controller_id, false AS health WHERE false)"
        )
    person_bits = {
        int(Exposure.NAME): [
            "length(r.last_name) > 0",
            "length(r.first_name) > 0",
        ],
        int(Exposure.NIR): ["length(r.nir) > 0"],
        int(Exposure.PHONE): ["length(r.phone) > 0"],
        int(Exposure.EMAIL): ["length(r.email) > 0"],
        int(Exposure.LOCALITY): [
            "length(r.postal_code) > 0",
            "length(r.commune_code) > 0",
        ],
        int(Exposure.BIRTH_DATE): ["r.birth_date IS NOT NULL"],
        int(Exposure.SEX): ["length(r.sex) > 0"],
        int(Exposure.PATIENT): ["coalesce(a.health, false)"],
        int(Exposure.MINOR): [
            "coalesce(r.birth_date > CAST(? AS DATE) - INTERVAL 18 YEAR "
            "AND r.birth_date <= CAST(? AS DATE), false)"
        ],
    }
    engine.execute(
        "CREATE OR REPLACE TABLE assess_exposure AS WITH " + ", ".join(ctes) + " "
        "SELECT r.source_id, r._record, r.person_id, a.controller_id, "
        f"(coalesce(x.exposure, 0) | coalesce(m.exposure, 0) | {_mask(person_bits)})::BIGINT "
        "AS exposure "
        "FROM resolve_records r "
        "LEFT JOIN raw x ON x.source_id = r.source_id AND x._record = r._record "
        "LEFT JOIN mentions m ON m.source_id = r.source_id AND m._record = r._record "
        "LEFT JOIN attributed a ON a.source_id = r.source_id AND a._record = r._record",
        [reference.isoformat(), reference.isoformat()],
    )
