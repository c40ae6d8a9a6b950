"""Which raw columns feed which person field: the union of every source under one schema.

Sources have different schemas (a CSV export, a SQL table, a sheet...). Classify gave each
column a label; here every source is projected onto the same raw person fields, so that
records of one person spread over files with different layouts meet in one table.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ariane.engine import Engine

#: label -> the raw fields it fills, in order: a second column with the same label (a
#: usage name beside a birth name, a second phone) fills the second field.
FIELDS_OF_LABEL: dict[str, tuple[str, ...]] = {
    "person.last_name": ("last_name_raw", "last_name_alt_raw"),
    "person.first_name": ("first_name_raw",),
    "person.full_name": ("full_name_raw",),
    "person.sex": ("sex_raw",),
    "person.birth_date": ("birth_date_raw",),
    "id.nir": ("nir_raw", "nir_alt_raw"),
    "id.internal": ("internal_id_raw",),
    "contact.phone": ("phone_raw", "phone_alt_raw"),
    "contact.email": ("email_raw",),
    "contact.street": ("street_raw",),
    "contact.postal_code": ("postal_code_raw",),
    "contact.city": ("city_raw",),
    "contact.address": ("address_raw",),
}
RAW_FIELDS: tuple[str, ...] = tuple(f for fields in FIELDS_OF_LABEL.values() for f in fields)
#: Labels whose columns are parts of one value (a street number beside the street name):
#: joined in the file's order rather than ranked.
JOINED_LABELS = frozenset({"contact.street", "contact.address"})


def quote(name: str) -> str:
    """A SQL identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


def field_columns(engine: Engine) -> dict[int, dict[str, list[str]]]:
    """For every source: raw field -> the columns that fill it (one, or the parts of a
    joined field in the file's order)."""
    labelled: dict[int, dict[str, list[tuple[float, int, str]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    if not engine.has_table("classify_columns"):
        return {}
    positions = {
        (source_id, name): i
        for source_id, columns in engine.fetch("SELECT source_id, columns FROM read_sources")
        for i, name in enumerate(columns or [])
    }
    rows = engine.fetch(
        "SELECT source_id, column_name, label, coalesce(confidence, 0) FROM classify_columns"
    )
    for source_id, column, label, confidence in rows:
        if label in FIELDS_OF_LABEL:
            position = positions.get((source_id, column), 1 << 30)
            labelled[source_id][label].append((-float(confidence), position, column))
    out: dict[int, dict[str, list[str]]] = {}
    for source_id, by_label in labelled.items():
        fields: dict[str, list[str]] = {}
        for label, candidates in by_label.items():
            if label in JOINED_LABELS:
                ordered = sorted(candidates, key=lambda c: c[1])
                fields[FIELDS_OF_LABEL[label][0]] = [column for _, _, column in ordered]
                continue
            # Two name or phone columns: keep both, the more confident first; a tie keeps
            # the file's order (a birth name usually comes before the usage name).
            for field, (_, _, column) in zip(
                FIELDS_OF_LABEL[label], sorted(candidates), strict=False
            ):
                fields[field] = [column]
        out[source_id] = fields
    return out


def _value(columns: list[str]) -> str:
    if not columns:
        return "CAST(NULL AS VARCHAR)"
    if len(columns) == 1:
        return f"CAST({quote(columns[0])} AS VARCHAR)"
    parts = ", ".join(f"nullif(trim(CAST({quote(c)} AS VARCHAR)), '')" for c in columns)
    return f"nullif(concat_ws(' ', {parts}), '')"


def union_sql(engine: Engine) -> str | None:
    """One query over every source: ``source_id, _record`` and every raw person field."""
    columns = field_columns(engine)
    parts = []
    for source_id, data_table in engine.fetch(
        "SELECT source_id, data_table FROM read_sources ORDER BY source_id"
    ):
        if not data_table or not engine.has_table(data_table):
            continue
        fields = columns.get(source_id, {})
        projected = ", ".join(f"{_value(fields.get(f, []))} AS {f}" for f in RAW_FIELDS)
        parts.append(
            f"SELECT CAST({int(source_id)} AS INTEGER) AS source_id, "
            f"CAST(_record AS BIGINT) AS _record, {projected} FROM {quote(data_table)}"
        )
    if not parts:
        return None
    return " UNION ALL ".join(parts)
