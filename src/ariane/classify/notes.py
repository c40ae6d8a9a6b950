"""Special-category mentions per record, found inside the engine over every row.

Free-text notes go through one compiled regular expression per category
(:mod:`ariane.classify.lexicon`) applied by DuckDB's ``regexp_matches`` to
``strip_accents(lower(note))``: no row passes through Python. Structured columns feed the
same categories: an HIV or pregnancy field counts on every filled row (a mention of any
polarity counts, CONTRACT.md), a diagnosis by its ICD-10 codes and its words, a test by
its words (``sérologie VIH``, ``bêta-HCG``, ``caryotype``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ariane.classify.lexicon import ICD10_PATTERNS, category_patterns, folded_sql, sql_literal

if TYPE_CHECKING:
    from ariane.engine import Engine

MENTIONS_TABLE = "classify_mentions"

#: Structured labels whose every filled value is a mention of one category.
_WHOLE_COLUMN = {"health.hiv": "hiv", "health.pregnancy": "pregnancy"}
#: Labels whose text goes through the lexicon.
_TEXT_LABELS = ("health.note", "health.condition", "health.test")


def _quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def mention_sql(source_id: int, data_table: str, column: str, label: str) -> str | None:
    """The query listing (source_id, _record, column_name, category) for one column."""
    value = f"nullif(trim({_quote_identifier(column)}), '')"
    table = _quote_identifier(data_table)
    head = (
        f"SELECT {int(source_id)}::INTEGER AS source_id, _record, "
        f"{sql_literal(column)} AS column_name"
    )
    if label in _WHOLE_COLUMN:
        category = sql_literal(_WHOLE_COLUMN[label])
        return f"{head}, {category} AS category FROM {table} WHERE {value} IS NOT NULL"
    if label not in _TEXT_LABELS:
        return None
    patterns = dict(category_patterns())
    flags = [
        f"regexp_matches(t, {sql_literal(p)}) AS {category}" for category, p in patterns.items()
    ]
    if label == "health.condition":
        # ICD-10 codes, read upper-case without dots (C50.9 -> C509).
        for category, p in ICD10_PATTERNS.items():
            flags.append(f"regexp_matches(codes, {sql_literal(p)}) AS icd_{category}")
    names = [f.rsplit(" AS ", 1)[1] for f in flags]
    return (
        f"{head}, CASE WHEN category LIKE 'icd_%' THEN substr(category, 5) ELSE category END "
        f"AS category FROM (SELECT _record, {', '.join(flags)} FROM ("
        f"SELECT _record, {folded_sql(value)} AS t, "
        f"replace(upper({value}), '.', '') AS codes FROM {table} WHERE {value} IS NOT NULL)) "
        f"UNPIVOT (hit FOR category IN ({', '.join(names)})) WHERE hit"
    )


def write_mentions(
    engine: Engine,
    labelled: Sequence[tuple[int, str, str]],
    sources: Sequence[Sequence[Any]],
) -> None:
    """(Re)build ``classify_mentions`` from the labelled columns of every source.

    ``labelled`` holds (source_id, column name, label); ``sources`` the rows of
    ``read_sources`` as (source_id, file, columns, data_table).
    """
    tables = {int(s[0]): str(s[3]) for s in sources}
    engine.execute(
        f"CREATE OR REPLACE TABLE {MENTIONS_TABLE} (source_id INTEGER, _record BIGINT, "
        "column_name VARCHAR, category VARCHAR)"
    )
    for source_id, column, label in labelled:
        sql = mention_sql(source_id, tables[source_id], column, label)
        if sql is not None:
            # DISTINCT: a condition both coded and written out is one mention per category.
            engine.execute(f"INSERT INTO {MENTIONS_TABLE} SELECT DISTINCT * FROM ({sql})")
