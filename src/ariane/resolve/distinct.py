"""Python functions over the distinct values of a column, joined back in SQL.

Some normalisations need a library call per value (phonenumbers, a commune lookup, a name
split). A leak repeats values a lot: mapping each distinct value once and joining the result
back keeps those calls far fewer than the rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa

if TYPE_CHECKING:
    from ariane.engine import Engine

_CHUNK = 100_000


def scratch(engine: Engine, name: str, sql: str) -> None:
    """Store ``sql`` as a temporary table: working data of a stage, kept in memory (spilled
    encrypted) rather than written to the case store."""
    engine.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" AS {sql}')


def map_distinct(
    engine: Engine,
    table: str,
    values_sql: str,
    fn: Callable[..., Sequence[Any]],
    inputs: Sequence[str],
    outputs: Sequence[tuple[str, pa.DataType]],
) -> None:
    """Store as ``table`` each distinct row of ``values_sql`` (columns ``inputs``) with the
    columns ``outputs`` computed by ``fn(*input_values)`` (which returns one tuple)."""
    engine.execute(f'DROP TABLE IF EXISTS "{table}"')
    schema = pa.schema(
        [pa.field(name, pa.string()) for name in inputs] + [pa.field(n, t) for n, t in outputs]
    )
    # Fetched whole, not streamed: appending while a result streams would cut it short.
    distinct = engine.fetch_arrow(f"SELECT DISTINCT {', '.join(inputs)} FROM ({values_sql})")
    engine.append(table, schema.empty_table())
    for batch in distinct.to_batches(_CHUNK):
        columns = [batch.column(i).to_pylist() for i in range(len(inputs))]
        results = [fn(*row) for row in zip(*columns, strict=True)]
        out_columns = [
            pa.array([r[i] for r in results], type=t) for i, (_, t) in enumerate(outputs)
        ]
        in_columns = [pa.array(c, pa.string()) for c in columns]
        engine.append(table, pa.Table.from_arrays([*in_columns, *out_columns], schema=schema))
