"""DuckDB SQL -> Spark SQL: the stages' SQL is written once, in DuckDB's dialect.

sqlglot does most of the work (as in Splink); this module adds what sqlglot leaves to the
target engine, each a rewrite into what Spark says the same way:

- ``?`` parameters become literals (Spark's own markers do not reach DDL or VALUES);
- DuckDB's ``UNPIVOT (q) ON COLUMNS(*) INTO NAME n VALUE v`` becomes the standard form;
- ``USING SAMPLE reservoir(N ROWS) REPEATABLE (s)`` a seeded ``ORDER BY rand(s) LIMIT N``;
- a ``row_number()`` over no order gets one (Spark requires it);
- ``regexp_full_match`` an anchored ``RLIKE``; ``try_strptime`` ``try_to_timestamp``;
- tuples compared as a whole (``arg_min(x, (a, b))``) become structs;
- ``jaro_winkler_similarity`` Splink's ``jaro_winkler`` (its jar);
- ``list[i]`` (from 1, NULL out of range) ``try_element_at(list, i)``.

Statements that change tables (CREATE, INSERT, UPDATE, ALTER, DROP) are parsed here and
carried out by :class:`ariane.engine.spark.SparkEngine` on its Parquet tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.time import format_time

READ = "duckdb"
WRITE = "spark"
_SPARK = Dialect.get_or_raise(WRITE)


def parse(sql: str, params: Sequence[Any] | None = None) -> list[Any]:
    """The statements of ``sql`` (DuckDB dialect), with ``params`` bound as literals."""
    statements = [s for s in sqlglot.parse(sql, read=READ) if s is not None]
    if params:
        values = iter(params)
        for statement in statements:
            # Depth first: the placeholders in the order they are written.
            placeholders = [n for n in statement.walk(bfs=False) if isinstance(n, exp.Placeholder)]
            for node in placeholders:
                node.replace(literal(next(values)))
    return statements


def literal(value: Any) -> Any:
    """A Python value as an SQL literal."""
    if isinstance(value, datetime):
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), "TIMESTAMP")
    if isinstance(value, date):
        return exp.cast(exp.Literal.string(value.isoformat()), "DATE")
    if isinstance(value, list | tuple):
        if not value:
            # Spark types an empty array() as NULL elements, which no function takes: the
            # lists passed are of names (files, columns), so text.
            return exp.cast(exp.Array(expressions=[]), "ARRAY<VARCHAR>")
        return exp.Array(expressions=[literal(v) for v in value])
    return exp.convert(value)


_WIDE_INTEGERS = {exp.DataType.Type.INT128, exp.DataType.Type.UINT128}


def to_spark(node: exp.Expression) -> str:
    """A parsed DuckDB query or expression as Spark SQL."""
    node = node.copy().transform(_rewrite_within)
    return node.sql(dialect=WRITE)


def _rewrite_within(node: exp.Expression) -> exp.Expression:
    """:func:`_rewrite`, then the same inside what it put in the node's place (a transform
    does not go down into a replacement: a full match nested in another stayed DuckDB's)."""
    rewritten = _rewrite(node)
    return node if rewritten is node else rewritten.transform(_rewrite_within)


def _rewrite(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Pivot) and node.args.get("unpivot") and node.args.get("into"):
        return _unpivot(node)
    if isinstance(node, exp.Select) and isinstance(node.args.get("sample"), exp.TableSample):
        return _sampled(node)
    if isinstance(node, exp.Window) and not node.args.get("order"):
        if isinstance(node.this, exp.RowNumber):
            node.set("order", exp.Order(expressions=[exp.Ordered(this=_row_order())]))
        return node
    if isinstance(node, exp.RegexpFullMatch) and isinstance(node.expression, exp.Literal):
        anchored = exp.Literal.string(f"^(?:{node.expression.this})$")
        return exp.RegexpLike(this=node.this, expression=anchored)
    if isinstance(node, exp.Anonymous):
        name = node.name.lower()
        if name == "try_strptime":
            return _try_strptime(node)
    if (
        isinstance(node, exp.Bracket)
        and len(node.expressions) == 1
        and not isinstance(node.expressions[0], exp.Slice | exp.Literal)
    ):
        # DuckDB's lists count from 1 and give NULL out of range: so does try_element_at
        # (Spark's [] counts from 0 and fails).
        return exp.Anonymous(this="try_element_at", expressions=[node.this, node.expressions[0]])
    if isinstance(node, exp.JarowinklerSimilarity):
        return exp.Anonymous(this="jaro_winkler", expressions=[node.this, node.expression])
    if isinstance(node, exp.DataType) and node.this in _WIDE_INTEGERS:
        # DuckDB's 128-bit integers: Spark has none; a whole decimal of 38 digits holds
        # them, and casts text to it as DuckDB does (rounding '12.5' to 13).
        return exp.DataType.build("DECIMAL(38, 0)")
    if isinstance(node, exp.Tuple) and isinstance(node.parent, exp.Func):
        return exp.Anonymous(this="struct", expressions=list(node.expressions))
    return node


def _try_strptime(node: exp.Anonymous) -> exp.Expression:
    """try_strptime(s, format or [formats]): the first format that parses, else NULL."""
    subject, formats = node.expressions[0], node.expressions[1]
    listed = formats.expressions if isinstance(formats, exp.Array) else [formats]
    if not all(isinstance(f, exp.Literal) for f in listed):
        return node
    tries = [
        exp.Anonymous(
            this="try_to_timestamp",
            expressions=[
                subject.copy(),
                exp.Literal.string(
                    format_time(f.this, _SPARK.INVERSE_TIME_MAPPING, _SPARK.INVERSE_TIME_TRIE) or ""
                ),
            ],
        )
        for f in listed
    ]
    return tries[0] if len(tries) == 1 else exp.Coalesce(this=tries[0], expressions=tries[1:])


def _row_order() -> exp.Expression:
    return exp.Anonymous(this="monotonically_increasing_id", expressions=[])


def _unpivot(node: exp.Pivot) -> exp.Expression:
    """DuckDB's simplified UNPIVOT over a query listing its columns, in the standard form."""
    source = node.this
    query = source.this if isinstance(source, exp.Subquery) else source
    if not isinstance(query, exp.Select):
        raise ValueError("UNPIVOT: only over a SELECT that names its columns")
    names = [p.alias_or_name for p in query.expressions]
    excluded: set[str] = set()
    for target in node.expressions:
        star = target.this if isinstance(target, exp.Columns) else target
        if isinstance(star, exp.Star):
            excluded |= {c.name for c in star.args.get("except_") or star.args.get("except") or []}
        else:
            raise ValueError("UNPIVOT: only ON COLUMNS(*) [EXCLUDE ...]")
    into = node.args["into"]
    name_column = into.this.name
    value_column = into.expressions[0].name
    unpivoted = ", ".join(_quote(n) for n in names if n not in excluded)
    inner = to_spark(query)
    spark = (
        f"SELECT * FROM ({inner}) AS __unpivot_source "
        f"UNPIVOT ({_quote(value_column)} FOR {_quote(name_column)} IN ({unpivoted}))"
    )
    return exp.Subquery(this=sqlglot.parse_one(spark, read=WRITE))


def _sampled(select: exp.Select) -> exp.Expression:
    """DuckDB's seeded reservoir sample of N rows (taken from what FROM gives, before WHERE)
    as a seeded random order and a limit: Spark's TABLESAMPLE (N ROWS) is a plain LIMIT."""
    sample = select.args["sample"]
    size = sample.args.get("size") or sample.args.get("rows")
    seed = sample.args.get("seed")
    seed_sql = seed.sql(dialect=WRITE) if seed is not None else "0"
    source = exp.select("*").from_(select.args["from_"].this.copy())
    query = (
        f"SELECT * FROM ({to_spark(source)}) ORDER BY rand({seed_sql}) "
        f"LIMIT {size.sql(dialect=WRITE) if size is not None else 0}"
    )
    sampled = select.copy()
    sampled.set("sample", None)
    sampled.set(
        "from_",
        exp.From(
            this=exp.Subquery(
                this=sqlglot.parse_one(query, read=WRITE),
                alias=exp.TableAlias(this=exp.to_identifier("__sample_source")),
            )
        ),
    )
    return sampled


def _quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def spark_type(duckdb_type: exp.DataType) -> str:
    """A column type of a DuckDB CREATE TABLE as Spark writes it."""
    if duckdb_type.this in {exp.DataType.Type.TIMESTAMPTZ, exp.DataType.Type.TIMESTAMP}:
        return "TIMESTAMP"
    return duckdb_type.sql(dialect=WRITE)
